// Validators and individual detector rules.

import {
  cardNumberValid,
  findPii,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  luhnValid,
  type PiiType,
  ssnValid,
} from "../../pii/mod.ts";

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function values(text: string, type: PiiType): string[] {
  return findPii(text, [type]).map((f) => f.value);
}

Deno.test("Luhn and card issuer rules", () => {
  assert(luhnValid("79927398713"), "classic Luhn example");
  assert(!luhnValid("79927398710"), "bad check digit");
  for (
    const ok of [
      "4111111111111111",
      "5500000000000004",
      "378282246310005",
      "6011000990139424",
      "3530111333300000",
      "30569309025904",
      "2223000048400011",
      "4222222222222",
    ]
  ) {
    assert(cardNumberValid(ok), ok);
  }
  for (const bad of ["4111111111111112", "1234567812345670", "0000000000000000", "411111111111"]) {
    assert(!cardNumberValid(bad), bad);
  }
});

Deno.test("IBAN: mod-97 and per-country length", () => {
  for (
    const ok of [
      "DE89370400440532013000",
      "GB82WEST12345698765432",
      "FR1420041010050500013M02606",
      "NO9386011117947",
      "CH9300762011623852957",
    ]
  ) {
    assert(ibanValid(ok), ok);
  }
  assert(!ibanValid("DE89370400440532013001"), "checksum");
  assert(!ibanValid("DE8937040044053201300"), "length");
  assert(!ibanValid("XX89370400440532013000"), "country");
});

Deno.test("SSN issuance rules", () => {
  assert(ssnValid("123", "45", "6789"), "valid");
  for (
    const [a, g, s] of [
      ["000", "12", "3456"],
      ["666", "12", "3456"],
      ["900", "12", "3456"],
      ["999", "12", "3456"],
      ["123", "00", "4567"],
      ["123", "45", "0000"],
    ]
  ) {
    assert(!ssnValid(a, g, s), `${a}-${g}-${s}`);
  }
});

Deno.test("IP address parsers", () => {
  for (const ok of ["0.0.0.0", "255.255.255.255", "192.168.1.1"]) assert(ipv4Valid(ok), ok);
  for (const bad of ["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5"]) assert(!ipv4Valid(bad), bad);
  for (
    const ok of [
      "::1",
      "2001:db8::1",
      "fe80::1ff:fe23:4567:890a",
      "::ffff:192.0.2.128",
      "1:2:3:4:5:6:7:8",
    ]
  ) {
    assert(ipv6Valid(ok), ok);
  }
  for (
    const bad of ["::", "1:2:3", "12:30:45", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1", "dead::beef"]
  ) {
    assert(!ipv6Valid(bad), bad);
  }
});

Deno.test("e-mail: display names, case, trailing punctuation; not handles or assets", () => {
  assert(
    values('"Ann Lee" <Ann.Lee@Example.COM>.', "email")[0] === "Ann.Lee@Example.COM",
    "display",
  );
  assert(values("write to ops@example.com.", "email")[0] === "ops@example.com", "trailing dot");
  for (
    const neg of ["@alice", "logo@2x.png", "user@localhost", "pkg@1.2.3", "git@github.com:a/b.git"]
  ) {
    assert(values(neg, "email").length === 0, neg);
  }
});

Deno.test("phone: international and national formats; not dates, versions, IDs", () => {
  for (
    const p of [
      "+1 415-555-2671",
      "(415) 555-2671",
      "+44 20 7946 0958",
      "020 7946 0958",
      "+49 30 12345678",
      "+33 1 23 45 67 89",
    ]
  ) {
    assert(values(`call ${p} now`, "phone")[0] === p, p);
  }
  for (
    const neg of [
      "2024-01-15",
      "v10.2.3",
      "ID-4155552671",
      "order 4155552671",
      "1705312200",
      "12:30:45",
      "978-3-16-148410-0",
    ]
  ) {
    assert(values(neg, "phone").length === 0, neg);
  }
  assert(
    values("phone 4155552671", "phone")[0] === "4155552671",
    "bare digits next to a phone word",
  );
});

Deno.test("secrets: known formats need their exact shape", () => {
  assert(values("AKIAIOSFODNN7EXAMPLE", "secret").length === 1, "aws");
  assert(values("AKIAIOSFODNN7EXAMPL", "secret").length === 0, "aws too short");
  // Inside a token that holds digits, or continued in its own alphabet, it is not a key;
  // after a label of letters (`x`, `key-`) it is one written onto the label (see
  // tests/pii/fold_test.ts), and so with a word written after it (tests/pii/glued_test.ts).
  assert(values("x9AKIAIOSFODNN7EXAMPLE", "secret").length === 0, "aws inside a token");
  assert(values("AKIAIOSFODNN7EXAMPLEX", "secret").length === 0, "aws continued");
  assert(values("AKIAIOSFODNN7EXAMPLEx", "secret").length === 1, "aws with a suffix");
  assert(values("xAKIAIOSFODNN7EXAMPLE", "secret").length === 1, "aws after a letter label");
  assert(values("ghp_short", "secret").length === 0, "github too short");
  assert(values("eyJub3QiOiJqd3QifQ.eyJhIjoxfQ.sig", "secret").length === 0, "no alg/typ header");
  assert(values("eyJhbGciOiJub25lIn0.eyJhIjoxfQ.", "secret").length === 1, "unsigned JWT");
  assert(values("sk-this-is-not-a-key-at-all", "secret").length === 0, "sk- without mixed classes");
});

Deno.test("secrets: keyword-adjacent values by key name, not by substring", () => {
  assert(
    values('{"apiKey": "7Hq2LmN9pR4sT6vW8yZ1"}', "secret")[0] === "7Hq2LmN9pR4sT6vW8yZ1",
    "camel",
  );
  assert(values("monkey: 7Hq2LmN9pR4sT6vW8yZ1", "secret").length === 0, "monkey is not key");
  assert(values("DB_PASSWORD=Summer2024!", "secret")[0] === "Summer2024!", "password");
  assert(values("password=hunter", "secret").length === 0, "single plain word");
  assert(values("token: application_default_credentials", "secret").length === 0, "identifier");
});

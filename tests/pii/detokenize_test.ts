// detokenizeValue: placeholders in tool-call arguments back to the real values.

import { detokenizeText, detokenizeValue, redactValue, Vault } from "../../pii/mod.ts";

function assertEquals(actual: unknown, expected: unknown, message = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\nexpected ${e}\nactual   ${a}`);
}

Deno.test("round trip: redacted value detokenizes to the original", () => {
  const vault = new Vault();
  const original = {
    to: ["ann@example.com", "bob@example.com"],
    body: "Card 4111 1111 1111 1111, call +44 20 7946 0018",
    meta: { ip: "203.0.113.9", n: 3, ok: true },
  };
  const { value } = redactValue(original, { mode: "tokenize", vault });
  assertEquals(detokenizeValue(value, vault), original);
});

Deno.test("placeholders embedded in longer strings are replaced; keys are kept", () => {
  const vault = new Vault();
  vault.placeholderFor("email", "ann@example.com");
  vault.placeholderFor("phone", "+1 415-555-2671");
  const args = {
    "[EMAIL_1]": "subject: hi [EMAIL_1]!",
    query: "from:[EMAIL_1] OR tel:[PHONE_1] OR [PHONE_1]",
    list: [["[EMAIL_1]"]],
  };
  assertEquals(detokenizeValue(args, vault), {
    "[EMAIL_1]": "subject: hi ann@example.com!",
    query: "from:ann@example.com OR tel:+1 415-555-2671 OR +1 415-555-2671",
    list: [["ann@example.com"]],
  });
});

Deno.test("unknown placeholders and look-alikes are left as is", () => {
  const vault = new Vault();
  vault.placeholderFor("email", "ann@example.com");
  for (
    const s of [
      "[EMAIL_2]",
      "[EMAIL_0]",
      "[EMAIL_01]",
      "[email_1]",
      "[NAME_1]",
      "EMAIL_1",
      "[EMAIL_1",
    ]
  ) {
    assertEquals(detokenizeText(s, vault), s);
  }
  assertEquals(detokenizeText("[EMAIL_1][EMAIL_1]", vault), "ann@example.comann@example.com");
});

Deno.test("placeholders from another vault do not resolve", () => {
  const a = new Vault();
  const b = new Vault();
  a.placeholderFor("secret", "sk_live_abc");
  assertEquals(detokenizeValue({ key: "[SECRET_1]" }, b), { key: "[SECRET_1]" });
});

Deno.test("detokenizeValue does not modify its input and walks deep nesting", () => {
  const vault = new Vault();
  vault.placeholderFor("ip", "10.0.0.1");
  let deep: unknown = "[IP_1]";
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const out = detokenizeValue(deep, vault);
  let cursor = out;
  for (let i = 0; i < 100_000; i++) cursor = (cursor as unknown[])[0];
  assertEquals(cursor, "10.0.0.1");
  let src = deep;
  for (let i = 0; i < 100_000; i++) src = (src as unknown[])[0];
  assertEquals(src, "[IP_1]");
});

Deno.test("outbound: placeholders stay placeholders; a real value comes back as its placeholder", () => {
  const vault = new Vault();
  const opts = { mode: "tokenize" as const, vault };
  const first = redactValue({ to: "ann@example.com" }, opts).value;
  // The sandbox passes the placeholder to a tool; the bridge substitutes the real value.
  const args = detokenizeValue({ to: (first as { to: string }).to }, vault);
  assertEquals(args, { to: "ann@example.com" });
  // The tool echoes the real value; the response is redacted again, never detokenized.
  const echoed = redactValue({ sent: "ann@example.com", ref: "[EMAIL_1]" }, opts);
  assertEquals(echoed.value, { sent: "[EMAIL_1]", ref: "[EMAIL_1]" });
  assertEquals(echoed.counts, { email: 1 });
});

// Values written so that a reader sees them but an ASCII scan does not: Unicode spaces
// between groups, invisible characters inside, full-width and other compatibility forms,
// other scripts' digits, Unicode dashes, and labels written onto the value (`card-4111…`).
// Each is found, the finding covers the value as written, and look-alikes stay alone.

import { assert, assertEquals } from "../assert.ts";
import {
  detokenizeText,
  findPii,
  type PiiType,
  redactText,
  redactValue,
  Vault,
} from "../../pii/mod.ts";
import { readCorpus } from "./corpus_eval.ts";
import { untag } from "../placeholders.ts";

const CARD = "4111 1111 1111 1111";
/** `CARD` with its spaces written as `sep`. */
const card = (sep: string) => CARD.replaceAll(" ", sep);

/** [what, text, type, the value as written] */
const FOUND: [string, string, PiiType, string][] = [
  // Unicode spaces between card groups.
  ...[
    ["no-break space", "\u00a0"],
    ["narrow no-break space", "\u202f"],
    ["thin space", "\u2009"],
    ["hair space", "\u200a"],
    ["figure space", "\u2007"],
    ["em space", "\u2003"],
    ["medium mathematical space", "\u205f"],
    ["ideographic space", "\u3000"],
    ["Ogham space mark", "\u1680"],
  ].map(([what, sep]): [string, string, PiiType, string] => [
    `card, ${what} between groups`,
    `paid with ${card(sep)} yesterday`,
    "credit_card",
    card(sep),
  ]),
  // Invisible characters inside a value.
  ...[
    ["zero-width space", "\u200b"],
    ["zero-width non-joiner", "\u200c"],
    ["zero-width joiner", "\u200d"],
    ["word joiner", "\u2060"],
    ["soft hyphen", "\u00ad"],
    ["byte order mark", "\ufeff"],
    ["right-to-left mark", "\u200f"],
    ["invisible separator", "\u2063"],
    ["variation selector", "\ufe0f"],
    ["Mongolian vowel separator", "\u180e"],
    ["combining grapheme joiner", "\u034f"],
    ["Hangul filler", "\u3164"],
    ["tag space (astral)", "\u{e0020}"],
  ].flatMap(([what, inv]): [string, string, PiiType, string][] => [
    [`card, ${what} between groups`, `card ${card(inv)}.`, "credit_card", card(inv)],
    [`e-mail, ${what} before @`, `to ann${inv}@example.com now`, "email", `ann${inv}@example.com`],
    [`e-mail, ${what} in the domain`, `to ann@exam${inv}ple.com`, "email", `ann@exam${inv}ple.com`],
    [
      `AWS key id, ${what} inside`,
      `id AKIA${inv}IOSFODNN7EXAMPLE`,
      "secret",
      `AKIA${inv}IOSFODNN7EXAMPLE`,
    ],
    [`IPv4, ${what} before a dot`, `from 10.1.2${inv}.3 on`, "ip", `10.1.2${inv}.3`],
  ]),
  // Full-width and other compatibility forms, other scripts' digits, Unicode dashes.
  ["full-width @", "ann\uff20example.com", "email", "ann\uff20example.com"],
  ["small commercial at", "ann\ufe6bexample.com", "email", "ann\ufe6bexample.com"],
  [
    "full-width address",
    "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    "email",
    "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
  ],
  [
    "ideographic full stop in a domain",
    "連絡先 ann@example。com まで",
    "email",
    "ann@example。com",
  ],
  [
    "full-width digits",
    "カード４１１１１１１１１１１１１１１１です",
    "credit_card",
    "４１１１１１１１１１１１１１１１",
  ],
  ["mathematical bold digits", "𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏", "credit_card", "𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏"],
  ["Arabic-Indic SSN", "SSN ١٢٣-٤٥-٦٧٨٩", "ssn", "١٢٣-٤٥-٦٧٨٩"],
  ["Devanagari phone", "call +४४ २० ७९४६ ०९५८", "phone", "+४४ २० ७९४६ ०९५८"],
  ["full-width IPv4", "host １０．１．２．３ down", "ip", "１０．１．２．３"],
  ["full-width colons in IPv6", "addr fe80：：1 up", "ip", "fe80：：1"],
  [
    "full-width AWS key id",
    "ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ",
    "secret",
    "ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ",
  ],
  ["slashes between card groups", `card ${card("/")}`, "credit_card", card("/")],
  ["a tool id, slashes", `x.${card("/")}`, "credit_card", card("/")],
  ["en dashes between card groups", `card ${card("\u2013")}`, "credit_card", card("\u2013")],
  ["non-breaking hyphens", `card ${card("\u2011")}`, "credit_card", card("\u2011")],
  ["minus signs in an SSN", "SSN 123\u221245\u22126789", "ssn", "123\u221245\u22126789"],
  [
    "IBAN, narrow no-break spaces",
    "IBAN DE89\u202f3704\u202f0044\u202f0532\u202f0130\u202f00",
    "iban",
    "DE89\u202f3704\u202f0044\u202f0532\u202f0130\u202f00",
  ],
  [
    "phone, narrow no-break spaces",
    "+44\u202f20\u202f7946\u202f0958",
    "phone",
    "+44\u202f20\u202f7946\u202f0958",
  ],
  // A label written onto the value.
  ["card-", "card-4111111111111111", "credit_card", "4111111111111111"],
  ["id_", "id_4111111111111111", "credit_card", "4111111111111111"],
  ["x_", "x_4111111111111111", "credit_card", "4111111111111111"],
  ["a tool id", "ledger.4111111111111111", "credit_card", "4111111111111111"],
  ["a tool id, no-break spaces", `x.${card("\u00a0")}`, "credit_card", card("\u00a0")],
  ["dotted words", "crm.card-4111111111111111", "credit_card", "4111111111111111"],
  ["letters touching", "card4111111111111111", "credit_card", "4111111111111111"],
  ["capitals touching", "CARD4111111111111111", "credit_card", "4111111111111111"],
  ["snake label", "card_no-4111 1111 1111 1111", "credit_card", "4111 1111 1111 1111"],
  ["ssn-", "ssn-123-45-6789", "ssn", "123-45-6789"],
  ["ip-", "ip-10.1.2.3", "ip", "10.1.2.3"],
  ["host_", "host_192.168.1.20", "ip", "192.168.1.20"],
  ["ip_ IPv6", "ip_fe80::1", "ip", "fe80::1"],
  ["key-AKIA", "key-AKIAIOSFODNN7EXAMPLE", "secret", "AKIAIOSFODNN7EXAMPLE"],
  ["keyAKIA", "keyAKIAIOSFODNN7EXAMPLE", "secret", "AKIAIOSFODNN7EXAMPLE"],
  [
    "token-ghp_",
    "token-ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "secret",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
  ],
  ["key_sk-", "key_sk-abcDEF1234567890abcdefGH", "secret", "sk-abcDEF1234567890abcdefGH"],
  ["ibanDE", "ibanDE89370400440532013000", "iban", "DE89370400440532013000"],
  // `_` is never inside a number, so whatever it joins on is another word, digits or not
  // (these two were left alone before 2026-11-30; see tests/pii/glued_test.ts).
  ["a word with digits, `_`", "order_ab12_4111111111111111", "credit_card", "4111111111111111"],
  ["a long word, `_`", "a".repeat(40) + "_4111111111111111", "credit_card", "4111111111111111"],
  [
    "label, then a zero-width space",
    "card-4111\u200b1111\u200b1111\u200b1111",
    "credit_card",
    "4111\u200b1111\u200b1111\u200b1111",
  ],
];

for (const [what, text, type, value] of FOUND) {
  Deno.test(`found as written: ${what}`, () => {
    const found = findPii(text).map((f) => [f.type, f.value, text.slice(f.start, f.end)]);
    assertEquals(found, [[type, value, value]], JSON.stringify(text));
  });
}

/** Look-alikes that must stay alone (ordinary prose, code, identifiers in these forms). */
const ALONE: [string, string][] = [
  ["a version glued to a name", "requires python3.11.2.1 or later"],
  ["a version after a label", "see release-1.2.3.4 and v1.2.3.4"],
  ["a file name with a date", "IMG_20240115_123456.jpg"],
  ["a host name holding an address", "see host.10.1.2.3.nip.io and 127.0.0.1.nip.io"],
  [
    "dates and paths with slashes",
    "on 2024/01/15 and 12/25/2024 see /api/1234/5678; 415/555/2671",
  ],
  ["a decimal", "pi is 3.141592653589793 and e is 2.718281828459045"],
  ["a UUID", "550e8400-e29b-41d4-a716-446655440000"],
  ["a SHA-256", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["a lower-case key prefix inside a word", "task-sk-abcDEF1234567890abcdefGH"],
  [
    "prose with thin and no-break spaces",
    "Prices rose 10\u00a0% in Q3\u2009\u2014\u2009about 1\u202f234 units",
  ],
  ["German dashes", "Zürich \u2010 München, 10\u201312 Uhr"],
  ["Japanese address", "東京都千代田区１−１　電話はまだ"],
  ["emoji joined by zero-width joiners", "👩\u200d💻 ran build 4.2.1 in 12\u202fs"],
  ["superscripts and circled digits", "x² + y² = z², then ① ② ③"],
  ["Arabic order number", "الطلب رقم ١٢٣٤٥ جاهز"],
  ["full-width version", "バージョン ４．２．１"],
  ["a full-width time", "１２：３０：４５"],
];

for (const [what, text] of ALONE) {
  Deno.test(`left alone: ${what}`, () => {
    assertEquals(findPii(text).map((f) => [f.type, f.value]), [], JSON.stringify(text));
  });
}

/** `text` with printable ASCII written full-width and spaces as ideographic spaces. */
function fullWidth(text: string): string {
  return text.replace(
    /[\x20-\x7e]/g,
    (c) => c === " " ? "\u3000" : String.fromCharCode(c.charCodeAt(0) + 0xfee0),
  );
}

Deno.test("every corpus line, written full-width or with zero-width spaces, has the same findings", async () => {
  const lines = (await readCorpus()).flatMap((f) => f.lines);
  let checked = 0;
  for (const { text } of lines) {
    const plain = findPii(text).map((f) => [f.type, f.value]);
    const wide = findPii(fullWidth(text)).map((f) => [f.type, f.value.normalize("NFKC")]);
    assertEquals(wide, plain.map(([t, v]) => [t, fullWidth(v).normalize("NFKC")]), text);
    // A zero-width space after every character: each finding covers its value as written,
    // from its first character to its last, invisible ones inside included.
    const spread = [...text].join("\u200b");
    const found = findPii(spread);
    assertEquals(found.map((f) => [f.type, f.value.replaceAll("\u200b", "")]), plain, text);
    for (const f of found) {
      assertEquals(spread.slice(f.start, f.end), f.value);
      assert(!f.value.startsWith("\u200b") && !f.value.endsWith("\u200b"), f.value);
    }
    checked += plain.length;
  }
  assert(checked > 900, `only ${checked} findings checked`);
});

Deno.test("redaction replaces the whole value as written, and tokens give it back", () => {
  const text = `mail ann\u200b@example.com, card ${card("\u00a0")}, key-AKIAIOSFODNN7EXAMPLE.`;
  assertEquals(
    redactText(text, { mode: "mask" }).text,
    "mail [REDACTED_EMAIL], card [REDACTED_CARD], key-[REDACTED_SECRET].",
  );
  const vault = new Vault();
  const { value, counts } = redactValue({ note: text }, { mode: "tokenize", vault });
  assertEquals(counts, { email: 1, credit_card: 1, secret: 1 });
  const note = (value as { note: string }).note;
  assertEquals(untag(note), "mail [EMAIL_1], card [CARD_1], key-[SECRET_1].");
  assertEquals(detokenizeText(note, vault), text);
});

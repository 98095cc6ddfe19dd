// Values written with escapes (red team d2): JSON text from other languages' encoders (Go
// escapes `<`, `>`, `&`; Python every non-ASCII character; PHP `/`), JavaScript renderings in
// logs, HTML character references and fully percent-encoded addresses. Each is found on every
// path (redactText, the rendered path of logs and errors, values), the whole escaped value is
// replaced, and look-alikes stay alone.

import { assert, assertEquals } from "../assert.ts";
import {
  detokenizeText,
  findPii,
  type PiiType,
  redactRenderedText,
  redactText,
  redactValue,
  Vault,
} from "../../pii/mod.ts";
import { decodeEscapes, decodePercent } from "../../pii/escapes.ts";
import { growth, relativeCost, repeatTo } from "./linearity.ts";

const mask = { mode: "mask" as const };

/** [what, text, type, the value as written] */
const FOUND: [string, string, PiiType, string][] = [
  // Go encoding/json: `<`, `>`, `&` as \u003c, \u003e, \u0026, glued to the value.
  [
    "Go: card in an escaped table cell",
    '{"rows":"\\u003ctd\\u003e4111111111111111\\u003c/td\\u003e"}',
    "credit_card",
    "4111111111111111",
  ],
  [
    "Go: SSN in an escaped cell",
    '"\\u003ctd\\u003e078-05-1120\\u003c/td\\u003e"',
    "ssn",
    "078-05-1120",
  ],
  [
    "Go: IP in an escaped cell",
    '"\\u003ctd\\u003e93.184.216.34\\u003c/td\\u003e"',
    "ip",
    "93.184.216.34",
  ],
  [
    "Go: IBAN in an escaped cell",
    '"\\u003ctd\\u003eDE89370400440532013000\\u003c/td\\u003e"',
    "iban",
    "DE89370400440532013000",
  ],
  ["Go: SSN after an escaped &", '"?id=7\\u0026ssn=078051120"', "ssn", "078051120"],
  ["Go: phone after an escaped &", '"?id=7\\u0026phone=4155550134"', "phone", "4155550134"],
  [
    "Go: e-mail between escaped brackets",
    '"\\u003cann.lee@example.com\\u003e"',
    "email",
    "ann.lee@example.com",
  ],
  // Python json.dumps (ensure_ascii): every non-ASCII character escaped.
  [
    "Python: accented local part",
    '"email": "jos\\u00e9@example.com"',
    "email",
    "jos\\u00e9@example.com",
  ],
  [
    "Python: card grouped with \\u00a0",
    '"card": "4111\\u00a01111\\u00a01111\\u00a01111"',
    "credit_card",
    "4111\\u00a01111\\u00a01111\\u00a01111",
  ],
  [
    "Python: IBAN grouped with \\u00a0",
    '"iban": "DE89\\u00a03704\\u00a00044\\u00a00532\\u00a00130\\u00a000"',
    "iban",
    "DE89\\u00a03704\\u00a00044\\u00a00532\\u00a00130\\u00a000",
  ],
  [
    "Python: phone with escaped en dashes",
    '"tel": "+1 415\\u2013555\\u20130134"',
    "phone",
    "+1 415\\u2013555\\u20130134",
  ],
  [
    "escaped zero-width space inside an address",
    "ann\\u200b@example.com",
    "email",
    "ann\\u200b@example.com",
  ],
  // Every digit escaped; an AWS key id with one letter escaped.
  [
    "card with its first digits escaped",
    "\\u0034\\u0031\\u0031\\u0031111111111111",
    "credit_card",
    "\\u0034\\u0031\\u0031\\u0031111111111111",
  ],
  [
    "AWS key id with an escaped letter",
    "AKIA\\u0049OSFODNN7EXAMPLE",
    "secret",
    "AKIA\\u0049OSFODNN7EXAMPLE",
  ],
  // JavaScript: \x, \u{…}, letter escapes glued to the value.
  ["\\x escape before an IP", "ip\\x3d10.1.2.3", "ip", "10.1.2.3"],
  ["\\u{…} escape for the @", "ann\\u{40}example.com", "email", "ann\\u{40}example.com"],
  ["\\n before an IP", "hosts:\\n93.184.216.34", "ip", "93.184.216.34"],
  [
    "\\n before an e-mail address (not part of its local part)",
    "to:\\nann@example.com",
    "email",
    "ann@example.com",
  ],
  ["escaped quotes around an address", "\\u0022ann@example.com\\u0022", "email", "ann@example.com"],
  // PHP json_encode: `/` as `\/`.
  [
    "PHP: password in a URL with escaped slashes",
    "dsn: postgres:\\/\\/admin:S3cr3t!Pass@db.internal:5432\\/app",
    "secret",
    "S3cr3t!Pass",
  ],
  // Escaped twice: JSON holding JSON, logged.
  [
    "card escaped twice",
    "\\\\u003ctd\\\\u003e4111111111111111\\\\u003c/td\\\\u003e",
    "credit_card",
    "4111111111111111",
  ],
  // HTML character references.
  ["HTML &#64;", "contact: ann.lee&#64;example.com", "email", "ann.lee&#64;example.com"],
  ["HTML &#x40;", "ann&#x40;example.com", "email", "ann&#x40;example.com"],
  [
    "HTML &commat; and &period;",
    "ann&commat;example&period;com",
    "email",
    "ann&commat;example&period;com",
  ],
  ["HTML &#64 without ;", "ann&#64example.com", "email", "ann&#64example.com"],
  [
    "HTML &nbsp; between card groups",
    "4111&nbsp;1111&nbsp;1111&nbsp;1111",
    "credit_card",
    "4111&nbsp;1111&nbsp;1111&nbsp;1111",
  ],
  ["HTML &#45; in an SSN", "SSN 078&#45;05&#45;1120", "ssn", "078&#45;05&#45;1120"],
  [
    "HTML &#32; between card groups",
    "4111&#32;1111&#32;1111&#32;1111",
    "credit_card",
    "4111&#32;1111&#32;1111&#32;1111",
  ],
  ["HTML escaped twice", "ann&amp;#64;example.com", "email", "ann&amp;#64;example.com"],
  // Percent-encoding throughout an address.
  ["percent-encoded address", "e=ann%2Elee%40example%2Ecom", "email", "ann%2Elee%40example%2Ecom"],
  [
    "percent-encoded twice",
    "next=ann%252Elee%2540example%252Ecom",
    "email",
    "ann%252Elee%2540example%252Ecom",
  ],
];

for (const [what, text, type, value] of FOUND) {
  Deno.test(`escapes: ${what}`, () => {
    const found = findPii(text).find((f) => f.type === type);
    assert(
      found !== undefined,
      `no ${type} in ${JSON.stringify(text)}: ${JSON.stringify(findPii(text))}`,
    );
    assertEquals(found.value, value);
    assertEquals(text.slice(found.start, found.end), value);
    // Every path replaces the value as written, and agrees.
    const out = redactText(text, mask).text;
    assert(!out.includes(value), `${value} raw in ${out}`);
    assertEquals(redactRenderedText(text, mask).text, out);
    const { value: redacted } = redactValue({ data: [text] }, mask);
    assert(
      !JSON.stringify(redacted).includes(JSON.stringify(value).slice(1, -1)),
      JSON.stringify(redacted),
    );
  });
}

Deno.test("escapes: the red team's Go and Python exports come back with nothing raw", () => {
  const go = '{"rows":"\\u003ctr\\u003e\\u003ctd\\u003e4111111111111111\\u003c/td\\u003e' +
    "\\u003ctd\\u003e078-05-1120\\u003c/td\\u003e\\u003ctd\\u003e93.184.216.34\\u003c/td\\u003e" +
    '\\u003ctd\\u003eDE89370400440532013000\\u003c/td\\u003e\\u003c/tr\\u003e",' +
    '"link":"https://crm.example/c?id=7\\u0026ssn=078051120\\u0026phone=4155550134"}';
  const py = '{"name": "Jos\\u00e9 Garc\\u00eda", "email": "jos\\u00e9@example.com", ' +
    '"card": "4111\\u00a01111\\u00a01111\\u00a01111"}';
  const raw = [
    "4111111111111111",
    "078-05-1120",
    "93.184.216.34",
    "DE89370400440532013000",
    "078051120",
    "4155550134",
    "@example.com",
    "4111\\u00a01111",
  ];
  for (const text of [go, py]) {
    for (const out of [redactText(text, mask).text, redactRenderedText(text, mask).text]) {
      assertEquals(raw.filter((r) => out.includes(r)), [], out);
    }
  }
  // A Python export's JSON parses to the plain values, redacted as ever; the escaped text
  // keeps its escapes around the placeholder (the name is no one's data).
  assertEquals(
    redactText(py, mask).text,
    '{"name": "Jos\\u00e9 Garc\\u00eda", "email": "[REDACTED_EMAIL]", "card": "[REDACTED_CARD]"}',
  );
});

Deno.test("escapes: a tokenized escaped value detokenizes to the text as written", () => {
  const vault = new Vault();
  const text =
    '{"email":"jos\\u00e9@example.com","row":"\\u003ctd\\u003e4111111111111111\\u003c/td\\u003e"}';
  const out = redactText(text, { mode: "tokenize", vault }).text;
  assert(!out.includes("example.com") && !out.includes("4111111111111111"), out);
  assertEquals(detokenizeText(out, vault), text);
});

/** Look-alikes: escapes decoded must not make anything of text that holds nothing. */
const NOT_FOUND: string[] = [
  '{"html":"\\u003cdiv class=\\u0022x\\u0022\\u003eHello \\u0026 welcome\\u003c/div\\u003e"}',
  "path: C:\\\\Users\\\\ann\\\\new\\\\table.txt",
  "regex: \\d{3}-\\d{2}-\\d{4} and \\b\\w+@\\w+\\.com\\b",
  "&lt;p&gt;Tom &amp; Jerry&lt;/p&gt; &copy; 2024 &#169; &#x2014;",
  "version\\u003d1.2.3.4",
  '"time":"12:30:45","sep":"\\u002d","eol":"\\r\\n"',
  "emoji \\ud83d\\ude00 and \\u{1F600} and &#128512;",
  "price: 10&euro; &#8364;10 &#0; &#xD800; &#99999999;",
  "50%25 off, a%2Bb, %7E, %41%42%43",
  "logo%402x.png and pkg%401.2.3",
];

Deno.test("escapes: look-alikes stay alone", () => {
  for (const text of NOT_FOUND) {
    assertEquals(findPii(text), [], text);
    assertEquals(redactText(text, mask).text, text);
  }
});

Deno.test("escapes: decoding maps each character back to its whole escape", () => {
  const text = "a\\u0040b&#64;c\\u{1F600}d\\\\e&amp;#64;f";
  const d = decodeEscapes(text)!;
  assertEquals(d.text, "a@b@c\u{1F600}d\\e@f");
  const spans = Array.from({ length: d.text.length }, (_, k) => [d.startOf(k), d.endOf(k)]);
  assertEquals(spans, [
    [0, 1],
    [1, 7],
    [7, 8],
    [8, 13],
    [13, 14],
    [14, 23],
    [14, 23],
    [23, 24],
    [24, 26],
    [26, 27],
    [27, 36],
    [36, 37],
  ]);
  assertEquals(decodeEscapes("plain text, no escapes"), undefined);
  assertEquals(decodeEscapes("a \\q and &bogus; and \\u12"), undefined);
  const p = decodePercent("ann%2Elee%2540x")!;
  assertEquals(p.text, "ann.lee@x");
  assertEquals([p.startOf(3), p.endOf(3), p.startOf(7), p.endOf(7), p.startOf(8)], [
    3,
    6,
    9,
    14,
    14,
  ]);
});

// Linear: every escape costs one bounded match, and text is decoded at most three times.
const SIZE = 64 * 1024;
const MAX_GROWTH = 8;
const MAX_RELATIVE = 25;
const LOG_LINE = (i: number) =>
  `2024-05-01T10:${String(i % 60).padStart(2, "0")}:00Z INFO user=ann path=/api/v1/orders ` +
  `status=200 ms=${i % 900} note="the request completed after a retry"\n`;
const ESCAPE_RUNS: [string, (i: number) => string][] = [
  ["backslashes", () => "\\"],
  ["\\u003c runs", () => "\\u003c"],
  ["\\u00a0 between digit groups", (i) => String(1000 + (i * 7919) % 9000) + "\\u00a0"],
  ["escaped backslashes before u", () => "\\\\\\\\u0030"],
  ["& runs", () => "&"],
  ["&amp;#64; runs", () => "a&amp;#64;"],
  ["unknown named references", () => "&abcdefgh;"],
  ["%2E%40 runs", () => "a%2E%40"],
];

Deno.test(`escapes: linear (4× input ≤ ${MAX_GROWTH}× time; ≤ ${MAX_RELATIVE}× a log excerpt)`, () => {
  const baseline = repeatTo(SIZE, LOG_LINE);
  const failures: string[] = [];
  for (const [name, unit] of ESCAPE_RUNS) {
    const measure = () => ({
      g: growth((t) => findPii(t), (size) => repeatTo(size, unit), SIZE),
      r: relativeCost((t) => findPii(t), repeatTo(SIZE, unit), baseline),
    });
    let { g, r } = measure();
    if (g > MAX_GROWTH || r > MAX_RELATIVE) ({ g, r } = measure());
    if (g > MAX_GROWTH) failures.push(`${name}: 4× input took ${g.toFixed(1)}× the time`);
    if (r > MAX_RELATIVE) failures.push(`${name}: ${r.toFixed(1)}× the cost of a log excerpt`);
  }
  assertEquals(failures, []);
});

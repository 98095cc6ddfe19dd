// Adversarial inputs: huge digit runs, long space-free strings, deep nesting, repeated
// trigger prefixes. They must simply complete (the scanners are linear); timing figures
// live in bench/redaction.ts, not here.

import { findPii, redactText, redactValue, Vault } from "../../pii/mod.ts";

function assertEquals(actual: unknown, expected: unknown, message = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\nexpected ${e}\nactual   ${a}`);
}

Deno.test("10 MB of digits: no findings, completes", () => {
  const text = "7".repeat(10_000_000);
  assertEquals(findPii(text), []);
  const spaced = "1 ".repeat(2_500_000) + "call +1 415-555-2671";
  const found = findPii(spaced);
  assertEquals(found.map((f) => f.value), ["+1 415-555-2671"]);
});

Deno.test("10 MB of digit groups and separators completes", () => {
  const text = "4111-".repeat(2_000_000);
  findPii(text);
  const dotted = "1.".repeat(5_000_000);
  assertEquals(findPii(dotted), []);
});

Deno.test("1 MB without spaces (several alphabets and trigger characters) completes", () => {
  const inputs = [
    "a".repeat(1_000_000),
    "a@".repeat(500_000),
    "@a".repeat(500_000) + ".com",
    "a.".repeat(500_000) + "@example.com",
    ":".repeat(1_000_000),
    "a:".repeat(500_000),
    "1:".repeat(500_000),
    "=".repeat(1_000_000),
    "key=".repeat(250_000),
    "eyJ".repeat(333_333),
    "eyJhbGciOiJIUzI1NiJ9.".repeat(50_000),
    "sk-".repeat(333_333),
    "AKIA".repeat(250_000),
    "-----BEGIN ".repeat(90_000),
    "://a:b".repeat(160_000),
    "DE89".repeat(250_000),
    "ab1".repeat(333_333),
  ];
  for (const text of inputs) findPii(text);
  // A real value after a million characters of noise is still found.
  const needle = "x".repeat(1_000_000) + " ann@example.com";
  assertEquals(findPii(needle).map((f) => f.value), ["ann@example.com"]);
});

Deno.test("a 1 MB password value after a keyword is not a catastrophic case", () => {
  const text = "password=" + "Ab1!".repeat(250_000);
  findPii(text);
  const bearer = "Authorization: Bearer " + "Zx9".repeat(333_333);
  findPii(bearer);
});

Deno.test("deeply nested JSON (100k levels) is redacted without stack overflow", () => {
  let deepArray: unknown = "ann@example.com";
  for (let i = 0; i < 100_000; i++) deepArray = [deepArray];
  let deepObject: unknown = { mail: "bob@example.com" };
  for (let i = 0; i < 100_000; i++) deepObject = { child: deepObject, n: i };
  const vault = new Vault({ tag: "kqzmtwa" });
  const a = redactValue(deepArray, { mode: "tokenize", vault });
  const o = redactValue(deepObject, { mode: "tokenize", vault });
  assertEquals(a.counts, { email: 1 });
  assertEquals(o.counts, { email: 1 });
  let cursor = a.value;
  for (let i = 0; i < 100_000; i++) cursor = (cursor as unknown[])[0];
  assertEquals(cursor, "[EMAIL_1_kqzmtwa]");
  let obj = o.value as Record<string, unknown>;
  for (let i = 0; i < 100_000; i++) obj = obj.child as Record<string, unknown>;
  assertEquals(obj, { mail: "[EMAIL_2_kqzmtwa]" });
});

Deno.test("wide JSON (200k strings) is redacted", () => {
  const wide = Array.from({ length: 200_000 }, (_, i) => i % 1000 === 0 ? "ip 10.0.0.1" : "ok");
  const { counts } = redactValue(wide, { mode: "mask" });
  assertEquals(counts, { ip: 200 });
});

Deno.test("a large mixed string is redacted end to end", () => {
  const chunk = "user ann@example.com from 10.1.2.3 paid 4111 1111 1111 1111; ";
  const text = chunk.repeat(50_000);
  const { counts } = redactText(text, { mode: "mask" });
  assertEquals(counts, { email: 50_000, ip: 50_000, credit_card: 50_000 });
});

// --- linearity of every detector on members of the "rescan per candidate start" class --
//
// Each member repeats a detector's trigger, separator or near-miss. Two checks, both
// ratios of CPU times within this run (no wall-clock bound): 4× the input may take at
// most 8× the time (catches unbounded rescans, e.g. an END search per BEGIN line), and
// the input may cost at most MAX_RELATIVE times a same-size log excerpt (catches bounded
// rescans such as re-reading up to 512 characters per `key=`, which grow linearly).

import { linearityFailures, repeatTo } from "./linearity.ts";

const SIZE = 64 * 1024;
const MAX_GROWTH = 8;
const MAX_RELATIVE = 25;

/** Digits that vary with `i`, so memoised verdicts do not hide the work. */
const vary = (i: number, n: number) => String(1e9 + ((i * 7919) % 1e9)).slice(-n).padStart(n, "3");

const MEMBERS: Record<string, [string, (i: number) => string][]> = {
  email: [
    ["a@", () => "a@"],
    ["x:ann@example.com (URL-credential look-back)", () => "x:ann@example.com "],
    ["glued a@example.com@", () => "a@example.com@"],
    ["near-miss ann@example", () => "ann@example "],
    ["70-char local part", () => "a".repeat(70) + "@"],
  ],
  numbers: [
    ["1 ", () => "1 "],
    ["4111-", () => "4111-"],
    ["4111/", () => "4111/"],
    ["card-shaped fours split by /", (i) => `${vary(i, 4)}/${vary(i + 1, 4)}/`],
    ["1.", () => "1."],
    ["long digit runs with separators", (i) => vary(i, 9) + vary(i + 1, 9) + "-"],
    ["SSN-shaped", (i) => `${vary(i, 3)}-45-6789 `],
    ["IBAN-shaped", (i) => `DE${vary(i, 9)}${vary(i + 3, 9)}00 `],
  ],
  ipv6: [
    [":", () => ":"],
    ["1:", () => "1:"],
    ["::", () => ":: "],
    ["near-miss nine groups", () => "1:2:3:4:5:6:7:8:9 "],
    ["fe80:: addresses", (i) => `fe80::${(i % 65536).toString(16)} `],
  ],
  "secrets: PEM": [
    ["-----BEGIN PRIVATE KEY-----!", () => "-----BEGIN PRIVATE KEY-----!"],
    ["BEGIN then -----END without close", () => "-----BEGIN PRIVATE KEY-----!-----END "],
    ["-----BEGIN ", () => "-----BEGIN "],
    ["almost-PEM PUBLIC KEY", () => "-----BEGIN PUBLIC KEY-----\n"],
  ],
  "secrets: key=value": [
    ["key= runs split by ,", (i) => (i % 120 === 119 ? "," : "key=")],
    ["token: runs split by ,", (i) => (i % 80 === 79 ? "," : "token:")],
    ["a:token: runs", (i) => (i % 60 === 59 ? " " : "a:token:")],
    ["password= runs split by ;", (i) => (i % 50 === 49 ? ";" : "password=")],
    ["token: ", () => "token: "],
  ],
  "secrets: JWT": [
    ["eyJ", () => "eyJ"],
    ["eyJ.", () => "eyJ."],
    ["valid header, repeated", () => "eyJhbGciOiJIUzI1NiJ9."],
  ],
  "secrets: provider keys": [
    ["AKIA", () => "AKIA"],
    ["ghp_ one short", (i) => `ghp_${vary(i, 9).repeat(4)} `],
    ["sk-", () => "sk-"],
    ["xoxb-", () => "xoxb-"],
  ],
  // Folded forms (pii/fold.ts) and labels written onto values (chars.ts labelBefore).
  "folding and labels": [
    ["zero-width spaces", () => "\u200b"],
    ["card groups split by no-break spaces", (i) => vary(i, 4) + "\u00a0"],
    ["full-width digit groups", (i) => fullWidthDigits(vary(i, 9)) + "\u3000"],
    ["a zero-width space after every character", (i) => [...LOG_LINE(i)].join("\u200b")],
    ["labels before digits", (i) => `card-${vary(i, 9)} `],
    ["letter runs longer than a label before a digit", () => "a".repeat(40) + "1 "],
    ["labels joined by - and _ before a digit", () => "a_b-c_d-e_f-g_h-i_j-k_l-m_n-o_p-1 "],
    ["key-AKIA near misses", () => "key-AKIA "],
    ["ip_ labels before IPv6", () => "ip_fe80::1 "],
  ],
  // Words glued after values (chars.ts glueAfter) and the e-mail forms of pii/detect_email.ts.
  "glued words": [
    ["16 digits + _visa", (i) => `${vary(i, 8)}${vary(i + 1, 8)}_visa `],
    ["digits + 32 letters + a digit", (i) => `${vary(i, 9)}${"x".repeat(32)}1 `],
    ["1_ runs", () => "1_"],
    ["SSN + _W2_", () => "123-45-6789_W2_"],
    ["fe80::1_x", () => "fe80::1_x "],
    ["a@example.com-old.txt", () => "a@example.com-old.txt "],
    ["a@b.c0m (no domain before the glue)", () => "a@b.c0m "],
    ["70 letters + _b@", () => "a".repeat(70) + "_b@"],
    ["a%40", () => "a%40"],
    ["%3D runs then %40", (i) => (i % 20 === 19 ? "%40b.com " : "a%3D")],
  ],
  // URL and form encodings (fold.ts decodeForm), addresses that identify no one and phone
  // context (red team, round 2).
  "form encodings and addresses": [
    ["k=1+2+ pairs", (i) => `k=${vary(i, 3)}+${vary(i + 1, 2)}+`],
    ["+ runs in one form value", (i) => (i === 0 ? "q=" : `${vary(i, 4)}+`)],
    ["+ after 50 value characters", () => "x".repeat(50) + "+"],
    ["%20 between digits", (i) => `${vary(i, 4)}%20`],
    ["%2520 between digits", (i) => `${vary(i, 4)}%2520`],
    ["%2B phones", (i) => `%2B1415555${vary(i, 4)} `],
    ["%3A runs", (i) => (i % 9 === 8 ? " " : `${(i % 65536).toString(16)}%3A`)],
    ["special addresses", (i) => `${i % 2 ? "127.0.0" : "0.0.0"}.${i % 256} `],
    ["networks with a prefix", (i) => `10.${i % 256}.0.0/16 `],
    ["IPv6 loopback and multicast", (i) => (i % 2 ? "::1 " : `ff02::${(i % 65536).toString(16)} `)],
    ["spaced NANP without context", (i) => `212 555 ${vary(i, 4)} `],
    ["German mobiles", (i) => `0176 1234${vary(i, 4)} `],
  ],
  "secrets: high-entropy": [
    ["token= + 500 random", (i) => `token=${(vary(i, 9) + "aZ").repeat(50)},`],
    ["Bearer runs", (i) => (i % 20 === 19 ? "," : "Authorization: Bearer ")],
  ],
};

/** ASCII digits written full-width. */
const fullWidthDigits = (digits: string) =>
  digits.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

const LOG_LINE = (i: number) =>
  `2024-05-01T10:${String(i % 60).padStart(2, "0")}:00Z INFO user=ann path=/api/v1/orders ` +
  `status=200 ms=${i % 900} note="the request completed after a retry"\n`;

for (const [detector, members] of Object.entries(MEMBERS)) {
  Deno.test(`linear: ${detector} (4× input ≤ ${MAX_GROWTH}× time; ≤ ${MAX_RELATIVE}× a log excerpt)`, () => {
    const failures = linearityFailures((t) => findPii(t), members, {
      size: SIZE,
      baseline: repeatTo(SIZE, LOG_LINE),
      maxGrowth: MAX_GROWTH,
      maxRelative: MAX_RELATIVE,
      report: (name, g, r) =>
        console.log(`${detector} / ${name}: growth ${g.toFixed(1)}, relative ${r.toFixed(1)}`),
    });
    if (failures.length > 0) throw new Error(failures.join("\n"));
  });
}

Deno.test("a credential named inside a keyword value that is not a secret is still found", () => {
  // The keyword scan no longer judges every `=` inside a value (that was the quadratic
  // `key=key=…` case); the last credential name inside gets one judgement of its own.
  const text = "token: aaaaaaaaaaaaaaaaaaaaaaaa_secret=Xk9Lq2Zp7Wm4Rt8Y";
  assertEquals(findPii(text).map((f) => f.value), ["Xk9Lq2Zp7Wm4Rt8Y"]);
});

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
  const vault = new Vault();
  const a = redactValue(deepArray, { mode: "tokenize", vault });
  const o = redactValue(deepObject, { mode: "tokenize", vault });
  assertEquals(a.counts, { email: 1 });
  assertEquals(o.counts, { email: 1 });
  let cursor = a.value;
  for (let i = 0; i < 100_000; i++) cursor = (cursor as unknown[])[0];
  assertEquals(cursor, "[EMAIL_1]");
  let obj = o.value as Record<string, unknown>;
  for (let i = 0; i < 100_000; i++) obj = obj.child as Record<string, unknown>;
  assertEquals(obj, { mail: "[EMAIL_2]" });
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

// detokenizeValue: placeholders in tool-call arguments back to the real values.

import { assertNotEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  detokenizeText,
  detokenizeValue,
  redactValue,
  retokenizeValueAsync,
  Vault,
} from "../../pii/mod.ts";

function assertEquals(actual: unknown, expected: unknown, message = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\nexpected ${e}\nactual   ${a}`);
}

Deno.test("round trip: redacted value detokenizes to the original", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const original = {
    to: ["ann@example.com", "bob@example.com"],
    body: "Card 4111 1111 1111 1111, call +44 20 7946 0018",
    meta: { ip: "203.0.113.9", n: 3, ok: true },
  };
  const { value } = redactValue(original, { mode: "tokenize", vault });
  assertEquals(detokenizeValue(value, vault), original);
});

Deno.test("placeholders embedded in longer strings are replaced, in keys too", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  vault.placeholderFor("email", "ann@example.com");
  vault.placeholderFor("phone", "+1 415-555-2671");
  const args = {
    "[EMAIL_1_kqzmtwa]": "subject: hi [EMAIL_1_kqzmtwa]!",
    query: "from:[EMAIL_1_kqzmtwa] OR tel:[PHONE_1_kqzmtwa] OR [PHONE_1_kqzmtwa]",
    list: [["[EMAIL_1_kqzmtwa]"]],
  };
  assertEquals(detokenizeValue(args, vault), {
    "ann@example.com": "subject: hi ann@example.com!",
    query: "from:ann@example.com OR tel:+1 415-555-2671 OR +1 415-555-2671",
    list: [["ann@example.com"]],
  });
});

Deno.test("look-alikes are left as is; a placeholder that does not resolve is refused", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  vault.placeholderFor("email", "ann@example.com");
  for (
    const s of [
      "[EMAIL_0_kqzmtwa]",
      "[EMAIL_01_kqzmtwa]",
      "[EMAIL_1_KQZMTWA]",
      "[EMAIL_1_kqzmtw]",
      "[email_1_kqzmtwa]",
      "[NAME_1_kqzmtwa]",
      "[EMAIL_1]",
      "EMAIL_1_kqzmtwa",
      "[EMAIL_1_kqzmtwa",
    ]
  ) {
    assertEquals(detokenizeText(s, vault), s);
  }
  assertEquals(
    detokenizeText("[EMAIL_1_kqzmtwa][EMAIL_1_kqzmtwa]", vault),
    "ann@example.comann@example.com",
  );
  // Never issued by this vault, or issued by a vault with another tag: refused, not passed on.
  for (const s of ["[EMAIL_2_kqzmtwa]", "to [EMAIL_1_kqzmtwb]", "[PHONE_1_kqzmtwa]"]) {
    const error = assertThrows(() => detokenizeText(s, vault), /does not stand for/);
    assertEquals((error as { kind?: string }).kind, "unknown_placeholder");
  }
});

Deno.test("placeholders from another vault are refused, even with the same number", () => {
  const a = new Vault();
  const b = new Vault();
  assertNotEquals(a.tag, b.tag);
  const ph = a.placeholderFor("secret", "sk_live_abc");
  b.placeholderFor("secret", "sk_live_other");
  assertEquals(detokenizeValue({ key: ph }, a), { key: "sk_live_abc" });
  assertThrows(() => detokenizeValue({ key: ph }, b), /does not stand for any value/);
});

Deno.test("detokenizeValue does not modify its input and walks deep nesting", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  vault.placeholderFor("ip", "10.0.0.1");
  let deep: unknown = "[IP_1_kqzmtwa]";
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const out = detokenizeValue(deep, vault);
  let cursor = out;
  for (let i = 0; i < 100_000; i++) cursor = (cursor as unknown[])[0];
  assertEquals(cursor, "10.0.0.1");
  let src = deep;
  for (let i = 0; i < 100_000; i++) src = (src as unknown[])[0];
  assertEquals(src, "[IP_1_kqzmtwa]");
});

Deno.test("outbound: placeholders stay placeholders; a real value comes back as its placeholder", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const opts = { mode: "tokenize" as const, vault };
  const first = redactValue({ to: "ann@example.com" }, opts).value;
  // The sandbox passes the placeholder to a tool; the bridge substitutes the real value.
  const args = detokenizeValue({ to: (first as { to: string }).to }, vault);
  assertEquals(args, { to: "ann@example.com" });
  // The tool echoes the real value; the response is redacted again, never detokenized.
  const echoed = redactValue({ sent: "ann@example.com", ref: "[EMAIL_1_kqzmtwa]" }, opts);
  assertEquals(echoed.value, { sent: "[EMAIL_1_kqzmtwa]", ref: "[EMAIL_1_kqzmtwa]" });
  assertEquals(echoed.counts, { email: 1 });
});

Deno.test("retokenize: every restored value goes back to its placeholder, longest first, once", async () => {
  const used = new Map([
    ["ann@example.com", "[EMAIL_1_kqzmtwa]"],
    ["ann@example.com.au", "[EMAIL_2_kqzmtwa]"],
    ["+41 44 668 18 00", "[PHONE_1_kqzmtwa]"],
    ["x", "[X_1]"],
  ]);
  const value = {
    "ann@example.com": "to ann@example.com.au and ann@example.com, call +41 44 668 18 00",
    list: ["ann@example.comann@example.com", 7, null, "nothing here", "a x b"],
    nested: { deep: [{ line: "+41 44 668 18 00+41 44 668 18 00" }] },
  };
  assertEquals(await retokenizeValueAsync(value, used), {
    // Keys too: a tool echoes a restored value as a key as well (red team d2).
    "[EMAIL_1_kqzmtwa]": "to [EMAIL_2_kqzmtwa] and [EMAIL_1_kqzmtwa], call [PHONE_1_kqzmtwa]",
    list: ["[EMAIL_1_kqzmtwa][EMAIL_1_kqzmtwa]", 7, null, "nothing here", "a [X_1] b"],
    nested: { deep: [{ line: "[PHONE_1_kqzmtwa][PHONE_1_kqzmtwa]" }] },
  });
  // A placeholder that contains a value is not rewritten again (one pass, left to right).
  assertEquals(
    await retokenizeValueAsync(
      "[EMAIL_1_kqzmtwa] ann",
      new Map([["EMAIL", "[E]"], ["ann", "[N]"]]),
    ),
    "[[E]_1_kqzmtwa] [N]",
  );
});

Deno.test("retokenize: stops once the execution has ended", async () => {
  const used = new Map<string, string>();
  for (let i = 0; i < 256; i++) used.set(`person${i}@example.com`, `[EMAIL_${i + 1}_kqzmtwa]`);
  const texts = Array.from({ length: 200_000 }, (_, i) => `row ${i} person${i % 300}@example.com`);
  const ended = new AbortController();
  const running = retokenizeValueAsync(texts, used, 1, ended.signal);
  ended.abort(new Error("the execution ended"));
  // Observed before: the walk ran to its end (no signal), whoever was waiting for it.
  await assertRejects(() => running, /the execution ended/);
  // Without an abort it finishes, every value hidden.
  const done = await retokenizeValueAsync(texts.slice(0, 1000), used) as string[];
  assertEquals(done[5], "row 5 [EMAIL_6_kqzmtwa]");
  assertEquals(done[299], "row 299 person299@example.com");
});

Deno.test("detokenizeValue: arguments without a placeholder come back as they are, uncopied", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const args = { list: Array(100_000).fill(0), nested: [{ text: "no placeholder here" }] };
  // Observed before: a copy of every container (two million numbers held the loop 50 ms).
  assertEquals(detokenizeValue(args, vault) === args, true);
  const email = redactValue("ann@example.com", { mode: "tokenize", vault }).value as string;
  const withOne = { list: [1, 2], nested: [{ text: `to ${email}` }] };
  const restored = detokenizeValue(withOne, vault) as typeof withOne;
  assertEquals(restored === withOne, false);
  assertEquals(restored.nested[0].text, "to ann@example.com");
  assertEquals(withOne.nested[0].text, `to ${email}`);
});

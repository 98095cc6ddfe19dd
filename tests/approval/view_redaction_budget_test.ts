/**
 * The approval view redacts only what it can show (red team n3, B1). Before, every string of
 * a held call's arguments was redacted whole on the gateway's shared event loop although the
 * view shows about 1,000 characters of it: one 4 MiB argument of e-mail addresses held the
 * loop about a second per held call. What this proves:
 * - a long string (value or key) is redacted only around its head and tail, each with
 *   VIEW_MARGIN_UNITS of context, and what is shown of it is still redacted, including a value
 *   that crosses the end of the shown part;
 * - the units redacted per view are capped (MAX_VIEW_REDACTED_UNITS) whatever the shape: many
 *   medium strings, many keys, long integers; past the cap values and keys are marked as not
 *   shown and the view says it was shortened;
 * - small arguments are shown as before (whole, redacted).
 */

import { assert, assertEquals } from "../assert.ts";
import {
  MAX_VIEW_REDACTED_UNITS,
  renderArguments,
  VIEW_MARGIN_UNITS,
} from "../../gateway/approval/argument_text.ts";
import { MAX_APPROVAL_ARGUMENT_CHARS } from "../../gateway/approval/mod.ts";
import { redactKeyedText, Vault } from "../../pii/mod.ts";

/** Real redaction (tokenize, one vault), counting the units it is given. */
function counting() {
  const vault = new Vault({ tag: "kqzmtwa" });
  const seen = { units: 0, calls: 0 };
  const redact = (text: string, key?: string) => {
    seen.units += text.length;
    seen.calls++;
    return redactKeyedText(text, key, { mode: "tokenize", vault }).text;
  };
  return { redact, seen };
}

const EMAILS_4MIB = "ann.lee@example.com, ".repeat(190_000);

Deno.test("approval view: a 4 MiB argument is redacted only around what is shown", () => {
  const { redact, seen } = counting();
  const started = performance.now();
  const out = renderArguments({ to: EMAILS_4MIB, note: "hi" }, redact);
  const took = performance.now() - started;
  // Before: all 3,990,000 units went to the redaction (about a second on the 2-core machine).
  assert(seen.units <= MAX_VIEW_REDACTED_UNITS, `redacted ${seen.units} units`);
  assert(!out.text.includes("ann.lee@example.com"), out.text.slice(0, 300));
  assert(out.text.includes("[EMAIL_1_kqzmtwa]"), out.text.slice(0, 300));
  assert(
    out.text.includes(`of ${EMAILS_4MIB.length} characters not shown`),
    out.text.slice(0, 600),
  );
  assert(out.text.endsWith(`"note":"hi"}`), out.text.slice(-100));
  assertEquals(out.shortened, true);
  assert(out.text.length <= MAX_APPROVAL_ARGUMENT_CHARS);
  console.log(`4 MiB argument: ${seen.units} units redacted, ${took.toFixed(0)} ms`);
});

Deno.test("approval view: a value crossing the end of the shown head or the start of the tail is redacted", () => {
  const { redact } = counting();
  const filler = "x ".repeat(40_000);
  // The head shows 500 units: a card number from 490 to 509, an SSN and an e-mail across
  // the start of the 500-unit tail.
  const head = "y".repeat(489) + " 4111 1111 1111 1111 ";
  const tail = " ssn 123-45-6789 ann@example.org " + "z".repeat(480);
  const out = renderArguments({ text: head + filler + tail }, redact).text;
  assert(!out.includes("1111"), out);
  assert(!out.includes("6789"), out);
  assert(!out.includes("example.org"), out);
  // A long key is cut and redacted the same way.
  const key = "bob@example.net " + "k".repeat(3 * VIEW_MARGIN_UNITS) + " bob@example.net";
  const keyed = renderArguments({ [key]: 1 }, redact);
  assert(!keyed.text.includes("bob@example.net"), keyed.text);
  assertEquals(keyed.shortened, true);
});

Deno.test("approval view: the units redacted per view are capped whatever the shape", () => {
  const medium = "carol@example.com ".repeat(450); // 8,100 units: under the cut, redacted whole
  const shapes: Array<[string, Record<string, unknown>]> = [
    ["500 strings of 8 K", { list: Array.from({ length: 500 }, () => medium) }],
    [
      "500 keys of 8 K",
      Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`${i} ${medium}`, i])),
    ],
    ["200 long strings", { list: Array.from({ length: 200 }, () => EMAILS_4MIB.slice(0, 20_000)) }],
    ["9,000 long integers", {
      list: Array.from({ length: 9_000 }, (_, i) => 4111111111111111 + i),
    }],
  ];
  for (const [name, args] of shapes) {
    const { redact, seen } = counting();
    const out = renderArguments(args, redact);
    // Before: every string whole (4 MiB for the first three).
    assert(seen.units <= MAX_VIEW_REDACTED_UNITS, `${name}: redacted ${seen.units} units`);
    assertEquals(out.shortened, true, name);
    assert(!out.text.includes("carol@example.com"), `${name}: ${out.text.slice(0, 300)}`);
    assert(!out.text.includes("ann.lee@example.com"), `${name}: ${out.text.slice(0, 300)}`);
  }
  // Past the cap: marked in place.
  const { redact } = counting();
  const out = renderArguments(
    { list: Array.from({ length: 40 }, () => medium), last: "end" },
    redact,
  );
  assert(out.text.includes("…[not shown: too much text to check]…"), out.text.slice(-400));
});

Deno.test("approval view: small arguments are shown whole, redacted", () => {
  const { redact, seen } = counting();
  const out = renderArguments({ to: "ann@example.com", body: "hello", n: 3 }, redact);
  assertEquals(out, { text: '{"to":"[EMAIL_1_kqzmtwa]","body":"hello","n":3}', shortened: false });
  assertEquals(
    seen.units,
    "ann@example.com".length + "hello".length + "to".length + "body".length + 1,
  );
});

// One value masked on every redaction path a structured value can take, for the tests of
// context inheritance (structure_context_test.ts, structure_inherit_test.ts): a shape that
// one path redacts and another lets through is a leak, so each check runs them all.

import { assert, assertEquals } from "../assert.ts";
import {
  DetectionPool,
  redactKeyedText,
  redactValue,
  redactValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { renderArguments } from "../../gateway/approval/argument_text.ts";

const mask = { mode: "mask" as const };

/**
 * `value` masked by `redactValue`, both async paths (inline, and in a one-worker
 * {@link DetectionPool} with every leaf sent to it) and the approval view (`renderArguments`
 * under the keys' context), all checked to agree (values and counts); returns the masked
 * value. Throws (an assertion error) where two paths disagree; the worker pool is closed
 * before it returns.
 */
export async function everyPath(value: Record<string, unknown>): Promise<unknown> {
  // (Mask mode makes no placeholders: the vaults are there because the options take one.)
  const sync = redactValue(value, { ...mask, vault: new Vault() });
  const inline = await redactValueAsync(value, { ...mask, vault: new Vault() });
  const pool = new DetectionPool({ size: 1 });
  try {
    const workers = await redactValueAsync(value, {
      ...mask,
      vault: new Vault(),
      pool,
      thresholdUnits: 0,
    });
    assertEquals(inline.value, sync.value);
    assertEquals(workers.value, sync.value);
    assertEquals(inline.counts, sync.counts);
    assertEquals(workers.counts, sync.counts);
  } finally {
    pool.close();
  }
  const shown = renderArguments(
    value,
    (text, key, place) => redactKeyedText(text, key, mask, place).text,
  );
  assert(!shown.shortened, shown.text);
  assertEquals(JSON.parse(shown.text), sync.value, "the approval view agrees");
  return sync.value;
}

/**
 * Tiny assertion helpers over `node:assert` (JSR's @std/assert is not reachable here).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Fails unless `actual` deeply equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fails unless `text` contains `part`. */
export function assertIncludes(text: string, part: string): void {
  nodeAssert.ok(text.includes(part), `expected to find ${JSON.stringify(part)} in:\n${text}`);
}

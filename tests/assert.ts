/**
 * Small assertion helpers for tests (JSR's @std/assert is not reachable here); deep
 * equality comes from `node:assert`.
 *
 * @module
 */

import nodeAssert from "node:assert";

/** Fails with `message` unless `condition` is truthy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep, strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  if (message === undefined) nodeAssert.deepStrictEqual(actual, expected);
  else nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Deep, strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  if (message === undefined) nodeAssert.notDeepStrictEqual(actual, expected);
  else nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/** `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new Error(
      message ?? `expected ${JSON.stringify(text.slice(0, 500))} to match ${pattern}`,
    );
  }
}

/** `text` does not match `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  const match = pattern.exec(text);
  if (match) {
    const at = Math.max(0, match.index - 80);
    throw new Error(
      message ?? `expected no match of ${pattern}, found in …${text.slice(at, at + 200)}…`,
    );
  }
}

/** Awaits `fn` and returns what it threw; fails if it did not throw. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  pattern?: RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    if (pattern) assertMatch(String((error as Error)?.message ?? error), pattern);
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/** Calls `fn` and returns what it threw; fails if it did not throw. */
export function assertThrows(fn: () => unknown, pattern?: RegExp): Error {
  try {
    fn();
  } catch (error) {
    if (pattern) assertMatch(String((error as Error)?.message ?? error), pattern);
    return error as Error;
  }
  throw new Error("expected the function to throw");
}

/** `text` contains `part`. */
export function assertIncludes(text: string, part: string): void {
  if (!text.includes(part)) {
    throw new Error(`expected to find ${JSON.stringify(part)} in:\n${text}`);
  }
}

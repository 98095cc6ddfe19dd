/**
 * How checked code is wrapped, in a file of its own: the gateway imports it without loading
 * the TypeScript compiler (only the checker process does).
 *
 * @module
 */

/**
 * The text the sandbox puts before the caller's code, on the code's first line (the
 * harness's wrapper, `sandbox/harness.js`): the code is the body of an async function, which
 * is what gives it top-level `await` and `return`. A test keeps the two equal.
 */
export const BODY_PREFIX = "export default async function __airlock_main() {";
/** The text after the caller's code. */
export const BODY_SUFFIX = "\n}\n";

/**
 * Lean executions: code that needs neither Node compatibility nor code loaded or generated
 * at run time runs in a process that never starts Node (about 20 ms of CPU less per
 * process, a third of its start-up, on Deno 2.9.6). Decided from the code's text before
 * it runs; the harness enforces it (harness.js, "Lean or full").
 *
 * Code reaches Node through the globals `process`, `Buffer`, `setImmediate` and
 * `clearImmediate`, or by importing a built-in, and it loads or generates code through
 * `import`, `eval` and the `Function` constructors (reached by name or through a
 * function's `constructor`). Code that names none of these words runs lean; any of them,
 * anywhere (a comment or a string too: harmless, it only costs the start-up), makes the
 * execution full, as every execution was before: Node started and hardened before the
 * code, nothing switched off.
 *
 * A lean process refuses (`NotCapable`) what the code reaches by other means: a Node global
 * by a computed name, `eval` or a `Function` constructor by a computed name. So lean code
 * can neither reach Node nor load a module (`import` is a keyword: it cannot be computed or
 * written with escapes), which is what keeps Deno's own Node start-up from ever running
 * after the code: it would run over whatever the code planted on `Object.prototype` (see
 * tests/security/node_prototype_traps_test.ts). An import map cannot stand in for this:
 * Deno 2.9.6 resolves a static `import` of `node:url`, `node:util`, `node:worker_threads`
 * and `node:zlib` without it.
 *
 * @module
 */

/**
 * The words that make an execution full, each as a whole word (not inside `processed` or
 * `$eval`). One pass over the text, alternatives of literal words with no nested
 * quantifiers: linear in the code's length.
 */
const FULL_RUNTIME_WORD =
  /(?<![\w$])(?:process|Buffer|setImmediate|clearImmediate|import|eval|Function|constructor)(?![\w$])/;

/**
 * `true` when the code can run lean (names none of the words above).
 *
 * @param code the code as it will run (after `gateway/code_prep.ts`), UTF-16
 */
export function runsLean(code: string): boolean {
  return !FULL_RUNTIME_WORD.test(code);
}

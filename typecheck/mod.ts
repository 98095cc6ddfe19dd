/**
 * The type checker: TypeScript (`npm:typescript`) in a long-lived child `deno` process (with a
 * warm standby) that receives declaration text and code and returns diagnostics in the
 * caller's code; killed with SIGKILL when a check overruns, capped in heap. The gateway's
 * side never loads the compiler. Depends on nothing else of Airlock's.
 *
 * - {@link TypeChecker}: the checker, with a fair per-tenant queue, deadlines and size caps.
 * - {@link BODY_PREFIX}: how the code is wrapped (the body of an async function, exactly as
 *   the sandbox runs it).
 * - {@link AMBIENT_DECLARATIONS}: the Deno and Web globals checked code may use.
 *
 * @module
 */

export {
  CheckerBusy,
  CheckerError,
  type CheckRequest,
  type CheckResult,
  TypeChecker,
  type TypeCheckerOptions,
} from "./checker.ts";
export type { Diagnostic } from "./protocol.ts";
export { BODY_PREFIX, BODY_SUFFIX } from "./wrapper.ts";
export { AMBIENT_DECLARATIONS } from "./ambient.ts";

/**
 * Messages between the checker (`TypeChecker`, in the gateway) and its process
 * (`child.ts`): one JSON text per line on the process's stdin and stdout.
 *
 * @module
 */

/** One diagnostic in the caller's code. */
export interface Diagnostic {
  /** 1-based line in the caller's code. */
  line: number;
  /** 1-based column in UTF-16 code units, as the caller's editor counts them. */
  column: number;
  /** TypeScript's message (chained messages joined by new lines), cut to the configured length. */
  message: string;
  /** TypeScript's diagnostic code (`2339`: property does not exist, …). */
  code: number;
}

/** Sent once, before any check. */
export interface InitMessage {
  type: "init";
  /** Declaration versions kept parsed and bound (least recently used goes first). */
  maxVersions: number;
  /** Versions one tenant holds at most (its own least recently used goes first). */
  maxVersionsPerTenant: number;
}

/** A check of one program. */
export interface CheckMessage {
  type: "check";
  id: number;
  /** Whose check this is (the versions kept are bounded per tenant). */
  tenant: string;
  /** Names one version of the declarations (their hash); the process keeps it loaded. */
  declarationsKey: string;
  /** The declaration text; omitted when the process is expected to hold the key already. */
  declarations?: string;
  /** The caller's code, the body of an async function. */
  code: string;
  /** Time the check may take in the process, in ms; past it the check is abandoned. */
  budgetMs: number;
  /** Diagnostics returned at most. */
  maxDiagnostics: number;
  /** Longest message, in UTF-16 code units. */
  maxMessageChars: number;
}

/** Everything the main thread sends. */
export type ToChecker = InitMessage | CheckMessage;

/** The process has loaded TypeScript and the library and checked one program. */
export interface ReadyMessage {
  type: "ready";
  /** How long loading took, in ms. */
  ms: number;
}

/**
 * The declarations of check `id` are parsed (sent only when the check carried their text):
 * from here the check's budget runs.
 */
export interface LoadedMessage {
  type: "loaded";
  id: number;
}

/** The answer to one {@link CheckMessage}. */
export interface ResultMessage {
  type: "result";
  id: number;
  /**
   * `checked`: `diagnostics` are the program's errors (none: it type-checks);
   * `missing`: the process does not hold `declarationsKey` (send the text again);
   * `timeout`: the check did not finish within its budget;
   * `too_deep`: the code (or its types) nest too deeply: the compiler's stack overflowed;
   * `failed`: the compiler threw (a bug or an input it cannot handle), see `error`.
   */
  outcome: "checked" | "missing" | "timeout" | "too_deep" | "failed";
  diagnostics: Diagnostic[];
  /** Diagnostics found in all, of which at most `maxDiagnostics` are in `diagnostics`. */
  total: number;
  /** Time spent in the process, in ms. */
  ms: number;
  /** Set when `outcome` is `failed`. */
  error?: string;
}

/** Everything the process sends. */
export type FromChecker = ReadyMessage | LoadedMessage | ResultMessage;

/**
 * The write-ahead part of the audit: what both audit logs write about an execution that is
 * still running, so that a replica killed mid-execution (SIGKILL, the OOM killer, a lost node)
 * leaves every call that already reached an upstream server on the record, as "sent, outcome
 * unknown" at worst (red team n2, N2-2: rows used to be queued only when the execution ended,
 * so a kill lost every call of every execution in progress).
 *
 * An execution's row is written with `status` `running` and a call row per upstream send; the
 * execution's final record replaces that row and its calls (one transaction, keyed by the
 * execution id). A progress write never touches a finished row, so a late one changes nothing.
 *
 * @module
 */

/**
 * How a sent call stands in a progress row: `sent` (on its way or waiting for its answer:
 * the server may or may not have acted), `ok` or `error` (its server answered; the final
 * record may still say otherwise, e.g. a result that broke the tool's output schema).
 */
export type ProgressOutcome = "sent" | "ok" | "error";

/** One call that reached (or was being sent to) an upstream server, as a progress row. */
export interface ProgressCall {
  /**
   * Its position among the execution's upstream sends (0, 1, …): the row's key until the
   * final record replaces every row of the execution.
   */
  seq: number;
  /** The catalogue id of the tool (`server.name`: only catalogued tools reach a server). */
  tool: string;
  /** Milliseconds since it was sent, when it was answered or when this snapshot was taken. */
  ms: number;
  /** Whether its server answered without an error. */
  ok: boolean;
  outcome: ProgressOutcome;
  /**
   * `unused` for a prefetch the code has not (yet) made, `prefetched` once a call of the
   * code was served from it; absent for the code's own call.
   */
  speculation?: "unused" | "prefetched";
}

/**
 * A snapshot of a running execution to write: its head, and the calls that changed since the
 * previous snapshot (never all of them again: the writes of one execution stay linear in its
 * calls). No error text, result or argument: only what the final record stores too, minus
 * what only the end knows.
 */
export interface AuditProgress {
  /** The gateway's execution id (the final record's too). */
  executionId: string;
  /** ISO 8601 start time. */
  time: string;
  tenant: string;
  requestId: string;
  transport: "http" | "mcp" | "cli";
  /** The code's HMAC, as the final record has it. */
  codeHash: string;
  /** Milliseconds since the execution started, at this snapshot. */
  durationMs: number;
  /** Calls new or changed since the previous snapshot, by `seq`. */
  calls: ProgressCall[];
}

/**
 * Something the audit queue holds in place of a progress snapshot and asks for one when it
 * writes: every change made between the queueing and the write goes in the same snapshot
 * (coalescing: one queued entry per running execution, however many calls it makes).
 */
export interface ProgressSource {
  /**
   * The changes since the last snapshot, or `undefined` when there is nothing to write (none,
   * or the execution's final record has been queued: it replaces all of it). Marks them
   * written: the caller keeps the snapshot to retry with.
   */
  takeProgress(): AuditProgress | undefined;
}

/** Whether a queued audit entry is a {@linkcode ProgressSource}. */
export function isProgressSource(entry: unknown): entry is ProgressSource {
  return typeof (entry as Partial<ProgressSource> | null)?.takeProgress === "function";
}

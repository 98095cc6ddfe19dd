/**
 * Graceful shutdown of a long-running command (`serve`, `mcp`, `exec`) on SIGINT/SIGTERM.
 * The process ends only when the shutdown has finished: running executions answered (or
 * ended), their records handed to the audit and the audit written or its losses counted.
 * Nothing here exits the process: the command returns the exit code and main.ts exits.
 *
 * @module
 */

/** The signals that ask for a graceful shutdown. */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * One shutdown, started once. The first signal (or {@linkcode Shutdown.begin}) starts `stop`;
 * a later signal aborts the `hurry` signal given to it (stop waiting for running executions:
 * the gateway ends them and still writes their records) and never exits by itself, so no
 * second Ctrl-C loses what the first one was writing.
 */
export class Shutdown {
  readonly #stop: (hurry: AbortSignal, reason: string) => Promise<number>;
  readonly #log: (fields: Record<string, unknown>) => void;
  readonly #hurry = new AbortController();
  readonly #listeners = new Map<Deno.Signal, () => void>();
  #done: Promise<number> | undefined;
  #finish!: (code: number) => void;
  /** Resolves with the exit code once the shutdown has finished (it never rejects). */
  readonly finished: Promise<number> = new Promise((resolve) => this.#finish = resolve);

  /**
   * @param stop closes everything and resolves with the exit code; may reject (then 1)
   * @param log structured log lines (the start and a second signal are logged)
   */
  constructor(
    stop: (hurry: AbortSignal, reason: string) => Promise<number>,
    log: (fields: Record<string, unknown>) => void,
  ) {
    this.#stop = stop;
    this.#log = log;
  }

  /** Whether the shutdown has started (a signal came, or {@linkcode begin} was called). */
  get begun(): boolean {
    return this.#done !== undefined;
  }

  /** Listens for SIGINT and SIGTERM until the shutdown has finished. */
  listen(): this {
    for (const signal of SIGNALS) {
      const listener = () => this.#signalled(signal);
      this.#listeners.set(signal, listener);
      Deno.addSignalListener(signal, listener);
    }
    return this;
  }

  /** Starts the shutdown (once; later calls return the same promise) and resolves with its exit code. */
  begin(reason: string): Promise<number> {
    if (this.#done) return this.#done;
    this.#log({ level: "info", msg: "shutting down: draining running executions", reason });
    this.#done = this.#stop(this.#hurry.signal, reason).catch((error) => {
      this.#log({ level: "error", msg: "shutdown failed", error: String(error) });
      return 1;
    }).then((code) => {
      // Listeners go only now: until the end a signal must not fall back to killing us.
      for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
      this.#listeners.clear();
      this.#finish(code);
      return code;
    });
    return this.#done;
  }

  #signalled(signal: Deno.Signal): void {
    if (!this.#done) {
      this.begin(signal);
      return;
    }
    if (this.#hurry.signal.aborted) return;
    this.#log({
      level: "warn",
      msg: `${signal} again: ending running executions now (their records are still written)`,
    });
    this.#hurry.abort();
  }
}

/**
 * Logs how a gateway's close went and picks the exit code: 0 when every execution running at
 * the signal was recorded and the audit took every record, 1 otherwise (the log line says how
 * many were lost, so an operator can tell a clean deploy from one that lost audit rows).
 */
export function closeOutcome(
  report: CloseReport,
  log: (fields: Record<string, unknown>) => void,
): number {
  const lost = report.auditLost + report.unrecorded;
  log({
    level: lost > 0 ? "error" : report.cut > 0 ? "warn" : "info",
    msg: lost > 0 ? `shut down with ${lost} audit records not written` : "shut down",
    executions: report.running,
    ended: report.cut,
    unrecorded: report.unrecorded,
    auditLost: report.auditLost,
  });
  return lost > 0 ? 1 : 0;
}

/** What {@linkcode Gateway.close} did with the executions it found running. */
export interface CloseReport {
  /** Executions running (or queued) when the shutdown began. */
  running: number;
  /** Of those, still running at the drain deadline (or the second signal): ended by force. */
  cut: number;
  /**
   * Executions that had not settled even after being ended (bounded wait of
   * `RECORD_WAIT_MS`): their records, if any, were never handed to the audit.
   */
  unrecorded: number;
  /**
   * Audit records (executions with their tool calls, approvals) the store did not take after
   * the shutdown began: a failed write, a closed log, a database that stayed down.
   */
  auditLost: number;
}

/**
 * Waits until every promise has settled, `ms` have passed, or `signal` aborts, whichever is
 * first. Never rejects.
 * @returns how many had not settled by then
 */
export async function unsettledAfter(
  promises: Promise<unknown>[],
  ms: number,
  signal?: AbortSignal,
): Promise<number> {
  let open = promises.length;
  if (open === 0 || signal?.aborted) return open;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  const timer = setTimeout(stop, ms);
  signal?.addEventListener("abort", stop, { once: true });
  for (const promise of promises) {
    promise.catch(() => {}).finally(() => {
      if (--open === 0) stop();
    });
  }
  await stopped;
  clearTimeout(timer);
  signal?.removeEventListener("abort", stop);
  return open;
}

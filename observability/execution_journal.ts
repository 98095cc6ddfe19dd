/**
 * The write-ahead journal of one execution: told of every upstream send as it happens (the
 * code's calls, approved ones included, and prefetches) and of each answer, it hands the audit
 * queue one entry (itself, a {@linkcode ProgressSource}) whenever it has changes not yet
 * queued. The queue asks it for a snapshot when it writes, a few milliseconds later: every
 * call made meanwhile goes in that one snapshot, so a burst of calls costs one write, not one
 * each, and nothing here waits for the database.
 *
 * @module
 */

import type {
  AuditProgress,
  ProgressCall,
  ProgressOutcome,
  ProgressSource,
} from "./audit_progress.ts";

/** The execution's head, as its final record will have it. */
export interface JournalHead {
  executionId: string;
  /** ISO 8601 start time. */
  time: string;
  tenant: string;
  requestId: string;
  transport: "http" | "mcp" | "cli";
  /** The code's HMAC; asked for once, at the first snapshot (none is taken without a call). */
  codeHash(): string;
}

/** One send, between the journal's records of it. */
interface Entry {
  tool: string;
  started: number;
  /** ms to the answer, once answered. */
  ms?: number;
  outcome: ProgressOutcome;
  speculation?: "unused" | "prefetched";
  /** Changed since the last snapshot. */
  dirty: boolean;
}

/** Ends one journaled send: `ok` when its server answered without an error. */
export type SendDone = (ok: boolean) => void;

/** See the module documentation. */
export class ExecutionJournal implements ProgressSource {
  readonly #head: JournalHead;
  readonly #submit: (source: ProgressSource) => void;
  readonly #now: () => number;
  readonly #started: number;
  #entries: Entry[] = [];
  /** Indices of entries changed since the last snapshot, each once. */
  #dirty: number[] = [];
  /** Unclaimed prefetches by tool id (indices, oldest first). */
  #prefetches = new Map<string, number[]>();
  #codeHash: string | undefined;
  #queued = false;
  #finished = false;

  /**
   * @param head the execution's head
   * @param submit queues this journal to be asked for a snapshot (called at most once between
   *   two snapshots); must not throw
   * @param now the clock in ms (tests; default `performance.now`)
   */
  constructor(
    head: JournalHead,
    submit: (source: ProgressSource) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#head = head;
    this.#submit = submit;
    this.#now = now;
    this.#started = now();
  }

  /** Upstream sends journaled so far. */
  get sends(): number {
    return this.#entries.length;
  }

  /**
   * A call to catalogue tool `tool` is being sent upstream now (`prefetch`: by speculation,
   * not by the code). Returns what to call once its server answered (or the send failed).
   * After {@linkcode finish} nothing is journaled (the final record holds the call).
   */
  sent(tool: string, prefetch = false): SendDone {
    if (this.#finished) return () => {};
    const index = this.#entries.length;
    this.#entries.push({
      tool,
      started: this.#now(),
      outcome: "sent",
      dirty: false,
      ...(prefetch ? { speculation: "unused" as const } : {}),
    });
    if (prefetch) {
      const line = this.#prefetches.get(tool);
      if (line) line.push(index);
      else this.#prefetches.set(tool, [index]);
    }
    this.#touch(index);
    let done = false;
    return (ok) => {
      if (done) return;
      done = true;
      const entry = this.#entries[index];
      entry.ms = round(this.#now() - entry.started);
      entry.outcome = ok ? "ok" : "error";
      this.#touch(index);
    };
  }

  /**
   * A call of the code to `tool` was served from one of its prefetches: the oldest unclaimed
   * prefetch of that tool becomes the code's call (`prefetched`). The journal does not know
   * the arguments; which of two prefetches of one tool is marked only matters until the final
   * record, which says exactly.
   */
  claimPrefetch(tool: string): void {
    const line = this.#prefetches.get(tool);
    const index = line?.shift();
    if (line?.length === 0) this.#prefetches.delete(tool);
    if (index === undefined || this.#finished) return;
    this.#entries[index].speculation = "prefetched";
    this.#touch(index);
  }

  /**
   * The execution's final record is queued: it replaces everything journaled, so nothing
   * more is written from here (a snapshot already taken may still land; it cannot change a
   * finished row).
   */
  finish(): void {
    this.#finished = true;
    this.#dirty = [];
  }

  /** The calls journaled so far, as progress rows (for a final record that has no other). */
  calls(): ProgressCall[] {
    return this.#entries.map((_, seq) => this.#row(seq));
  }

  /** See {@linkcode ProgressSource.takeProgress}. Linear in the changes since the last. */
  takeProgress(): AuditProgress | undefined {
    this.#queued = false;
    if (this.#finished || this.#dirty.length === 0) return undefined;
    const calls = this.#dirty.map((seq) => {
      this.#entries[seq].dirty = false;
      return this.#row(seq);
    });
    this.#dirty = [];
    const head = this.#head;
    this.#codeHash ??= head.codeHash();
    return {
      executionId: head.executionId,
      time: head.time,
      tenant: head.tenant,
      requestId: head.requestId,
      transport: head.transport,
      codeHash: this.#codeHash,
      durationMs: round(this.#now() - this.#started),
      calls,
    };
  }

  #row(seq: number): ProgressCall {
    const entry = this.#entries[seq];
    return {
      seq,
      tool: entry.tool,
      ms: entry.ms ?? round(this.#now() - entry.started),
      ok: entry.outcome === "ok",
      outcome: entry.outcome,
      ...(entry.speculation ? { speculation: entry.speculation } : {}),
    };
  }

  #touch(index: number): void {
    if (this.#finished) return;
    const entry = this.#entries[index];
    if (!entry.dirty) {
      entry.dirty = true;
      this.#dirty.push(index);
    }
    if (this.#queued) return;
    this.#queued = true;
    this.#submit(this);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

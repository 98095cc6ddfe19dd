/**
 * The audit log: one row per execution and one per tool call, in an embedded SQLite file
 * (`node:sqlite`), pruned after a retention period. It records what ran and how it went,
 * never what came back: there is no column for the result, the logs or the code text. Texts
 * are stored as {@linkcode storableRecord} gives them, the same in the PostgreSQL log.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { AuditSink } from "./audit_sink.ts";
import { type AuditProgress, isProgressSource, type ProgressSource } from "./audit_progress.ts";
import { cutText, storableText } from "./audit_text.ts";
import { WriteBehind, type WriteBehindStats } from "./write_behind.ts";

/** One execution, as audited. Never holds the result value, logs or code text. */
export interface AuditRecord {
  /**
   * Set on an execution whose final record is not written: `running` while it runs, and
   * forever when its replica was killed before it ended (SIGKILL, OOM, node loss). Its `calls`
   * are the upstream sends written ahead ({@linkcode AuditProgress}): each has `outcome`
   * `sent` (the server may or may not have acted), `ok` or `error`, and no error text; `ok` is
   * false and `durationMs` the time up to the last write. Absent on a finished execution (and
   * ignored in what is given to {@linkcode AuditLog.record}: a final record is finished).
   */
  status?: "running";
  /**
   * The execution's id: a random UUID the gateway draws when the execution starts, the one
   * its approval requests carry (`ApprovalAuditRecord.executionId`, the SSE `approval`
   * events). A log stores one execution once per id: the same record given again (a batch
   * written again after the answer to its COMMIT was lost) adds nothing, and a final record
   * replaces the row written ahead while it ran (`status` `running`), calls and all. Absent:
   * the log draws one when it takes the record. At most 64 UTF-16 units are stored.
   */
  executionId?: string;
  /** ISO 8601 start time. */
  time: string;
  /** The tenant id. */
  tenant: string;
  /** The request id the caller was given. */
  requestId: string;
  /** How the execution arrived. */
  transport: "http" | "mcp" | "cli";
  /**
   * `"hmac-sha256:<hex>"` of the code, under a key the audit does not hold
   * (`code_hash.ts`), so executions of one program can be grouped without storing it.
   */
  codeHash: string;
  /** Whether the code completed without error. */
  ok: boolean;
  /** The sandbox error kind when `ok` is false. Only executions that ran are audited. */
  errorKind?: string;
  /** Wall-clock time through the whole pipeline. */
  durationMs: number;
  /** Time spent in the sandbox. */
  sandboxMs: number;
  /** Tool ids given typed wrappers. */
  toolsInjected: string[];
  /** Tool calls in the order they were made; `error` is already redacted by the caller. */
  calls: Array<{
    tool: string;
    ms: number;
    ok: boolean;
    outcome?: string;
    error?: string;
    /**
     * Speculation: `prefetched` (the code's call got a result started before it asked),
     * `cached` (served from the session read cache, no upstream call), `unused` (a prefetch
     * that reached upstream but the code never made that call).
     */
    speculation?: string;
  }>;
  /** Redaction counts by PII type. */
  redactions: Record<string, number>;
}

/** Options for {@linkcode AuditLog.open}. */
export interface AuditOptions {
  /** Executions older than this are pruned; `Infinity` keeps everything. Default 30. */
  retentionDays?: number;
  /** The clock used for pruning (tests). */
  now?: () => Date;
  /**
   * Queued records ({@linkcode AuditLog.enqueue}, one progress entry per running execution)
   * held before pushes wait (default 10,000).
   */
  maxPending?: number;
  /** A queued batch could not be written; `count` executions are not on the record. */
  onWriteError?: (error: unknown, count: number) => void;
}

/** An audit log that cannot be opened or written; `kind` says which. */
export class AuditError extends Error {
  /** `audit_open` (the file cannot be opened or migrated) or `audit_write`. */
  readonly kind: "audit_open" | "audit_write";

  /** An audit error of `kind`; `options.cause` keeps the underlying error. */
  constructor(kind: "audit_open" | "audit_write", message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuditError";
    this.kind = kind;
  }
}

/**
 * Longest stored tool-call error, in UTF-16 units, the cut marked (`cutText`); the caller
 * already redacted it.
 */
export const MAX_ERROR_CHARS = 200;
/** Longest stored tool id (catalogue ids are short; a made-up one is already cut and redacted). */
export const MAX_TOOL_CHARS = 256;

const DAY_MS = 86_400_000;

/** Schema migrations; `PRAGMA user_version` counts how many have been applied. */
const MIGRATIONS = [
  `CREATE TABLE executions (
     id INTEGER PRIMARY KEY,
     time TEXT NOT NULL,
     tenant TEXT NOT NULL,
     request_id TEXT NOT NULL,
     transport TEXT NOT NULL,
     code_hash TEXT NOT NULL,
     ok INTEGER NOT NULL,
     error_kind TEXT,
     duration_ms REAL NOT NULL,
     sandbox_ms REAL NOT NULL,
     tools_injected TEXT NOT NULL,
     redactions TEXT NOT NULL
   );
   CREATE TABLE tool_calls (
     id INTEGER PRIMARY KEY,
     execution_id INTEGER NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     tool TEXT NOT NULL,
     ms REAL NOT NULL,
     ok INTEGER NOT NULL,
     error TEXT
   );
   CREATE INDEX executions_time ON executions(time);
   CREATE INDEX executions_tenant ON executions(tenant, time);
   CREATE INDEX tool_calls_execution ON tool_calls(execution_id);`,
  // How each call ended (ok, error, refused, cancelled); older rows keep NULL.
  `ALTER TABLE tool_calls ADD COLUMN outcome TEXT;`,
  // Speculation: prefetched, cached or unused; NULL for an ordinary call.
  `ALTER TABLE tool_calls ADD COLUMN speculation TEXT;`,
  // Human approvals of tool calls: one row per request, written when it is settled.
  `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     tenant TEXT NOT NULL,
     execution_id TEXT NOT NULL,
     request_id TEXT NOT NULL,
     tool TEXT NOT NULL,
     arguments TEXT NOT NULL,
     requested_at TEXT NOT NULL,
     decided_at TEXT NOT NULL,
     decision TEXT NOT NULL,
     decided_by TEXT,
     scope TEXT,
     reason TEXT
   );
   CREATE INDEX approvals_tenant ON approvals(tenant, requested_at);
   CREATE INDEX approvals_time ON approvals(requested_at);`,
  // The gateway's execution id (the one approvals carry), unique: a record written twice is
  // stored once. Rows written before keep NULL (a unique index lets NULLs be). Call rows are
  // keyed by their execution's row and their position.
  `ALTER TABLE executions ADD COLUMN execution_id TEXT;
   CREATE UNIQUE INDEX executions_execution_id ON executions(execution_id);
   CREATE UNIQUE INDEX tool_calls_seq ON tool_calls(execution_id, seq);
   DROP INDEX IF EXISTS tool_calls_execution;`,
  // `running` on a row written ahead while its execution runs (red team n2, N2-2); NULL once
  // the final record replaced it, and on every row written before.
  `ALTER TABLE executions ADD COLUMN status TEXT;`,
];

/**
 * One approval request and how it ended, as audited. Texts are already redacted by the
 * caller; the arguments are stored up to {@linkcode MAX_APPROVAL_ARGUMENT_CHARS}.
 */
export interface ApprovalAuditRecord {
  /** The approval's id. */
  id: string;
  tenant: string;
  /** The execution that asked. */
  executionId: string;
  requestId: string;
  /** The tool id. */
  tool: string;
  /** The arguments as the approver saw them (redacted JSON text, possibly cut). */
  arguments: string;
  /** ISO 8601 time it was asked. */
  requestedAt: string;
  /** ISO 8601 time it ended. */
  decidedAt: string;
  /** `approved`, `denied`, `timeout`, `withdrawn`, `unavailable` or `over_capacity`. */
  decision: string;
  /** `key:sha256:<16 hex>`, `local` or `mcp-client`, when a person answered. */
  decidedBy?: string;
  /** `call` or `execution`, when a person answered. */
  scope?: string;
  /** The approver's reason (redacted), when given. */
  reason?: string;
}

/** Longest stored approval argument text, in UTF-16 units. */
export const MAX_APPROVAL_ARGUMENT_CHARS = 4096;
/** Longest stored approval reason, in UTF-16 units. */
export const MAX_APPROVAL_REASON_CHARS = 500;
/** Longest stored approval id and execution id, in UTF-16 units. */
const MAX_ID_CHARS = 64;
/** Longest stored `speculation` marker (the markers are short words). */
const MAX_SPECULATION_CHARS = 16;

interface ExecutionRow {
  id: number;
  execution_id: string | null;
  status: string | null;
  time: string;
  tenant: string;
  request_id: string;
  transport: AuditRecord["transport"];
  code_hash: string;
  ok: number;
  error_kind: string | null;
  duration_ms: number;
  sandbox_ms: number;
  tools_injected: string;
  redactions: string;
}

interface CallRow {
  tool: string;
  ms: number;
  ok: number;
  outcome: string | null;
  error: string | null;
  speculation: string | null;
}

/**
 * The execution audit log. `record` is one short local transaction; `enqueue` queues the
 * record and writes it with others in one transaction a few milliseconds later, and so does
 * `enqueueProgress` with a running execution's upstream sends (written ahead).
 */
export class AuditLog implements AuditSink {
  /** Always `sqlite`. */
  readonly backend = "sqlite";
  readonly #db: DatabaseSync;
  readonly #retentionMs: number;
  readonly #now: () => Date;
  readonly #insertExecution: StatementSync;
  readonly #insertCall: StatementSync;
  readonly #deleteBefore: StatementSync;
  readonly #selectCalls: StatementSync;
  readonly #queue: WriteBehind<AuditRecord | ProgressSource>;
  readonly #upsertProgress: StatementSync;
  readonly #upsertProgressCall: StatementSync;
  readonly #deleteCalls: StatementSync;
  readonly #insertApproval: StatementSync;
  readonly #deleteApprovalsBefore: StatementSync;
  #timers = new Set<ReturnType<typeof setInterval>>();
  #closed = false;

  private constructor(db: DatabaseSync, options: AuditOptions) {
    this.#db = db;
    this.#retentionMs = (options.retentionDays ?? 30) * DAY_MS;
    this.#now = options.now ?? (() => new Date());
    const onWriteError = options.onWriteError ?? (() => {});
    this.#queue = new WriteBehind((queued) => {
      // A running execution's snapshot is taken now: every change since it was queued.
      const batch: Array<AuditRecord | AuditProgress> = [];
      for (const entry of queued) {
        const row = isProgressSource(entry) ? entry.takeProgress() : entry;
        if (row) batch.push(row);
      }
      if (batch.length === 0) return;
      // Only executions count as records (lost, failed); a snapshot is a step on the way.
      const records = (rows: Array<AuditRecord | AuditProgress>) =>
        rows.filter((row) => "ok" in row).length;
      try {
        this.#writeMany(batch);
      } catch (error) {
        if (this.#closed) return onWriteError(error, records(batch));
        // One bad record must not take its batch with it: the rest are written one by one.
        for (const entry of batch) {
          try {
            this.#writeMany([entry]);
          } catch (error) {
            onWriteError(error, records([entry]));
          }
        }
      }
    }, { maxPending: options.maxPending, counted: (entry) => !isProgressSource(entry) });
    // A final record replaces the row written ahead for its execution (and its calls); an
    // execution stored finished already (its id) is left as it is, with its calls.
    this.#insertExecution = db.prepare(
      `INSERT INTO executions (execution_id, time, tenant, request_id, transport, code_hash,
         ok, error_kind, duration_ms, sandbox_ms, tools_injected, redactions, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (execution_id) DO UPDATE SET time = excluded.time,
         request_id = excluded.request_id, transport = excluded.transport,
         code_hash = excluded.code_hash, ok = excluded.ok, error_kind = excluded.error_kind,
         duration_ms = excluded.duration_ms, sandbox_ms = excluded.sandbox_ms,
         tools_injected = excluded.tools_injected, redactions = excluded.redactions,
         status = NULL
       WHERE executions.status = 'running' AND executions.tenant = excluded.tenant
       RETURNING id`,
    );
    this.#deleteCalls = db.prepare("DELETE FROM tool_calls WHERE execution_id = ?");
    // A row written ahead: created running, or kept running; a finished row is not touched.
    this.#upsertProgress = db.prepare(
      `INSERT INTO executions (execution_id, time, tenant, request_id, transport, code_hash,
         ok, error_kind, duration_ms, sandbox_ms, tools_injected, redactions, status)
       VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, 0, '[]', '{}', 'running')
       ON CONFLICT (execution_id) DO UPDATE SET duration_ms = excluded.duration_ms
       WHERE executions.status = 'running' AND executions.tenant = excluded.tenant
       RETURNING id`,
    );
    this.#upsertProgressCall = db.prepare(
      `INSERT INTO tool_calls (execution_id, seq, tool, ms, ok, outcome, error, speculation)
       VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
       ON CONFLICT (execution_id, seq) DO UPDATE SET tool = excluded.tool, ms = excluded.ms,
         ok = excluded.ok, outcome = excluded.outcome, speculation = excluded.speculation`,
    );
    this.#insertCall = db.prepare(
      "INSERT INTO tool_calls (execution_id, seq, tool, ms, ok, outcome, error, speculation)" +
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#deleteBefore = db.prepare("DELETE FROM executions WHERE time < ?");
    this.#insertApproval = db.prepare(
      `INSERT OR REPLACE INTO approvals (id, tenant, execution_id, request_id, tool, arguments,
         requested_at, decided_at, decision, decided_by, scope, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#deleteApprovalsBefore = db.prepare("DELETE FROM approvals WHERE requested_at < ?");
    this.#selectCalls = db.prepare(
      "SELECT tool, ms, ok, outcome, error, speculation FROM tool_calls" +
        " WHERE execution_id = ? ORDER BY seq",
    );
  }

  /**
   * Opens (creating if needed) the audit file at `path`, or `":memory:"`: creates parent
   * directories, applies schema migrations, turns on WAL and prunes expired rows.
   * @throws AuditError `audit_open` naming the path and the cause
   */
  static open(path: string, options: AuditOptions = {}): AuditLog {
    const days = options.retentionDays ?? 30;
    if (!(days > 0)) {
      throw new RangeError(`retentionDays must be positive (or Infinity), got ${days}`);
    }
    let db: DatabaseSync | undefined;
    try {
      if (path !== ":memory:") {
        mkdirSync(dirname(path), { recursive: true });
        keepPrivate(path);
      }
      db = new DatabaseSync(path);
      // WAL lets readers (ops, `recent`) run beside the writer; NORMAL sync is durable
      // across process crashes, which is what an audit trail of this kind needs.
      db.exec(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;" +
          "PRAGMA busy_timeout = 5000;",
      );
      migrate(db);
      const log = new AuditLog(db, options);
      log.prune();
      return log;
    } catch (error) {
      db?.close();
      throw new AuditError(
        "audit_open",
        `cannot open the audit log at ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * Writes one execution and its tool calls in one transaction. Only the fields of
   * {@linkcode AuditRecord} are stored; anything else on `entry` is ignored.
   * @throws AuditError `audit_write` when the log is closed or the write fails
   */
  record(entry: AuditRecord): void {
    this.recordMany([entry]);
  }

  /**
   * Writes executions and their tool calls in one transaction (all or none). An execution
   * whose id is stored already is skipped (see {@linkcode AuditRecord.executionId}).
   * @throws AuditError `audit_write` when the log is closed, a time is not an ISO date, or
   *   the write fails
   */
  recordMany(entries: readonly AuditRecord[]): void {
    this.#writeMany(entries);
  }

  /** {@linkcode recordMany}, progress snapshots included (in order, one transaction). */
  #writeMany(entries: ReadonlyArray<AuditRecord | AuditProgress>): void {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    const times = entries.map((entry) => {
      const time = new Date(entry.time);
      if (Number.isNaN(time.getTime())) {
        throw new AuditError("audit_write", `time is not an ISO date: ${String(entry.time)}`);
      }
      // Normalised so that string order is time order for pruning and `recent`.
      return time.toISOString();
    });
    this.#db.exec("BEGIN");
    try {
      entries.forEach((entry, i) =>
        "ok" in entry ? this.#insert(entry, times[i]) : this.#progress(entry, times[i])
      );
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw new AuditError("audit_write", `audit write failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Queues one execution to be written a moment later, in a batch, off the response path
   * ({@linkcode WriteBehind}). Returns `undefined` when it was queued at once, or a promise
   * that resolves once it is queued: the queue was full (`maxPending`), and the caller
   * waits rather than the record being dropped. Readers ({@linkcode recent}),
   * {@linkcode flush} and {@linkcode close} write what is queued first. A batch that fails to write goes to
   * `onWriteError`.
   * @throws AuditError `audit_write` when the log is closed
   */
  enqueue(entry: AuditRecord): Promise<void> | undefined {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    return this.#queue.push(entry);
  }

  /**
   * Queues a running execution's journal: a snapshot of its changes is taken and written with
   * the next batch ({@linkcode ProgressSource}). Never waits: when the queue is full the entry
   * waits for room by itself (at most one per running execution).
   * @throws AuditError `audit_write` when the log is closed
   */
  enqueueProgress(source: ProgressSource): void {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    this.#queue.push(source);
  }

  /** Writes every queued record now (synchronously: SQLite writes are). */
  flushQueue(): void {
    if (!this.#closed) this.#queue.flushSync();
  }

  /** Queued records, records written through the queue, failed and backpressured pushes. */
  queueStats(): WriteBehindStats {
    return this.#queue.stats();
  }

  #insert(record: AuditRecord, time: string): void {
    const entry = storableRecord(record);
    const inserted = this.#insertExecution.get(
      entry.executionId ?? crypto.randomUUID(),
      time,
      entry.tenant,
      entry.requestId,
      entry.transport,
      entry.codeHash,
      entry.ok ? 1 : 0,
      entry.errorKind ?? null,
      entry.durationMs,
      entry.sandboxMs,
      JSON.stringify(entry.toolsInjected),
      JSON.stringify(entry.redactions),
    );
    // Stored finished already, calls and all (one transaction wrote them).
    if (inserted === undefined) return;
    const id = (inserted as { id: number }).id;
    // The rows written ahead go: the final record says what became of each call.
    this.#deleteCalls.run(id);
    entry.calls.forEach((call, seq) => {
      this.#insertCall.run(
        id,
        seq,
        call.tool,
        call.ms,
        call.ok ? 1 : 0,
        call.outcome ?? null,
        call.error ?? null,
        call.speculation ?? null,
      );
    });
  }

  /** Writes one progress snapshot: the running row and the calls that changed. */
  #progress(snapshot: AuditProgress, time: string): void {
    const entry = storableProgress(snapshot);
    const row = this.#upsertProgress.get(
      entry.executionId,
      time,
      entry.tenant,
      entry.requestId,
      entry.transport,
      entry.codeHash,
      entry.durationMs,
    ) as { id: number } | undefined;
    // Finished meanwhile: the final record holds the calls.
    if (row === undefined) return;
    for (const call of entry.calls) {
      this.#upsertProgressCall.run(
        row.id,
        call.seq,
        call.tool,
        call.ms,
        call.ok ? 1 : 0,
        call.outcome,
        call.speculation ?? null,
      );
    }
  }

  /**
   * Writes one settled approval request.
   * @throws AuditError `audit_write` when the log is closed or the write fails
   */
  recordApproval(entry: ApprovalAuditRecord): void {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    try {
      const row = storableApproval(entry);
      this.#insertApproval.run(
        row.id,
        row.tenant,
        row.executionId,
        row.requestId,
        row.tool,
        row.arguments,
        new Date(row.requestedAt).toISOString(),
        new Date(row.decidedAt).toISOString(),
        row.decision,
        row.decidedBy ?? null,
        row.scope ?? null,
        row.reason ?? null,
      );
    } catch (error) {
      throw new AuditError("audit_write", `audit write failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The newest approval records first (default 100), optionally of one tenant. */
  recentApprovals(options: { tenant?: string; limit?: number } = {}): ApprovalAuditRecord[] {
    const limit = options.limit ?? 100;
    const rows =
      (options.tenant === undefined
        ? this.#db.prepare("SELECT * FROM approvals ORDER BY requested_at DESC LIMIT ?").all(limit)
        : this.#db.prepare(
          "SELECT * FROM approvals WHERE tenant = ? ORDER BY requested_at DESC LIMIT ?",
        ).all(options.tenant, limit)) as unknown as Record<string, string | null>[];
    return rows.map((row) => ({
      id: row.id!,
      tenant: row.tenant!,
      executionId: row.execution_id!,
      requestId: row.request_id!,
      tool: row.tool!,
      arguments: row.arguments!,
      requestedAt: row.requested_at!,
      decidedAt: row.decided_at!,
      decision: row.decision!,
      ...(row.decided_by === null ? {} : { decidedBy: row.decided_by! }),
      ...(row.scope === null ? {} : { scope: row.scope! }),
      ...(row.reason === null ? {} : { reason: row.reason! }),
    }));
  }

  /** Deletes executions (and, by cascade, their calls) and approvals older than the retention period. */
  prune(): number {
    if (this.#closed || !Number.isFinite(this.#retentionMs)) return 0;
    const cutoff = new Date(this.#now().getTime() - this.#retentionMs).toISOString();
    this.#deleteApprovalsBefore.run(cutoff);
    return Number(this.#deleteBefore.run(cutoff).changes);
  }

  /** Prunes every `intervalMs` until the returned function is called or the log closes. */
  startRetention(intervalMs = 3_600_000): () => void {
    const id = setInterval(() => this.prune(), intervalMs);
    // Retention must not keep a process alive that has nothing else to do. (Deno 2.9's
    // timers are Node-style objects at runtime; `unrefTimer` accepts them.)
    Deno.unrefTimer(id as unknown as number);
    this.#timers.add(id);
    return () => {
      clearInterval(id);
      this.#timers.delete(id);
    };
  }

  /** The newest executions first (default 100), optionally of one tenant; for ops and tests. */
  recent(options: { tenant?: string; limit?: number } = {}): AuditRecord[] {
    this.flushQueue();
    const limit = options.limit ?? 100;
    const rows =
      (options.tenant === undefined
        ? this.#db.prepare("SELECT * FROM executions ORDER BY time DESC, id DESC LIMIT ?")
          .all(limit)
        : this.#db.prepare(
          "SELECT * FROM executions WHERE tenant = ? ORDER BY time DESC, id DESC LIMIT ?",
        ).all(options.tenant, limit)) as unknown as ExecutionRow[];
    return rows.map((row) => this.#toRecord(row));
  }

  /** {@linkcode recent}, as the {@linkcode AuditSink} interface asks. */
  recentAsync(options: { tenant?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    return Promise.resolve(this.recent(options));
  }

  /** Writes what {@linkcode enqueue} queued ({@linkcode record} writes at once). */
  flush(): Promise<void> {
    this.flushQueue();
    return Promise.resolve();
  }

  /** Stops retention timers and closes the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#queue.flushSync();
    for (const id of this.#timers) clearInterval(id);
    this.#timers.clear();
    this.#closed = true;
    this.#db.close();
  }

  #toRecord(row: ExecutionRow): AuditRecord {
    const calls = (this.#selectCalls.all(row.id) as unknown as CallRow[]).map((call) => ({
      tool: call.tool,
      ms: call.ms,
      ok: call.ok === 1,
      ...(call.outcome === null ? {} : { outcome: call.outcome }),
      ...(call.error === null ? {} : { error: call.error }),
      ...(call.speculation === null ? {} : { speculation: call.speculation }),
    }));
    return {
      ...(row.status === "running" ? { status: "running" as const } : {}),
      ...(row.execution_id === null ? {} : { executionId: row.execution_id }),
      time: row.time,
      tenant: row.tenant,
      requestId: row.request_id,
      transport: row.transport,
      codeHash: row.code_hash,
      ok: row.ok === 1,
      ...(row.error_kind === null ? {} : { errorKind: row.error_kind }),
      durationMs: row.duration_ms,
      sandboxMs: row.sandbox_ms,
      toolsInjected: JSON.parse(row.tools_injected),
      calls,
      redactions: JSON.parse(row.redactions),
    };
  }
}

/**
 * What both audit logs store of `entry`: the execution id cut to 64 UTF-16 units, tool ids
 * to {@linkcode MAX_TOOL_CHARS}, call errors to {@linkcode MAX_ERROR_CHARS} (marked, never
 * through a placeholder: `cutText`), and every text (JSON ones included: tool ids
 * injected, redaction types) made storable ({@linkcode storableText}: U+0000 and lone
 * surrogates become U+FFFD), so that whatever the code or an upstream server put into the
 * record, both logs can hold it and read it back alike. Redaction types that become the same
 * text have their counts added. Linear in the record's size; `entry` is not changed.
 */
export function storableRecord(entry: AuditRecord): AuditRecord {
  const redactions = new Map<string, number>();
  for (const [type, count] of Object.entries(entry.redactions)) {
    const key = storableText(type);
    redactions.set(key, (redactions.get(key) ?? 0) + count);
  }
  return {
    ...(entry.executionId == null
      ? {}
      : { executionId: storableText(entry.executionId.slice(0, MAX_ID_CHARS)) }),
    time: entry.time,
    tenant: storableText(entry.tenant),
    requestId: storableText(entry.requestId),
    transport: storableText(entry.transport) as AuditRecord["transport"],
    codeHash: storableText(entry.codeHash),
    ok: entry.ok,
    ...(entry.errorKind == null ? {} : { errorKind: storableText(entry.errorKind) }),
    durationMs: entry.durationMs,
    sandboxMs: entry.sandboxMs,
    toolsInjected: entry.toolsInjected.map(storableText),
    calls: entry.calls.map((call) => ({
      tool: storableText(call.tool.slice(0, MAX_TOOL_CHARS)),
      ms: call.ms,
      ok: call.ok,
      ...(call.outcome == null ? {} : { outcome: storableText(call.outcome) }),
      ...(call.error == null ? {} : { error: storableText(cutText(call.error, MAX_ERROR_CHARS)) }),
      ...(call.speculation == null
        ? {}
        : { speculation: storableText(call.speculation.slice(0, MAX_SPECULATION_CHARS)) }),
    })),
    // fromEntries: a type named `__proto__` is a key like any other, not a prototype.
    redactions: Object.fromEntries(redactions),
  };
}

/**
 * What both audit logs store of a progress snapshot: texts made storable and cut as
 * {@linkcode storableRecord} cuts them. `snapshot` is not changed.
 */
export function storableProgress(snapshot: AuditProgress): AuditProgress {
  return {
    executionId: storableText(snapshot.executionId.slice(0, MAX_ID_CHARS)),
    time: snapshot.time,
    tenant: storableText(snapshot.tenant),
    requestId: storableText(snapshot.requestId),
    transport: storableText(snapshot.transport) as AuditProgress["transport"],
    codeHash: storableText(snapshot.codeHash),
    durationMs: snapshot.durationMs,
    calls: snapshot.calls.map((call) => ({
      ...call,
      tool: storableText(call.tool.slice(0, MAX_TOOL_CHARS)),
    })),
  };
}

/**
 * What both audit logs store of an approval: ids cut to 64, the tool to
 * {@linkcode MAX_TOOL_CHARS}, the arguments to {@linkcode MAX_APPROVAL_ARGUMENT_CHARS} and the
 * reason to {@linkcode MAX_APPROVAL_REASON_CHARS} (both cut marked, never through a
 * placeholder or a mask: `cutText`), every text made storable
 * ({@linkcode storableText}). `entry` is not changed.
 */
export function storableApproval(entry: ApprovalAuditRecord): ApprovalAuditRecord {
  // Cut where no placeholder or mask is split, and marked (`cutText`), before made storable.
  const optional = (text: string | undefined, max = Infinity) =>
    text == null ? undefined : storableText(max === Infinity ? text : cutText(text, max));
  const row: ApprovalAuditRecord = {
    id: storableText(entry.id.slice(0, MAX_ID_CHARS)),
    tenant: storableText(entry.tenant),
    executionId: storableText(entry.executionId.slice(0, MAX_ID_CHARS)),
    requestId: storableText(entry.requestId),
    tool: storableText(entry.tool.slice(0, MAX_TOOL_CHARS)),
    arguments: storableText(cutText(entry.arguments, MAX_APPROVAL_ARGUMENT_CHARS)),
    requestedAt: entry.requestedAt,
    decidedAt: entry.decidedAt,
    decision: storableText(entry.decision),
  };
  const decidedBy = optional(entry.decidedBy);
  const scope = optional(entry.scope);
  const reason = optional(entry.reason, MAX_APPROVAL_REASON_CHARS);
  if (decidedBy !== undefined) row.decidedBy = decidedBy;
  if (scope !== undefined) row.scope = scope;
  if (reason !== undefined) row.reason = reason;
  return row;
}

/**
 * Makes the audit database readable by its owner only (0600), before SQLite opens it: its
 * write-ahead log and shared-memory files take the database's mode. Under the default umask
 * it was 0644, so any local user, a sandbox under `sandbox.uidRange` among them, read every
 * tenant's rows (red team l4). An existing database (and its -wal, -shm) is narrowed too.
 */
function keepPrivate(path: string): void {
  try {
    Deno.openSync(path, { create: true, write: true, mode: 0o600 }).close();
  } catch { /* SQLite reports what is wrong with the path */ }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      const mode = Deno.statSync(file).mode ?? 0;
      if ((mode & 0o077) !== 0) Deno.chmodSync(file, mode & 0o700);
    } catch { /* not there */ }
  }
}

function migrate(db: DatabaseSync): void {
  const { user_version: version } = db.prepare("PRAGMA user_version").get() as {
    user_version: number;
  };
  if (version > MIGRATIONS.length) {
    throw new Error(
      `it has schema version ${version}; this Airlock knows up to ${MIGRATIONS.length}`,
    );
  }
  for (let next = version; next < MIGRATIONS.length; next++) {
    db.exec("BEGIN");
    try {
      db.exec(MIGRATIONS[next]);
      db.exec(`PRAGMA user_version = ${next + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}

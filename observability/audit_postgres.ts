/**
 * The audit log in PostgreSQL, for several replicas writing one record: the same rows as
 * the SQLite log (executions and their tool calls, never results, logs or code; settled
 * approval requests), plus the replica that wrote each. Schema migrations run at open under an advisory lock, so replicas
 * starting together do not race; retention prunes old executions (calls go by cascade).
 *
 * Records are queued (at most `maxQueue`) and written in batches in the background, retried
 * with backoff while the database is unreachable. A retried batch stores nothing twice, even
 * when its COMMIT went through and only the answer was lost: an execution row is keyed by the
 * gateway's execution id (a finished row is left as it is; its calls were committed with it),
 * an approval by its id. A running execution's upstream sends are written ahead (a row with
 * `status` `running`, see `audit_progress.ts`) and its final record replaces them. What a tenant or an upstream server puts into a record cannot stop the
 * others: texts are stored as both logs store them (`storableRecord`:
 * U+0000 and lone surrogates become U+FFFD), call rows go in statements of at most 4,096
 * (PostgreSQL binds at most 65,535 parameters), and a batch PostgreSQL refuses for its values
 * is written again one record at a time, the record it still refuses set aside (counted in
 * `queueStats().failed`, logged without its contents, not retried). Nothing is dropped for
 * lack of room: when the queue is full, a record waits for room ({@linkcode PostgresAuditLog.enqueue} returns a
 * promise the gateway awaits before answering: backpressure, as with SQLite), and the waits
 * are counted (`backpressured`) and logged.
 *
 * @module
 */

import postgres from "postgres";
import {
  type ApprovalAuditRecord,
  AuditError,
  type AuditRecord,
  storableApproval,
  storableProgress,
  storableRecord,
} from "./audit.ts";
import type { AuditSink } from "./audit_sink.ts";
import { type AuditProgress, isProgressSource, type ProgressSource } from "./audit_progress.ts";
import { refusedRecord } from "./audit_postgres_refusal.ts";
import type { WriteBehindStats } from "./write_behind.ts";

/** Options of {@linkcode PostgresAuditLog.open}. */
export interface PostgresAuditOptions {
  /** Executions older than this are pruned; `Infinity` keeps everything. Default 30. */
  retentionDays?: number;
  /** Who writes: stored with every execution (default `<hostname>:<pid>`). */
  replica?: string;
  /** Most records queued to be written (default 10,000); beyond it new ones wait for room. */
  maxQueue?: number;
  /** Records written per transaction (default 100). */
  batchSize?: number;
  /** Seconds to wait for a connection at open and on each write (default 5). */
  connectTimeoutSeconds?: number;
  /**
   * Receives write failures and full-queue waits (for the gateway's log); no record content.
   * `lost` is set when records are given up for good (at close: the store did not take them),
   * so a shutdown can say how many; a failed write that will be retried has none.
   */
  onError?: (message: string, lost?: number) => void;
}

const DAY_MS = 86_400_000;
/**
 * Tool-call rows per INSERT: 8 columns each, so 32,768 bind parameters, half of the 65,535
 * PostgreSQL takes per statement (an execution may have up to `sandbox.maxToolCalls` =
 * 100,000 calls, plus its unused prefetches).
 */
const CALL_ROWS_PER_INSERT = 4096;
const MIGRATION_LOCK = 0x4169726c; // "Airl": one advisory lock id for every replica

/** Migrations; `airlock_audit_schema.version` counts how many have been applied. */
const MIGRATIONS = [
  `CREATE TABLE airlock_executions (
     id BIGSERIAL PRIMARY KEY,
     time TIMESTAMPTZ NOT NULL,
     replica TEXT NOT NULL,
     tenant TEXT NOT NULL,
     request_id TEXT NOT NULL,
     transport TEXT NOT NULL,
     code_hash TEXT NOT NULL,
     ok BOOLEAN NOT NULL,
     error_kind TEXT,
     duration_ms DOUBLE PRECISION NOT NULL,
     sandbox_ms DOUBLE PRECISION NOT NULL,
     tools_injected JSONB NOT NULL,
     redactions JSONB NOT NULL
   );
   CREATE TABLE airlock_tool_calls (
     id BIGSERIAL PRIMARY KEY,
     execution_id BIGINT NOT NULL REFERENCES airlock_executions(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     tool TEXT NOT NULL,
     ms DOUBLE PRECISION NOT NULL,
     ok BOOLEAN NOT NULL,
     outcome TEXT,
     error TEXT
   );
   CREATE INDEX airlock_executions_time ON airlock_executions(time);
   CREATE INDEX airlock_executions_tenant ON airlock_executions(tenant, time);
   CREATE INDEX airlock_tool_calls_execution ON airlock_tool_calls(execution_id);`,
  // Speculation: prefetched, cached or unused; NULL for an ordinary call.
  `ALTER TABLE airlock_tool_calls ADD COLUMN speculation TEXT;`,
  // Human approvals of tool calls: one row per request, written when it is settled.
  `CREATE TABLE airlock_approvals (
     id TEXT PRIMARY KEY,
     replica TEXT NOT NULL,
     tenant TEXT NOT NULL,
     execution_id TEXT NOT NULL,
     request_id TEXT NOT NULL,
     tool TEXT NOT NULL,
     arguments TEXT NOT NULL,
     requested_at TIMESTAMPTZ NOT NULL,
     decided_at TIMESTAMPTZ NOT NULL,
     decision TEXT NOT NULL,
     decided_by TEXT,
     scope TEXT,
     reason TEXT
   );
   CREATE INDEX airlock_approvals_tenant ON airlock_approvals(tenant, requested_at);
   CREATE INDEX airlock_approvals_time ON airlock_approvals(requested_at);`,
  // The gateway's execution id (the one approvals carry), unique: a batch retried after its
  // COMMIT's answer was lost stores nothing twice. Rows written before keep NULL (a unique
  // index lets NULLs be; no table rewrite). Call rows are keyed by their execution's row and
  // their position.
  `ALTER TABLE airlock_executions ADD COLUMN execution_id TEXT;
   CREATE UNIQUE INDEX airlock_executions_execution_id ON airlock_executions(execution_id);
   CREATE UNIQUE INDEX airlock_tool_calls_seq ON airlock_tool_calls(execution_id, seq);
   DROP INDEX IF EXISTS airlock_tool_calls_execution;`,
  // `running` on a row written ahead while its execution runs (red team n2, N2-2); NULL once
  // the final record replaced it, and on every row written before (no table rewrite).
  `ALTER TABLE airlock_executions ADD COLUMN status TEXT;`,
];

/** An approval waiting in the write queue beside executions. */
interface QueuedApproval {
  approval: ApprovalAuditRecord;
}

/**
 * A running execution's snapshot, taken from its {@linkcode ProgressSource} when its batch was
 * first tried (kept for the retries); `undefined`: it had nothing to write.
 */
interface QueuedProgress {
  progress: AuditProgress | undefined;
}

type Queued = AuditRecord | QueuedApproval | ProgressSource | QueuedProgress;

type Sql = ReturnType<typeof postgres>;

interface ExecutionRow {
  id: string;
  execution_id: string | null;
  status: string | null;
  time: Date;
  tenant: string;
  request_id: string;
  transport: AuditRecord["transport"];
  code_hash: string;
  ok: boolean;
  error_kind: string | null;
  duration_ms: number;
  sandbox_ms: number;
  tools_injected: string[];
  redactions: Record<string, number>;
}

/** The PostgreSQL audit log. */
export class PostgresAuditLog implements AuditSink {
  /** Always `postgres`. */
  readonly backend = "postgres";
  /** Who writes (stored with every execution). */
  readonly replica: string;
  readonly #sql: Sql;
  readonly #retentionMs: number;
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #onError: (message: string, lost?: number) => void;
  #queue: Queued[] = [];
  #writing: Promise<void> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #backpressured = 0;
  #written = 0;
  /** Records PostgreSQL refused (set aside, not retried). */
  #refused = 0;
  /** Records waiting for room in the queue, oldest first (admitted as batches are written). */
  #waiting: Array<() => void> = [];
  #timers = new Set<ReturnType<typeof setInterval>>();
  #closed = false;
  #idle: Array<() => void> = [];

  private constructor(sql: Sql, options: PostgresAuditOptions) {
    this.#sql = sql;
    this.replica = options.replica ?? `${Deno.hostname()}:${Deno.pid}`;
    this.#retentionMs = (options.retentionDays ?? 30) * DAY_MS;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#batchSize = options.batchSize ?? 100;
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Connects to `url` (`postgres://user:password@host:port/db`), applies migrations and prunes.
   * @throws AuditError `audit_open` when the database cannot be reached or migrated (the
   *   message names the host and database, never the password)
   */
  static async open(url: string, options: PostgresAuditOptions = {}): Promise<PostgresAuditLog> {
    const days = options.retentionDays ?? 30;
    if (!(days > 0)) {
      throw new RangeError(`retentionDays must be positive (or Infinity), got ${days}`);
    }
    const sql = postgres(url, {
      max: 2,
      onnotice: () => {},
      connect_timeout: options.connectTimeoutSeconds ?? 5,
      idle_timeout: 60,
      // Types of rows come back as JS numbers/objects; no prepared-statement cache surprises
      // behind poolers.
      prepare: false,
    });
    try {
      await migrate(sql);
      const log = new PostgresAuditLog(sql, options);
      await log.prune();
      return log;
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw new AuditError(
        "audit_open",
        `cannot open the PostgreSQL audit log at ${describe(url)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Records waiting to be written (queued, or waiting for room in the queue). */
  get queued(): number {
    return this.#queue.length + this.#waiting.length;
  }

  /** Records that had to wait for room in the queue, since open. */
  get backpressured(): number {
    return this.#backpressured;
  }

  /**
   * Figures for the audit metrics (`airlock_audit_pending`, `_written_total`, `_failed_total`,
   * `_backpressured_total`): `failed` counts records PostgreSQL refused; records waiting for
   * an unreachable database are `pending`, not failed.
   */
  queueStats(): WriteBehindStats {
    return {
      pending: this.queued,
      written: this.#written,
      failed: this.#refused,
      backpressured: this.#backpressured,
    };
  }

  /** Records never dropped for room: always 0 (kept for readers of the older figure). */
  get dropped(): number {
    return 0;
  }

  record(entry: AuditRecord): void {
    this.enqueue(entry);
  }

  /**
   * Queues one execution; returns `undefined` when it was queued at once, or a promise that
   * resolves once it is queued (the queue was full: the caller waits rather than the record
   * being dropped). A record without an execution id is given one here, before any attempt
   * to write it, so that its retries are recognised.
   * @throws AuditError `audit_write` when the log is closed or the time is not an ISO date
   */
  enqueue(entry: AuditRecord): Promise<void> | undefined {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    const time = new Date(entry.time);
    if (Number.isNaN(time.getTime())) {
      throw new AuditError("audit_write", `time is not an ISO date: ${String(entry.time)}`);
    }
    return this.#enqueue(
      entry.executionId == null ? { ...entry, executionId: crypto.randomUUID() } : entry,
    );
  }

  /**
   * Queues one settled approval request, written in the background like executions (the same
   * queue, bound and retries).
   * @throws AuditError `audit_write` when the log is closed or a time is not a date
   */
  recordApproval(entry: ApprovalAuditRecord): void {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    for (const time of [entry.requestedAt, entry.decidedAt]) {
      if (Number.isNaN(new Date(time).getTime())) {
        throw new AuditError("audit_write", `time is not an ISO date: ${String(time)}`);
      }
    }
    this.#enqueue({ approval: entry });
  }

  /** The newest approval records first (default 100), optionally of one tenant. */
  async recentApprovalsAsync(
    options: { tenant?: string; limit?: number } = {},
  ): Promise<ApprovalAuditRecord[]> {
    const rows = await this.#sql<Array<Record<string, string | Date | null>>>`
      SELECT * FROM airlock_approvals
      WHERE (${options.tenant ?? null}::text IS NULL OR tenant = ${options.tenant ?? null})
      ORDER BY requested_at DESC LIMIT ${options.limit ?? 100}`;
    return rows.map((row) => ({
      id: String(row.id),
      tenant: String(row.tenant),
      executionId: String(row.execution_id),
      requestId: String(row.request_id),
      tool: String(row.tool),
      arguments: String(row.arguments),
      requestedAt: new Date(row.requested_at!).toISOString(),
      decidedAt: new Date(row.decided_at!).toISOString(),
      decision: String(row.decision),
      ...(row.decided_by === null ? {} : { decidedBy: String(row.decided_by) }),
      ...(row.scope === null ? {} : { scope: String(row.scope) }),
      ...(row.reason === null ? {} : { reason: String(row.reason) }),
    }));
  }

  /**
   * Queues a running execution's journal: a snapshot of its changes is taken and written with
   * the next batch ({@linkcode ProgressSource}). Never waits: when the queue is full the entry
   * waits for room by itself (at most one per running execution).
   * @throws AuditError `audit_write` when the log is closed
   */
  enqueueProgress(source: ProgressSource): void {
    if (this.#closed) throw new AuditError("audit_write", "the audit log is closed");
    this.#enqueue(source);
  }

  #enqueue(entry: Queued): Promise<void> | undefined {
    if (this.#queue.length < this.#maxQueue && this.#waiting.length === 0) {
      this.#queue.push(entry);
      this.#kick();
      return undefined;
    }
    this.#backpressured++;
    // Once per power of two, so a long outage does not flood the log.
    if ((this.#backpressured & (this.#backpressured - 1)) === 0) {
      this.#onError(
        `audit queue full (${this.#maxQueue}): ${this.#backpressured} records waited for room`,
      );
    }
    return new Promise<void>((resolve) => {
      this.#waiting.push(() => {
        this.#queue.push(entry);
        resolve();
      });
      this.#kick();
    });
  }

  /** Moves waiting records into the queue while there is room. */
  #admit(): void {
    while (this.#waiting.length > 0 && this.#queue.length < this.#maxQueue) {
      this.#waiting.shift()!();
    }
  }

  flush(timeoutMs = 10_000): Promise<void> {
    if (this.#queue.length === 0 && !this.#writing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#idle.push(done);
    });
  }

  /** Deletes executions (and, by cascade, their calls) older than the retention period. */
  async prune(): Promise<number> {
    if (this.#closed || !Number.isFinite(this.#retentionMs)) return 0;
    const cutoff = new Date(Date.now() - this.#retentionMs);
    await this.#sql`DELETE FROM airlock_approvals WHERE requested_at < ${cutoff}`;
    const result = await this.#sql`DELETE FROM airlock_executions WHERE time < ${cutoff}`;
    return result.count;
  }

  startRetention(intervalMs = 3_600_000): () => void {
    const id = setInterval(() => {
      this.prune().catch((error) => this.#onError(`audit prune failed: ${error.message}`));
    }, intervalMs);
    Deno.unrefTimer(id as unknown as number);
    this.#timers.add(id);
    return () => {
      clearInterval(id);
      this.#timers.delete(id);
    };
  }

  async recentAsync(
    options: { tenant?: string; limit?: number; replica?: string } = {},
  ): Promise<AuditRecord[]> {
    const limit = options.limit ?? 100;
    const sql = this.#sql;
    const rows = await sql<ExecutionRow[]>`
      SELECT * FROM airlock_executions
      WHERE (${options.tenant ?? null}::text IS NULL OR tenant = ${options.tenant ?? null})
        AND (${options.replica ?? null}::text IS NULL OR replica = ${options.replica ?? null})
      ORDER BY time DESC, id DESC LIMIT ${limit}`;
    const ids = rows.map((r) => r.id);
    const calls = ids.length === 0 ? [] : await sql<
      Array<{
        execution_id: string;
        tool: string;
        ms: number;
        ok: boolean;
        outcome: string | null;
        error: string | null;
        speculation: string | null;
      }>
    >`SELECT execution_id, tool, ms, ok, outcome, error, speculation FROM airlock_tool_calls
      WHERE execution_id IN ${sql(ids)} ORDER BY execution_id, seq`;
    return rows.map((row) => ({
      ...(row.status === "running" ? { status: "running" as const } : {}),
      ...(row.execution_id === null ? {} : { executionId: row.execution_id }),
      time: new Date(row.time).toISOString(),
      tenant: row.tenant,
      requestId: row.request_id,
      transport: row.transport,
      codeHash: row.code_hash,
      ok: row.ok,
      ...(row.error_kind === null ? {} : { errorKind: row.error_kind }),
      durationMs: row.duration_ms,
      sandboxMs: row.sandbox_ms,
      toolsInjected: row.tools_injected,
      calls: calls.filter((c) => c.execution_id === row.id).map((c) => ({
        tool: c.tool,
        ms: c.ms,
        ok: c.ok,
        ...(c.outcome === null ? {} : { outcome: c.outcome }),
        ...(c.error === null ? {} : { error: c.error }),
        ...(c.speculation === null ? {} : { speculation: c.speculation }),
      })),
      redactions: row.redactions,
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush(5000);
    this.#closed = true;
    for (const id of this.#timers) clearInterval(id);
    this.#timers.clear();
    clearTimeout(this.#retryTimer);
    // Waiting callers are let go (their records are counted as not written, not lost silently).
    const waiting = this.#waiting.length;
    for (const admit of this.#waiting.splice(0)) admit();
    const lost = this.#queue.filter(isRecord).length;
    if (lost > 0) {
      this.#onError(
        `audit closed with ${lost} records not written (${waiting} waited for room)`,
        lost,
      );
    }
    await this.#sql.end({ timeout: 2 }).catch(() => {});
  }

  #kick(): void {
    if (this.#writing || this.#retryTimer || this.#closed) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      if (this.#queue.length === 0) {
        for (const done of this.#idle.splice(0)) done();
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue.slice(0, this.#batchSize);
      // Running executions' snapshots are taken now, once: a retry writes the same one.
      batch.forEach((entry, i) => {
        if (isProgressSource(entry)) {
          batch[i] = this.#queue[i] = { progress: entry.takeProgress() };
        }
      });
      try {
        await this.#write(batch);
        this.#done(batch.length);
      } catch (error) {
        if (!refusedRecord(error)) return this.#retryLater(error);
        // PostgreSQL refused something in the batch: write it one record at a time, so the
        // one it refuses is set aside and the others (any tenant's) are written.
        for (const entry of batch) {
          if (this.#closed) return;
          try {
            await this.#write([entry]);
          } catch (error) {
            if (!refusedRecord(error)) return this.#retryLater(error);
            this.#setAside(entry, error);
            continue;
          }
          this.#done(1);
        }
      }
    }
  }

  /**
   * The first `count` queued records are done with: written (`written`: whether they count as
   * such), or refused and counted. Progress snapshots are not records of their own.
   */
  #done(count: number, written = true): void {
    const done = this.#queue.splice(0, count);
    if (written) this.#written += done.filter(isRecord).length;
    this.#failures = 0;
    this.#admit();
  }

  /**
   * One record PostgreSQL refuses whatever the retry: counted, logged without its contents
   * (PostgreSQL's message may quote them; the SQLSTATE does not), and not retried, so that
   * it cannot hold up the records behind it.
   */
  #setAside(entry: Queued, error: unknown): void {
    if (isRecord(entry)) this.#refused++;
    this.#done(1, false);
    const what = "approval" in entry
      ? "approval"
      : "progress" in entry
      ? "running execution"
      : "execution";
    const code = (error as { code?: unknown }).code;
    this.#onError(
      `audit write failed: PostgreSQL refused one ${what} record (${
        typeof code === "string" ? code.slice(0, 32) : (error as Error).name
      }); not written, not retried (${this.#refused} so far)`,
    );
  }

  /** The database is unreachable (or failing for every record): retry with backoff. */
  #retryLater(error: unknown): void {
    if (this.#closed) return;
    this.#failures++;
    const delay = Math.min(100 * 2 ** Math.min(this.#failures, 6), 5000);
    if (this.#failures === 1 || this.#failures % 10 === 0) {
      this.#onError(
        `audit write failed (${this.#queue.length} queued, retrying): ${(error as Error).message}`,
      );
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick();
    }, delay);
  }

  async #write(batch: Queued[]): Promise<void> {
    await this.#sql.begin(async (tx) => {
      for (const queued of batch) {
        // Taken in #drain before any write; one with nothing to write is skipped.
        if (isProgressSource(queued)) continue;
        if ("progress" in queued) {
          if (queued.progress) await writeProgressRows(tx, this.replica, queued.progress);
          continue;
        }
        if ("approval" in queued) {
          const a = storableApproval(queued.approval);
          await tx`
            INSERT INTO airlock_approvals (id, replica, tenant, execution_id, request_id, tool,
              arguments, requested_at, decided_at, decision, decided_by, scope, reason)
            VALUES (${a.id}, ${this.replica}, ${a.tenant}, ${a.executionId}, ${a.requestId},
              ${a.tool}, ${a.arguments}, ${new Date(a.requestedAt)}, ${new Date(a.decidedAt)},
              ${a.decision}, ${a.decidedBy ?? null}, ${a.scope ?? null}, ${a.reason ?? null})
            ON CONFLICT (id) DO NOTHING`;
          continue;
        }
        const entry = storableRecord(queued);
        const inserted = await tx<Array<{ id: string }>>`
          INSERT INTO airlock_executions (execution_id, time, replica, tenant, request_id,
            transport, code_hash, ok, error_kind, duration_ms, sandbox_ms, tools_injected,
            redactions)
          VALUES (${entry.executionId ?? null}, ${new Date(entry.time)}, ${this.replica},
            ${entry.tenant}, ${entry.requestId}, ${entry.transport}, ${entry.codeHash},
            ${entry.ok}, ${entry.errorKind ?? null}, ${entry.durationMs}, ${entry.sandboxMs},
            ${tx.json(entry.toolsInjected)}, ${tx.json(entry.redactions)})
          ON CONFLICT (execution_id) DO UPDATE SET time = EXCLUDED.time,
            replica = EXCLUDED.replica, request_id = EXCLUDED.request_id,
            transport = EXCLUDED.transport, code_hash = EXCLUDED.code_hash, ok = EXCLUDED.ok,
            error_kind = EXCLUDED.error_kind, duration_ms = EXCLUDED.duration_ms,
            sandbox_ms = EXCLUDED.sandbox_ms, tools_injected = EXCLUDED.tools_injected,
            redactions = EXCLUDED.redactions, status = NULL
          WHERE airlock_executions.status = 'running'
            AND airlock_executions.tenant = EXCLUDED.tenant
          RETURNING id`;
        // Stored finished already, calls and all (one transaction wrote them): an earlier
        // attempt committed, and only its answer was lost.
        if (inserted.length === 0) continue;
        const id = inserted[0].id;
        // The rows written ahead while it ran go: the final record says what became of each.
        await tx`DELETE FROM airlock_tool_calls WHERE execution_id = ${id}`;
        for (let from = 0; from < entry.calls.length; from += CALL_ROWS_PER_INSERT) {
          const rows = entry.calls.slice(from, from + CALL_ROWS_PER_INSERT).map((call, i) => ({
            execution_id: id,
            seq: from + i,
            tool: call.tool,
            ms: call.ms,
            ok: call.ok,
            outcome: call.outcome ?? null,
            error: call.error ?? null,
            speculation: call.speculation ?? null,
          }));
          await tx`INSERT INTO airlock_tool_calls ${
            tx(rows, "execution_id", "seq", "tool", "ms", "ok", "outcome", "error", "speculation")
          }`;
        }
      }
    });
  }
}

/** Whether a queued entry is a record of its own (an execution or an approval), not progress. */
function isRecord(entry: Queued): boolean {
  return !isProgressSource(entry) && !("progress" in entry);
}

/**
 * Writes one progress snapshot in `tx`: the running row (created, or its duration moved on)
 * and the calls that changed, upserted by position. A finished row is not touched.
 */
async function writeProgressRows(
  tx: postgres.TransactionSql,
  replica: string,
  snapshot: AuditProgress,
): Promise<void> {
  const p = storableProgress(snapshot);
  const row = await tx<Array<{ id: string }>>`
    INSERT INTO airlock_executions (execution_id, time, replica, tenant, request_id, transport,
      code_hash, ok, error_kind, duration_ms, sandbox_ms, tools_injected, redactions, status)
    VALUES (${p.executionId}, ${new Date(p.time)}, ${replica}, ${p.tenant}, ${p.requestId},
      ${p.transport}, ${p.codeHash}, false, NULL, ${p.durationMs}, 0, ${tx.json([])},
      ${tx.json({})}, 'running')
    ON CONFLICT (execution_id) DO UPDATE SET duration_ms = EXCLUDED.duration_ms
    WHERE airlock_executions.status = 'running' AND airlock_executions.tenant = EXCLUDED.tenant
    RETURNING id`;
  // Finished meanwhile: the final record holds the calls.
  if (row.length === 0) return;
  const id = row[0].id;
  for (let from = 0; from < p.calls.length; from += CALL_ROWS_PER_INSERT) {
    const rows = p.calls.slice(from, from + CALL_ROWS_PER_INSERT).map((call) => ({
      execution_id: id,
      seq: call.seq,
      tool: call.tool,
      ms: call.ms,
      ok: call.ok,
      outcome: call.outcome,
      error: null,
      speculation: call.speculation ?? null,
    }));
    await tx`INSERT INTO airlock_tool_calls ${
      tx(rows, "execution_id", "seq", "tool", "ms", "ok", "outcome", "error", "speculation")
    } ON CONFLICT (execution_id, seq) DO UPDATE SET tool = EXCLUDED.tool, ms = EXCLUDED.ms,
      ok = EXCLUDED.ok, outcome = EXCLUDED.outcome, speculation = EXCLUDED.speculation`;
  }
}

/** `host:port/db` of a URL, for messages (never the user's password). */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // Replicas starting at once: one migrates, the others wait here and find it done.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS airlock_audit_schema (version INTEGER NOT NULL)`;
    const rows = await tx<Array<{ version: number }>>`SELECT version FROM airlock_audit_schema`;
    if (rows.length === 0) await tx`INSERT INTO airlock_audit_schema (version) VALUES (0)`;
    const version = rows[0]?.version ?? 0;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `it has schema version ${version}; this Airlock knows up to ${MIGRATIONS.length}`,
      );
    }
    for (let next = version; next < MIGRATIONS.length; next++) {
      await tx.unsafe(MIGRATIONS[next]);
      await tx`UPDATE airlock_audit_schema SET version = ${next + 1}`;
    }
  });
}

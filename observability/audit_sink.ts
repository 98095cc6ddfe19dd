/**
 * Where audit records go: the interface both audit logs (SQLite, PostgreSQL) implement, so
 * the gateway writes one way whichever is configured.
 *
 * @module
 */

import type { ApprovalAuditRecord, AuditRecord } from "./audit.ts";
import type { ProgressSource } from "./audit_progress.ts";
import type { WriteBehindStats } from "./write_behind.ts";

/** An audit log the gateway writes to. */
export interface AuditSink {
  /** `sqlite` (one file per machine) or `postgres` (one database for every replica). */
  readonly backend: "sqlite" | "postgres";
  /**
   * Records one execution. Never blocks on I/O: the PostgreSQL log queues the record (bounded)
   * and writes it in the background.
   * @throws AuditError `audit_write` when the record is malformed or the log is closed
   */
  record(entry: AuditRecord): void;
  /**
   * Queues a running execution's write-ahead journal (see `audit_progress.ts`): a snapshot of
   * its upstream sends is taken when the next batch is written, and the execution's final
   * record replaces it. Never waits for the database. Optional: a sink without it writes only
   * final records.
   * @throws AuditError `audit_write` when the log is closed
   */
  enqueueProgress?(source: ProgressSource): void;
  /**
   * Records one settled approval request (see `gateway/approval/`). Optional: a sink without
   * it does not keep approvals.
   * @throws AuditError `audit_write` when the log is closed or the write fails
   */
  recordApproval?(entry: ApprovalAuditRecord): void;
  /** The newest executions first (default 100), optionally of one tenant. */
  recentAsync(options?: { tenant?: string; limit?: number }): Promise<AuditRecord[]>;
  /**
   * Records queued, written, failed (refused by the store: not written, not retried) and
   * backpressured, for the `airlock_audit_*` metrics.
   */
  queueStats(): WriteBehindStats;
  /** Resolves once every record given so far is stored (or dropped after `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void>;
  /** Prunes every `intervalMs` until the returned function is called or the log closes. */
  startRetention(intervalMs?: number): () => void;
  /** Writes what is queued (bounded wait), stops timers, closes. Idempotent. */
  close(): void | Promise<void>;
}

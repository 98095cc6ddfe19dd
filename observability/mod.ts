/**
 * What the gateway writes down about itself: the audit log (SQLite, or PostgreSQL for several
 * replicas) and the Prometheus
 * metrics.
 *
 * @module
 */

export {
  type ApprovalAuditRecord,
  AuditError,
  AuditLog,
  type AuditOptions,
  type AuditRecord,
  MAX_ERROR_CHARS,
  MAX_TOOL_CHARS,
} from "./audit.ts";
export type { AuditSink } from "./audit_sink.ts";
export type {
  AuditProgress,
  ProgressCall,
  ProgressOutcome,
  ProgressSource,
} from "./audit_progress.ts";
export { ExecutionJournal, type JournalHead, type SendDone } from "./execution_journal.ts";
export { cutText } from "./audit_text.ts";
export {
  CODE_HASH_PREFIX,
  CodeHasher,
  codeHasherFor,
  type CodeHashKeySource,
  MIN_CODE_HASH_KEY_CHARS,
} from "./code_hash.ts";
export { PostgresAuditLog, type PostgresAuditOptions } from "./audit_postgres.ts";
export {
  addApprovalMetrics,
  addMcpSessionMetrics,
  APPROVAL_WAIT_BUCKETS,
  type ApprovalMetrics,
  CONTENT_TYPE,
  Counter,
  createGatewayMetrics,
  dropToolSeries,
  escapeLabelValue,
  type GatewayMetrics,
  type GatewayMetricSources,
  Gauge,
  Histogram,
  type Labels,
  LATENCY_BUCKETS,
  type Metric,
  observeExecution,
  Registry,
  RENDER_SLICE_MS,
  TOOL_CALL_BUCKETS,
  UNKNOWN_TOOL_LABEL,
} from "./metrics.ts";
export {
  MetricsPage,
  type MetricsPageOptions,
  type MetricsPageStats,
  PAGE_MAX_REUSE_MS,
  PAGE_REUSE_MS_PER_MB,
} from "./metrics_page.ts";
export { type LogSink, LogWriter, type LogWriterOptions } from "./log_writer.ts";
export { addPoolMetrics, type PoolMetricStats } from "./pool_metrics.ts";
export {
  addTypeCheckMetrics,
  type TypeCheckMetrics,
  type TypeCheckOutcome,
  type TypeCheckStats,
} from "./typecheck_metrics.ts";
export { WriteBehind, type WriteBehindOptions, type WriteBehindStats } from "./write_behind.ts";

/**
 * Metrics of the warm sandbox pool and of the audit write-behind queue: how big the pool
 * is, how often an execution found a warm process, how many started their own (cold), and
 * how many were refused because no process could be ready in time.
 *
 * @module
 */

import { Counter, Gauge, type Registry } from "./metrics.ts";
import type { WriteBehindStats } from "./write_behind.ts";

/** What the pool metrics read (a subset of the sandbox's live figures). */
export interface PoolMetricStats {
  /** Processes being started. */
  poolStarting: number;
  /** The most processes the pool may hold. */
  poolMax: number;
  /** Executions served by a process that was ready. */
  poolHits: number;
  /** Executions that started their own process. */
  coldStarts: number;
  /** Executions refused because no process could be ready within `maxWaitMs`. */
  refused: number;
}

/**
 * `airlock_pool_starting`, `airlock_pool_max`, `airlock_pool_hit_ratio` (warm share of the
 * executions so far, 0–1), `airlock_pool_hits_total`,
 * `airlock_sandbox_cold_starts_total`, `airlock_sandbox_refused_total`.
 */
export function addPoolMetrics(registry: Registry, read: () => PoolMetricStats): void {
  const value =
    (pick: (s: PoolMetricStats) => number) => () => [{ labels: {}, value: pick(read()) }];
  registry.register(
    new Gauge(
      "airlock_pool_starting",
      "Warm sandbox processes being started.",
      [],
      value((s) => s.poolStarting),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_pool_max",
      "The most processes the warm pool may grow to.",
      [],
      value((s) => s.poolMax),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_pool_hit_ratio",
      "Share of executions that found a warm process ready (0-1).",
      [],
      value((s) => {
        const total = s.poolHits + s.coldStarts;
        return total === 0 ? 0 : s.poolHits / total;
      }),
    ),
  );
  registry.register(
    new Counter(
      "airlock_pool_hits_total",
      "Executions served by a warm process that was ready.",
      [],
      value((s) => s.poolHits),
    ),
  );
  registry.register(
    new Counter(
      "airlock_sandbox_cold_starts_total",
      "Executions that started their own sandbox process (no pool, or a profile it does not hold).",
      [],
      value((s) => s.coldStarts),
    ),
  );
  registry.register(
    new Counter(
      "airlock_sandbox_refused_total",
      "Executions refused at once (503 queue_full) because no process could be ready in time.",
      [],
      value((s) => s.refused),
    ),
  );
}

/** `airlock_audit_pending` and `airlock_audit_{written,failed,backpressured}_total`. */
export function addAuditQueueMetrics(
  registry: Registry,
  read: () => WriteBehindStats | undefined,
): void {
  const value = (pick: (s: WriteBehindStats) => number) => () => {
    const stats = read();
    return stats ? [{ labels: {}, value: pick(stats) }] : [];
  };
  registry.register(
    new Gauge(
      "airlock_audit_pending",
      "Audit records queued, not yet written.",
      [],
      value((s) => s.pending),
    ),
  );
  registry.register(
    new Counter(
      "airlock_audit_written_total",
      "Audit records written through the queue.",
      [],
      value((s) => s.written),
    ),
  );
  registry.register(
    new Counter(
      "airlock_audit_failed_total",
      "Audit records whose write failed.",
      [],
      value((s) => s.failed),
    ),
  );
  registry.register(
    new Counter(
      "airlock_audit_backpressured_total",
      "Times an execution waited for room in a full audit queue.",
      [],
      value((s) => s.backpressured),
    ),
  );
}

/**
 * Metrics of the type checker (`check: true`): checks by outcome, how long the checker took,
 * checks waiting, checker restarts (a check overran its budget inside one statement and its
 * process was killed, or the process died: out of its heap cap) and declaration loads (the
 * checker did not hold a version and parsed it).
 *
 * @module
 */

import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from "./metrics.ts";

/** What the gauges read (the checker's live figures). */
export interface TypeCheckStats {
  /** Checks waiting for the checker process. */
  waiting: number;
  /** Checker process restarts so far (the metric keeps its name, `worker_restarts`). */
  restarts: number;
  /** Declaration versions loaded so far. */
  loads: number;
}

/** Outcomes of a check as counted: passed, type errors, over budget, refused, failed. */
export type TypeCheckOutcome = "ok" | "type" | "timeout" | "busy" | "failed";

/** The counters the gateway updates per check. */
export interface TypeCheckMetrics {
  /** `airlock_typecheck_total{tenant,outcome}`. */
  checks: Counter;
  /** `airlock_typecheck_duration_seconds`: time in the checker, per check. */
  seconds: Histogram;
}

/**
 * Registers `airlock_typecheck_total`, `airlock_typecheck_duration_seconds`,
 * `airlock_typecheck_waiting`, `airlock_typecheck_worker_restarts_total` and
 * `airlock_typecheck_declaration_loads_total` on `registry`.
 */
export function addTypeCheckMetrics(
  registry: Registry,
  read: () => TypeCheckStats,
): TypeCheckMetrics {
  const value = (pick: (s: TypeCheckStats) => number) => () => [
    { labels: {}, value: pick(read()) },
  ];
  registry.register(
    new Gauge(
      "airlock_typecheck_waiting",
      "Type checks waiting for the checker.",
      [],
      value((s) => s.waiting),
    ),
  );
  registry.register(
    new Counter(
      "airlock_typecheck_worker_restarts_total",
      "Checker workers terminated and replaced (a check overran its budget, or a crash).",
      [],
      value((s) => s.restarts),
    ),
  );
  registry.register(
    new Counter(
      "airlock_typecheck_declaration_loads_total",
      "Declaration versions the checker had to parse (not kept from an earlier check).",
      [],
      value((s) => s.loads),
    ),
  );
  return {
    checks: registry.register(
      new Counter("airlock_typecheck_total", "Type checks, by outcome.", ["tenant", "outcome"]),
    ),
    seconds: registry.register(
      new Histogram(
        "airlock_typecheck_duration_seconds",
        "Time the checker spent on one check.",
        [],
        LATENCY_BUCKETS,
      ),
    ),
  };
}

/**
 * Speculation in `/metrics`: prefetches by source and whether they were used, the precision
 * of prediction, whether it is on, and the session cache's size, hits and evictions, all per
 * tenant (a bounded label set: the configured tenants).
 *
 * @module
 */

import { Counter, Gauge, type Registry } from "../../observability/mod.ts";
import type { SpeculationStats } from "./engine.ts";

/**
 * Registers, read from `read()` at each scrape:
 * - `airlock_speculation_prefetches_total{tenant,source,result}`: source `literal` or
 *   `predicted`, result `used` or `unused`;
 * - `airlock_speculation_prediction_precision{tenant}`: used / made over the last 50
 *   predicted prefetches (absent before the first);
 * - `airlock_speculation_prediction_enabled{tenant}`: 0 while prediction has turned itself off;
 * - `airlock_speculation_cache_requests_total{tenant,result}`: `hit` or `miss`;
 * - `airlock_speculation_cache_entries{tenant}`, `airlock_speculation_cache_chars{tenant}`
 *   (UTF-16 units of kept results' JSON), `airlock_speculation_cache_evictions_total{tenant}`;
 * - `airlock_speculation_prefetch_held_chars{tenant}`: prefetched results held by running
 *   executions until the code asks for them (counted in the same per-tenant bound as the cache);
 * - `airlock_speculation_cache_failures_total`: operations of the session cache shared by
 *   replicas (Redis) that failed, each one a call sent upstream instead (0 without shared state).
 *
 * With shared state the entries live in Redis: `cache_entries` and `cache_chars` count only
 * this process's (none); hits, misses and evictions are this replica's.
 */
export function addSpeculationMetrics(registry: Registry, read: () => SpeculationStats): void {
  registry.register(
    new Counter(
      "airlock_speculation_prefetches_total",
      "Tool calls started before the code made them, by source and whether the code used them.",
      ["tenant", "source", "result"],
      () =>
        read().prefetches.flatMap((p) =>
          (["literal", "predicted"] as const).flatMap((source) =>
            (["used", "unused"] as const).map((result) => ({
              labels: { tenant: p.tenant, source, result },
              value: p[source][result],
            }))
          )
        ),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_speculation_prediction_precision",
      "Predicted prefetches used / made, over the last 50.",
      ["tenant"],
      () =>
        read().prediction.filter((p) => !Number.isNaN(p.precision)).map((p) => ({
          labels: { tenant: p.tenant },
          value: p.precision,
        })),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_speculation_prediction_enabled",
      "1 while prediction is on for the tenant, 0 while it has turned itself off.",
      ["tenant"],
      () =>
        read().prediction.map((p) => ({ labels: { tenant: p.tenant }, value: p.enabled ? 1 : 0 })),
    ),
  );
  registry.register(
    new Counter(
      "airlock_speculation_cache_requests_total",
      "Session cache look-ups of read-only calls, by result.",
      ["tenant", "result"],
      () =>
        read().cache.flatMap((c) => [
          { labels: { tenant: c.tenant, result: "hit" }, value: c.hits },
          { labels: { tenant: c.tenant, result: "miss" }, value: c.misses },
        ]),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_speculation_cache_entries",
      "Results kept in the session cache.",
      ["tenant"],
      () => read().cache.map((c) => ({ labels: { tenant: c.tenant }, value: c.entries })),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_speculation_cache_chars",
      "Size of the results kept in the session cache (UTF-16 units of their JSON).",
      ["tenant"],
      () => read().cache.map((c) => ({ labels: { tenant: c.tenant }, value: c.chars })),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_speculation_prefetch_held_chars",
      "Prefetched results held until the code asks for them (UTF-16 units).",
      ["tenant"],
      () => read().cache.map((c) => ({ labels: { tenant: c.tenant }, value: c.held })),
    ),
  );
  registry.register(
    new Counter(
      "airlock_speculation_cache_failures_total",
      "Shared session cache operations that failed (Redis unreachable or slow); the calls went upstream.",
      [],
      () => [{ labels: {}, value: read().cacheFailures }],
    ),
  );
  registry.register(
    new Counter(
      "airlock_speculation_cache_evictions_total",
      "Session cache entries evicted by a bound.",
      ["tenant"],
      () => read().cache.map((c) => ({ labels: { tenant: c.tenant }, value: c.evictions })),
    ),
  );
}

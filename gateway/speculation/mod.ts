/**
 * Speculative execution of read-only tool calls (issue 13): literal prefetch inside one
 * execution, the session read cache across executions, and prediction from history. Nothing
 * that is not read-only is ever speculated, and nothing fetched before a write to a server is
 * served after it. See the README, "Speculation".
 *
 * @module
 */

export { CACHE_LIMITS, type CacheLimits, type CacheTenantStats, SessionCache } from "./cache.ts";
export { canonicalJson } from "./canonical.ts";
export {
  type BeginContext,
  type HistoryCall,
  type PrefetchStats,
  Speculation,
  type SpeculationOptions,
  type SpeculationStats,
} from "./engine.ts";
export { WriteEpochs } from "./epochs.ts";
export {
  type SharedCacheBackend,
  type SharedCacheCounts,
  SharedReadCache,
  type SharedReadCacheOptions,
} from "./shared_cache.ts";
export { addSpeculationMetrics } from "./metrics.ts";
export { isReadOnly, type SpeculationPolicy } from "./policy.ts";
export { type ObservedCall, type Prediction, Predictor, type PredictorStats } from "./predictor.ts";
export {
  type CallSpeculation,
  MAX_SCANNED_CODE_CHARS,
  type ServedFrom,
  type ServedResult,
  SpeculationRun,
  type SpeculativeCall,
  type UnusedPrefetch,
} from "./run.ts";
export { type LiteralCall, type ScanLimits, scanLiteralCalls } from "./scan.ts";

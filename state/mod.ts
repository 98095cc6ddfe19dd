/**
 * Shared state of the gateway behind one interface: a memory backend (one process, the
 * default) and a Redis backend (several replicas). Depends on nothing else of Airlock's.
 *
 * ```ts
 * import { createState } from "./mod.ts";
 * const state = createState(undefined); // memory
 * const { allowed } = await state.takeToken("acme", 60, 60_000);
 * ```
 *
 * @module
 */

export type { Lease, LeaseDecision, RateDecision, SharedState, StateHealth } from "./types.ts";
export { StateUnavailableError } from "./types.ts";
export { MemoryState, type MemoryStateOptions } from "./memory.ts";
export { RedisState, type RedisStateOptions } from "./redis.ts";
export { RedisConnection, type RedisConnectionOptions } from "./connection.ts";
export { createState, type StateOptions } from "./create.ts";
export {
  RedisVaultStore,
  type RedisVaultStoreOptions,
  type SharedVaultAddition,
  type SharedVaultMapping,
  type SharedVaultRef,
} from "./vault_store.ts";
export { parseVaultKey } from "./vault_crypto.ts";
export { MAX_INITIALIZE_BYTES, type McpSessionRecord, SharedMcpSessions } from "./mcp_sessions.ts";
export {
  RedisApprovalStore,
  type RedisApprovalStoreOptions,
  type StoredApprovalRequest,
  type StoredAsk,
  type StoredSettlement,
} from "./approval_store.ts";
export {
  type ReadCacheLookup,
  type ReadCacheRef,
  RedisReadCache,
  type RedisReadCacheOptions,
} from "./read_cache.ts";

/**
 * Picks the backend from the configuration.
 *
 * @module
 */

import { MemoryState } from "./memory.ts";
import { RedisState, type RedisStateOptions } from "./redis.ts";
import type { SharedState } from "./types.ts";

/** Where shared state lives: absent for memory, a Redis URL for several replicas. */
export type StateOptions = RedisStateOptions | undefined;

/** A memory backend without options, a Redis backend (connecting in the background) with. */
export function createState(options: StateOptions): SharedState {
  return options === undefined ? new MemoryState() : new RedisState(options);
}

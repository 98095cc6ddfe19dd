/**
 * The session read cache: results of read-only tool calls, kept per tenant and session for
 * `ttlSeconds`, keyed by tool id and the canonical JSON of the arguments as sent upstream
 * (placeholders restored). What is kept is the upstream's raw `CallToolResult`: a hit goes
 * through the same conversion, output-schema check and re-tokenizing as a fresh result.
 *
 * Bounds: {@linkcode CACHE_LIMITS}, per session and per tenant, in entries and in UTF-16
 * units of the result's JSON text (a cheap, linear stand-in for its size in memory). Entries
 * past a bound evict the oldest entries of the same session first, then of the same tenant;
 * a tenant never evicts another tenant's entries.
 *
 * @module
 */

import type { CallToolResult } from "../../upstream/mod.ts";
import type { WriteEpochs } from "./epochs.ts";

/** Bounds of the cache. */
export interface CacheLimits {
  /** Most entries of one session. */
  maxEntriesPerSession: number;
  /** Most UTF-16 units of results of one session. */
  maxCharsPerSession: number;
  /** Most entries of one tenant (all its sessions). */
  maxEntriesPerTenant: number;
  /** Most UTF-16 units of results of one tenant. */
  maxCharsPerTenant: number;
  /** Largest single result kept, in UTF-16 units of its JSON text. */
  maxCharsPerEntry: number;
}

/** The default bounds: 256 entries / 4 Mi units per session, 4,096 / 32 Mi per tenant. */
export const CACHE_LIMITS: CacheLimits = {
  maxEntriesPerSession: 256,
  maxCharsPerSession: 4 * 1024 * 1024,
  maxEntriesPerTenant: 4096,
  maxCharsPerTenant: 32 * 1024 * 1024,
  maxCharsPerEntry: 1024 * 1024,
};

interface Entry {
  server: string;
  result: CallToolResult;
  chars: number;
  epoch: number;
  expires: number;
}

interface Session {
  entries: Map<string, Entry>; // insertion order = age
  chars: number;
}

interface TenantState {
  sessions: Map<string, Session>; // insertion order = least recently written first
  entries: number;
  chars: number;
  /** Prefetched results held by running executions (not yet served or dropped). */
  held: number;
  hits: number;
  misses: number;
  evictions: number;
}

/** What one tenant holds, for metrics. */
export interface CacheTenantStats {
  tenant: string;
  sessions: number;
  entries: number;
  chars: number;
  /** UTF-16 units of prefetched results held by running executions. */
  held: number;
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * The size of a tool result as the cache counts it: UTF-16 units of its strings (keys
 * included) plus one per other value, about the length of its JSON text. Stops early and
 * returns `limit + 1` once past `limit`; visits at most `limit + 1` values, so it is linear
 * and bounded whatever the result's shape.
 */
export function resultChars(result: unknown, limit: number): number {
  let chars = 0;
  const stack: unknown[] = [result];
  while (stack.length > 0) {
    if (chars > limit) return limit + 1;
    const value = stack.pop();
    chars++;
    if (typeof value === "string") chars += value.length;
    else if (Array.isArray(value)) { for (const v of value) stack.push(v); }
    else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        chars += k.length;
        stack.push(v);
      }
    }
  }
  return chars;
}

/** The session read cache of the whole gateway. */
export class SessionCache {
  readonly #limits: CacheLimits;
  readonly #epochs: WriteEpochs;
  readonly #now: () => number;
  #tenants = new Map<string, TenantState>();

  constructor(epochs: WriteEpochs, limits: CacheLimits = CACHE_LIMITS, now = () => Date.now()) {
    this.#epochs = epochs;
    this.#limits = limits;
    this.#now = now;
  }

  /**
   * The kept result of `key` in a session, or `undefined` (never kept, expired, or fetched
   * before a write to its server).
   */
  get(tenant: string, session: string, key: string): CallToolResult | undefined {
    const state = this.#tenants.get(tenant);
    const s = state?.sessions.get(session);
    const entry = s?.entries.get(key);
    if (!state || !s || !entry) {
      if (state) state.misses++;
      return undefined;
    }
    if (entry.expires <= this.#now() || !this.#epochs.current(entry.server, entry.epoch)) {
      this.#drop(state, session, s, key, entry);
      state.misses++;
      return undefined;
    }
    state.hits++;
    return entry.result;
  }

  /** Whether `get` would serve `key` now (counts nothing, drops nothing). */
  has(tenant: string, session: string, key: string): boolean {
    const entry = this.#tenants.get(tenant)?.sessions.get(session)?.entries.get(key);
    return entry !== undefined && entry.expires > this.#now() &&
      this.#epochs.current(entry.server, entry.epoch);
  }

  /**
   * Keeps `result` for `ttlMs`, when it was fetched under the server's current `epoch` and is
   * small enough; otherwise does nothing.
   */
  put(
    tenant: string,
    session: string,
    key: string,
    server: string,
    result: CallToolResult,
    epoch: number,
    ttlMs: number,
  ): void {
    if (ttlMs <= 0 || result.isError || !this.#epochs.current(server, epoch)) return;
    const limits = this.#limits;
    const chars = resultChars(result, limits.maxCharsPerEntry) + key.length;
    if (chars > limits.maxCharsPerEntry) return;
    const state = this.#state(tenant);
    if (chars + state.held > limits.maxCharsPerTenant) return;
    let s = state.sessions.get(session);
    const old = s?.entries.get(key);
    if (s && old) this.#drop(state, session, s, key, old);
    s ??= { entries: new Map(), chars: 0 };
    // Re-inserted: the sessions are kept least recently written first.
    state.sessions.delete(session);
    state.sessions.set(session, s);
    s.entries.set(key, { server, result, chars, epoch, expires: this.#now() + ttlMs });
    s.chars += chars;
    state.entries++;
    state.chars += chars;
    // The session's own oldest entries go first, then the tenant's least recent sessions.
    while (
      s.entries.size > limits.maxEntriesPerSession || s.chars > limits.maxCharsPerSession
    ) {
      const [oldestKey, oldest] = s.entries.entries().next().value!;
      this.#drop(state, session, s, oldestKey, oldest);
      state.evictions++;
    }
    this.#evictTenant(state);
  }

  /** The tenant's least recently written sessions lose their oldest entries until it fits. */
  #evictTenant(state: TenantState): void {
    const limits = this.#limits;
    while (
      state.sessions.size > 0 &&
      (state.entries > limits.maxEntriesPerTenant ||
        state.chars + state.held > limits.maxCharsPerTenant)
    ) {
      const [victimId, victim] = state.sessions.entries().next().value!;
      const [oldestKey, oldest] = victim.entries.entries().next().value!;
      this.#drop(state, victimId, victim, oldestKey, oldest);
      state.evictions++;
    }
  }

  #state(tenant: string): TenantState {
    let state = this.#tenants.get(tenant);
    if (!state) {
      state = {
        sessions: new Map(),
        entries: 0,
        chars: 0,
        held: 0,
        hits: 0,
        misses: 0,
        evictions: 0,
      };
      this.#tenants.set(tenant, state);
    }
    return state;
  }

  /**
   * Drops a session's entries of every server that shares state with `server` (its write
   * epoch group: all servers unless `server` is isolated): a call that is not read-only was
   * made to it. The epoch bump voids them anyway; this frees their room at once.
   */
  clearServer(tenant: string, session: string, server: string): void {
    const state = this.#tenants.get(tenant);
    const s = state?.sessions.get(session);
    if (!state || !s) return;
    const group = this.#epochs.group(server);
    for (const [key, entry] of [...s.entries]) {
      if (this.#epochs.group(entry.server) === group) this.#drop(state, session, s, key, entry);
    }
  }

  /**
   * Reserves room for `chars` UTF-16 units of a prefetched result held for one execution of
   * `tenant`, in the same per-tenant accounting as the cache's entries (cache entries of the
   * tenant are evicted to make room). False when the tenant's held prefetches alone would pass
   * `maxCharsPerTenant`: then the result is not held. Release with {@linkcode release}.
   */
  hold(tenant: string, chars: number): boolean {
    const state = this.#state(tenant);
    if (state.held + chars > this.#limits.maxCharsPerTenant) return false;
    state.held += chars;
    this.#evictTenant(state);
    return true;
  }

  /** Gives back what {@linkcode hold} reserved. */
  release(tenant: string, chars: number): void {
    const state = this.#tenants.get(tenant);
    if (state) state.held = Math.max(0, state.held - chars);
  }

  /** Drops expired entries everywhere (called now and then; linear in the entries). */
  sweep(): void {
    const now = this.#now();
    for (const state of this.#tenants.values()) {
      for (const [session, s] of [...state.sessions]) {
        for (const [key, entry] of [...s.entries]) {
          if (entry.expires <= now) this.#drop(state, session, s, key, entry);
        }
      }
    }
  }

  /** Per-tenant figures. */
  stats(): CacheTenantStats[] {
    return [...this.#tenants].map(([tenant, s]) => ({
      tenant,
      sessions: s.sessions.size,
      entries: s.entries,
      chars: s.chars,
      held: s.held,
      hits: s.hits,
      misses: s.misses,
      evictions: s.evictions,
    }));
  }

  #drop(state: TenantState, session: string, s: Session, key: string, entry: Entry): void {
    if (!s.entries.delete(key)) return;
    s.chars -= entry.chars;
    state.entries--;
    state.chars -= entry.chars;
    if (s.entries.size === 0) state.sessions.delete(session);
  }
}

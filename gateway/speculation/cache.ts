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
  hits: number;
  misses: number;
  evictions: number;
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
    let chars: number;
    try {
      chars = JSON.stringify(result).length + key.length;
    } catch {
      return;
    }
    const limits = this.#limits;
    if (chars > limits.maxCharsPerEntry) return;
    let state = this.#tenants.get(tenant);
    if (!state) {
      state = { sessions: new Map(), entries: 0, chars: 0, hits: 0, misses: 0, evictions: 0 };
      this.#tenants.set(tenant, state);
    }
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
    while (state.entries > limits.maxEntriesPerTenant || state.chars > limits.maxCharsPerTenant) {
      const [victimId, victim] = state.sessions.entries().next().value!;
      const [oldestKey, oldest] = victim.entries.entries().next().value!;
      this.#drop(state, victimId, victim, oldestKey, oldest);
      state.evictions++;
    }
  }

  /** Drops a session's entries of `server` (a call that is not read-only was made to it). */
  clearServer(tenant: string, session: string, server: string): void {
    const state = this.#tenants.get(tenant);
    const s = state?.sessions.get(session);
    if (!state || !s) return;
    for (const [key, entry] of [...s.entries]) {
      if (entry.server === server) this.#drop(state, session, s, key, entry);
    }
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

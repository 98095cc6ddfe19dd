// The tokenisation vault: stable placeholders for values within a session, with a
// time-to-live, and a store of vaults keyed by session id.

import { type PiiType, PLACEHOLDER_LABELS } from "./types.ts";

/** Options of a {@linkcode Vault}. */
export interface VaultOptions {
  /** How long a mapping lives after its last use, in ms (default 1 hour). */
  ttlMs?: number;
  /** Most mappings kept; the least recently used go first (default 100,000). */
  maxEntries?: number;
  /** Clock, injectable for tests (default `Date.now`). */
  now?: () => number;
}

interface Entry {
  key: string;
  placeholder: string;
  value: string;
  expiresAt: number;
}

const DEFAULT_TTL_MS = 60 * 60 * 1000;

/**
 * Maps values to placeholders such as `[EMAIL_1]` and back. The same value always gets
 * the same placeholder while its mapping lives; numbers are never reused, so an expired
 * placeholder can never come to mean a different value.
 */
export class Vault {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #byValue = new Map<string, Entry>();
  readonly #byPlaceholder = new Map<string, Entry>();
  readonly #counters = new Map<PiiType, number>();
  #nextSweep = 0;

  /** Creates an empty vault. */
  constructor(options: VaultOptions = {}) {
    this.#ttlMs = positive(options.ttlMs, DEFAULT_TTL_MS, "ttlMs");
    this.#maxEntries = positive(options.maxEntries, 100_000, "maxEntries");
    this.#now = options.now ?? Date.now;
  }

  /** The placeholder for `value` of `type`, allocating `[LABEL_n]` on first sight. */
  placeholderFor(type: PiiType, value: string): string {
    const key = type + "\u0000" + value;
    const now = this.#now();
    if (now >= this.#nextSweep) {
      this.#dropExpiredFront(now);
      this.#nextSweep = now + Math.min(1000, this.#ttlMs);
    }
    const found = this.#byValue.get(key);
    if (found !== undefined && found.expiresAt > now) {
      found.expiresAt = now + this.#ttlMs;
      // Re-insert to keep Map order = least recently used first.
      this.#byValue.delete(key);
      this.#byValue.set(key, found);
      return found.placeholder;
    }
    if (found !== undefined) this.#remove(found);
    const n = (this.#counters.get(type) ?? 0) + 1;
    this.#counters.set(type, n);
    const entry = {
      key,
      placeholder: `[${PLACEHOLDER_LABELS[type]}_${n}]`,
      value,
      expiresAt: now + this.#ttlMs,
    };
    this.#byValue.set(key, entry);
    this.#byPlaceholder.set(entry.placeholder, entry);
    while (this.#byValue.size > this.#maxEntries) {
      this.#remove(this.#byValue.values().next().value!);
    }
    return entry.placeholder;
  }

  /** The value behind `placeholder`, or undefined when unknown or expired. */
  lookup(placeholder: string): string | undefined {
    const entry = this.#byPlaceholder.get(placeholder);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry);
      return undefined;
    }
    return entry.value;
  }

  /** Number of live mappings (expired ones are dropped first). */
  get size(): number {
    this.#dropExpiredFront(this.#now());
    return this.#byValue.size;
  }

  /** Drops expired mappings. */
  sweep(): void {
    const now = this.#now();
    for (const entry of [...this.#byValue.values()]) {
      if (entry.expiresAt <= now) this.#remove(entry);
    }
  }

  /**
   * Map order is least recently used first and each use extends the entry's life by the
   * same TTL, so expired entries sit at the front: dropping them there costs O(1)
   * amortised and keeps a long session's vault from holding dead values.
   */
  #dropExpiredFront(now: number): void {
    for (const entry of this.#byValue.values()) {
      if (entry.expiresAt > now) break;
      this.#remove(entry);
    }
  }

  #remove(entry: Entry): void {
    if (this.#byValue.get(entry.key) === entry) this.#byValue.delete(entry.key);
    if (this.#byPlaceholder.get(entry.placeholder) === entry) {
      this.#byPlaceholder.delete(entry.placeholder);
    }
  }
}

/** Options of a {@linkcode VaultStore}. */
export interface VaultStoreOptions {
  /** Time-to-live of a session's vault after its last use, and of each mapping (ms). */
  ttlMs?: number;
  /** Most sessions kept; the least recently used go first (default 10,000). */
  maxSessions?: number;
  /** Clock, injectable for tests (default `Date.now`). */
  now?: () => number;
}

/** One {@linkcode Vault} per session id, dropped after the TTL or when over capacity. */
export class VaultStore {
  readonly #ttlMs: number;
  readonly #maxSessions: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, { vault: Vault; expiresAt: number }>();

  /** Creates an empty store. */
  constructor(options: VaultStoreOptions = {}) {
    this.#ttlMs = positive(options.ttlMs, DEFAULT_TTL_MS, "ttlMs");
    this.#maxSessions = positive(options.maxSessions, 10_000, "maxSessions");
    this.#now = options.now ?? Date.now;
  }

  /** The vault of `sessionId`, created when absent or expired. */
  get(sessionId: string): Vault {
    if (typeof sessionId !== "string" || sessionId.length === 0) {
      throw Object.assign(new TypeError("session id must be a non-empty string"), {
        kind: "invalid_session",
      });
    }
    const now = this.#now();
    this.#dropExpired(now);
    let session = this.#sessions.get(sessionId);
    if (session !== undefined) this.#sessions.delete(sessionId);
    else session = { vault: new Vault({ ttlMs: this.#ttlMs, now: this.#now }), expiresAt: 0 };
    session.expiresAt = now + this.#ttlMs;
    this.#sessions.set(sessionId, session);
    while (this.#sessions.size > this.#maxSessions) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return session.vault;
  }

  /** Number of live sessions. */
  get size(): number {
    this.#dropExpired(this.#now());
    return this.#sessions.size;
  }

  #dropExpired(now: number): void {
    // Map order is least recently used first, so expired sessions are at the front.
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt > now) break;
      this.#sessions.delete(id);
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === "number" && value > 0)) {
    throw Object.assign(new RangeError(`${name} must be a positive number`), {
      kind: "invalid_option",
    });
  }
  return value;
}

/**
 * The PII vaults of sessions, in this process (memory) or shared by replicas (Redis). An
 * execution opens its session's vault, redacts with it, and commits what it added: in Redis
 * mode the session is loaded into a local vault first and the new mappings are stored after,
 * with placeholders settled among replicas (a rare race renames a new placeholder; the
 * response is rewritten to match). A session Redis no longer holds starts again under a new
 * tag, so none of its old placeholders ever comes to mean another value.
 *
 * @module
 */

import {
  newVaultTag,
  type PiiType,
  PLACEHOLDER_TAG,
  Vault,
  type VaultRef,
  type VaultStore,
} from "../pii/mod.ts";
import { type RedisVaultStore, StateUnavailableError } from "../state/mod.ts";
import { GatewayError } from "./errors.ts";

/** A session's vault, open for one execution. */
export interface OpenVault {
  /** The vault to redact and restore with. */
  vault: Vault;
  /**
   * Stores the mappings made since opening; returns placeholders that changed
   * (`old → new`, `undefined`: refused, mask it). Empty in memory mode.
   * @throws GatewayError `state_unavailable` when shared state cannot be reached
   */
  commit(): Promise<Map<string, string | undefined>>;
  /** The execution is done with it. Idempotent. */
  release(): void;
}

interface Shared {
  vault: Vault;
  users: number;
  /**
   * Whether the vault's tag may be the one a missing session starts under: only for a vault
   * made for a session Redis did not hold, and only on its first commit. Any other commit
   * offers a new tag, since Redis may have held and dropped this one.
   */
  tagIsFresh: boolean;
}

/** Session vaults of the gateway. */
export class SessionVaults {
  readonly #memory: VaultStore;
  readonly #shared: RedisVaultStore | undefined;
  readonly #ttlMs: number;
  /** Sessions with an execution running on this replica: they share one local vault. */
  readonly #open = new Map<string, Shared>();

  constructor(memory: VaultStore, shared: RedisVaultStore | undefined, ttlMs: number) {
    this.#memory = memory;
    this.#shared = shared;
    this.#ttlMs = ttlMs;
  }

  /** Whether vaults live in Redis. */
  get shared(): boolean {
    return this.#shared !== undefined;
  }

  /**
   * Opens the vault of `ref` for one execution.
   * @throws GatewayError `state_unavailable` when shared state cannot be reached
   */
  async open(ref: VaultRef): Promise<OpenVault> {
    const store = this.#shared;
    if (store === undefined) {
      const vault = this.#memory.get(ref);
      return { vault, commit: () => Promise.resolve(new Map()), release: () => {} };
    }
    const key = refKey(ref);
    let entry = this.#open.get(key);
    if (entry === undefined) {
      const snapshot = await shared(store.load(ref));
      // Another execution of the session may have opened it meanwhile.
      entry = this.#open.get(key);
      if (entry === undefined) {
        // The session's tag, so its placeholders keep resolving; a new one for a new session
        // (or for a stored tag that is not one, which the vault would refuse).
        const tag = snapshot.tag !== undefined && PLACEHOLDER_TAG.test(snapshot.tag)
          ? snapshot.tag
          : undefined;
        const vault = new Vault({ ttlMs: this.#ttlMs, tag });
        vault.seed(
          snapshot.mappings.map((m) => ({ ...m, type: m.type as PiiType })),
          snapshot.counters,
        );
        entry = { vault, users: 0, tagIsFresh: snapshot.tag === undefined };
        this.#open.set(key, entry);
      }
    }
    entry.users++;
    const opened = entry;
    let released = false;
    return {
      vault: opened.vault,
      commit: async () => {
        const added = opened.vault.takeAdded();
        if (added.length === 0) return new Map();
        // Claimed before the round trip: a concurrent commit must not offer it too.
        const fresh = opened.tagIsFresh ? opened.vault.tag : newVaultTag();
        opened.tagIsFresh = false;
        const settled = await shared(store.commit(ref, added, fresh));
        const renames = new Map<string, string | undefined>();
        for (const [from, to] of settled) if (from !== to) renames.set(from, to);
        opened.vault.rename(renames);
        return renames;
      },
      release: () => {
        if (released) return;
        released = true;
        if (--opened.users === 0 && this.#open.get(key) === opened) this.#open.delete(key);
      },
    };
  }

  /**
   * The vault an execution of `ref` uses right now on this replica (for redacting its log
   * lines as they stream), or the memory store's in memory mode; a throwaway vault otherwise.
   */
  current(ref: VaultRef): Vault {
    if (this.#shared === undefined) return this.#memory.get(ref);
    return this.#open.get(refKey(ref))?.vault ?? new Vault();
  }

  /** Drops a session (its MCP session closed), here and in Redis (in the background). */
  drop(ref: VaultRef, onError: (error: unknown) => void = () => {}): void {
    this.#memory.delete(ref);
    this.#shared?.delete(ref).catch(onError);
  }
}

function refKey(ref: VaultRef): string {
  return `${ref.tenant.length}:${ref.tenant}${ref.keyId.length}:${ref.keyId}${ref.session}`;
}

async function shared<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof StateUnavailableError) {
      throw new GatewayError("state_unavailable", error.message, { retryAfter: 1 });
    }
    throw error;
  }
}

/**
 * Rewrites placeholders in every string of `value` (objects and arrays are copied, other
 * values kept): `old → new`, or the mask `[REDACTED_LABEL]` for a refused one. Linear.
 */
export function renamePlaceholders(
  value: unknown,
  renames: ReadonlyMap<string, string | undefined>,
): unknown {
  if (renames.size === 0) return value;
  const text = (s: string) =>
    s.replace(/\[([A-Z]+)_\d+_[a-z]+\]/g, (ph, label: string) => {
      if (!renames.has(ph)) return ph;
      return renames.get(ph) ?? `[REDACTED_${label}]`;
    });
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // defineProperty: a key named "__proto__" stays a plain key.
        Object.defineProperty(out, text(k), {
          value: walk(x),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return v;
  };
  return walk(value);
}

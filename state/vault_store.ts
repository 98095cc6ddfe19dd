/**
 * PII vault sessions in Redis, shared by replicas: a placeholder made through one replica
 * resolves through another. Redis never holds a personal value in clear: values are sealed
 * with AES-256-GCM (bound to tenant, session and type), looked up by HMAC, and session ids are
 * stored as HMACs too. Caps: entries and bytes per session, sessions per tenant and bytes per
 * tenant (its least recently used sessions go first; never another tenant's); a session lives
 * `ttlMs` after its last use.
 *
 * The store deals in plain records (`type`, `value`, `placeholder`); the gateway loads a
 * session into a local vault before an execution and commits the new mappings after it.
 *
 * @module
 */

import type { RedisConnection } from "./connection.ts";
import { VAULT_COMMIT, VAULT_DELETE, VAULT_LOAD } from "./scripts.ts";
import {
  decryptValue,
  deriveVaultKeys,
  encryptValue,
  lookupKey,
  parseVaultKey,
  type VaultKeys,
} from "./vault_crypto.ts";

/** Which session: tenant, API-key identity and client session id (as the vault store's). */
export interface SharedVaultRef {
  /** Tenant id (from the configuration). */
  tenant: string;
  /** Identity of the API key (`sha256:…`), `""` without auth. */
  keyId: string;
  /** Client-chosen session id (1 to 256 UTF-16 units). */
  session: string;
}

/** One stored mapping. */
export interface SharedVaultMapping {
  /** PII type (`email`, …). */
  type: string;
  /** The value. */
  value: string;
  /** Its placeholder, `[LABEL_n]`. */
  placeholder: string;
  /**
   * `agent` when the agent wrote the value itself (see `ValueOrigin` in pii/vault.ts);
   * absent: it came from upstream. Stored beside the type (`email+agent:<sealed>`), so a
   * mapping stored by an older version reads as `upstream`, the cautious side.
   */
  origin?: "agent" | "upstream";
}

/** A new mapping to commit. */
export interface SharedVaultAddition extends SharedVaultMapping {
  /** The form that decides the placeholder (one value, one placeholder). */
  canonical: string;
  /** The placeholder label (`EMAIL`), which numbers count within. */
  label: string;
}

/** Options of {@linkcode RedisVaultStore.create}. */
export interface RedisVaultStoreOptions {
  /** Key prefix (as the state's). */
  keyPrefix: string;
  /** The master key text (`AIRLOCK_VAULT_KEY`): 64 hex digits or base64 of 32 bytes. */
  masterKey: string;
  /** Life of a session after its last use, ms. */
  ttlMs: number;
  /** Most mappings of one session (default 10,000); more are masked, not stored. */
  maxEntries?: number;
  /** Most bytes of one session as stored (base64 ciphertext; default 4 MiB). */
  maxBytes?: number;
  /** Most live sessions of one tenant (default 1,000); its least recently used go first. */
  maxSessions?: number;
  /**
   * Most bytes of all of one tenant's sessions, as charged (sealed value, lookup key and
   * placeholder of each mapping plus `VAULT_MAPPING_OVERHEAD`, close to Redis's own use;
   * default 16 MiB): a mapping past it first evicts the tenant's least recently used other
   * sessions, and is masked, not stored, when that is not enough. Never another tenant's.
   */
  maxBytesPerTenant?: number;
}

/** Default of {@linkcode RedisVaultStoreOptions.maxBytesPerTenant}: 16 MiB. */
export const DEFAULT_VAULT_BYTES_PER_TENANT = 16 * 1024 * 1024;

/** Vault sessions in Redis. */
export class RedisVaultStore {
  readonly #conn: RedisConnection;
  readonly #keys: VaultKeys;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxSessions: number;
  readonly #maxBytesPerTenant: number;

  private constructor(conn: RedisConnection, keys: VaultKeys, options: RedisVaultStoreOptions) {
    this.#conn = conn;
    this.#keys = keys;
    this.#prefix = options.keyPrefix;
    this.#ttlMs = Math.max(1, Math.round(options.ttlMs));
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.#maxSessions = options.maxSessions ?? 1_000;
    this.#maxBytesPerTenant = options.maxBytesPerTenant ?? DEFAULT_VAULT_BYTES_PER_TENANT;
  }

  /**
   * A store on `connection`.
   * @throws TypeError `invalid_vault_key` when the master key is not 32 bytes
   */
  static async create(
    connection: RedisConnection,
    options: RedisVaultStoreOptions,
  ): Promise<RedisVaultStore> {
    const keys = await deriveVaultKeys(parseVaultKey(options.masterKey));
    return new RedisVaultStore(connection, keys, options);
  }

  /**
   * The session's tag (which its placeholders carry), mappings (least recently added first)
   * and counters per label; no tag and nothing else for a new or expired session, or one
   * stored by an older version (untagged placeholders). Marks the session used.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async load(
    ref: SharedVaultRef,
  ): Promise<
    { tag?: string; mappings: SharedVaultMapping[]; counters: Record<string, number> }
  > {
    const { hash, sessions, sizes, sid } = await this.#where(ref);
    const flat = await this.#conn.script(VAULT_LOAD, [hash, sessions, sizes], [
      this.#ttlMs,
      sid,
    ]) as string[];
    const counters: Record<string, number> = {};
    const sealed: Array<[string, string]> = [];
    let tag: string | undefined;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i];
      if (field.startsWith("c:")) counters[field.slice(2)] = Number(flat[i + 1]);
      else if (field.startsWith("p:")) sealed.push([field.slice(2), flat[i + 1]]);
      else if (field === "g") tag = flat[i + 1];
    }
    // Without a tag its placeholders are an older version's, which the next commit drops.
    if (tag === undefined) return { mappings: [], counters: {} };
    const mappings = await Promise.all(sealed.map(async ([placeholder, stored]) => {
      const colon = stored.indexOf(":");
      const field = stored.slice(0, colon);
      const plus = field.indexOf("+");
      const type = plus < 0 ? field : field.slice(0, plus);
      const agent = plus >= 0 && field.slice(plus + 1) === "agent";
      const value = await decryptValue(
        this.#keys,
        stored.slice(colon + 1),
        context(ref, sid, type),
      );
      if (value === undefined) return undefined;
      const mapping: SharedVaultMapping = { type, value, placeholder };
      if (agent) mapping.origin = "agent";
      return mapping;
    }));
    return {
      tag,
      mappings: mappings.filter((m): m is SharedVaultMapping => m !== undefined),
      counters,
    };
  }

  /**
   * Stores new mappings, settling their placeholders with other replicas'. Returns, for each
   * proposed placeholder, the final one (the same unless another replica took it or had the
   * value already, or the session is gone and starts again under `freshTag`), or undefined
   * when a cap refused it (mask it instead).
   *
   * `freshTag` is the tag the session gets when Redis no longer holds it (expired, evicted,
   * lost): a tag no vault used before (see `newVaultTag`), never one whose session may have
   * been stored and dropped, so the new session's `[EMAIL_1_…]` is never an old one's. Its
   * proposed placeholders are then renumbered under it.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async commit(
    ref: SharedVaultRef,
    additions: SharedVaultAddition[],
    freshTag: string,
  ): Promise<Map<string, string | undefined>> {
    const settled = new Map<string, string | undefined>();
    if (additions.length === 0) return settled;
    const { hash, sessions, sizes, sid } = await this.#where(ref);
    const args: (string | number)[] = [
      this.#ttlMs,
      sid,
      this.#maxEntries,
      this.#maxBytes,
      this.#maxSessions,
      this.#hashPrefix(ref.tenant),
      this.#maxBytesPerTenant,
      freshTag,
    ];
    for (const a of additions) {
      const number = Number(/_(\d+)_[a-z]+\]$/.exec(a.placeholder)?.[1] ?? 0);
      const lk = await lookupKey(this.#keys, `${sid}\u0000${a.type}\u0000${a.canonical}`);
      const sealed = await encryptValue(this.#keys, a.value, context(ref, sid, a.type));
      const field = a.origin === "agent" ? `${a.type}+agent` : a.type;
      args.push(lk, a.placeholder, a.label, number, `${field}:${sealed}`);
    }
    const final = await this.#conn.script(VAULT_COMMIT, [hash, sessions, sizes], args) as string[];
    additions.forEach((a, i) => settled.set(a.placeholder, final[i] || undefined));
    return settled;
  }

  /**
   * Deletes a session now (its MCP session closed).
   * @throws StateUnavailableError when Redis cannot answer
   */
  async delete(ref: SharedVaultRef): Promise<void> {
    const { sessions, sizes, sid } = await this.#where(ref);
    await this.#conn.script(VAULT_DELETE, [this.#hashPrefix(ref.tenant) + sid, sessions, sizes], [
      sid,
      this.#hashPrefix(ref.tenant),
    ]);
  }

  #hashPrefix(tenant: string): string {
    return `${this.#prefix}vault:${tenant}:`;
  }

  async #where(ref: SharedVaultRef) {
    // The session id is the client's: stored only as an HMAC, bound to the key identity.
    const sid = await lookupKey(
      this.#keys,
      `session\u0000${ref.tenant}\u0000${ref.keyId.length}:${ref.keyId}${ref.session}`,
    );
    return {
      sid,
      hash: this.#hashPrefix(ref.tenant) + sid,
      sessions: `${this.#prefix}vaultsessions:${ref.tenant}`,
      sizes: `${this.#prefix}vaultbytes:${ref.tenant}`,
    };
  }
}

function context(ref: SharedVaultRef, sid: string, type: string): string {
  return `airlock vault\u0000${ref.tenant}\u0000${sid}\u0000${type}`;
}

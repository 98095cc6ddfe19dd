/**
 * The speculation session read cache and its write epochs in Redis, shared by replicas: a read
 * kept through one replica is served through another, and a write through any replica voids
 * every replica's kept reads of its group before the write is sent upstream.
 *
 * What Redis holds: results sealed with AES-256-GCM (under a key derived from the vault's
 * master key, bound to tenant and entry as additional data, so a sealed result copied to
 * another entry does not open); entries named by an HMAC of session and call (no API key
 * identity, session id, tool or argument in clear); tenant ids and group names (server names
 * from the configuration) in clear, as the rest of the shared state.
 *
 * Bounds: per tenant, `maxEntries` entries and `maxBytes` bytes as stored (base64 of the
 * sealed result), enforced atomically (Lua); to make room the tenant's entries that expire
 * soonest (its least recently written) are evicted; a result larger than `maxBytes` is not
 * kept. A tenant never evicts another's entries.
 *
 * Every method rejects with `StateUnavailableError` when Redis cannot answer in time; the
 * caller treats that as a miss (the cache is an optimisation).
 *
 * @module
 */

import type { RedisConnection } from "./connection.ts";
import {
  CACHE_EPOCH,
  CACHE_LOOKUP,
  CACHE_PUT,
  WRITE_BEGIN,
  WRITE_END,
} from "./read_cache_scripts.ts";
import {
  decryptValue,
  deriveVaultKeys,
  encryptValue,
  lookupKey,
  parseVaultKey,
  type VaultKeys,
} from "./vault_crypto.ts";

/** Options of {@linkcode RedisReadCache.create}. */
export interface RedisReadCacheOptions {
  /** Key prefix (as the state's). */
  keyPrefix: string;
  /** The vault master key text (`AIRLOCK_VAULT_KEY`): 64 hex digits or base64 of 32 bytes. */
  masterKey: string;
  /** Most entries of one tenant (all its sessions). */
  maxEntries: number;
  /** Most bytes of one tenant's entries as stored (base64 of the sealed results). */
  maxBytes: number;
}

/** What a look-up found. */
export interface ReadCacheLookup {
  /** The kept value (as given to {@linkcode RedisReadCache.put}), when served. */
  value?: string;
  /**
   * The group's epoch at the look-up, for a later {@linkcode RedisReadCache.put}; undefined
   * while a write of the group keeps the cache off (then nothing may be kept).
   */
  epoch?: number;
}

/** Which entry: tenant, session and call (all three hashed into the entry's name). */
export interface ReadCacheRef {
  /** Tenant id (from the configuration). */
  tenant: string;
  /** The session's cache key (tenant, API key identity, session id). */
  session: string;
  /** The call: tool id and the canonical JSON of its upstream arguments. */
  key: string;
  /** The write group of the tool's server (see {@linkcode RedisReadCache.epoch}). */
  group: string;
}

/** The shared read cache in Redis. */
export class RedisReadCache {
  readonly #conn: RedisConnection;
  readonly #keys: VaultKeys;
  readonly #prefix: string;
  readonly #maxEntries: number;
  readonly #maxBytes: number;

  private constructor(conn: RedisConnection, keys: VaultKeys, options: RedisReadCacheOptions) {
    this.#conn = conn;
    this.#keys = keys;
    this.#prefix = `${options.keyPrefix}spec:`;
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes;
  }

  /**
   * A cache on `connection`.
   * @throws TypeError `invalid_vault_key` when the master key is not 32 bytes
   */
  static async create(
    connection: RedisConnection,
    options: RedisReadCacheOptions,
  ): Promise<RedisReadCache> {
    const keys = await deriveVaultKeys(parseVaultKey(options.masterKey), "airlock read cache v1");
    return new RedisReadCache(connection, keys, options);
  }

  /**
   * The kept value of `ref` and the group's epoch, in one round trip.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async lookup(ref: ReadCacheRef): Promise<ReadCacheLookup> {
    const member = await this.#member(ref);
    const [writing, epoch, sealed] = await this.#conn.script(
      CACHE_LOOKUP,
      this.#entryKeys(ref, member),
      [member, this.#entryPrefix(ref.tenant)],
    ) as [number, number, string];
    if (writing === 1) return {};
    if (sealed === "") return { epoch };
    const value = await decryptValue(this.#keys, sealed, context(ref.tenant, member));
    return value === undefined ? { epoch } : { value, epoch };
  }

  /**
   * The group's current epoch, or undefined while a write keeps its cache off.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async epoch(group: string): Promise<number | undefined> {
    const [writing, epoch] = await this.#conn.script(
      CACHE_EPOCH,
      [this.#epochKey(group), this.#epochKey(group), this.#writesKey(group)],
      [],
    ) as [number, number];
    return writing === 1 ? undefined : epoch;
  }

  /**
   * Keeps `value` for `ttlMs` when the group's epoch is still `epoch` and no write keeps the
   * cache off; evicts the tenant's soonest-expiring entries to make room. Resolves to -1 when
   * not kept, else the number of entries evicted.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async put(ref: ReadCacheRef, value: string, epoch: number, ttlMs: number): Promise<number> {
    const member = await this.#member(ref);
    const sealed = await encryptValue(this.#keys, value, context(ref.tenant, member));
    return await this.#conn.script(CACHE_PUT, this.#entryKeys(ref, member), [
      member,
      this.#entryPrefix(ref.tenant),
      epoch,
      sealed,
      Math.max(1, Math.round(ttlMs)),
      this.#maxEntries,
      this.#maxBytes,
    ]) as number;
  }

  /**
   * A write of the group starts: its epoch goes up (every kept read of the group is void) and
   * the cache of the group stays off until {@linkcode endWrite}, or `holdMs` at most.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async beginWrite(group: string, id: string, holdMs: number): Promise<void> {
    await this.#conn.script(WRITE_BEGIN, [this.#epochKey(group), this.#writesKey(group)], [
      id,
      Math.max(1, Math.round(holdMs)),
    ]);
  }

  /**
   * The write `id` ended: the epoch goes up again; unanswered, the group's cache stays off
   * `unsettledMs` more.
   * @throws StateUnavailableError when Redis cannot answer
   */
  async endWrite(group: string, id: string, answered: boolean, unsettledMs: number) {
    await this.#conn.script(WRITE_END, [this.#epochKey(group), this.#writesKey(group)], [
      id,
      answered ? 1 : 0,
      Math.max(1, Math.round(unsettledMs)),
    ]);
  }

  /**
   * Voids every kept read of the group (its server restarted or failed somewhere).
   * @throws StateUnavailableError when Redis cannot answer
   */
  async bump(group: string): Promise<void> {
    // An end without a begin: bumps the epoch (created first if need be), nothing else.
    await this.#conn.script(WRITE_END, [this.#epochKey(group), this.#writesKey(group)], [
      "bump",
      1,
      1,
    ]);
  }

  /**
   * Calls `listener` each time Redis is reachable again after an outage (see
   * `RedisConnection.onUp`). Returns the unsubscriber.
   */
  onReconnect(listener: () => void): () => void {
    return this.#conn.onUp(listener);
  }

  #member(ref: ReadCacheRef): Promise<string> {
    return lookupKey(
      this.#keys,
      `entry\u0000${ref.tenant}\u0000${ref.session.length}:${ref.session}${ref.key}`,
    );
  }

  #entryPrefix(tenant: string): string {
    return `${this.#prefix}e:${tenant}:`;
  }

  #entryKeys(ref: ReadCacheRef, member: string): string[] {
    return [
      this.#entryPrefix(ref.tenant) + member,
      this.#epochKey(ref.group),
      this.#writesKey(ref.group),
      `${this.#prefix}index:${ref.tenant}`,
      `${this.#prefix}sizes:${ref.tenant}`,
    ];
  }

  #epochKey(group: string): string {
    return `${this.#prefix}epoch:${group}`;
  }

  #writesKey(group: string): string {
    return `${this.#prefix}writes:${group}`;
  }
}

function context(tenant: string, member: string): string {
  return `airlock read cache\u0000${tenant}\u0000${member}`;
}

/**
 * MCP sessions (Streamable HTTP) known to every replica, so that any replica can serve any
 * session behind a round-robin load balancer: the record holds what is needed to rebuild
 * the server side (tenant, API-key identity, the client's `initialize` parameters). Records
 * live `ttlMs` after their last use; each tenant keeps at most `maxPerTenant`, its least
 * recently *used* going first (every use moves a session to the back), so Redis holds at most
 * `maxPerTenant` records of at most {@linkcode MAX_INITIALIZE_BYTES} (UTF-8, before sealing;
 * about 86 KiB as stored) per tenant.
 *
 * Nothing personal is in Redis in clear: the record (whose `initialize` params may carry a
 * client name or free text) is sealed with AES-256-GCM bound to the session id, and the
 * session id (the client's bearer of the session, also its PII vault's id) appears in keys and
 * sets only as an HMAC, both keyed by the vault key (`AIRLOCK_VAULT_KEY`).
 *
 * @module
 */

import type { RedisConnection } from "./connection.ts";
import { MCP_CREATE, MCP_TOUCH } from "./scripts.ts";
import {
  decryptValue,
  deriveVaultKeys,
  encryptValue,
  lookupKey,
  parseVaultKey,
  type VaultKeys,
} from "./vault_crypto.ts";

/** What a replica needs to rebuild a session. */
export interface McpSessionRecord {
  /** Tenant id. */
  tenant: string;
  /** Identity of the API key that opened it (`sha256:…`), `""` without auth. */
  keyId: string;
  /** The client's `initialize` params (protocolVersion, capabilities, clientInfo), bounded. */
  initialize: Record<string, unknown>;
}

/**
 * Longest stored record, in UTF-8 bytes of its JSON before sealing; longer ones are refused.
 * As stored (base64 of `iv ‖ ciphertext ‖ tag`) a record is at most about 86 KiB.
 */
export const MAX_INITIALIZE_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** Shared MCP session records in Redis. */
export class SharedMcpSessions {
  readonly #conn: RedisConnection;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #maxPerTenant: number;
  readonly #keys: Promise<VaultKeys>;

  /**
   * @param connection the Redis connection
   * @param options key prefix, life after last use (ms), sessions per tenant, and the vault
   *   master key (64 hex digits or base64 of 32 bytes) that seals records and hashes ids
   * @throws TypeError with `kind: "invalid_vault_key"` for a malformed master key
   */
  constructor(
    connection: RedisConnection,
    options: { keyPrefix: string; ttlMs: number; maxPerTenant: number; masterKey: string },
  ) {
    this.#conn = connection;
    this.#prefix = options.keyPrefix;
    this.#ttlMs = Math.max(1, Math.round(options.ttlMs));
    this.#maxPerTenant = Math.max(1, Math.floor(options.maxPerTenant));
    this.#keys = deriveVaultKeys(parseVaultKey(options.masterKey));
  }

  /**
   * Stores a new session; returns the ids among `known` of the tenant's sessions evicted
   * for room (the evicted are known to Redis only by HMAC, so the caller names candidates,
   * e.g. the sessions this replica holds).
   * @throws RangeError when the record is too large; StateUnavailableError
   */
  async create(
    id: string,
    record: McpSessionRecord,
    known: Iterable<string> = [],
  ): Promise<string[]> {
    const json = JSON.stringify(record);
    // Bounded in UTF-8 bytes, what is sealed (a UTF-16 count let 3 bytes per unit through).
    if (json.length > MAX_INITIALIZE_BYTES || encoder.encode(json).length > MAX_INITIALIZE_BYTES) {
      throw new RangeError(
        `the session's initialize parameters are over ${MAX_INITIALIZE_BYTES} bytes (UTF-8)`,
      );
    }
    const keys = await this.#keys;
    const member = await this.#member(keys, id);
    const sealed = await encryptValue(keys, json, context(id));
    const evicted = new Set(
      await this.#conn.script(
        MCP_CREATE,
        [this.#key(member), this.#tenantKey(record.tenant)],
        [record.tenant, sealed, this.#ttlMs, member, this.#maxPerTenant, `${this.#prefix}mcp:`],
      ) as string[],
    );
    const out: string[] = [];
    if (evicted.size === 0) return out;
    for (const candidate of known) {
      if (candidate !== id && evicted.has(await this.#member(keys, candidate))) out.push(candidate);
    }
    return out;
  }

  /**
   * The session's record, marking it used (its life restarts and it becomes its tenant's
   * most recently used) unless it belongs to another tenant than `tenant` (when given): a
   * caller who knew another tenant's session id could otherwise keep it alive and first in
   * its tenant's order (red team, 2026-11-30). Undefined when it is gone or does not
   * authenticate.
   * @throws StateUnavailableError
   */
  async touch(id: string, tenant = ""): Promise<McpSessionRecord | undefined> {
    const keys = await this.#keys;
    const member = await this.#member(keys, id);
    const reply = await this.#conn.script(
      MCP_TOUCH,
      [this.#key(member)],
      [this.#ttlMs, member, `${this.#prefix}mcpsessions:`, tenant],
    );
    if (!Array.isArray(reply) || typeof reply[1] !== "string") return undefined;
    const json = await decryptValue(keys, reply[1], context(id));
    if (json === undefined) return undefined;
    try {
      const record = JSON.parse(json) as McpSessionRecord;
      return record.tenant === reply[0] ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Deletes a session (the client closed it).
   * @throws StateUnavailableError
   */
  async delete(id: string, tenant: string): Promise<void> {
    const member = await this.#member(await this.#keys, id);
    await this.#conn.run(async (c) => {
      await c.del(this.#key(member));
      await c.zRem(this.#tenantKey(tenant), member);
    });
  }

  /** The Redis name of a session id: hex HMAC, never the id itself. */
  async #member(keys: VaultKeys, id: string): Promise<string> {
    return await lookupKey(keys, context(id));
  }

  #key(member: string): string {
    return `${this.#prefix}mcp:${member}`;
  }

  #tenantKey(tenant: string): string {
    return `${this.#prefix}mcpsessions:${tenant}`;
  }
}

/** Binds a sealed record and a hashed id to one MCP session. */
function context(id: string): string {
  return `mcp-session\u0000${id}`;
}

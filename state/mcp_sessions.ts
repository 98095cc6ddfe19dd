/**
 * MCP sessions (Streamable HTTP) known to every replica, so that any replica can serve any
 * session behind a round-robin load balancer: the record holds what is needed to rebuild
 * the server side (tenant, API-key identity, the client's `initialize` parameters). Records
 * live `ttlMs` after their last use; each tenant keeps at most `maxPerTenant` (its least
 * recently used go first).
 *
 * @module
 */

import type { RedisConnection } from "./connection.ts";
import { MCP_CREATE, MCP_TOUCH } from "./scripts.ts";

/** What a replica needs to rebuild a session. */
export interface McpSessionRecord {
  /** Tenant id. */
  tenant: string;
  /** Identity of the API key that opened it (`sha256:…`), `""` without auth. */
  keyId: string;
  /** The client's `initialize` params (protocolVersion, capabilities, clientInfo), bounded. */
  initialize: Record<string, unknown>;
}

/** Longest stored `initialize` params, in UTF-16 units of JSON; longer ones are refused. */
export const MAX_INITIALIZE_CHARS = 64 * 1024;

/** Shared MCP session records in Redis. */
export class SharedMcpSessions {
  readonly #conn: RedisConnection;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #maxPerTenant: number;

  /**
   * @param connection the Redis connection
   * @param options key prefix, life after last use (ms), sessions per tenant
   */
  constructor(
    connection: RedisConnection,
    options: { keyPrefix: string; ttlMs: number; maxPerTenant: number },
  ) {
    this.#conn = connection;
    this.#prefix = options.keyPrefix;
    this.#ttlMs = Math.max(1, Math.round(options.ttlMs));
    this.#maxPerTenant = Math.max(1, Math.floor(options.maxPerTenant));
  }

  /**
   * Stores a new session; returns the ids of the tenant's sessions evicted for room.
   * @throws RangeError when the record is too large; StateUnavailableError
   */
  async create(id: string, record: McpSessionRecord): Promise<string[]> {
    const json = JSON.stringify(record);
    if (json.length > MAX_INITIALIZE_CHARS) {
      throw new RangeError(`the session's initialize parameters are over ${MAX_INITIALIZE_CHARS}`);
    }
    return await this.#conn.script(
      MCP_CREATE,
      [this.#key(id), this.#tenantKey(record.tenant)],
      [json, this.#ttlMs, id, this.#maxPerTenant, `${this.#prefix}mcp:`],
    ) as string[];
  }

  /**
   * The session's record, marking it used; undefined when it is gone.
   * @throws StateUnavailableError
   */
  async touch(id: string): Promise<McpSessionRecord | undefined> {
    const json = await this.#conn.script(MCP_TOUCH, [this.#key(id)], [this.#ttlMs]);
    if (typeof json !== "string") return undefined;
    try {
      return JSON.parse(json) as McpSessionRecord;
    } catch {
      return undefined;
    }
  }

  /**
   * Deletes a session (the client closed it).
   * @throws StateUnavailableError
   */
  async delete(id: string, tenant: string): Promise<void> {
    await this.#conn.run(async (c) => {
      await c.del(this.#key(id));
      await c.zRem(this.#tenantKey(tenant), id);
    });
  }

  #key(id: string): string {
    return `${this.#prefix}mcp:${id}`;
  }

  #tenantKey(tenant: string): string {
    return `${this.#prefix}mcpsessions:${tenant}`;
  }
}

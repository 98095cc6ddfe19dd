/**
 * A real gateway with the ledger fixture (its key-value store `get`/`put`) for the speculation
 * tests, and calls as a given session.
 *
 * @module
 */

import { assert } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { type Config, type ExecuteResponse, Gateway, parseConfig } from "../../gateway/mod.ts";

/** What the ledger server was asked to do. */
export interface Ledger {
  writes: string[];
  started: string[];
  reads: string[];
  /** The most `get` calls in flight at once. */
  maxGets: number;
}

/** A gateway with one `ledger` server. */
export interface SpecHarness {
  gateway: Gateway;
  /** Runs code as `tenant` (default: the only one), in `session` when given. */
  run(
    code: string,
    options?: { session?: string; tenant?: string; tools?: string[] },
  ): Promise<ExecuteResponse>;
  /** The ledger, read with speculation out of the way (a fresh execution, no session). */
  ledger(): Promise<Ledger>;
  close(): Promise<void>;
}

/** Starts a gateway; `extra` is merged into the configuration. */
export async function startSpecGateway(
  extra: Record<string, unknown> = {},
  ledgerArgs: string[] = [],
): Promise<SpecHarness> {
  const embeddingsDir = await Deno.makeTempDir({ prefix: "airlock-emb-" });
  const config: Config = parseConfig({
    servers: { ledger: fixtureServer("ledger", ledgerArgs) },
    audit: { path: ":memory:" },
    selection: { embedder: "lexical", cacheDir: embeddingsDir },
    sandbox: { timeoutMs: 5000, memoryMb: 64 },
    ...extra,
  });
  const gateway = new Gateway(config, { poolSize: 1, logger: () => {} });
  await gateway.start();
  let n = 0;
  const run: SpecHarness["run"] = (code, options = {}) => {
    const tenant = options.tenant
      ? gateway.tenants.get(options.tenant)!
      : gateway.tenants.list()[0];
    return gateway.execute(
      { code, ...(options.tools ? { tools: options.tools } : {}) },
      { tenant, requestId: `req-${++n}`, transport: "http", sessionId: options.session },
    );
  };
  return {
    gateway,
    run,
    async ledger() {
      // Not a literal call and no session: never prefetched, never cached.
      const reply = await run(
        `const id = ["ledger", "ledger"].join("."); return await tools.call(id, {});`,
      );
      assert(reply.ok, JSON.stringify(reply.error));
      return reply.result as Ledger;
    },
    close: async () => {
      await gateway.close();
      await Deno.remove(embeddingsDir, { recursive: true }).catch(() => {});
    },
  };
}

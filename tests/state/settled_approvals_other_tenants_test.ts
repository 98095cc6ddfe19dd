/**
 * From the red team (round 2 of issue 15): the consequence of uncapped settled approvals. Redis at `maxmemory` (noeviction, as
 * the README says to run it). Tenant `acme` (10 requests a minute, 5 pending approvals) makes
 * one execution whose write calls its own approver denies at once with a long reason; the sealed
 * settlements fill Redis. Tenant `other`, which stored nothing, then cannot keep a PII vault
 * mapping or open an MCP session: its requests fail for the hour the settlements live.
 */

import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { startTestGateway } from "../helpers.ts";
import { RedisState } from "../../state/mod.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "d".repeat(64);

Deno.test({
  name:
    "settled approvals: one tenant settling in a loop on a full Redis does not refuse another tenant's vault",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis({ maxmemoryMb: 4 });
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "rt-settled2-" }));
    const tenants = {
      acme: {
        keys: [hashApiKey("agent-key")],
        approverKeys: [hashApiKey("approver-key")],
        requestsPerMinute: 10,
        approval: { tools: ["fs.write_file"], timeoutSeconds: 30, maxPending: 5 },
      },
      other: { keys: [hashApiKey("other-key")], requestsPerMinute: 10 },
    };
    const config = {
      state: { url: redis.url },
      servers: { fs: filesystemServer(root) },
      pii: { mode: "tokenize" as const },
      sandbox: { timeoutMs: 120_000, maxWaitMs: 20_000 },
      auth: { tenants },
    };
    const a = await startTestGateway(config, { vaultKey: KEY });
    const admin = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => admin.health().up));
      const before = await a.post("/v1/execute", { code: `return "mail ann@example.com";` }, {
        authorization: "Bearer other-key",
        "x-airlock-session": "o1",
      });
      assertEquals(before.status, 200, JSON.stringify(before.body));
      const running = a.post("/v1/execute", {
        code: `let denied = 0;
          for (let i = 0; i < 1000; i++) {
            try { await fs.writeFile({ path: "${root}/x.txt", content: "y" }); }
            catch (e) { denied++; if (String(e).includes("could not be registered")) break; }
          }
          return denied;`,
      }, { authorization: "Bearer agent-key" });
      let done = false;
      running.finally(() => done = true);
      const reason = "\u4e00".repeat(500);
      while (!done) {
        const list = await a.get("/v1/approvals", { authorization: "Bearer approver-key" });
        for (const r of list.body.approvals ?? []) {
          await a.post(`/v1/approvals/${r.id}`, { decision: "deny", reason }, {
            authorization: "Bearer approver-key",
          });
        }
      }
      const result = await running;
      const info = await admin.connection.run(async (c) => ({
        settled: (await c.keys("airlock:approvalsettled:acme:*")).length,
        memory: (await c.info("memory")).match(/used_memory:(\d+)/)?.[1],
      }));
      console.log(
        "acme's execution (one request):",
        result.status,
        result.body.result,
        "settled records:",
        info.settled,
        "used_memory:",
        info.memory,
      );
      const after = await a.post("/v1/execute", { code: `return "mail bob@example.com";` }, {
        authorization: "Bearer other-key",
        "x-airlock-session": "o2",
      });
      console.log(
        "other tenant, new vault session:",
        after.status,
        JSON.stringify(after.body).slice(0, 300),
      );
      const init = await fetch(`${a.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: "Bearer other-key",
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "x", version: "1" },
          },
        }),
      });
      console.log("other tenant, MCP initialize:", init.status, (await init.text()).slice(0, 200));
      assertEquals(
        after.status,
        200,
        "another tenant's vault write was refused: " +
          JSON.stringify(after.body).slice(0, 300),
      );
    } finally {
      await a.close();
      await admin.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

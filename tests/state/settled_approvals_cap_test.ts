/**
 * From the red team (round 2 of issue 15): settled approval records have no per-tenant cap (count or bytes) and their script is
 * `allow-oom`. A tenant limited to 10 requests a minute and 5 pending approvals makes one
 * execution whose calls are each denied at once by its own approver (over MCP this is the
 * tenant's own client answering `elicitation/create`), each denial with a 500-character reason:
 * every one leaves a sealed record in Redis for an hour. One request of the rate limit leaves
 * hundreds; 10 a minute for an hour leave 600× that.
 */

import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { startTestGateway } from "../helpers.ts";
import { RedisState } from "../../state/mod.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "c".repeat(64);
const CALLS = 150;

Deno.test({
  name:
    "settled approvals: one tenant keeps at most a few whole decisions in Redis, the rest brief and capped",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "rt-settled-" }));
    const tenants = {
      acme: {
        keys: [hashApiKey("agent-key")],
        approverKeys: [hashApiKey("approver-key")],
        requestsPerMinute: 10,
        approval: { tools: ["fs.write_file"], timeoutSeconds: 30, maxPending: 5 },
      },
    };
    const config = {
      state: { url: redis.url },
      servers: { fs: filesystemServer(root) },
      sandbox: { timeoutMs: 120_000, maxWaitMs: 20_000 },
      auth: { tenants },
    };
    const a = await startTestGateway(config, { vaultKey: KEY });
    const admin = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => admin.health().up));
      const running = a.post("/v1/execute", {
        code: `let denied = 0;
          for (let i = 0; i < ${CALLS}; i++) {
            try { await fs.writeFile({ path: "${root}/x.txt", content: "y" }); } catch { denied++; }
          }
          return denied;`,
      }, { authorization: "Bearer agent-key" });
      let done = false;
      running.finally(() => done = true);
      const reason = "\u4e00".repeat(500); // 500 UTF-16 units, 1,500 bytes of UTF-8
      let answered = 0;
      while (!done) {
        const list = await a.get("/v1/approvals", { authorization: "Bearer approver-key" });
        for (const r of list.body.approvals ?? []) {
          const res = await a.post(`/v1/approvals/${r.id}`, { decision: "deny", reason }, {
            authorization: "Bearer approver-key",
          });
          if (res.status === 200) answered++;
        }
      }
      const result = await running;
      console.log("execution:", JSON.stringify(result.body).slice(0, 200), "answered", answered);
      const { count, bytes, used } = await admin.connection.run(async (c) => {
        const keys = await c.keys("airlock:approvalsettled:acme:*");
        let bytes = 0;
        for (const k of keys) bytes += Number(await c.memoryUsage(k) ?? 0);
        const info = await c.info("memory");
        return { count: keys.length, bytes, used: info.match(/used_memory:(\d+)/)?.[1] };
      });
      console.log(
        `settled records of acme: ${count}, ${bytes} bytes (MEMORY USAGE); used_memory ${used}`,
      );
      console.log(`per hour at 10 requests/minute: ~${Math.round(bytes * 600 / 1048576)} MiB`);
      // Expected: a per-tenant cap on what one tenant keeps in Redis (pending are capped at 5).
      assert(count <= 5, `one request of a tenant left ${count} settled records (${bytes} bytes)`);
      // The brief forms (no reason) and their index are bounded too, and an evicted decision is
      // still known (a waiter that missed its notice learns it; a late answer gets 409).
      const brief = await admin.connection.run(async (c) => ({
        n: await c.hLen("airlock:approvalsbrief:acme"),
        bytes: Number(await c.memoryUsage("airlock:approvalsbrief:acme") ?? 0) +
          Number(await c.memoryUsage("airlock:approvalsdone:acme") ?? 0),
        ids: await c.zRange("airlock:approvalsdone:acme", 0, 0),
      }));
      console.log(`brief decisions of acme: ${brief.n}, ${brief.bytes} bytes`);
      assert(brief.n <= 128 && brief.bytes < 80 * 1024, `brief: ${JSON.stringify(brief)}`);
      assert(answered >= 100, `answered ${answered}`);
      const late = await a.post(`/v1/approvals/${brief.ids[0]}`, { decision: "approve" }, {
        authorization: "Bearer approver-key",
      });
      assert(late.status === 409, `an evicted decision answered again: ${late.status}`);
    } finally {
      await a.close();
      await admin.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

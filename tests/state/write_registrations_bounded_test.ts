/**
 * From the red team (round 2 of issue 15): the read cache's write registrations (`WRITE_BEGIN` / `WRITE_END`, flagged
 * `allow-oom`) store one sorted-set member per write call, not "a few bytes per tenant": a write
 * that ends unanswered (its execution ended first) stays `unsettledSeconds` (600 s), one that is
 * never ended 2 × that. Nothing caps their count per tenant, and they are written when Redis is
 * full, so one tenant's unawaited writes grow Redis past `maxmemory` without bound.
 *
 * Fixed: past `MAX_WRITES_PER_GROUP` registrations a group's further writes extend one overflow
 * member. Measured from the first burst on: Redis's own one-off cost of a burst of 1000 pipelined
 * scripts (~130 KB with reads alone, no key kept) is not the registrations' growth; the old code
 * grew ~110 KB more with every request.
 */

import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { startTestGateway } from "../helpers.ts";
import { RedisState } from "../../state/mod.ts";
import { hashApiKey } from "../../gateway/mod.ts";
import { MAX_WRITES_PER_GROUP } from "../../state/read_cache_scripts.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "e".repeat(64);

Deno.test({
  name:
    "read cache: a tenant's unanswered writes on a full Redis grow it by a bounded amount, not one member per write",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis({ maxmemoryMb: 3 });
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "rt-writes-" }));
    const config = {
      state: { url: redis.url },
      servers: { fs: filesystemServer(root) },
      sandbox: {
        timeoutMs: 60_000,
        maxWaitMs: 20_000,
        maxConcurrentCallsPerServer: Number(Deno.env.get("RT_CONC") ?? 1),
      },
      auth: { tenants: { acme: { keys: [hashApiKey("agent-key")], requestsPerMinute: 10 } } },
    };
    const a = await startTestGateway(config, { vaultKey: KEY });
    const admin = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => admin.health().up));
      // Redis full (say, by the tenants' legitimate budgets).
      const used = async () =>
        Number(
          (await admin.connection.run((c) => c.info("memory"))).match(/used_memory:(\d+)/)![1],
        );
      for (let i = 0;; i++) {
        try {
          await admin.connection.run((c) => c.set(`filler:${i}`, "x".repeat(50_000)));
        } catch {
          break;
        }
      }
      const full = await used();
      console.log("Redis full at used_memory", full);
      let afterFirst = 0;
      for (let round = 0; round < 5; round++) {
        const r = await a.post("/v1/execute", {
          code:
            `for (let i = 0; i < 1000; i++) fs.writeFile({ path: "${root}/f" + i, content: "y" }).catch(() => {});
            await new Promise((r) => setTimeout(r, 500));
            return 1;`,
        }, { authorization: "Bearer agent-key" });
        const { writes, bytes } = await admin.connection.run(async (c) => {
          let n = 0;
          let b = 0;
          for (const k of await c.keys("airlock:spec:writes:*")) {
            n += await c.zCard(k);
            b += Number(await c.memoryUsage(k) ?? 0);
          }
          return { writes: n, bytes: b };
        });
        if (round === 0) afterFirst = await used();
        assert(writes <= MAX_WRITES_PER_GROUP + 1, `${writes} registrations kept in one group`);
        assert(bytes < 32 * 1024, `the group's registrations take ${bytes} bytes`);
        console.log(
          `round ${round}: status ${r.status}; registered writes ${writes}; used_memory ${await used()}`,
        );
      }
      const grown = (await used()) - full;
      const more = (await used()) - afterFirst;
      console.log(`grown past maxmemory by ${grown} bytes with 5 requests of a 10/minute tenant`);
      console.log(`grown by ${more} bytes with the 4 requests after the first`);
      assert(more < 64 * 1024, `Redis grew ${more} bytes past maxmemory after the first request`);
    } finally {
      await a.close();
      await admin.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

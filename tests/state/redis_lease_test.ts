/**
 * In-flight leases in Redis across a stall (Redis answering nothing for a while, as under
 * `CLIENT PAUSE`): a lease that lapsed while its execution kept running is re-established, so
 * the cap holds afterwards on every replica; an acquisition that timed out here but ran in Redis
 * later leaves no lease held by nobody.
 */

import { RedisConnection, RedisState } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, type RedisService, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis answers no client for `ms` (it queues their commands and runs them afterwards). */
async function stall(redis: RedisService, ms: number): Promise<void> {
  const admin = new RedisConnection({ url: redis.url });
  try {
    assert(await waitFor(() => admin.health().up));
    await admin.run((c) => c.sendCommand(["CLIENT", "PAUSE", String(ms), "ALL"]));
  } finally {
    await admin.close();
  }
}

async function withReplicas(
  leaseMs: number,
  fn: (a: RedisState, b: RedisState, redis: RedisService) => Promise<void>,
) {
  const redis = await startRedis();
  const [a, b] = [0, 1].map(() =>
    new RedisState({ url: redis.url, leaseMs, commandTimeoutMs: 300 })
  );
  try {
    for (const s of [a, b]) assert(await waitFor(() => s.health().up), "redis connection up");
    await fn(a, b, redis);
  } finally {
    await a.close();
    await b.close();
    await redis.stop();
  }
}

Deno.test({
  name: "redis leases: executions running through a stall longer than the lease still count",
  ignore,
  async fn() {
    await withReplicas(900, async (a, b, redis) => {
      const running = [await a.acquireSlot("t", 2), await a.acquireSlot("t", 2)];
      assert(running.every((d) => d.acquired), "two running");
      await stall(redis, 1500); // longer than the lease: both lapse in Redis
      await sleep(2500); // Redis answers again; the two executions still run
      // Another replica: the renewal re-established them.
      const other = await b.acquireSlot("t", 2);
      assertEquals(other.acquired, false, "the cap holds on another replica");
      // The same replica.
      assertEquals((await a.acquireSlot("t", 2)).acquired, false, "and on this one");
      for (const d of running) if (d.acquired) d.lease.release();
      assert(
        await waitFor(async () => (await b.acquireSlot("t", 2)).acquired),
        "released slots come back",
      );
    });
  },
});

Deno.test({
  name: "redis leases: an acquisition that timed out during a stall leaves no phantom lease",
  ignore,
  async fn() {
    await withReplicas(15_000, async (a, b, redis) => {
      // A running replica has its scripts loaded in Redis.
      const warm = await a.acquireSlot("t", 2);
      if (warm.acquired) warm.lease.release();
      await stall(redis, 1000);
      let refused = 0;
      for (let i = 0; i < 2; i++) {
        try {
          await a.acquireSlot("t", 2);
        } catch (error) {
          assertEquals((error as { kind?: string }).kind, "state_unavailable");
          refused++;
        }
      }
      assertEquals(refused, 2, "refused during the stall");
      await sleep(1200); // Redis answers again and runs what it queued
      // Nothing runs: both replicas get both slots, well before the 15 s lease would lapse.
      const got = [await b.acquireSlot("t", 2), await b.acquireSlot("t", 2)];
      assertEquals(got.map((d) => d.acquired), [true, true], JSON.stringify(got));
      for (const d of got) if (d.acquired) d.lease.release();
    });
  },
});

/**
 * The Redis backend of shared state against a real `redis-server`: two backends stand for
 * two replicas. Limits hold across both, leases of a dead replica lapse, and an outage
 * fails closed and heals by itself.
 */

import { MemoryState, RedisState, StateUnavailableError } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, type RedisService, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

async function withRedis(fn: (redis: RedisService) => Promise<void>) {
  const redis = await startRedis();
  try {
    await fn(redis);
  } finally {
    await redis.stop();
  }
}

async function replicas(url: string, n: number, leaseMs = 15_000): Promise<RedisState[]> {
  const states = Array.from({ length: n }, () => new RedisState({ url, leaseMs }));
  for (const s of states) assert(await waitFor(() => s.health().up), "redis connection up");
  return states;
}

Deno.test({
  name: "redis state: a request may take several tokens at once, never more than the bucket holds",
  ignore,
  async fn() {
    // Large code pays for its scans on the shared event loop (red team rt-n3 B3).
    await withRedis(async (redis) => {
      const [a] = await replicas(redis.url, 1);
      const memory = new MemoryState();
      try {
        for (const state of [a, memory]) {
          assertEquals((await state.takeToken("acme", 10, 60_000, 4)).allowed, true);
          assertEquals((await state.takeToken("acme", 10, 60_000, 4)).allowed, true);
          const refused = await state.takeToken("acme", 10, 60_000, 4);
          assertEquals(refused.allowed, false, state.backend);
          // Two tokens left, two missing: 12 s at 10 a minute (nothing was taken).
          assert(refused.retryAfterMs > 6000 && refused.retryAfterMs <= 12_000, state.backend);
          assertEquals((await state.takeToken("acme", 10, 60_000, 2)).allowed, true);
          // A cost above the capacity is the capacity: a full bucket lets it through.
          assertEquals((await state.takeToken("big", 10, 60_000, 50)).allowed, true);
          assertEquals((await state.takeToken("big", 10, 60_000)).allowed, false);
        }
      } finally {
        await a.close();
      }
    });
  },
});

Deno.test({
  name: "redis state: a token bucket is shared by the replicas",
  ignore,
  async fn() {
    await withRedis(async (redis) => {
      const [a, b] = await replicas(redis.url, 2);
      try {
        const answers = [];
        for (let i = 0; i < 10; i++) {
          answers.push((await (i % 2 ? a : b).takeToken("acme", 10, 60_000)).allowed);
        }
        assertEquals(answers, Array(10).fill(true));
        const eleventh = await a.takeToken("acme", 10, 60_000);
        assertEquals(eleventh.allowed, false);
        assert(eleventh.retryAfterMs > 0 && eleventh.retryAfterMs <= 6000, "one token in 6 s");
        assertEquals((await b.takeToken("acme", 10, 60_000)).allowed, false);
        // Another tenant's bucket is its own.
        assertEquals((await b.takeToken("other", 10, 60_000)).allowed, true);
        // A memory backend per replica would have let 20 through: the bug this fixes.
        const m1 = new MemoryState();
        const m2 = new MemoryState();
        let through = 0;
        for (let i = 0; i < 20; i++) {
          if ((await (i % 2 ? m1 : m2).takeToken("acme", 10, 60_000)).allowed) through++;
        }
        assertEquals(through, 20);
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
});

Deno.test({
  name: "redis state: in-flight slots are counted over replicas and released",
  ignore,
  async fn() {
    await withRedis(async (redis) => {
      const [a, b] = await replicas(redis.url, 2);
      try {
        const first = await a.acquireSlot("acme", 2);
        const second = await b.acquireSlot("acme", 2);
        assert(first.acquired && second.acquired);
        const third = await a.acquireSlot("acme", 2);
        assertEquals(third, { acquired: false, current: 2 });
        second.lease.release();
        second.lease.release(); // idempotent: frees one slot, not two
        assert(
          await waitFor(async () => {
            const next = await b.acquireSlot("acme", 2);
            if (next.acquired) next.lease.release();
            return next.acquired;
          }),
          "a released slot can be taken again",
        );
        const again = await b.acquireSlot("acme", 2);
        assert(again.acquired);
        assertEquals((await a.acquireSlot("acme", 2)).acquired, false);
        first.lease.release();
        again.lease.release();
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
});

Deno.test({
  name: "redis state: a dead replica's leases lapse; a live one's are renewed",
  ignore,
  async fn() {
    await withRedis(async (redis) => {
      const [live, dying] = await replicas(redis.url, 2, 1000);
      try {
        const kept = await live.acquireSlot("acme", 2);
        const lost = await dying.acquireSlot("acme", 2);
        assert(kept.acquired && lost.acquired);
        // The replica dies without releasing: it just stops renewing.
        await dying.close();
        assert(
          await waitFor(async () => {
            const next = await live.acquireSlot("acme", 2);
            if (next.acquired) next.lease.release();
            return next.acquired;
          }, 5000),
          "the dead replica's slot came back",
        );
        // Three lease lives later the live lease is still held (renewed), so only one is free.
        await new Promise((r) => setTimeout(r, 3000));
        const one = await live.acquireSlot("acme", 2);
        assert(one.acquired, "one slot free");
        assertEquals((await live.acquireSlot("acme", 2)).acquired, false, "the live lease holds");
        one.lease.release();
        kept.lease.release();
      } finally {
        await live.close();
        await dying.close();
      }
    });
  },
});

Deno.test({
  name: "redis state: Redis down fails closed, and service resumes when it returns",
  ignore,
  async fn() {
    await withRedis(async (redis) => {
      const [state] = await replicas(redis.url, 1);
      try {
        assertEquals((await state.takeToken("acme", 5, 60_000)).allowed, true);
        await redis.kill();
        assert(await waitFor(() => !state.health().up), "health reports the outage");
        assertEquals(state.health().backend, "redis");
        for (
          const attempt of [
            () => state.takeToken("acme", 5, 60_000),
            () => state.acquireSlot("acme", 1),
          ]
        ) {
          let error: unknown;
          try {
            await attempt();
          } catch (e) {
            error = e;
          }
          assert(error instanceof StateUnavailableError, `fails closed: ${error}`);
          assertEquals(error.kind, "state_unavailable");
        }
        await redis.restart();
        assert(await waitFor(() => state.health().up), "reconnects by itself");
        // Redis came back empty (nothing persisted): a fresh bucket, scripts loaded again.
        assertEquals((await state.takeToken("acme", 5, 60_000)).allowed, true);
      } finally {
        await state.close();
      }
    });
  },
});

/**
 * The shared read cache recovers what an outage or a stall of Redis left owed: a write a
 * replica could not announce is announced as soon as Redis is reachable again (not only at
 * that replica's next cache use), with the hold of a write its server did not answer; holds
 * survive a Redis restarted empty; a begin that ran late in Redis is ended. Real
 * `redis-server`, a TCP relay that cuts one replica's link, `CLIENT PAUSE` for a stall.
 */

import { RedisReadCache, RedisState } from "../../state/mod.ts";
import { CACHE_LIMITS, SharedReadCache, WriteEpochs } from "../../gateway/speculation/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { type RedisRelay, redisRelay } from "./redis_relay.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "b".repeat(64);
const SESSION = JSON.stringify(["acme", "sha256:key-identity", "s1"]);
const CALL = `docs.read\u0000{"path":"/a.txt"}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sharedCache(state: RedisState, unsettledMs = 1000) {
  return new SharedReadCache(
    await RedisReadCache.create(state.connection, {
      keyPrefix: "airlock:",
      masterKey: KEY,
      maxEntries: 100,
      maxBytes: 1 << 20,
    }),
    new WriteEpochs(unsettledMs),
    { limits: CACHE_LIMITS, unsettledMs },
  );
}

/**
 * Starts a fresh Redis and two connections to it whose commands time out after 500 ms: A's
 * direct, B's through a relay the test cuts and mends (one replica losing Redis). Waits until
 * both are up, runs `fn`, and ends it all whatever `fn` did.
 */
async function withTwoLinks(
  fn: (links: { link: RedisRelay; stateA: RedisState; stateB: RedisState }) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  const link = redisRelay(redis.port);
  const stateA = new RedisState({ url: redis.url, commandTimeoutMs: 500 });
  const stateB = new RedisState({ url: link.url, commandTimeoutMs: 500 });
  try {
    assert(await waitFor(() => stateA.health().up && stateB.health().up), "connected");
    await fn({ link, stateA, stateB });
  } finally {
    await stateA.close();
    await stateB.close();
    await link.close();
    await redis.stop();
  }
}

Deno.test({
  name:
    "shared cache: a write B could not announce is announced when B reconnects, not only at B's next cache use",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTwoLinks(async ({ link, stateA, stateB }) => {
      const [a, b] = [await sharedCache(stateA), await sharedCache(stateB)];
      const v1 = { content: [{ type: "text" as const, text: "v1" }] };
      a.put("acme", SESSION, CALL, "docs", v1, (await a.epoch("docs"))!, 60_000);
      assertEquals((await a.lookup("acme", SESSION, CALL, "docs")).result, v1);
      // B loses Redis (A does not) and writes (the write lands upstream: v2).
      link.cut();
      assert(await waitFor(() => !stateB.health().up), "B sees the outage");
      const end = await b.beginWrite("docs");
      end(true);
      // B reaches Redis again. B gets no cache traffic (the balancer sends the session to A).
      link.mend();
      assert(await waitFor(() => stateB.health().up, 10_000), "B reconnects");
      await sleep(3000);
      // The outage is over ("while only this replica cannot reach Redis" has ended), yet A
      // still serves v1, which the write through B replaced: until B happens to use the
      // cache again or the entry's TTL (60 s here) ends.
      const served = await a.lookup("acme", SESSION, CALL, "docs");
      assertEquals(served.result, undefined, "stale v1 served 3 s after B reconnected");
    });
  },
});

Deno.test({
  name:
    "shared cache: an unanswered write keeps the cache off after Redis restarts (no persistence)",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url, commandTimeoutMs: 500 });
    try {
      assert(await waitFor(() => state.health().up), "connected");
      // Two replicas: B writes, its server never answers (it may still apply the write later).
      const [a, b] = [await sharedCache(state, 600_000), await sharedCache(state, 600_000)];
      const end = await b.beginWrite("docs");
      end(false);
      assertEquals(await a.epoch("docs"), undefined, "unsettled: cache off on every replica");
      // Redis restarts (the tests' and any non-persistent deployment's Redis).
      await redis.kill();
      await redis.restart();
      assert(await waitFor(async () => (await a.epoch("docs")) !== undefined || state.health().up));
      await sleep(500);
      // Expected: the unanswered write still holds the group's cache off for its 600 s.
      // Observed: A's cache is on again at once; A keeps a read that the late write can change.
      const found = await a.lookup("acme", SESSION, CALL, "docs");
      assertEquals(found.epoch, undefined, "A may keep reads during an unsettled write");
    } finally {
      await state.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "shared cache: an unanswered write B could not announce holds every replica's cache off once announced",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTwoLinks(async ({ link, stateA, stateB }) => {
      const [a, b] = [await sharedCache(stateA, 600_000), await sharedCache(stateB, 600_000)];
      link.cut();
      assert(await waitFor(() => !stateB.health().up), "B sees the outage");
      // B's write times out at its server (it may still land within unsettledSeconds).
      const end = await b.beginWrite("docs");
      end(false);
      link.mend();
      assert(await waitFor(() => stateB.health().up, 10_000), "B reconnects");
      // B uses the cache again: its owed bump is paid.
      await b.lookup("acme", SESSION, CALL, "docs");
      // Expected: the unanswered write holds the group's cache off for 600 s on every replica,
      // as a registered one does. Observed: only an epoch bump; A keeps and serves reads again.
      assertEquals(await a.epoch("docs"), undefined, "A's cache is on during an unsettled write");
    });
  },
});

Deno.test({
  name:
    "shared cache: a write begun during a brief Redis stall does not keep everyone's cache off for 2 × unsettled",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url, commandTimeoutMs: 500 });
    try {
      assert(await waitFor(() => state.health().up), "connected");
      const [a, b] = [await sharedCache(state, 600_000), await sharedCache(state, 600_000)];
      const admin = await Deno.connect({ hostname: "127.0.0.1", port: redis.port });
      await admin.write(new TextEncoder().encode("CLIENT PAUSE 1500 ALL\r\n"));
      await admin.read(new Uint8Array(64));
      admin.close();
      // B's write: the bump times out (owed), the write is sent and answered at once.
      const end = await b.beginWrite("docs");
      end(true);
      await sleep(2500); // Redis answers again; the timed-out WRITE_BEGIN ran when it resumed
      await b.lookup("acme", SESSION, CALL, "docs"); // B pays its owed bump
      // Expected: the answered write holds nothing off. Observed: its registration (never
      // ended, B thinks it never began) keeps the group's cache off on every replica, for
      // every tenant, for 2 × unsettledSeconds (20 minutes by default).
      assert((await a.epoch("docs")) !== undefined, "the group's cache is still off");
    } finally {
      await state.close();
      await redis.stop();
    }
  },
});

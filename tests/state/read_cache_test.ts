/**
 * The speculation session cache in a real Redis, shared by replicas (issue 15): results sealed
 * and entries hashed (nothing in clear), write epochs shared so a write through one replica
 * voids another's kept reads, per-tenant caps, a Redis that fails is a miss (the call goes
 * upstream), and two real gateways on one Redis over one directory.
 */

import { RedisReadCache, RedisState } from "../../state/mod.ts";
import { MAX_WRITES_PER_GROUP } from "../../state/read_cache_scripts.ts";
import { SharedReadCache, WriteEpochs } from "../../gateway/speculation/mod.ts";
import { CACHE_LIMITS } from "../../gateway/speculation/mod.ts";
import { Gateway, parseConfig } from "../../gateway/mod.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, type RedisService, skipWithout, startRedis, waitFor } from "../services.ts";
import { redisRelay } from "./redis_relay.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "b".repeat(64);
const SESSION = JSON.stringify(["acme", "sha256:key-identity", "session-ann@example.com"]);
const CALL = `docs.read\u0000{"path":"/secret/argument-xyz.txt"}`;
const ref = { tenant: "acme", session: SESSION, key: CALL, group: "*" };
const SECRET = "Ann's salary is 123,456 (ann@example.com)";

async function withCaches(
  fn: (caches: RedisReadCache[], state: RedisState, redis: RedisService) => Promise<void>,
  options: { maxEntries?: number; maxBytes?: number; keys?: string[] } = {},
) {
  const redis = await startRedis();
  const state = new RedisState({ url: redis.url, commandTimeoutMs: 500 });
  try {
    assert(await waitFor(() => state.health().up));
    const caches = await Promise.all(
      (options.keys ?? [KEY, KEY]).map((masterKey) =>
        RedisReadCache.create(state.connection, {
          keyPrefix: "airlock:",
          masterKey,
          maxEntries: options.maxEntries ?? 100,
          maxBytes: options.maxBytes ?? 1024 * 1024,
        })
      ),
    );
    await fn(caches, state, redis);
  } finally {
    await state.close();
    await redis.stop();
  }
}

/** Every key name and every stored string of the Redis, as text. */
async function everything(state: RedisState): Promise<string> {
  return await state.connection.run(async (c) => {
    const out: string[] = [];
    for (const key of await c.keys("*")) {
      out.push(key);
      const type = await c.type(key);
      if (type === "string") out.push(String(await c.get(key)));
      else if (type === "hash") out.push(JSON.stringify(await c.hGetAll(key)));
      else if (type === "zset") out.push(JSON.stringify(await c.zRange(key, 0, -1)));
      else out.push(`(${type})`);
    }
    return out.join("\n");
  });
}

Deno.test({
  name: "redis read cache: results sealed, entries hashed: nothing in clear in Redis",
  ignore,
  async fn() {
    await withCaches(async ([a, b], state) => {
      const { epoch } = await a.lookup(ref);
      assert(epoch! > Date.now(), "a new epoch starts at Redis's time × 1024");
      assertEquals(await a.put(ref, SECRET, epoch!, 60_000), 0);
      // Another replica with the same key reads it back.
      assertEquals((await b.lookup(ref)).value, SECRET);
      const dump = await everything(state);
      assert(dump.includes("airlock:spec:"), dump);
      for (
        const clear of ["123,456", "ann@example.com", "argument-xyz", "sha256:key", "docs.read"]
      ) {
        assert(!dump.includes(clear), `${clear} in clear in Redis:\n${dump}`);
      }
    });
    // A replica with another vault key finds nothing it can open.
    await withCaches(async ([a, other]) => {
      await a.put(ref, SECRET, (await a.lookup(ref)).epoch!, 60_000);
      assertEquals((await other.lookup(ref)).value, undefined);
    }, { keys: [KEY, "c".repeat(64)] });
  },
});

Deno.test({
  name: "redis read cache: past the cap of registrations, a write still keeps the group's " +
    "cache off (one overflow member), and the registrations stay bounded",
  ignore,
  async fn() {
    await withCaches(async ([a, b], state) => {
      const n = MAX_WRITES_PER_GROUP + 50;
      for (let i = 0; i < n; i++) await b.beginWrite("*", `w${i}`, 60_000);
      const kept = await state.connection.run((c) => c.zCard("airlock:spec:writes:*"));
      assert(kept <= MAX_WRITES_PER_GROUP + 1, `${kept} registrations`);
      // Every registered write answered; the overflowed ones are still in flight: still off.
      for (let i = 0; i < n; i++) await b.endWrite("*", `w${i}`, true, 60_000);
      assertEquals(await a.epoch("*"), undefined);
      assertEquals(await a.lookup(ref), {});
      // An unanswered end past the cap holds through the overflow member too, never shorter.
      await state.connection.run((c) => c.del("airlock:spec:writes:*"));
      // (the group full of short holds: the late end goes to the overflow member)
      for (let i = 0; i < MAX_WRITES_PER_GROUP; i++) await b.beginWrite("*", `x${i}`, 1500);
      await b.endWrite("*", "late", false, 60_000);
      assertEquals(
        await state.connection.run((c) => c.zScore("airlock:spec:writes:*", "late")),
        null,
      );
      await new Promise((r) => setTimeout(r, 1600));
      assertEquals(await a.epoch("*"), undefined, "the unanswered write's hold was lost");
    });
  },
});

Deno.test({
  name: "redis read cache: a write through one replica voids what another kept, at its start",
  ignore,
  async fn() {
    await withCaches(async ([a, b]) => {
      const seen = (await a.lookup(ref)).epoch!;
      // B's write starts after A looked up and before A's result comes back: not kept.
      await b.beginWrite("*", "w1", 60_000);
      assertEquals(await a.put(ref, "before the write", seen, 60_000), -1);
      // While it is in flight nothing may be kept.
      assertEquals(await a.lookup(ref), {});
      assertEquals(await a.epoch("*"), undefined);
      await b.endWrite("*", "w1", true, 60_000);
      const after = (await a.lookup(ref)).epoch!;
      assert(after > seen, "the epoch went up");
      assertEquals(await a.put(ref, "after the write", after, 60_000), 0);
      assertEquals((await a.lookup(ref)).value, "after the write");
      // A write that starts voids the kept read for every replica at once.
      await b.beginWrite("*", "w2", 60_000);
      await b.endWrite("*", "w2", true, 60_000);
      assertEquals((await a.lookup(ref)).value, undefined);
      // An isolated server's group is its own: its writes void nothing of the shared group.
      const kept = (await a.lookup(ref)).epoch!;
      await a.put(ref, "kept", kept, 60_000);
      await b.beginWrite("s:scratch", "w3", 60_000);
      await b.endWrite("s:scratch", "w3", true, 60_000);
      assertEquals((await a.lookup(ref)).value, "kept");
    });
  },
});

Deno.test({
  name: "redis read cache: an epoch seen before Redis restarted empty is never current after",
  ignore,
  async fn() {
    await withCaches(async ([a, b], state, redis) => {
      const seen = (await a.lookup(ref)).epoch!;
      await redis.kill();
      await redis.restart();
      assert(await waitFor(async () => (await b.epoch("*").catch(() => undefined)) !== undefined));
      // One write after the restart: a counter restarted at 0 would be back at `seen` + 2.
      await b.beginWrite("*", "w", 60_000);
      await b.endWrite("*", "w", true, 60_000);
      assertEquals(await a.put(ref, "fetched before the restart", seen, 60_000), -1);
      assertEquals(await a.put(ref, "fetched before the restart", seen + 2, 60_000), -1);
      assert(state.health().up);
    });
  },
});

Deno.test({
  name: "redis read cache: an unanswered write keeps the group's cache off for unsettled ms",
  ignore,
  async fn() {
    await withCaches(async ([a, b]) => {
      await b.beginWrite("*", "w1", 60_000);
      await b.endWrite("*", "w1", false, 1500);
      assertEquals(await a.epoch("*"), undefined, "unsettled");
      assert(await waitFor(async () => (await a.epoch("*")) !== undefined, 10_000), "settles");
      // A replica that died mid-write holds the cache off only until the write's hold ends.
      await b.beginWrite("*", "w2", 1500);
      assertEquals(await a.epoch("*"), undefined);
      assert(await waitFor(async () => (await a.epoch("*")) !== undefined, 10_000), "expires");
    });
  },
});

Deno.test({
  name: "redis read cache: per-tenant caps in entries and bytes; a tenant never evicts another",
  ignore,
  async fn() {
    await withCaches(async ([a], state) => {
      const at = (tenant: string, i: number) => ({ ...ref, tenant, key: `${CALL}${i}` });
      const e = (await a.epoch("*"))!;
      for (let i = 0; i < 3; i++) assertEquals(await a.put(at("other", i), "x", e, 60_000), 0);
      for (let i = 0; i < 5; i++) {
        assertEquals(await a.put(at("acme", i), "x", e, 60_000), i < 3 ? 0 : 1, `put ${i}`);
      }
      // The least recently written went first.
      assertEquals((await a.lookup(at("acme", 0))).value, undefined);
      assertEquals((await a.lookup(at("acme", 1))).value, undefined);
      assertEquals((await a.lookup(at("acme", 4))).value, "x");
      for (let i = 0; i < 3; i++) assertEquals((await a.lookup(at("other", i))).value, "x");
      const entries = await state.connection.run((c) => c.keys("airlock:spec:e:acme:*"));
      assertEquals(entries.length, 3);
    }, { maxEntries: 3 });
    await withCaches(async ([a]) => {
      // Each sealed "x" is about 40 bytes as stored; 100 bytes hold two.
      const e = (await a.epoch("*"))!;
      assertEquals(await a.put(ref, "y".repeat(200), e, 60_000), -1, "larger than the cap");
      const at = (i: number) => ({ ...ref, key: `${CALL}${i}` });
      assertEquals(await a.put(at(1), "x", e, 60_000), 0);
      assertEquals(await a.put(at(2), "x", e, 60_000), 0);
      assertEquals(await a.put(at(3), "x", e, 60_000), 1);
      assertEquals((await a.lookup(at(1))).value, undefined);
      assertEquals((await a.lookup(at(3))).value, "x");
    }, { maxBytes: 100 });
  },
});

Deno.test({
  name: "shared read cache: Redis down or stalled is a miss (upstream), counted; owed bumps paid",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCaches(async ([a, b], _state, redis) => {
      const logged: Record<string, unknown>[] = [];
      const epochs = new WriteEpochs(1000);
      const cache = new SharedReadCache(a, epochs, {
        limits: CACHE_LIMITS,
        unsettledMs: 1000,
        log: (e) => logged.push(e),
      });
      const result = { content: [{ type: "text" as const, text: "v1" }] };
      const found = await cache.lookup("acme", SESSION, CALL, "docs");
      cache.put("acme", SESSION, CALL, "docs", result, found.epoch, 60_000);
      assertEquals((await cache.lookup("acme", SESSION, CALL, "docs")).result, result);
      // Redis holds every command for 3 s (longer than the 500 ms deadline).
      const admin = await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(new URL(redis.url).port),
      });
      await admin.write(new TextEncoder().encode("CLIENT PAUSE 3000 ALL\r\n"));
      await admin.read(new Uint8Array(64));
      admin.close();
      // A miss, not a stale hit nor an error: the caller goes upstream.
      assertEquals(await cache.lookup("acme", SESSION, CALL, "docs"), {});
      assertEquals(cache.failures, 1);
      assertEquals(logged.length, 1, "the outage is logged once");
      // A write whose bump cannot reach Redis is owed.
      const end = await cache.beginWrite("docs");
      end(true);
      assert(cache.failures >= 2);
      // Redis answers again: the owed bump comes first, so the kept read is void.
      assert(
        await waitFor(
          async () => (await b.epoch("*").catch(() => undefined)) !== undefined,
          10_000,
        ),
        "Redis back",
      );
      const again = await cache.lookup("acme", SESSION, CALL, "docs");
      assertEquals(again.result, undefined, "the write that could not be announced voids it");
      assertEquals((await b.lookup(ref)).value, undefined);
      // Down for good: still a miss, never an exception.
      await redis.kill();
      assertEquals(await cache.lookup("acme", SESSION, CALL, "docs"), {});
      cache.put("acme", SESSION, CALL, "docs", result, again.epoch, 60_000);
      assertEquals(await cache.epoch("docs"), undefined);
      assert(logged.some((e) => String(e.msg).includes("answers again")), JSON.stringify(logged));
    });
  },
});

Deno.test({
  name: "shared read cache: a write a replica could not announce is announced before its next use",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const link = redisRelay(redis.port);
    const stateA = new RedisState({ url: redis.url, commandTimeoutMs: 500 });
    const stateB = new RedisState({ url: link.url, commandTimeoutMs: 500 });
    try {
      assert(await waitFor(() => stateA.health().up && stateB.health().up), "connected");
      const cache = async (state: RedisState) =>
        new SharedReadCache(
          await RedisReadCache.create(state.connection, {
            keyPrefix: "airlock:",
            masterKey: KEY,
            maxEntries: 100,
            maxBytes: 1 << 20,
          }),
          new WriteEpochs(1000),
          { limits: CACHE_LIMITS, unsettledMs: 1000 },
        );
      const [a, b] = [await cache(stateA), await cache(stateB)];
      const result = { content: [{ type: "text" as const, text: "v1" }] };
      a.put("acme", SESSION, CALL, "docs", result, (await a.epoch("docs"))!, 60_000);
      assertEquals((await a.lookup("acme", SESSION, CALL, "docs")).result, result);
      // B loses Redis (A does not) and writes: its bump cannot be sent.
      link.cut();
      assert(await waitFor(() => !stateB.health().up), "B sees the outage");
      const end = await b.beginWrite("docs");
      end(true);
      assert(b.failures >= 1);
      // The stated bound: meanwhile A, which reaches Redis, still serves what it kept.
      assertEquals((await a.lookup("acme", SESSION, CALL, "docs")).result, result);
      // B reaches Redis again: the owed bump goes first, and A's kept read is void.
      link.mend();
      assert(await waitFor(() => stateB.health().up, 10_000), "B reconnects");
      assertEquals((await b.lookup("acme", SESSION, CALL, "docs")).result, undefined);
      assertEquals((await a.lookup("acme", SESSION, CALL, "docs")).result, undefined);
    } finally {
      await stateA.close();
      await stateB.close();
      await link.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "shared read cache: two gateways on one Redis: a write through B voids A's kept read",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-spec-fs-" }));
    const embeddings = await Deno.makeTempDir({ prefix: "airlock-emb-" });
    await Deno.writeTextFile(`${root}/config.json`, `{"version":1}`);
    const gateways: Gateway[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        // Two replicas, each with its own filesystem server over the same directory.
        const gateway = new Gateway(
          parseConfig({
            servers: { fs: filesystemServer(root) },
            audit: { path: ":memory:" },
            selection: { embedder: "lexical", cacheDir: embeddings },
            sandbox: { timeoutMs: 10_000, memoryMb: 64, maxWaitMs: 20_000 },
            state: { url: redis.url },
          }),
          { poolSize: 1, logger: () => {}, vaultKey: KEY },
        );
        gateways.push(gateway);
        await gateway.start();
      }
      const [a, b] = gateways;
      const run = (gateway: Gateway, code: string) =>
        gateway.execute({ code }, {
          tenant: gateway.tenants.list()[0],
          requestId: crypto.randomUUID(),
          transport: "http",
          sessionId: "s",
        });
      const read = `return (await fs.readTextFile({ path: "${root}/config.json" })).content;`;
      const write = (v: number) =>
        `await fs.writeFile({ path: "${root}/config.json", content: '{"version":${v}}' });`;
      const first = await run(a, read);
      assertEquals(first.result, `{"version":1}`, JSON.stringify(first));
      const kept = await run(a, read);
      assertEquals(kept.tools.calls[0].cached, true, "kept in Redis");
      // Another replica serves the same session's kept read.
      const other = await run(b, read);
      assertEquals(other.tools.calls[0].cached, true, "served through the other replica");
      const wrote = await run(b, write(2));
      assert(wrote.ok, JSON.stringify(wrote));
      const after = await run(a, read);
      assertEquals(after.result, `{"version":2}`, "fresh through A after B's write");
      assertEquals(after.tools.calls[0].cached, undefined);
      const metrics = a.metrics.registry.render();
      assert(metrics.includes("airlock_speculation_cache_failures_total 0"), metrics);
      assert(/airlock_speculation_cache_requests_total\{[^}]*result="hit"[^}]*\} 1/.test(metrics));
    } finally {
      for (const g of gateways) await g.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(embeddings, { recursive: true }).catch(() => {});
    }
  },
});

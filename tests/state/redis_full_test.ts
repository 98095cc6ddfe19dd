/**
 * A full Redis (`maxmemory` reached, policy `noeviction`) still limits rates, counts executions
 * in flight and voids the read cache on writes (their scripts are flagged `allow-oom`: a few
 * bytes per tenant or group), while the stores that grow (vaults, MCP sessions, kept reads) are
 * refused whole with `state_unavailable`, even a script that deletes something first. Real `redis-server`, real gateway.
 */

import {
  RedisReadCache,
  RedisState,
  RedisVaultStore,
  SharedMcpSessions,
  StateUnavailableError,
} from "../../state/mod.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { findProgram, type RedisService, skipWithout, startRedis, waitFor } from "../services.ts";
import { startTestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "c".repeat(64);

/** Fills Redis with 8 MB of filler, then sets `maxmemory` below what it uses. */
async function fill(redis: RedisService): Promise<RedisState> {
  const admin = new RedisState({ url: redis.url, commandTimeoutMs: 5000 });
  assert(await waitFor(() => admin.health().up));
  await admin.connection.run(async (c) => {
    for (let i = 0; i < 8; i++) await c.set(`filler:${i}`, "x".repeat(1024 * 1024));
    await c.configSet("maxmemory", String(2 * 1024 * 1024));
    await c.configSet("maxmemory-policy", "noeviction");
  });
  // Full: an ordinary write is refused.
  await assertRejects(() => admin.connection.run((c) => c.set("probe", "1")), /OOM/);
  return admin;
}

Deno.test({
  name: "full Redis: rate limits, leases and write epochs still work; vault, MCP session " +
    "and cache writes are refused (state_unavailable)",
  ignore,
  async fn() {
    const redis = await startRedis();
    const admin = await fill(redis);
    const state = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => state.health().up));
      assertEquals((await state.takeToken("acme", 2, 60_000)).allowed, true);
      assertEquals((await state.takeToken("acme", 2, 60_000)).allowed, true);
      assertEquals((await state.takeToken("acme", 2, 60_000)).allowed, false, "still limited");
      const slot = await state.acquireSlot("acme", 1);
      assert(slot.acquired, "a lease is taken");
      assertEquals((await state.acquireSlot("acme", 1)).acquired, false, "still counted");
      slot.lease.release();
      assert(await waitFor(async () => (await state.acquireSlot("other", 1)).acquired));
      const vault = await RedisVaultStore.create(state.connection, {
        keyPrefix: "airlock:",
        masterKey: KEY,
        ttlMs: 60_000,
      });
      const value = "ann@example.com";
      const error = await assertRejects(() =>
        vault.commit({ tenant: "acme", keyId: "", session: "s" }, [
          {
            type: "email",
            value,
            placeholder: "[EMAIL_1_kqzmtwa]",
            canonical: value,
            label: "EMAIL",
          },
        ], "kqzmtwa")
      );
      assert(error instanceof StateUnavailableError, String(error));
      // A new MCP session is refused (its script deletes first: an unflagged script went on).
      const sessions = new SharedMcpSessions(state.connection, {
        keyPrefix: "airlock:",
        masterKey: KEY,
        ttlMs: 60_000,
        maxPerTenant: 10,
      });
      await assertRejects(
        () => sessions.create("m1", { tenant: "acme", keyId: "", initialize: {} }),
        /OOM/,
      );
      // The read cache: keeping a result is refused, a write still voids and holds.
      const cache = await RedisReadCache.create(state.connection, {
        keyPrefix: "airlock:",
        masterKey: KEY,
        maxEntries: 10,
        maxBytes: 1 << 20,
      });
      const before = await cache.epoch("*");
      assert(before !== undefined);
      const ref = { tenant: "acme", session: "s", key: "k", group: "*" };
      await assertRejects(() => cache.put(ref, "v", before, 60_000), /OOM/);
      await cache.beginWrite("*", "w1", 60_000);
      assertEquals(await cache.epoch("*"), undefined, "a write in flight holds the cache off");
      await cache.endWrite("*", "w1", true, 60_000);
      const after = await cache.epoch("*");
      assert(after !== undefined && after > before, `${before} → ${after}`);
    } finally {
      await state.close();
      await admin.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "full Redis: a gateway still runs an execution that needs only its rate limit and lease",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const admin = await fill(redis);
    const gw = await startTestGateway({
      state: { url: redis.url },
      sandbox: { maxWaitMs: 20_000, timeoutMs: 10_000 },
      auth: {
        tenants: {
          acme: { keys: [hashApiKey("acme-key")], requestsPerMinute: 600, maxConcurrent: 2 },
        },
      },
    }, { vaultKey: KEY });
    try {
      const plain = await gw.post("/v1/execute", { code: "return 1;" }, {
        authorization: "Bearer acme-key",
      });
      assertEquals([plain.status, plain.body.result], [200, 1], JSON.stringify(plain.body));
    } finally {
      await gw.close();
      await admin.close();
      await redis.stop();
    }
  },
});

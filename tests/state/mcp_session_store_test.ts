/**
 * The shared MCP session records against a real `redis-server`: the per-tenant cap is a true
 * cap ordered by last use (a session in use is never the one evicted, and sessions kept in use
 * past the idle time still count), and Redis holds neither the client's `initialize` params
 * nor the session ids in clear.
 */

import { RedisState, SharedMcpSessions } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "7".repeat(64);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withSessions(
  options: { ttlMs: number; maxPerTenant: number },
  fn: (sessions: SharedMcpSessions, state: RedisState) => Promise<void>,
) {
  const redis = await startRedis();
  const state = new RedisState({ url: redis.url });
  try {
    assert(await waitFor(() => state.health().up), "redis connection up");
    await fn(
      new SharedMcpSessions(state.connection, { keyPrefix: "t:", masterKey: KEY, ...options }),
      state,
    );
  } finally {
    await state.close();
    await redis.stop();
  }
}

const record = (initialize: Record<string, unknown> = {}) => ({
  tenant: "acme",
  keyId: "",
  initialize,
});

Deno.test({
  name: "mcp session store: the tenant's cap evicts the least recently used, not the oldest",
  ignore,
  async fn() {
    await withSessions({ ttlMs: 60_000, maxPerTenant: 2 }, async (sessions) => {
      await sessions.create("s1", record());
      await sleep(5); // distinct milliseconds on Redis's clock
      await sessions.create("s2", record());
      await sleep(5);
      assert(await sessions.touch("s1"), "s1 in use");
      await sleep(5);
      const evicted = await sessions.create("s3", record(), ["s1", "s2", "s3"]);
      assertEquals(evicted, ["s2"], "the least recently used went");
      assert(await sessions.touch("s1"), "the session in use stays");
      assertEquals(await sessions.touch("s2"), undefined);
      assert(await sessions.touch("s3"));
      // Another tenant's sessions are its own.
      await sessions.create("o1", { ...record(), tenant: "other" });
      assert(await sessions.touch("s1") && await sessions.touch("s3"));
    });
  },
});

Deno.test({
  name: "mcp session store: sessions kept in use past the idle time still count against the cap",
  ignore,
  async fn() {
    const ttlMs = 400;
    await withSessions({ ttlMs, maxPerTenant: 2 }, async (sessions, state) => {
      const pad = { note: "x".repeat(10_000) };
      const live = ["a", "b"];
      for (const id of live) await sessions.create(id, record(pad));
      // Used all along, for longer than the idle time since they were created.
      for (let t = 0; t < 12; t++) {
        for (const id of live) assert(await sessions.touch(id), `${id} alive while in use`);
        await sleep(ttlMs / 8);
      }
      for (const id of ["c", "d", "e"]) {
        await sessions.create(id, record(pad));
        live.push(id);
      }
      let alive = 0;
      for (const id of live) if (await sessions.touch(id)) alive++;
      assertEquals(alive, 2, "the cap holds");
      const members = await state.connection.run((c) => c.zCard("t:mcpsessions:acme"));
      assertEquals(members, 2);
      const records = await state.connection.run(async (c) => {
        let n = 0;
        for await (const keys of c.scanIterator({ MATCH: "t:mcp:*", COUNT: 100 })) {
          n += [keys].flat().length;
        }
        return n;
      });
      assertEquals(records, 2, "Redis holds the cap's records, no more");
    });
  },
});

Deno.test({
  name: "mcp session store: initialize params and session ids are not in Redis in clear",
  ignore,
  async fn() {
    await withSessions({ ttlMs: 60_000, maxPerTenant: 4 }, async (sessions, state) => {
      const id = "3f2a9c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
      const initialize = {
        protocolVersion: "2025-06-18",
        capabilities: { experimental: { x: { note: "SSN 123-45-6789" } } },
        clientInfo: { name: "alice.smith@example.com", version: "1" },
      };
      await sessions.create(id, record(initialize));
      const back = await sessions.touch(id);
      assertEquals(back?.initialize, initialize, "the record comes back whole");
      const dump: string[] = [];
      await state.connection.run(async (c) => {
        for await (const keys of c.scanIterator({ MATCH: "*", COUNT: 100 })) {
          for (const key of [keys].flat()) {
            dump.push(key);
            const type = await c.type(key);
            if (type === "hash") dump.push(JSON.stringify(await c.hGetAll(key)));
            else if (type === "zset") dump.push(JSON.stringify(await c.zRange(key, 0, -1)));
            else dump.push(String(await c.get(key)));
          }
        }
      });
      const text = dump.join("\n");
      assert(text.includes("t:mcp:"), "the scan saw the record");
      for (const s of [id, "alice", "example.com", "123-45-6789", "SSN", "2025-06-18"]) {
        assert(!text.includes(s), `Redis holds ${s} in clear`);
      }
      // Another vault key does not read it.
      const other = new SharedMcpSessions(state.connection, {
        keyPrefix: "t:",
        masterKey: "8".repeat(64),
        ttlMs: 60_000,
        maxPerTenant: 4,
      });
      assertEquals(await other.touch(id), undefined);
      await sessions.delete(id, "acme");
      assertEquals(await sessions.touch(id), undefined, "deleted");
    });
  },
});

Deno.test({
  name: "mcp session store: another tenant's touch neither keeps a session alive nor reorders it",
  ignore,
  async fn() {
    await withSessions({ ttlMs: 600, maxPerTenant: 2 }, async (sessions) => {
      await sessions.create("s1", record());
      await sleep(5);
      await sessions.create("s2", record());
      await sleep(5);
      // Another tenant that knows s1's id uses it: it learns whose it is, and nothing more.
      assertEquals((await sessions.touch("s1", "other"))?.tenant, "acme");
      await sleep(5);
      // s1 is still acme's least recently used: the cap takes it, not s2.
      assertEquals(await sessions.create("s3", record(), ["s1", "s2", "s3"]), ["s1"]);
      // Nor does it keep a session alive past its idle time.
      const deadline = Date.now() + 1500;
      while (Date.now() < deadline && await sessions.touch("s2", "other")) {
        assert(await sessions.touch("s3", "acme"), "its own tenant's touch keeps s3 alive");
        await sleep(100);
      }
      assertEquals(await sessions.touch("s2", "acme"), undefined, "s2 expired");
      assert(await sessions.touch("s3", "acme"), "its own tenant's touch still works");
    });
  },
});

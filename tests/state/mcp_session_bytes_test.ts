/**
 * An MCP session record in Redis is bounded in UTF-8 bytes of what is sealed: parameters
 * under 64 Ki UTF-16 units but three bytes each in UTF-8 are refused, and a record at the
 * bound takes about 86 KiB of Redis. Real `redis-server`.
 */

import { MAX_INITIALIZE_BYTES, RedisState, SharedMcpSessions } from "../../state/mod.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "b".repeat(64);

async function usage(state: RedisState): Promise<number> {
  return await state.connection.run(async (c) => {
    let total = 0;
    for (const k of await c.keys("t:mcp:*")) {
      total += Number(await c.sendCommand(["MEMORY", "USAGE", k]));
    }
    return total;
  });
}

Deno.test({
  name: "MCP session records: bounded in UTF-8 bytes as sealed (multi-byte params refused; " +
    "a record at the bound within ~86 KiB of Redis)",
  ignore,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => state.health().up), "up");
      const sessions = new SharedMcpSessions(state.connection, {
        keyPrefix: "t:",
        masterKey: KEY,
        ttlMs: 60_000,
        maxPerTenant: 100,
      });
      // 65,000 UTF-16 units as JSON (under 64 Ki), 195,000 bytes in UTF-8: refused.
      const wide = { clientInfo: { name: "\u4e00".repeat(65_000), version: "1" } };
      await assertRejects(
        () => sessions.create("s1", { tenant: "acme", keyId: "", initialize: wide }),
        /over 65536 bytes/,
      );
      assertEquals(await usage(state), 0, "nothing stored");
      // Just under the bound in UTF-8 (multi-byte): kept, and small in Redis.
      const fits = { clientInfo: { name: "\u4e00".repeat(21_000), version: "1" } };
      const json = JSON.stringify({ tenant: "acme", keyId: "", initialize: fits });
      assert(new TextEncoder().encode(json).length <= MAX_INITIALIZE_BYTES);
      await sessions.create("s2", { tenant: "acme", keyId: "", initialize: fits });
      assertEquals((await sessions.touch("s2"))?.initialize, fits);
      // As stored: base64 of the sealed JSON, at most 4/3 × 64 KiB + 40 bytes (~86 KiB).
      const stored = await state.connection.run(async (c) => {
        const [k] = await c.keys("t:mcp:*");
        return Number(await c.sendCommand(["HSTRLEN", k, "s"]));
      });
      assert(stored <= Math.ceil((MAX_INITIALIZE_BYTES + 28) / 3) * 4, `stored ${stored}`);
      // Redis's own use (its allocator rounds an ~86 KB string up to its 96 KiB class).
      const bytes = await usage(state);
      assert(bytes <= 100 * 1024, `one session record holds ${bytes} bytes in Redis`);
    } finally {
      await state.close();
      await redis.stop();
    }
  },
});

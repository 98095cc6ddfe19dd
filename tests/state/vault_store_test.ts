/**
 * PII vault sessions in a real Redis: shared by replicas, placeholders settled between them,
 * caps, keys that do not match, and no personal value or session id in clear anywhere in
 * Redis.
 */

import { RedisState, RedisVaultStore, type SharedVaultAddition } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, type RedisService, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "a".repeat(64);
const ref = { tenant: "acme", keyId: "sha256:abc", session: "conversation-ann@example.com" };

function add(value: string, placeholder: string, type = "email"): SharedVaultAddition {
  const label = type === "email" ? "EMAIL" : "PHONE";
  return { type, value, placeholder, canonical: value, label };
}

async function withStores(
  fn: (
    stores: RedisVaultStore[],
    redis: RedisService,
    state: RedisState,
  ) => Promise<void>,
  options: { maxEntries?: number; maxSessions?: number; keys?: string[] } = {},
) {
  const redis = await startRedis();
  const state = new RedisState({ url: redis.url });
  try {
    assert(await waitFor(() => state.health().up));
    const stores = await Promise.all(
      (options.keys ?? [KEY, KEY]).map((masterKey) =>
        RedisVaultStore.create(state.connection, {
          keyPrefix: "airlock:",
          masterKey,
          ttlMs: 60_000,
          maxEntries: options.maxEntries,
          maxSessions: options.maxSessions,
        })
      ),
    );
    await fn(stores, redis, state);
  } finally {
    await state.close();
    await redis.stop();
  }
}

Deno.test({
  name: "redis vault: a session written by one replica is read by another",
  ignore,
  async fn() {
    await withStores(async ([a, b]) => {
      assertEquals(await a.load(ref), { mappings: [], counters: {} });
      const settled = await a.commit(ref, [add("ann@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
      assertEquals([...settled], [["[EMAIL_1_kqzmtwa]", "[EMAIL_1_kqzmtwa]"]]);
      const loaded = await b.load(ref);
      assertEquals(loaded.mappings, [
        { type: "email", value: "ann@example.com", placeholder: "[EMAIL_1_kqzmtwa]" },
      ]);
      assertEquals(loaded.counters, { EMAIL: 1 });
      // Another key identity with the same session id sees nothing.
      assertEquals((await b.load({ ...ref, keyId: "sha256:other" })).mappings, []);
      await b.delete(ref);
      assertEquals((await a.load(ref)).mappings, []);
    });
  },
});

Deno.test({
  name: "redis vault: concurrent replicas never give one placeholder two values",
  ignore,
  async fn() {
    await withStores(async ([a, b]) => {
      // Both loaded the same empty session and proposed [EMAIL_1_kqzmtwa] for different values.
      const first = await a.commit(ref, [add("ann@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
      const second = await b.commit(ref, [
        add("bob@example.com", "[EMAIL_1_kqzmtwa]"),
        add("ann@example.com", "[EMAIL_2_kqzmtwa]"),
      ], "kqzmtwa");
      assertEquals(first.get("[EMAIL_1_kqzmtwa]"), "[EMAIL_1_kqzmtwa]");
      assertEquals(
        second.get("[EMAIL_1_kqzmtwa]"),
        "[EMAIL_2_kqzmtwa]",
        "bob renamed past the taken number",
      );
      assertEquals(
        second.get("[EMAIL_2_kqzmtwa]"),
        "[EMAIL_1_kqzmtwa]",
        "ann keeps her placeholder",
      );
      const values = new Map((await a.load(ref)).mappings.map((m) => [m.placeholder, m.value]));
      assertEquals(values.get("[EMAIL_1_kqzmtwa]"), "ann@example.com");
      assertEquals(values.get("[EMAIL_2_kqzmtwa]"), "bob@example.com");
      assertEquals(values.size, 2);
    });
  },
});

Deno.test({
  name: "redis vault: caps per session and sessions per tenant",
  ignore,
  async fn() {
    await withStores(async ([a]) => {
      const settled = await a.commit(ref, [
        add("a@example.com", "[EMAIL_1_kqzmtwa]"),
        add("b@example.com", "[EMAIL_2_kqzmtwa]"),
        add("c@example.com", "[EMAIL_3_kqzmtwa]"),
      ], "kqzmtwa");
      assertEquals(settled.get("[EMAIL_3_kqzmtwa]"), undefined, "over the session's cap: refused");
      assertEquals((await a.load(ref)).mappings.length, 2);
      for (const session of ["s1", "s2", "s3"]) {
        await a.commit({ ...ref, session }, [add("x@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
      }
      // Three sessions allowed: the least recently used (ref's) went first.
      assertEquals((await a.load(ref)).mappings, []);
      assertEquals((await a.load({ ...ref, session: "s3" })).mappings.length, 1);
      // Another tenant's sessions are its own.
      await a.commit(
        { ...ref, tenant: "other" },
        [add("y@example.com", "[EMAIL_1_kqzmtwa]")],
        "kqzmtwa",
      );
      assertEquals((await a.load({ ...ref, session: "s2" })).mappings.length, 1);
    }, { maxEntries: 2, maxSessions: 3 });
  },
});

Deno.test({
  name: "redis vault: another key cannot read values; Redis holds nothing in clear",
  ignore,
  async fn() {
    await withStores(async ([a, wrong], _redis, state) => {
      const secrets = ["ann@example.com", "+1 415 555 0100"];
      await a.commit(ref, [
        add(secrets[0], "[EMAIL_1_kqzmtwa]"),
        add(secrets[1], "[PHONE_1_kqzmtwa]", "phone"),
      ], "kqzmtwa");
      assertEquals((await wrong.load(ref)).mappings, [], "sealed under another key");
      // Every key and every byte in Redis.
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
      assert(text.includes("[EMAIL_1_kqzmtwa]"), "the scan saw the session");
      for (const s of [...secrets, "ann@", "example.com", "415 555", ref.session, "conversation"]) {
        assert(!text.includes(s), `Redis holds ${s} in clear`);
      }
    }, { keys: [KEY, "b".repeat(64)] });
  },
});

Deno.test({
  name: "redis vault: uses within one millisecond keep their order (least recently used goes)",
  ignore,
  async fn() {
    // Redis's clock has millisecond scores; a tie was broken by the member's bytes (an HMAC),
    // so a just-used session could be evicted instead of the older one. Many rounds make
    // same-millisecond uses certain.
    await withStores(async ([a]) => {
      for (let round = 0; round < 40; round++) {
        const tenant = `t${round}`;
        const at = (session: string) => ({ ...ref, tenant, session });
        await a.commit(at("old"), [add("o@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
        await a.commit(at("new"), [add("n@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
        await a.load(at("old")); // now "new" is the least recently used
        await a.commit(at("third"), [add("t@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
        assertEquals((await a.load(at("new"))).mappings, [], `round ${round}: new evicted`);
        assertEquals((await a.load(at("old"))).mappings.length, 1, `round ${round}: old kept`);
      }
    }, { maxEntries: 2, maxSessions: 2 });
  },
});

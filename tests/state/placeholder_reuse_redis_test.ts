/**
 * Red-team finding, with vaults in a real Redis shared by two replicas: a session evicted by
 * its tenant's byte budget (another API key of the tenant filling it through the other
 * replica), expired, or lost with Redis's data started again at `[EMAIL_1]`, so a placeholder
 * the agent still held came to mean whoever was named first afterwards. Now such a
 * placeholder is refused, never re-bound; and a replica holding a session loaded before it
 * was dropped never revives that session's tag.
 */
import { hashApiKey } from "../../gateway/mod.ts";
import { RedisState, RedisVaultStore, type SharedVaultAddition } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { assertRefused, named, recipient, send } from "../placeholders.ts";
import { findProgram, type RedisService, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const vaultKey = "7".repeat(64);
const KEYS = { one: "alice-key", two: "alice-key2", bob: "bob-key" };
const auth = (key: string, session?: string): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  ...(session ? { "x-airlock-session": session } : {}),
});

/** Two replicas on `redis`, tenant alice with two keys and bob with one. */
async function replicas(redis: RedisService, extra: Record<string, unknown> = {}) {
  const config = {
    state: { url: redis.url, vaultBytesPerTenant: 65_536 },
    servers: { ledger: fixtureServer("ledger") },
    pii: { mode: "tokenize" },
    auth: {
      tenants: {
        alice: { keys: [hashApiKey(KEYS.one), hashApiKey(KEYS.two)], requestsPerMinute: 6000 },
        bob: { keys: [hashApiKey(KEYS.bob)], requestsPerMinute: 6000 },
      },
    },
    sandbox: { maxWaitMs: 20_000 },
    ...extra,
  };
  const gateways: TestGateway[] = [];
  try {
    gateways.push(await startTestGateway(config, { vaultKey }));
    gateways.push(await startTestGateway(config, { vaultKey }));
    for (const gw of gateways) assert(await waitFor(() => gw.gateway.state.health().up));
  } catch (error) {
    for (const gw of gateways) await gw.close();
    throw error;
  }
  return gateways;
}

async function withRedis(fn: (redis: RedisService) => Promise<void>) {
  const redis = await startRedis();
  try {
    await fn(redis);
  } finally {
    await redis.stop();
  }
}

Deno.test({
  name: "redis placeholders: a session evicted by the tenant's budget does not re-bind them",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withRedis(async (redis) => {
      const [a, b] = await replicas(redis);
      try {
        const conv = auth(KEYS.one, "conv-1");
        const ann = await named(a, "ann@example.com", conv);
        // Key 2 of the same tenant fills the budget through replica B: conv-1 is evicted.
        const filler = await b.post("/v1/execute", {
          code: `const a = []; for (let i = 0; i < 400; i++) a.push("v" + i + "@filler.example");
            return a.join(" ");`,
        }, auth(KEYS.two, "other-2"));
        assertEquals(filler.status, 200, JSON.stringify(filler.body));
        // conv-1 starts again, through B, naming mallory first.
        const mallory = await named(b, "mallory@evil.example", conv);
        assert(mallory !== ann, `mallory got ann's placeholder ${ann}`);
        // Key 1 writes to ann's placeholder through A: refused, nothing reaches the tool.
        await assertRefused(a, ann, conv, auth(KEYS.bob));
        // The session's live placeholder still crosses replicas.
        assertEquals((await send(a, mallory, conv)).body.result, "sent");
        assertEquals(await recipient(a, auth(KEYS.bob)), "mallory");
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
});

Deno.test({
  name: "redis placeholders: neither expiry nor Redis losing its data re-binds them",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withRedis(async (redis) => {
      const [a, b] = await replicas(redis, { pii: { mode: "tokenize", ttlSeconds: 1 } });
      try {
        const conv = auth(KEYS.one, "conv-1");
        const ann = await named(a, "ann@example.com", conv);
        await new Promise((r) => setTimeout(r, 1500));
        const mallory = await named(b, "mallory@evil.example", conv);
        assert(mallory !== ann, `after expiry mallory got ann's placeholder ${ann}`);
        await assertRefused(a, ann, conv, auth(KEYS.bob));
        // Redis restarted empty (FLUSHALL): the session is gone on every replica.
        const conv2 = auth(KEYS.one, "conv-2");
        const carol = await named(a, "carol@example.com", conv2);
        const probe = new RedisState({ url: redis.url });
        try {
          assert(await waitFor(() => probe.health().up));
          await probe.connection.run((c) => c.flushAll());
        } finally {
          await probe.close();
        }
        const eve = await named(b, "eve@evil.example", conv2);
        assert(eve !== carol, `after the flush eve got carol's placeholder ${carol}`);
        await assertRefused(a, carol, conv2, auth(KEYS.bob));
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
});

const ref = { tenant: "acme", keyId: "sha256:abc", session: "conv-1" };

function add(value: string, placeholder: string): SharedVaultAddition {
  return { type: "email", value, placeholder, canonical: value, label: "EMAIL" };
}

Deno.test({
  name: "redis placeholders: a replica's stale view of a dropped session never revives its tag",
  ignore,
  async fn() {
    await withRedis(async (redis) => {
      const state = new RedisState({ url: redis.url });
      try {
        assert(await waitFor(() => state.health().up));
        const [a, b] = await Promise.all([0, 1].map(() =>
          RedisVaultStore.create(state.connection, {
            keyPrefix: "airlock:",
            masterKey: vaultKey,
            ttlMs: 60_000,
          })
        ));
        // A creates the session under tag "kqzmtwa"; B loads it and adds bob as [EMAIL_2_…].
        await a.commit(ref, [add("ann@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
        const seen = await b.load(ref);
        assertEquals(seen.tag, "kqzmtwa");
        await b.commit(ref, [add("bob@example.com", "[EMAIL_2_kqzmtwa]")], "bbbbbbb");
        // The session is dropped (evicted, expired, deleted).
        await b.delete(ref);
        // A, which never saw bob, proposes carol as [EMAIL_2_kqzmtwa]: the placeholder bob
        // had. The session starts again under the fresh tag, numbered from 1.
        const settled = await a.commit(
          ref,
          [add("carol@example.com", "[EMAIL_2_kqzmtwa]")],
          "ccccccc",
        );
        assertEquals(settled.get("[EMAIL_2_kqzmtwa]"), "[EMAIL_1_ccccccc]");
        const now = await b.load(ref);
        assertEquals(now.tag, "ccccccc");
        assertEquals(now.mappings, [
          { type: "email", value: "carol@example.com", placeholder: "[EMAIL_1_ccccccc]" },
        ]);
        // Once the session exists, a proposal under another tag is renumbered under its tag.
        const other = await b.commit(ref, [add("dan@example.com", "[EMAIL_9_zzzzzzz]")], "ddddddd");
        assertEquals(other.get("[EMAIL_9_zzzzzzz]"), "[EMAIL_2_ccccccc]");
      } finally {
        await state.close();
      }
    });
  },
});

Deno.test({
  name: "redis placeholders: a session stored with untagged placeholders is dropped",
  ignore,
  async fn() {
    await withRedis(async (redis) => {
      const state = new RedisState({ url: redis.url });
      try {
        assert(await waitFor(() => state.health().up));
        const store = await RedisVaultStore.create(state.connection, {
          keyPrefix: "airlock:",
          masterKey: vaultKey,
          ttlMs: 60_000,
        });
        await store.commit(ref, [add("ann@example.com", "[EMAIL_1_kqzmtwa]")], "kqzmtwa");
        // As an older version left it: no tag field.
        await state.connection.run(async (c) => {
          for await (const keys of c.scanIterator({ MATCH: "airlock:vault:acme:*" })) {
            for (const key of [keys].flat()) await c.hDel(key, "g");
          }
        });
        assertEquals(await store.load(ref), { mappings: [], counters: {} });
        const settled = await store.commit(
          ref,
          [add("mallory@evil.example", "[EMAIL_1_bbbbbbb]")],
          "bbbbbbb",
        );
        assertEquals(settled.get("[EMAIL_1_bbbbbbb]"), "[EMAIL_1_bbbbbbb]");
        const loaded = await store.load(ref);
        assertEquals(loaded.mappings.map((m) => m.value), ["mallory@evil.example"]);
      } finally {
        await state.close();
      }
    });
  },
});

/**
 * One tenant's state cannot fill a shared Redis and shut the others out: the PII vault has a
 * per-tenant byte budget, enforced inside Redis (Lua), in store tests and through real
 * gateways on a real `redis-server` with `maxmemory` and `noeviction`.
 */

import { RedisState, RedisVaultStore, type SharedVaultAddition } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { startTestGateway } from "../helpers.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "b".repeat(64);

function emails(session: string, n: number): SharedVaultAddition[] {
  return Array.from({ length: n }, (_, i) => {
    const value = `user${i}.${session}.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com`;
    return {
      type: "email",
      value,
      placeholder: `[EMAIL_${i + 1}_kqzmtwa]`,
      canonical: value,
      label: "EMAIL",
    };
  });
}

async function charged(state: RedisState, tenant: string): Promise<number> {
  return Number(
    await state.connection.run((c) => c.hGet(`airlock:vaultbytes:${tenant}`, "_")) ?? 0,
  );
}

Deno.test({
  name: "redis vault: a tenant's byte budget evicts its own least recently used sessions, then " +
    "masks; another tenant is untouched; deletes give bytes back",
  ignore,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => state.health().up));
      const budget = 256 * 1024;
      const vault = await RedisVaultStore.create(state.connection, {
        keyPrefix: "airlock:",
        masterKey: KEY,
        ttlMs: 60_000,
        maxBytesPerTenant: budget,
      });
      const other = { tenant: "other", keyId: "", session: "o" };
      await vault.commit(other, emails("o", 100), "kqzmtwa");
      const otherBytes = await charged(state, "other");
      assert(otherBytes > 100 * 200, `charged ${otherBytes} bytes for 100 e-mails`);
      // The noisy tenant: sessions of 300 e-mails each (about 100 KB as charged).
      for (let s = 0; s < 10; s++) {
        const ref = { tenant: "noisy", keyId: "", session: `n-${s}` };
        const settled = await vault.commit(ref, emails(`n${s}`, 300), "kqzmtwa");
        assertEquals([...settled.values()].filter((p) => p === undefined).length, 0, `n-${s}`);
        assert((await charged(state, "noisy")) <= budget, "within the budget");
      }
      // Its oldest sessions went; its newest and the other tenant's stay whole.
      const first = await vault.load({ tenant: "noisy", keyId: "", session: "n-0" });
      assertEquals(first.mappings.length, 0, "least recently used session evicted");
      const last = await vault.load({ tenant: "noisy", keyId: "", session: "n-9" });
      assertEquals(last.mappings.length, 300);
      assertEquals((await vault.load(other)).mappings.length, 100);
      assertEquals(await charged(state, "other"), otherBytes);
      // One session alone over the budget: the values past it are masked (not stored).
      const huge = { tenant: "noisy", keyId: "", session: "huge" };
      const settled = await vault.commit(huge, emails("h", 2000), "kqzmtwa");
      const refused = [...settled.values()].filter((p) => p === undefined).length;
      assert(refused > 0 && refused < 2000, `${refused} of 2000 masked`);
      assert((await charged(state, "noisy")) <= budget);
      // A deleted session gives its bytes back.
      await vault.delete(huge);
      assertEquals(await charged(state, "noisy"), 0);
    } finally {
      await state.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "redis vault: sessions that expired leave their tenant's byte sum",
  ignore,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url });
    try {
      assert(await waitFor(() => state.health().up));
      const vault = await RedisVaultStore.create(state.connection, {
        keyPrefix: "airlock:",
        masterKey: KEY,
        ttlMs: 300,
        maxBytesPerTenant: 64 * 1024,
      });
      await vault.commit({ tenant: "t", keyId: "", session: "a" }, emails("a", 150), "kqzmtwa");
      await new Promise((r) => setTimeout(r, 600));
      // Had the expired session stayed charged, nothing more would fit.
      const settled = await vault.commit(
        { tenant: "t", keyId: "", session: "b" },
        emails("b", 150),
        "kqzmtwa",
      );
      assertEquals([...settled.values()].filter((p) => p === undefined).length, 0);
      const sum = await charged(state, "t");
      assert(sum > 0 && sum <= 64 * 1024, `charged ${sum}`);
    } finally {
      await state.close();
      await redis.stop();
    }
  },
});

async function sha256(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return "sha256:" + Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "gateways on Redis: one tenant's PII vaults cannot fill Redis and shut out another",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    // A Redis of 48 MiB with the default policy (noeviction): over it, writes are refused.
    const admin = new RedisState({ url: redis.url });
    assert(await waitFor(() => admin.health().up));
    await admin.connection.run((c) => c.configSet("maxmemory", String(48 * 1024 * 1024)));
    // The default budget (16 MiB of vault per tenant).
    const gw = await startTestGateway({
      state: { url: redis.url },
      pii: { mode: "tokenize" },
      sandbox: { maxWaitMs: 20_000, timeoutMs: 10_000 },
      auth: {
        tenants: {
          victim: { keys: [await sha256("victim-key")], requestsPerMinute: 6000 },
          noisy: { keys: [await sha256("noisy-key")], requestsPerMinute: 6000 },
        },
      },
    }, { vaultKey: KEY });
    try {
      const post = (key: string, session: string, code: string) =>
        gw.post("/v1/execute", { code }, {
          authorization: `Bearer ${key}`,
          "x-airlock-session": session,
        });
      const ok = await post("victim-key", "v-1", `return "hi ann@example.com";`);
      assertEquals(ok.status, 200, JSON.stringify(ok.body));
      // 10,000 distinct e-mail addresses per session (within the per-session caps): about
      // 3.4 MB of Redis each; 20 of them are more than Redis's 48 MiB.
      const flood = `const out = []; for (let i = 0; i < 10000; i++) ` +
        "out.push(`user${i}.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com`); " +
        `return out.join(" ");`;
      for (let i = 0; i < 20; i++) {
        const r = await post("noisy-key", `n-${i}`, flood);
        // The noisy tenant's own requests still work (its oldest sessions make room).
        assertEquals(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      }
      const sum = await charged(admin, "noisy");
      assert(sum <= 16 * 1024 * 1024, `noisy charged ${sum} bytes`);
      const used = await admin.connection.run((c) => c.info("memory"));
      const plain = await post("victim-key", "", `return 1;`);
      const pii = await post("victim-key", "v-2", `return "bob@example.net";`);
      assertEquals(
        [plain.status, pii.status, (pii.body as { ok?: boolean }).ok],
        [200, 200, true],
        `victim refused after another tenant's flood: ${JSON.stringify(plain.body)} ` +
          `${JSON.stringify(pii.body)}\n${used.match(/used_memory:\d+/)?.[0]}`,
      );
    } finally {
      await gw.close();
      await admin.close();
      await redis.stop();
    }
  },
});

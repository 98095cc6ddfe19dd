/**
 * Two gateways (replicas) over real HTTP sharing one real Redis: per-tenant limits hold over
 * both, an outage gives 503 `state_unavailable` and `/readyz` says why, and service resumes
 * when Redis is back.
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

const KEY = "test-key-acme";
const auth = { Authorization: `Bearer ${KEY}` };

Deno.test({
  name: "gateway state: replicas share rate limits; Redis down is 503 state_unavailable",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const redis = await startRedis();
    const gateways: TestGateway[] = [];
    try {
      const config = {
        state: { url: redis.url, keyPrefix: `t${crypto.randomUUID().slice(0, 8)}:` },
        auth: { tenants: { acme: { keys: [hashApiKey(KEY)], requestsPerMinute: 4 } } },
        // This loaded test machine may take longer than the default 250 ms to start a sandbox.
        sandbox: { maxWaitMs: 20_000 },
      };
      const vaultKey = "7".repeat(64);
      gateways.push(
        await startTestGateway(config, { vaultKey }),
        await startTestGateway(config, { vaultKey }),
      );
      const [a, b] = gateways;
      for (const gw of gateways) {
        assert(await waitFor(() => gw.gateway.state.health().up), "connected");
      }

      await t.step("the rate limit counts requests on both replicas", async () => {
        const statuses = [];
        for (let i = 0; i < 5; i++) {
          const gw = i % 2 ? b : a;
          statuses.push((await gw.post("/v1/execute", { code: "return 1" }, auth)).status);
        }
        assertEquals(statuses, [200, 200, 200, 200, 429]);
        const refused = await b.post("/v1/execute", { code: "return 1" }, auth);
        assertEquals(refused.status, 429);
        assertEquals(refused.body.error.kind, "rate_limited");
        assert(Number(refused.headers.get("retry-after")) >= 1, "Retry-After");
      });

      await t.step("/readyz reports the state backend", async () => {
        const ready = await a.get("/readyz");
        assertEquals(ready.body.state, { backend: "redis", up: true });
      });

      await t.step("Redis down: 503 state_unavailable, /readyz not ready", async () => {
        await redis.kill();
        assert(await waitFor(() => !a.gateway.state.health().up), "outage seen");
        const refused = await a.post("/v1/execute", { code: "return 1" }, auth);
        assertEquals(refused.status, 503);
        assertEquals(refused.body.error.kind, "state_unavailable");
        assertEquals(refused.headers.get("retry-after"), "1");
        const search = await a.get("/v1/tools/search?q=files", auth);
        assertEquals(search.status, 503);
        assertEquals(search.body.error.kind, "state_unavailable");
        const ready = await a.get("/readyz");
        assertEquals(ready.status, 503);
        assertEquals(ready.body.state.up, false);
        assertEquals(ready.body.state.backend, "redis");
        // Health is the process's own, not the backend's.
        assertEquals((await a.get("/healthz")).status, 200);
      });

      await t.step("Redis back: service resumes by itself", async () => {
        await redis.restart();
        for (const gw of gateways) {
          assert(await waitFor(() => gw.gateway.state.health().up), "reconnected");
        }
        const reply = await b.post("/v1/execute", { code: "return 2" }, auth);
        assertEquals(reply.status, 200);
        assertEquals(reply.body.result, 2);
        assertEquals((await b.get("/readyz")).body.state.up, true);
      });
    } finally {
      for (const gw of gateways) await gw.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "gateway state: /readyz pings Redis, so a stalled Redis (socket open) is not ready",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway(
        { state: { url: redis.url, commandTimeoutMs: 300 }, sandbox: { maxWaitMs: 20_000 } },
        { vaultKey: "7".repeat(64) },
      );
      const g = gw;
      assert(await waitFor(() => g.gateway.state.health().up), "connected");
      assertEquals((await gw.get("/readyz")).body.state, { backend: "redis", up: true });
      // Redis holds every client's commands for 3 s: the socket stays open.
      const admin = await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(new URL(redis.url).port),
      });
      await admin.write(new TextEncoder().encode("CLIENT PAUSE 3000 ALL\r\n"));
      await admin.read(new Uint8Array(64)); // +OK
      admin.close();
      const stalled = await gw.get("/readyz");
      assertEquals(stalled.status, 503);
      assertEquals(stalled.body.ready, false);
      assertEquals(stalled.body.state.up, false, JSON.stringify(stalled.body.state));
      assert(gw.gateway.state.health().up, "the socket alone says up: the ping is what tells");
      assert(
        await waitFor(async () => (await g.get("/readyz")).body.state.up === true, 10_000),
        "ready again when Redis answers",
      );
    } finally {
      await gw?.close();
      await redis.stop();
    }
  },
});

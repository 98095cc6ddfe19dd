/**
 * Two gateways (replicas) sharing one real Redis: a placeholder made through replica A
 * reaches a real MCP tool unmasked through replica B; Redis holds no value in clear; a
 * gateway with shared state refuses to start without a vault key.
 */

import { ConfigError, Gateway, parseConfig } from "../../gateway/mod.ts";
import { RedisState } from "../../state/mod.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { tagsOf, untag } from "../placeholders.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const vaultKey = "5".repeat(64);

Deno.test({
  name: "vault over replicas: a placeholder from replica A is restored for a tool on B",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const redis = await startRedis();
    const root = await Deno.makeTempDir({ prefix: "airlock-vault-fs-" });
    const gateways: TestGateway[] = [];
    try {
      const config = {
        state: { url: redis.url },
        servers: { fs: filesystemServer(root) },
        // This loaded test machine may take longer than the default 250 ms to start a sandbox.
        sandbox: { maxWaitMs: 20_000 },
      };
      gateways.push(
        await startTestGateway(config, { vaultKey }),
        await startTestGateway(config, { vaultKey }),
      );
      const [a, b] = gateways;
      for (const gw of gateways) assert(await waitFor(() => gw.gateway.state.health().up));
      const session = { "x-airlock-session": "conv-1" };
      const post = (gw: TestGateway, code: string) =>
        gw.post("/v1/execute", { code }, session).then((r) => {
          assertEquals(r.status, 200, JSON.stringify(r.body));
          return r.body;
        });

      let ann = "";
      await t.step("A hides the address; B restores it for the filesystem server", async () => {
        const first = await post(a, "return 'write to ann@example.com'");
        assertEquals(untag(first.result), "write to [EMAIL_1]");
        ann = first.result.slice("write to ".length);
        const second = await post(
          b,
          `await fs.writeFile({ path: ${JSON.stringify(`${root}/out.txt`)}, content: "to ${ann}" });
           return "${ann} and carol@example.com"`,
        );
        assertEquals(second.ok, true, JSON.stringify(second.error));
        assertEquals(await Deno.readTextFile(`${root}/out.txt`), "to ann@example.com");
        // The same value keeps its placeholder on B; a new one continues the numbering, under
        // the session's one tag.
        assertEquals(untag(second.result), "[EMAIL_1] and [EMAIL_2]");
        assertEquals(tagsOf([first.result, second.result]).length, 1);
        const carol = (await post(a, "return 'carol@example.com'")).result;
        assertEquals(carol, second.result.slice(`${ann} and `.length));
      });

      await t.step("a read cached on A is not served after a write through B", async () => {
        const file = JSON.stringify(`${root}/shared.txt`);
        await Deno.writeTextFile(`${root}/shared.txt`, "v1");
        const read = `return await fs.readTextFile({ path: ${file} })`;
        const first = await post(a, read);
        assert(JSON.stringify(first.result).includes("v1"), JSON.stringify(first));
        await post(b, `await fs.writeFile({ path: ${file}, content: "v2" }); return 1`);
        const again = await post(a, read);
        assert(JSON.stringify(again.result).includes("v2"), `stale read: ${JSON.stringify(again)}`);
      });

      await t.step("without the session header, placeholders do not resolve", async () => {
        const reply = await b.post("/v1/execute", {
          code: `await fs.writeFile({ path: ${
            JSON.stringify(`${root}/none.txt`)
          }, content: "${ann}" });
                 return 1`,
        });
        assertEquals(reply.status, 200);
        assertEquals(reply.body.tools.calls[0].outcome, "refused");
        assertEquals(await Deno.stat(`${root}/none.txt`).then(() => true, () => false), false);
      });

      await t.step("Redis holds no personal value in clear", async () => {
        const text: string[] = [];
        const probe = new RedisState({ url: redis.url });
        try {
          assert(await waitFor(() => probe.health().up));
          await probe.connection.run(async (c) => {
            for await (const keys of c.scanIterator({ MATCH: "*", COUNT: 100 })) {
              for (const key of [keys].flat()) {
                text.push(key);
                const type = await c.type(key);
                if (type === "hash") text.push(JSON.stringify(await c.hGetAll(key)));
                else if (type === "zset") text.push(JSON.stringify(await c.zRange(key, 0, -1)));
              }
            }
          });
        } finally {
          await probe.close();
        }
        const all = text.join("\n");
        assert(all.includes("vault:local:"), "the scan saw the vault session");
        for (const s of ["ann@example.com", "carol@example.com", "example.com", "conv-1"]) {
          assert(!all.includes(s), `Redis holds ${s} in clear`);
        }
      });

      await t.step(
        "Redis down: an execution with a session is refused, not unrestored",
        async () => {
          await redis.kill();
          assert(await waitFor(() => !b.gateway.state.health().up));
          const reply = await b.post("/v1/execute", { code: "return 1" }, session);
          assertEquals(reply.status, 503);
          assertEquals(reply.body.error.kind, "state_unavailable");
        },
      );
    } finally {
      for (const gw of gateways) await gw.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("a gateway with shared state needs a valid AIRLOCK_VAULT_KEY", () => {
  const config = parseConfig({ state: { url: "redis://127.0.0.1:1/0" } });
  const saved = Deno.env.get("AIRLOCK_VAULT_KEY");
  Deno.env.delete("AIRLOCK_VAULT_KEY");
  try {
    let error: unknown;
    try {
      new Gateway(config, { logger: () => {} });
    } catch (e) {
      error = e;
    }
    assert(error instanceof ConfigError, String(error));
    assertMatch(error.message, /AIRLOCK_VAULT_KEY/);
    let bad: unknown;
    try {
      new Gateway(config, { logger: () => {}, vaultKey: "short" });
    } catch (e) {
      bad = e;
    }
    assert(bad instanceof ConfigError);
    assertMatch(bad.message, /32 random bytes/);
  } finally {
    if (saved !== undefined) Deno.env.set("AIRLOCK_VAULT_KEY", saved);
  }
});

Deno.test({
  name: "vault gateway: a vault that cannot be saved after the run is vault_not_saved, no retry",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway(
        { state: { url: redis.url, commandTimeoutMs: 300 }, sandbox: { maxWaitMs: 20_000 } },
        { vaultKey },
      );
      const g = gw;
      assert(await waitFor(() => g.gateway.state.health().up));
      const reply = gw.post(
        "/v1/execute",
        {
          code: "await new Promise((r) => setTimeout(r, 1500)); return 'dana@example.com'",
        },
        { "x-airlock-session": "conv-lost" },
      );
      // Running (the vault was read): now Redis answers nothing until the run is over.
      assert(await waitFor(() => g.gateway.sandbox.stats().active > 0, 20_000), "running");
      const admin = await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(new URL(redis.url).port),
      });
      await admin.write(new TextEncoder().encode("CLIENT PAUSE 4000 ALL\r\n"));
      await admin.read(new Uint8Array(64));
      admin.close();
      const res = await reply;
      assertEquals(res.body.error?.kind, "vault_not_saved", JSON.stringify(res.body));
      assertEquals(res.status, 500);
      assertEquals(res.headers.get("retry-after"), null, "no invitation to retry");
      assertMatch(res.body.error.message, /the code ran/);
      assert(!JSON.stringify(res.body).includes("dana@"), "nothing personal in the error");
      const [row] = await gw.gateway.auditSink!.recentAsync({ limit: 1 });
      assertEquals(row.errorKind, "vault_not_saved", "the audit says what the client was told");
      assertEquals(row.redactions, { email: 1 });
    } finally {
      await gw?.close();
      await redis.stop();
    }
  },
});

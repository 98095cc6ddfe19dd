/**
 * Two real gateways on a real `redis-server` with the real filesystem MCP server: a write made
 * through one replica while Redis was down voids the other replica's kept read once Redis is
 * back, though the writer gets no cache traffic after it (its owed bump is paid on reconnect).
 */

import { Gateway, parseConfig } from "../../gateway/mod.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const KEY = "b".repeat(64);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name:
    "shared cache, two gateways: a write made while Redis was down voids the other replica's kept read once Redis is back",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Persistence as in examples/cluster (appendonly, everysec): kept entries survive a restart.
    const redis = await startRedis({ persist: true });
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "owed-fs-" }));
    const embeddings = await Deno.makeTempDir({ prefix: "owed-emb-" });
    await Deno.writeTextFile(`${root}/config.json`, `{"version":1}`);
    const gateways: Gateway[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const gateway = new Gateway(
          parseConfig({
            servers: { fs: filesystemServer(root) },
            audit: { path: ":memory:" },
            selection: { embedder: "lexical", cacheDir: embeddings },
            sandbox: { timeoutMs: 15_000, memoryMb: 64, maxWaitMs: 20_000 },
            state: { url: redis.url },
          }),
          { poolSize: 1, logger: () => {}, vaultKey: KEY },
        );
        gateways.push(gateway);
        await gateway.start();
      }
      const [a, b] = gateways;
      const run = (gateway: Gateway, code: string, sessionId?: string) =>
        gateway.execute({ code }, {
          tenant: gateway.tenants.list()[0],
          requestId: crypto.randomUUID(),
          transport: "http",
          sessionId,
        });
      const read = `return (await fs.readTextFile({ path: "${root}/config.json" })).content;`;
      assertEquals((await run(a, read, "s")).result, `{"version":1}`);
      assertEquals((await run(a, read, "s")).tools.calls[0].cached, true, "kept in Redis");
      await sleep(1500); // the kept entry reaches the append-only file
      // B runs an execution (no session) that writes after a pause; Redis dies meanwhile.
      const writing = run(
        b,
        `await new Promise((r) => setTimeout(r, 1500));
         await fs.writeFile({ path: "${root}/config.json", content: '{"version":2}' });
         return "wrote";`,
      );
      await sleep(500);
      await redis.kill();
      const wrote = await writing;
      assertEquals(wrote.result, "wrote", JSON.stringify(wrote));
      assertEquals(await Deno.readTextFile(`${root}/config.json`), `{"version":2}`);
      await redis.restart();
      assert(
        await waitFor(async () => (await run(a, "return 1").catch(() => undefined))?.ok === true),
        "A serves again",
      );
      await sleep(3000);
      // Every replica reaches Redis again. B has had no cache traffic since its write.
      const after = await run(a, read, "s");
      assertEquals(
        after.result,
        `{"version":2}`,
        `A served the read kept before B's write: ${JSON.stringify(after.tools.calls)}`,
      );
    } finally {
      for (const g of gateways) await g.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(embeddings, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * A 1,000-tool catalogue is indexed in the background: while the offline encoder loads
 * and works through it, the gateway answers `/healthz`, executions run, and search
 * answers (lexically for the tools without a vector yet). (That a warm disk cache embeds
 * nothing again is proven by the selection tests with a counting encoder.)
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

Deno.test({
  name: "index: 1,000 tools index in the background without blocking the gateway",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cacheDir = await Deno.makeTempDir({ prefix: "airlock-index-" });
    const config = {
      servers: { big: fixtureServer("light", ["--name", "big", "--tools", "1000"]) },
      selection: { embedder: "use", cacheDir },
    };
    const gw = await startTestGateway(config, { poolSize: 1 });
    try {
      const status = () => gw.gateway.index.status();
      assertEquals(status().tools, 1001);
      // Right after start-up the vectors are still being computed...
      let answeredWhileIndexing = 0;
      while (status().pending > 0) {
        const health = await gw.get("/healthz");
        assertEquals(health.status, 200);
        if (status().pending > 0) answeredWhileIndexing++;
        if (answeredWhileIndexing === 3) {
          const search = await gw.get("/v1/tools/search?q=delete%20an%20invoice&k=3");
          assertEquals(search.status, 200);
          assertEquals(search.body.results.length, 3);
          const run = await gw.execute("return await tools.search('send a message', 2)");
          assertEquals((run.result as unknown[]).length, 2);
        }
        if (answeredWhileIndexing >= 3) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert(answeredWhileIndexing >= 3, "the gateway answered while vectors were pending");
      // Not hybrid until every vector is ready; tools that have one rank by meaning already.
      assert(status().mode !== "hybrid", "hybrid before every vector was ready");
    } finally {
      await gw.close();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

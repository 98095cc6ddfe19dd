/**
 * Tool replies the code never reads do not pile up in the gateway: a busy execution that
 * fires calls returning large results ends as `output_limit` once 32 MiB wait unread, and
 * the gateway's resident memory stays bounded. Real gateway, real MCP server.
 */
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";

Deno.test("unread tool results end the execution instead of growing the gateway", async () => {
  const gw = await startTestGateway({
    servers: { ledger: fixtureServer("ledger") },
    sandbox: { timeoutMs: 8000, maxToolCalls: 1000 },
  });
  try {
    const shapes: Record<string, string> = {
      "busy loop": `for (let i = 0; i < 200; i++) ledger.big({ bytes: 1000000 });
        await new Promise((r) => setTimeout(r, 200));
        while (true) {}`,
      "synchronous work forever": `for (let i = 0; i < 200; i++) ledger.big({ bytes: 1000000 });
        await new Promise((r) => setTimeout(r, 200));
        let x = 0; for (;;) { x = (x + 1) % 7; }`,
    };
    const before = Deno.memoryUsage().rss;
    for (const [name, code] of Object.entries(shapes)) {
      const reply = await gw.execute(code);
      assertEquals(reply.ok, false, name);
      assertEquals(reply.error?.kind, "output_limit", `${name}: ${JSON.stringify(reply.error)}`);
      assert(/unread/.test(reply.error!.message), reply.error!.message);
    }
    const grown = Deno.memoryUsage().rss - before;
    assert(grown < 300 * 1024 * 1024, `the gateway grew by ${Math.round(grown / 1048576)} MiB`);
  } finally {
    await gw.close();
  }
});

Deno.test("code that reads its results gets them all, past the unread cap in total", async () => {
  const gw = await startTestGateway({
    servers: { ledger: fixtureServer("ledger") },
    sandbox: { timeoutMs: 15000 },
  });
  try {
    // 48 MB of results in all, each read as it comes: more than the unread cap, never unread.
    const reply = await gw.execute(`
      let total = 0;
      for (let i = 0; i < 48; i++) total += (await ledger.big({ bytes: 1000000 })).length;
      return total;`);
    assert(reply.ok, JSON.stringify(reply.error));
    assertEquals(reply.result, 48_000_000);
  } finally {
    await gw.close();
  }
});

/**
 * Speculation through the interfaces: over real HTTP, `X-Airlock-Session` shares the session
 * cache and the response marks served calls; over MCP (Streamable HTTP, the SDK client), one
 * MCP session shares it and another does not.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";

// Not a literal call: only the session cache can serve it.
const READ = `const key = ["shared"][0]; return await ledger.get({ key });`;

Deno.test({
  name: "speculation over HTTP and MCP: the session is the cache's scope",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const gw = await startTestGateway({ servers: { ledger: fixtureServer("ledger") } });
    const clients: Client[] = [];
    try {
      await t.step("HTTP: X-Airlock-Session", async () => {
        const call = async (session?: string) => {
          const reply = await gw.post(
            "/v1/execute",
            { code: READ },
            session ? { "x-airlock-session": session } : {},
          );
          assertEquals(reply.status, 200);
          return reply.body.tools.calls[0];
        };
        assertEquals((await call("h1")).cached, undefined);
        assertEquals((await call("h1")).cached, true);
        assertEquals((await call()).cached, undefined, "no session, no cache");
        assertEquals((await call("h2")).cached, undefined, "another session");
        const literal = await gw.post("/v1/execute", {
          code: `return await ledger.get({ key: "lit" });`,
        });
        assertEquals(literal.body.tools.calls[0].prefetched, true);
      });

      await t.step("MCP: one MCP session", async () => {
        const open = async () => {
          const client = new Client({ name: "t", version: "1" });
          await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
          clients.push(client);
          return client;
        };
        const call = async (client: Client) => {
          const reply = await client.callTool({
            name: "execute_code",
            arguments: { code: READ },
          }) as { structuredContent?: { tools: { calls: Array<{ cached?: boolean }> } } };
          assert(reply.structuredContent, JSON.stringify(reply));
          return reply.structuredContent.tools.calls[0];
        };
        const first = await open();
        assertEquals((await call(first)).cached, undefined);
        assertEquals((await call(first)).cached, true);
        const second = await open();
        assertEquals((await call(second)).cached, undefined);
      });
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await gw.close();
    }
  },
});

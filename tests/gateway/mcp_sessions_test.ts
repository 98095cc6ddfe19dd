/** MCP over Streamable HTTP keeps a bounded number of sessions, evicting the least used. */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";

Deno.test({
  name: "mcp http: sessions beyond the cap close the least recently used",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({}, { mcpSessions: 2 });
    const clients: Client[] = [];
    const open = async () => {
      const client = new Client({ name: "t", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
      clients.push(client);
      return client;
    };
    const works = async (client: Client) => {
      try {
        const reply = await client.callTool({
          name: "execute_code",
          arguments: { code: "return 1" },
        }) as { structuredContent?: { result?: unknown } };
        return reply.structuredContent?.result === 1;
      } catch {
        return false;
      }
    };
    try {
      const first = await open();
      const second = await open();
      assert(await works(first), "first session works");
      const third = await open(); // evicts the least recently used: second
      assertEquals(await works(second), false, "the evicted session is gone");
      assert(await works(first), "a recently used session survives");
      assert(await works(third), "the new session works");
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await gw.close();
    }
  },
});

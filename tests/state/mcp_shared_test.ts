/**
 * MCP over Streamable HTTP served by two replicas sharing one real Redis: the real SDK client
 * sends each request to the next replica in turn (round robin, no affinity), and sessions,
 * their PII vaults and closing work whichever replica a request reaches.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals } from "../assert.ts";
import { tagsOf, untag } from "../placeholders.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

/** A fetch that sends each request to the next of `urls` (the path stays). */
function roundRobin(urls: string[], hits: number[]): typeof fetch {
  let next = 0;
  return (input, init) => {
    const i = next++ % urls.length;
    hits[i]++;
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = new URL(urls[i]);
    url.host = target.host;
    return fetch(input instanceof Request ? new Request(url, input) : url, init);
  };
}

type Reply = { structuredContent?: { result?: unknown }; isError?: boolean };

Deno.test({
  name: "mcp over replicas: sessions live on whichever replica a request reaches",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const redis = await startRedis();
    const gateways: TestGateway[] = [];
    const clients: Client[] = [];
    try {
      const config = { state: { url: redis.url }, sandbox: { concurrency: 2, maxWaitMs: 20_000 } };
      const vaultKey = "3".repeat(64);
      gateways.push(
        await startTestGateway(config, { vaultKey }),
        await startTestGateway(config, { vaultKey }),
      );
      for (const gw of gateways) assert(await waitFor(() => gw.gateway.state.health().up));
      const urls = gateways.map((g) => `${g.url}/mcp`);
      const hits = [0, 0];
      const connect = async (): Promise<Client> => {
        const client = new Client({ name: "round-robin", version: "1" });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(urls[0]), { fetch: roundRobin(urls, hits) }),
        );
        clients.push(client);
        return client;
      };

      await t.step("three sessions each make 20 calls, spread over both replicas", async () => {
        const sessions = await Promise.all([connect(), connect(), connect()]);
        await Promise.all(sessions.map(async (client: Client, s: number) => {
          for (let i = 0; i < 20; i++) {
            const reply = await client.callTool({
              name: "execute_code",
              arguments: { code: `return ${s} * 100 + ${i}` },
            }) as Reply;
            assertEquals(reply.isError, false, JSON.stringify(reply));
            assertEquals(reply.structuredContent?.result, s * 100 + i);
          }
        }));
        assert(hits[0] > 20 && hits[1] > 20, `both replicas served: ${hits}`);
      });

      await t.step("a session's PII placeholders hold across replicas", async () => {
        const client = await connect();
        const results = [];
        for (let i = 0; i < 4; i++) {
          const reply = await client.callTool({
            name: "execute_code",
            arguments: { code: "return ['ann@example.com', 'bob@example.com'][" + (i % 2) + "]" },
          }) as Reply;
          results.push(reply.structuredContent?.result);
        }
        assertEquals(untag(results), ["[EMAIL_1]", "[EMAIL_2]", "[EMAIL_1]", "[EMAIL_2]"]);
        assertEquals(tagsOf(results).length, 1, "one session, one tag");
      });

      await t.step("a session closed through one replica is gone on the other", async () => {
        const client = await connect();
        const transport = client.transport as StreamableHTTPClientTransport;
        const id = transport.sessionId!;
        await transport.terminateSession();
        for (const url of urls) {
          const reply = await fetch(url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              "mcp-session-id": id,
            },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
          });
          await reply.body?.cancel();
          assertEquals(reply.status, 404, `closed session on ${url}`);
        }
      });

      await t.step("an unknown session id is 404 on every replica", async () => {
        const reply = await fetch(urls[1], {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "mcp-session-id": crypto.randomUUID(),
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
        });
        await reply.body?.cancel();
        assertEquals(reply.status, 404);
      });
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      for (const gw of gateways) await gw.close();
      await redis.stop();
    }
  },
});

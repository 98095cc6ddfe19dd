/**
 * MCP `initialize` counts against the tenant's request rate (issue 15): a client cannot open
 * sessions without bound. Raw JSON-RPC over real HTTP, on the memory backend and on two
 * replicas sharing a real Redis; the refusal is 429 `rate_limited` with `Retry-After`, as for
 * executions, and the MCP SDK client sees it too.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { hashApiKey } from "../../gateway/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const KEY = "test-key-initialize";
const tenants = { auth: { tenants: { acme: { keys: [hashApiKey(KEY)], requestsPerMinute: 3 } } } };

/** POSTs a raw `initialize`; returns status, Retry-After and the JSON error kind if any. */
async function initialize(gw: TestGateway) {
  const response = await fetch(`${gw.url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "flood", version: "1" },
      },
    }),
  });
  const text = await response.text();
  let kind: string | undefined;
  try {
    kind = JSON.parse(text).error?.kind;
  } catch { /* an SSE answer */ }
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    session: response.headers.get("mcp-session-id"),
    kind,
  };
}

Deno.test({
  name: "mcp initialize: counted against the tenant's rate (memory state): 429 + Retry-After",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway(tenants);
    try {
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push(await initialize(gw));
      assertEquals(replies.map((r) => r.status), [200, 200, 200, 429]);
      assert(replies[0].session, "a session was created");
      assertEquals(replies[3].kind, "rate_limited");
      assert(Number(replies[3].retryAfter) >= 1, `Retry-After ${replies[3].retryAfter}`);
      assertEquals(replies[3].session, null, "no session was created");
      // The MCP SDK client is refused the same way.
      const client = new Client({ name: "t", version: "1" });
      let refused = "";
      try {
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${KEY}` } },
          }),
        );
      } catch (error) {
        refused = String(error);
      } finally {
        await client.close().catch(() => {});
      }
      assert(refused.includes("429") || refused.includes("rate"), refused);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "mcp initialize: counted once over two replicas sharing Redis",
  ignore: skipWithout("Redis state", { "redis-server": findProgram("redis-server") }),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const gateways: TestGateway[] = [];
    try {
      const config = {
        ...tenants,
        state: { url: redis.url, keyPrefix: `t${crypto.randomUUID().slice(0, 8)}:` },
      };
      const vaultKey = "9".repeat(64);
      gateways.push(
        await startTestGateway(config, { vaultKey }),
        await startTestGateway(config, { vaultKey }),
      );
      for (const gw of gateways) assert(await waitFor(() => gw.gateway.state.health().up));
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push(await initialize(gateways[i % 2]));
      assertEquals(replies.map((r) => r.status), [200, 200, 200, 429]);
      assertEquals(replies[3].kind, "rate_limited");
      assert(Number(replies[3].retryAfter) >= 1);
      // An execution of the tenant is refused too: one budget.
      const execute = await gateways[0].post("/v1/execute", { code: "return 1" }, {
        Authorization: `Bearer ${KEY}`,
      });
      assertEquals(execute.status, 429);
    } finally {
      for (const gw of gateways) await gw.close();
      await redis.stop();
    }
  },
});

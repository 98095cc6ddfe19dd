/**
 * MCP over Streamable HTTP keeps a bounded number of sessions: per tenant (a tenant's flood
 * evicts only its own sessions), in all, and in time (idle ones close). A session belongs
 * to the API key that opened it, and closing it drops its PII vault. Real HTTP, the real
 * SDK client, real sandboxes.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createHttpApp, McpHttpEndpoint, serveHttp } from "../../api/mod.ts";
import { Gateway, hashApiKey, parseConfig } from "../../gateway/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { untag } from "../placeholders.ts";

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

// --- Tenants, keys, idle time and vaults ----------------------------------------------------

const KEYS = { a1: "tenant-a-key-1", a2: "tenant-a-key-2", b: "tenant-b-key" };

/** A gateway with tenants `a` (two keys) and `b`, serving `/mcp` with these options. */
async function startTenantGateway(options?: ConstructorParameters<typeof McpHttpEndpoint>[1]) {
  const embeddingsDir = await Deno.makeTempDir({ prefix: "airlock-emb-" });
  const config = parseConfig({
    servers: {},
    audit: { path: ":memory:" },
    selection: {
      embedder: "lexical",
      cacheDir: embeddingsDir,
    },
    sandbox: { timeoutMs: 3000, memoryMb: 64 },
    auth: {
      tenants: {
        a: { keys: [hashApiKey(KEYS.a1), hashApiKey(KEYS.a2)], requestsPerMinute: 100_000 },
        b: { keys: [hashApiKey(KEYS.b)], requestsPerMinute: 100_000 },
      },
    },
  });
  const gateway = new Gateway(config, { poolSize: 1, logger: () => {} });
  await gateway.start();
  const mcp = new McpHttpEndpoint(gateway, options);
  const app = createHttpApp(gateway, { mcp });
  const server = await serveHttp(app, { hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${server.port}/mcp`;
  const clients: Client[] = [];
  return {
    gateway,
    mcp,
    url,
    /** Opens a session with the real SDK client. */
    async connect(key: string) {
      const client = new Client({ name: "t", version: "1" });
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      await mcp.close();
      await server.shutdown();
      await gateway.close();
      await Deno.remove(embeddingsDir, { recursive: true }).catch(() => {});
    },
  };
}

/** One JSON-RPC request over raw HTTP, as an attacker would send it. */
function rpc(url: string, key: string, body: unknown, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** Opens a session without the SDK: just the `initialize` request. */
async function rawSession(url: string, key: string): Promise<string> {
  const response = await rpc(url, key, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "flood", version: "1" },
    },
  });
  await response.text();
  assertEquals(response.status, 200, "initialize");
  return response.headers.get("mcp-session-id")!;
}

/** The status of a `tools/list` request in `sessionId`. */
async function listStatus(url: string, key: string, sessionId: string): Promise<number> {
  const response = await rpc(url, key, { jsonrpc: "2.0", id: 2, method: "tools/list" }, sessionId);
  await response.text();
  return response.status;
}

type ToolReply = { structuredContent?: { result?: unknown }; isError?: boolean };

/** Runs `return <value>` in the session; undefined when the session is gone. */
async function run(client: Client, value: string): Promise<unknown> {
  try {
    const reply = await client.callTool({
      name: "execute_code",
      arguments: { code: `return ${JSON.stringify(value)}` },
    }) as ToolReply;
    return reply.structuredContent?.result;
  } catch {
    return undefined;
  }
}

Deno.test({
  name: "mcp http: with the defaults, a tenant opening 1,005 sessions evicts only its own",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTenantGateway(); // new McpHttpEndpoint(gateway): the old signature
    try {
      const victim = await gw.connect(KEYS.b);
      assertEquals(await run(victim.client, "ok"), "ok");
      const flood: string[] = [];
      for (let batch = 0; batch < 1_005 / 15; batch++) {
        flood.push(
          ...await Promise.all(Array.from({ length: 15 }, () => rawSession(gw.url, KEYS.a1))),
        );
      }
      assertEquals(await run(victim.client, "still ok"), "still ok", "tenant b's session works");
      assertEquals(await listStatus(gw.url, KEYS.a1, flood[0]), 404, "a's oldest went");
      assertEquals(await listStatus(gw.url, KEYS.a1, flood.at(-1)!), 200, "a's newest works");
      assertEquals(gw.mcp.sessions, 101);
      const stats = gw.mcp.stats();
      assertEquals(stats.tenants.find((t) => t.tenant === "a"), {
        tenant: "a",
        sessions: 100,
        evicted: { tenant: 905, global: 0 },
        expired: 0,
      });
      assertEquals(stats.tenants.find((t) => t.tenant === "b")?.sessions, 1);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "mcp http: cap+5 sessions of tenant a; b's session and placeholders still work",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cap = 3;
    const gw = await startTenantGateway({ maxSessionsPerTenant: cap, maxSessions: 50 });
    try {
      const victim = await gw.connect(KEYS.b);
      const bob = await run(victim.client, "bob@example.com");
      assertEquals(untag(bob), "[EMAIL_1]");
      const mine: Client[] = [];
      for (let i = 0; i < cap + 5; i++) {
        const { client } = await gw.connect(KEYS.a1);
        assertEquals(untag(await run(client, `user${i}@example.com`)), "[EMAIL_1]");
        mine.push(client);
      }
      // Still the same vault: b's address keeps its placeholder, tag included.
      assertEquals(await run(victim.client, "bob@example.com"), bob, "same vault");
      assertEquals(await run(mine[0], "x"), undefined, "a's least recently used went");
      assertEquals(await run(mine.at(-1)!, "y"), "y");
      assertEquals(gw.mcp.sessions, cap + 1);
      // Closed sessions took their vaults with them: a's last 3 and b's remain.
      assertEquals(gw.gateway.vaults.stats().sessions, cap + 1);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "mcp http: another API key of the same tenant cannot use a session",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTenantGateway();
    try {
      const { client, transport } = await gw.connect(KEYS.a1);
      const ann = await run(client, "ann@example.com");
      assertEquals(untag(ann), "[EMAIL_1]");
      const id = transport.sessionId!;
      assertEquals(await listStatus(gw.url, KEYS.a1, id), 200, "the opening key");
      const stolen = await rpc(gw.url, KEYS.a2, {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "execute_code", arguments: { code: "return 1" } },
      }, id);
      const body = await stolen.text();
      assertEquals(stolen.status, 403, "another key of the tenant is refused");
      assertEquals(JSON.parse(body)?.error?.kind, "forbidden");
      assertEquals(await listStatus(gw.url, KEYS.b, id), 403, "another tenant");
      assertEquals(await run(client, "ann@example.com"), ann, "the owner is unaffected");
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "mcp http: idle sessions close and drop their PII vault; DELETE does too",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTenantGateway({ idleTimeoutMs: 1000 });
    try {
      const idle = await gw.connect(KEYS.a1);
      assertEquals(untag(await run(idle.client, "ann@example.com")), "[EMAIL_1]");
      assertEquals(gw.gateway.vaults.stats().sessions, 1);
      // Generous bound: only proves the sweep happens without any further request.
      const deadline = Date.now() + 10_000;
      while (gw.mcp.sessions > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(gw.mcp.sessions, 0, "the idle session closed");
      assertEquals(gw.gateway.vaults.stats().sessions, 0, "and its vault went with it");
      assertEquals(await run(idle.client, "x"), undefined, "its id is unknown now");
      assertEquals(gw.mcp.stats().tenants[0].expired, 1);

      const ended = await gw.connect(KEYS.a1);
      assertEquals(untag(await run(ended.client, "ann@example.com")), "[EMAIL_1]");
      assertEquals(gw.gateway.vaults.stats().sessions, 1);
      await ended.transport.terminateSession();
      assertEquals(gw.mcp.sessions, 0);
      assertEquals(gw.gateway.vaults.stats().sessions, 0, "DELETE dropped the vault");
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "mcp http: idle expiry never closes a session while a call is running",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTenantGateway({ idleTimeoutMs: 200 });
    try {
      const { client } = await gw.connect(KEYS.a1);
      // The call outlives the idle time several times over; its response streams by SSE.
      const reply = await client.callTool(
        {
          name: "execute_code",
          arguments: { code: "await new Promise((r) => setTimeout(r, 1200)); return 'done'" },
        },
        undefined,
        { timeout: 20_000 },
      ) as ToolReply; // generous: only "did not hang"
      assertEquals(reply.structuredContent?.result, "done");
      assertEquals(await run(client, "again"), "again", "still open right after the call");
    } finally {
      await gw.close();
    }
  },
});

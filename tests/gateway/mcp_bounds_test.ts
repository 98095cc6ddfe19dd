/**
 * What an MCP client controls stays bounded: its JSON-RPC id never reaches the audit or the
 * log raw, and a log flood does not become a flood of progress notifications. Raw JSON-RPC
 * over real HTTP against the real Streamable HTTP endpoint.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

async function openSession(url: string): Promise<string> {
  const init = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: HEADERS,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bounds-test", version: "1" },
      },
    }),
  });
  await init.body?.cancel();
  const session = init.headers.get("mcp-session-id")!;
  const done = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: { ...HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await done.body?.cancel();
  return session;
}

async function callTool(url: string, session: string, id: unknown, args: unknown, meta = {}) {
  const response = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: { ...HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "execute_code", arguments: args, _meta: meta },
    }),
  });
  return await response.text();
}

Deno.test("an MCP request id full of personal data or megabytes long never reaches the audit raw", async () => {
  const gw = await startTestGateway();
  try {
    const session = await openSession(gw.url);
    const ids = [
      "victim.person@example.com 4111111111111111 " + "Q".repeat(200_000),
      "ann@example.com",
      "trace-7",
      4242,
    ];
    for (const id of ids) {
      const text = await callTool(gw.url, session, id, { code: "return 1" });
      assert(text.includes('"ok":true'), text.slice(0, 300));
    }
    const audited = gw.gateway.audit!.recent({ limit: 4 }).map((r) => r.requestId).reverse();
    assert(/^[0-9a-f-]{36}$/.test(audited[0]), audited[0].slice(0, 80));
    assert(/^[0-9a-f-]{36}$/.test(audited[1]), audited[1]);
    assertEquals(audited.slice(2), ["trace-7", "4242"]);
  } finally {
    await gw.close();
  }
});

Deno.test("a log flood sends at most ten progress notifications a second", async () => {
  const gw = await startTestGateway();
  try {
    const session = await openSession(gw.url);
    const text = await callTool(gw.url, session, 9, {
      code: `for (let i = 0; i < 50; i++) {
          for (let j = 0; j < 40; j++) console.log("a");
          await new Promise((r) => setTimeout(r, 20));
        }
        return "done";`,
    }, { progressToken: "p1" });
    const progress = text.split("\n").filter((l) => l.includes("notifications/progress")).length;
    assert(text.includes("done"), text.slice(-300));
    assert(progress <= 25, `${progress} progress notifications for one second of logging`);
    assert(progress >= 1, "progress still flows");
  } finally {
    await gw.close();
  }
});

Deno.test("execute_code over MCP has the HTTP bounds: a 4 MB intent or 250,000 tool ids are refused", async () => {
  const gw = await startTestGateway();
  try {
    const session = await openSession(gw.url);
    for (
      const args of [
        { code: "return 1", intent: "x ".repeat(2_000_000) },
        { code: "return 1", tools: Array.from({ length: 250_000 }, () => "a.b") },
        { code: "x".repeat(600_000) },
      ]
    ) {
      const text = await callTool(gw.url, session, 3, args);
      assert(text.includes('"isError":true'), text.slice(0, 300));
      assert(!text.includes("Refused (internal)"), text.slice(0, 300));
    }
    assertEquals(gw.gateway.audit!.recent({ limit: 10 }).length, 0, "nothing ran");
  } finally {
    await gw.close();
  }
});

Deno.test("error bodies that quote client input are bounded and masked", async () => {
  const gw = await startTestGateway();
  try {
    const unknownKey = await gw.post("/v1/execute", {
      code: "return 1",
      "carol@example.com": 1,
      limits: { ["dave@example.com" + "z".repeat(5000)]: 2 },
    });
    assertEquals(unknownKey.status, 400);
    const message = unknownKey.body.error.message as string;
    assert(
      !message.includes("carol@example.com") && !message.includes("dave@example.com"),
      message,
    );
    assert(message.length <= 1100, `${message.length} characters`);
    const path = await gw.get("/nope/alice@example.com/4111111111111111");
    assertEquals(path.status, 404);
    assert(!JSON.stringify(path.body).includes("alice@example.com"));
    assert(!JSON.stringify(path.body).includes("4111111111111111"));
  } finally {
    await gw.close();
  }
});

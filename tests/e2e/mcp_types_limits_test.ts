/**
 * Reading the tools' declarations (MCP `resources/read`) is bounded like every other request
 * of a tenant: each read takes one request of its rate limit, also inside a JSON-RPC batch
 * (the SDK accepts up to 100 messages in one POST), and the files are made once per tenant and
 * naming of the catalogue, not per read (a red team froze the event loop for 0.6–0.9 s with
 * one batch of 100 reads of a 300-tool namespace). Real gateway, real MCP requests over HTTP.
 */

import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { hashApiKey } from "../../gateway/mod.ts";
import { startTestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

const KEY = "types-key";

/** Opens an MCP session over raw HTTP; returns a function that POSTs messages in it. */
async function openSession(url: string) {
  const headers = {
    authorization: `Bearer ${KEY}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  const init = await fetch(`${url}/mcp`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-03-26",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }),
  });
  await init.text();
  const session = init.headers.get("mcp-session-id")!;
  assert(session, `no session (${init.status})`);
  const post = async (body: unknown) => {
    const response = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    // JSON or one SSE event per message.
    if ((response.headers.get("content-type") ?? "").includes("event-stream")) {
      return text.split("\n").filter((l) => l.startsWith("data: ")).map((l) =>
        JSON.parse(l.slice(6))
      );
    }
    return text === "" ? [] : [JSON.parse(text)].flat();
  };
  await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  return post;
}

Deno.test("mcp: each resources/read of a batch takes one request of the tenant's rate limit", async () => {
  const gw = await startTestGateway({
    servers: { paged: fixtureServer("paginated") },
    auth: { tenants: { t: { keys: [hashApiKey(KEY)], requestsPerMinute: 10 } } },
  });
  try {
    const post = await openSession(gw.url);
    const batch = Array.from({ length: 30 }, (_, i) => ({
      jsonrpc: "2.0",
      id: i + 1,
      method: "resources/read",
      params: { uri: i % 2 ? "airlock://types/paged.d.ts" : "airlock://types/tools.d.ts" },
    }));
    const replies = await post(batch);
    assertEquals(replies.length, 30);
    const served = replies.filter((r) => r.result);
    const refused = replies.filter((r) => r.error);
    // initialize took one of the 10.
    assertEquals(served.length, 9, JSON.stringify(replies.slice(0, 2)));
    assertEquals(refused.length, 21);
    for (const r of refused) {
      assertEquals(r.error.data?.kind, "rate_limited");
      assert(r.error.data?.retryAfter >= 1);
    }
    assertIncludes(
      served.find((r) => r.id % 2 === 0).result.contents[0].text,
      "declare const paged",
    );
  } finally {
    await gw.close();
  }
});

Deno.test("gateway: declaration files and listings are made once per tenant and catalogue naming, and follow a change", async () => {
  const gw = await startTestGateway({ servers: { paged: fixtureServer("paginated") } });
  try {
    const tenant = gw.gateway.tenants.list()[0];
    const first = gw.gateway.typeFile(tenant, "paged.d.ts")!;
    assert(first.includes("declare const paged"));
    assert(gw.gateway.typeFile(tenant, "paged.d.ts") === first, "made once");
    const [a] = gw.gateway.listToolsForCaller(tenant);
    assert(gw.gateway.listToolsForCaller(tenant)[0] === a, "each tool redacted once");
    assertEquals(gw.gateway.typeFile(tenant, "nothing.d.ts"), undefined);
    // A catalogue change: the files follow it.
    const reply = await gw.execute(`return await paged.addTool({ name: "fresh_tool" });`);
    assert(reply.ok, JSON.stringify(reply.error));
    for (
      let i = 0;
      i < 100 && !gw.gateway.typeFile(tenant, "paged.d.ts")!.includes("freshTool");
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = gw.gateway.typeFile(tenant, "paged.d.ts")!;
    assertIncludes(after, "freshTool");
    assert(after !== first);
  } finally {
    await gw.close();
  }
});

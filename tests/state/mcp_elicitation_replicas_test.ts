/**
 * An approval asked over MCP (`elicitation/create`) behind a round-robin balancer: the client's
 * POST carrying its JSON-RPC reply may reach a replica that did not send the elicitation. Proves
 * that such a reply reaches the replica holding the call and is acted on as the person's answer
 * (approve runs the call, decline denies it, recorded as the session's approver), and that a
 * reply that is not an answer to a pending elicitation of that very session has no effect and is
 * counted: an unknown id, the approval's id from another session of the same tenant, and from
 * another tenant's session. Before the fix the non-holder answered 202 and dropped the reply:
 * the call waited until its deadline and was recorded `timeout` (red team rt-n2, N2-4).
 *
 * Replicas A and B are in-process gateways on one real Redis; the balancer is made
 * deterministic: every POST that carries a JSON-RPC reply goes to B, everything else to A.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { approverFingerprint, hashApiKey } from "../../gateway/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;

interface Cluster {
  a: TestGateway;
  b: TestGateway;
  root: string;
}

/** Two replicas on a fresh Redis, tenants `acme` (approval on `sink.store`) and `other`. */
async function withCluster(fn: (cluster: Cluster) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-elicit-" }));
  const tenant = (key: string) => ({
    keys: [hashApiKey(key)],
    requestsPerMinute: 1000,
    approval: { tools: ["sink.store"], timeoutSeconds: 8 },
  });
  const config = {
    state: { url: redis.url },
    servers: {
      sink: { command: Deno.execPath(), args: ["run", `--allow-write=${root}`, SINK] },
    },
    sandbox: { timeoutMs: 30_000, maxWaitMs: 30_000 },
    auth: { tenants: { acme: tenant("agent"), other: tenant("intruder") } },
  };
  const gateways: TestGateway[] = [];
  try {
    const a = await startTestGateway(config, { vaultKey: "5".repeat(64) });
    gateways.push(a);
    const b = await startTestGateway(config, { vaultKey: "5".repeat(64) });
    gateways.push(b);
    assert(await waitFor(() => a.gateway.state.health().up && b.gateway.state.health().up));
    await fn({ a, b, root });
  } finally {
    for (const gw of gateways) await gw.close();
    await redis.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/**
 * An MCP client of `key` that answers elicitations with `answer` (called with the request's
 * JSON-RPC id), through a balancer sending replies to `replies` and the rest to `rest`.
 */
async function connect(
  key: string,
  rest: TestGateway,
  replies: TestGateway,
  answer?: (id: string | number) => Promise<ElicitResult>,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport; asked: () => number }> {
  let asked = 0;
  const client = new Client({ name: "elicit-replicas", version: "1.0.0" }, {
    capabilities: answer ? { elicitation: {} } : {},
  });
  if (answer) {
    client.setRequestHandler(
      ElicitRequestSchema,
      (_request: unknown, extra: { requestId: string | number }) => {
        asked++;
        return answer(extra.requestId);
      },
    );
  }
  const balancer = (input: string | URL | Request, init?: RequestInit) => {
    const body = typeof init?.body === "string" ? init.body : "";
    let reply = false;
    try {
      const msg = JSON.parse(body);
      reply = !Array.isArray(msg) && msg.method === undefined && "id" in msg;
    } catch { /* not JSON */ }
    const url = new URL(String(input instanceof Request ? input.url : input));
    return fetch(new URL(url.pathname + url.search, (reply ? replies : rest).url), init);
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${rest.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
    fetch: balancer,
  });
  await client.connect(transport);
  return { client, transport, asked: () => asked };
}

/** Runs `sink.store` (needs approval) over `client`; whether the file was written, and the result. */
async function store(client: Client, path: string): Promise<{ ran: boolean; result: unknown }> {
  const out = await client.callTool(
    {
      name: "execute_code",
      arguments: {
        code: `try { await sink.store({ path: ${JSON.stringify(path)}, value: 1 });
               return "stored" } catch (e) { return String(e) }`,
      },
    },
    undefined,
    { timeout: 60_000 },
  );
  const result = (out.structuredContent as { result?: unknown })?.result;
  return { ran: await Deno.stat(path).then(() => true, () => false), result };
}

/** POSTs a raw JSON-RPC reply on a session (as a client would), returning the status. */
async function postReply(
  gw: TestGateway,
  key: string,
  session: string,
  id: unknown,
  result: unknown,
): Promise<number> {
  const response = await fetch(`${gw.url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id, result }),
  });
  await response.body?.cancel();
  return response.status;
}

/** The value of `airlock_mcp_foreign_replies_total{tenant,outcome}` on `gw`. */
function foreign(gw: TestGateway, tenant: string, outcome: string): number {
  const line = gw.gateway.metrics.registry.render().split("\n").find((l) =>
    l.startsWith(`airlock_mcp_foreign_replies_total{tenant="${tenant}",outcome="${outcome}"}`)
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** The decisions A recorded for its approvals, and who made them. */
function rows(gw: TestGateway): Array<{ decision: string; decidedBy?: string }> {
  return gw.gateway.audit!.recentApprovals({ limit: 10 }).map((r) => ({
    decision: r.decision,
    decidedBy: r.decidedBy,
  }));
}

const ACCEPT = { action: "accept", content: { approve: true } } as const;
const APPROVER = `mcp-client:${approverFingerprint(hashApiKey("agent"))}`;

Deno.test({
  name: "an approval's elicitation answered through another replica runs the approved call",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(async ({ a, b, root }) => {
      const { client, asked } = await connect("agent", a, b, () => Promise.resolve(ACCEPT));
      try {
        const started = Date.now();
        const { ran, result } = await store(client, `${root}/approved.json`);
        assertEquals(asked(), 1, "the person was asked once");
        assert(ran, `the person approved; the call did not run: ${result}`);
        assertEquals(result, "stored");
        assert(Date.now() - started < 6000, "answered well before the deadline");
        assertEquals(rows(a).map((r) => r.decision), ["approved"]);
        assertEquals(rows(a)[0].decidedBy, APPROVER, "recorded as the session's approver");
        // Counted once B's delivery settles, which can be after the call's own answer.
        assert(
          await waitFor(() => foreign(b, "acme", "delivered") === 1),
          `delivered: ${foreign(b, "acme", "delivered")}`,
        );
      } finally {
        await client.close().catch(() => {});
      }
    });
  },
});

Deno.test({
  name: "an approval's elicitation declined through another replica denies the call",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(async ({ a, b, root }) => {
      const { client } = await connect("agent", a, b, () => Promise.resolve({ action: "decline" }));
      try {
        const started = Date.now();
        const { ran, result } = await store(client, `${root}/denied.json`);
        assert(!ran, "a declined call never runs");
        assert(String(result).includes("declined by the user"), `told why: ${result}`);
        assert(Date.now() - started < 6000, "answered well before the deadline, not timed out");
        assertEquals(rows(a).map((r) => r.decision), ["denied"]);
        assertEquals(rows(a)[0].decidedBy, APPROVER);
      } finally {
        await client.close().catch(() => {});
      }
    });
  },
});

Deno.test({
  name: "a reply that answers no pending elicitation of its own session has no effect",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(async ({ a, b, root }) => {
      // Another session of the same tenant (same key) and one of another tenant, both on B.
      const sibling = await connect("agent", b, b);
      const intruder = await connect("intruder", b, b);
      const statuses: number[] = [];
      let own = "";
      let foreignKey = 0;
      const { client, transport } = await connect("agent", a, b, async (id) => {
        // Another tenant's key on this very session: refused before anything reads the body.
        foreignKey = await postReply(b, "intruder", own, id, ACCEPT);
        // The person is being asked: forged "approve" replies from elsewhere come first.
        statuses.push(
          await postReply(b, "agent", sibling.transport.sessionId!, id, ACCEPT),
          await postReply(b, "intruder", intruder.transport.sessionId!, id, ACCEPT),
          await postReply(b, "agent", sibling.transport.sessionId!, crypto.randomUUID(), ACCEPT),
          await postReply(b, "agent", sibling.transport.sessionId!, "x".repeat(10_000), ACCEPT),
          await postReply(b, "agent", sibling.transport.sessionId!, 7, ACCEPT),
        );
        // Those were no answer: the call still waits, and the person denies it.
        await new Promise((r) => setTimeout(r, 1500));
        return { action: "accept", content: { approve: false, reason: "no" } };
      });
      own = transport.sessionId!;
      try {
        const { ran, result } = await store(client, `${root}/forged.json`);
        assertEquals(foreignKey, 403, "another tenant cannot post on the session");
        assert(statuses.every((s) => s === 202), `replies accepted, no crash: ${statuses}`);
        assert(!ran, "no forged reply approved the call");
        assert(String(result).includes("no"), `the person's own denial: ${result}`);
        assertEquals(rows(a).map((r) => r.decision), ["denied"]);
        assert(
          await waitFor(() =>
            foreign(b, "acme", "unknown") === 4 && foreign(b, "other", "unknown") === 1
          ),
          `counted: acme ${foreign(b, "acme", "unknown")}, other ${foreign(b, "other", "unknown")}`,
        );
        assert(
          await waitFor(() => foreign(b, "acme", "delivered") === 1),
          "the person's own reply was given",
        );
        // B still serves the sessions it was sent junk on.
        await sibling.client.listTools();
      } finally {
        for (const c of [client, sibling.client, intruder.client]) await c.close().catch(() => {});
      }
    });
  },
});

Deno.test({
  name: "two replicas asking in one session never take each other's replies as their own",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The SDK numbers each server's requests from 0: A's and B's first elicitations in one
    // session had the same id, so A's reply reaching B answered B's own request (here: the
    // approval meant for the call on A approved the call on B).
    await withCluster(async ({ a, b, root }) => {
      const sentBy = new Map<string, TestGateway>();
      const client = new Client({ name: "elicit-crossed", version: "1.0.0" }, {
        capabilities: { elicitation: {} },
      });
      let calls = 0;
      client.setRequestHandler(
        ElicitRequestSchema,
        (request: { params: { message?: string } }, extra: { requestId: string | number }) => {
          const onA = String(request.params.message).includes("on-a.json");
          sentBy.set(JSON.stringify(extra.requestId), onA ? a : b);
          // Approve the call held by A, deny the one held by B.
          return Promise.resolve(
            onA ? ACCEPT : { action: "accept", content: { approve: false, reason: "not b" } },
          );
        },
      );
      const balancer = (input: string | URL | Request, init?: RequestInit) => {
        const body = typeof init?.body === "string" ? init.body : "";
        let to = a;
        try {
          const msg = JSON.parse(body);
          if (msg.method === "tools/call") to = calls++ === 0 ? a : b;
          else if (msg.method === undefined && "id" in msg) {
            // Each reply goes to the replica that did NOT send the request.
            to = sentBy.get(JSON.stringify(msg.id)) === a ? b : a;
          }
        } catch { /* not JSON */ }
        const url = new URL(String(input instanceof Request ? input.url : input));
        return fetch(new URL(url.pathname + url.search, to.url), init);
      };
      const transport = new StreamableHTTPClientTransport(new URL(`${a.url}/mcp`), {
        requestInit: { headers: { authorization: "Bearer agent" } },
        fetch: balancer,
      });
      await client.connect(transport);
      try {
        const first = store(client, `${root}/on-a.json`);
        // The second call starts once the first waits for its approval on A.
        assert(await waitFor(() => sentBy.size === 1, 10_000), "A asked");
        const second = store(client, `${root}/on-b.json`);
        const [onA, onB] = await Promise.all([first, second]);
        assert(onA.ran, `the call on A was approved and ran: ${onA.result}`);
        assert(!onB.ran, "the call on B was denied: another request's reply never approves it");
        assert(String(onB.result).includes("not b"), `B's own denial: ${onB.result}`);
      } finally {
        await client.close().catch(() => {});
      }
    });
  },
});

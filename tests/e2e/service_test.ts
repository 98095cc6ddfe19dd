/**
 * The service as clients see it: the real gateway process with tenants, real MCP
 * servers, every HTTP status of the contract, PII modes per tenant, the vault round trip
 * through a real tool, rate limits, back-pressure, audit in SQLite, metrics, OpenAPI.
 */

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../assert.ts";
import { untag } from "../placeholders.ts";
import { filesystemServer, memoryServer } from "../fixtures/servers/reference.ts";
import { startGatewayProcess, tenantWithKey, writeConfig } from "./process.ts";

const EMAIL = "ada.lovelace@example.com";

Deno.test({
  name: "service: tenants, statuses, PII modes, limits, audit and metrics end to end",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-e2e-" });
    await Deno.writeTextFile(`${root}/contact.txt`, `Contact: ${EMAIL}, card 4111 1111 1111 1111`);
    const memoryFile = `${root}/memory.jsonl`;
    const auditPath = `${root}/audit.db`;
    const config = await writeConfig({
      servers: { filesystem: filesystemServer(root), memory: memoryServer(memoryFile) },
      sandbox: { timeoutMs: 5000, concurrency: 2, queue: 1, poolSize: 1 },
      selection: { embedder: "lexical", cacheDir: `${root}/embeddings` },
      http: { maxBodyBytes: 65536 },
      audit: { path: auditPath },
      auth: {
        tenants: {
          alpha: tenantWithKey("alpha-key", {
            enabledTools: ["filesystem.*"],
            pii: { mode: "mask" },
            requestsPerMinute: 1000,
          }),
          beta: tenantWithKey("beta-key", {
            enabledTools: ["memory.*", "filesystem.read_text_file"],
            requestsPerMinute: 1000,
          }),
          limited: tenantWithKey("limited-key", { requestsPerMinute: 3 }),
          busy: tenantWithKey("busy-key", { requestsPerMinute: 1000, maxConcurrent: 10 }),
        },
      },
    });
    const gw = await startGatewayProcess(config);
    const call = async (
      key: string | undefined,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(gw.url + path, {
        method: body === undefined ? "GET" : "POST",
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined
          ? undefined
          : typeof body === "string"
          ? body
          : JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch { /* text */ }
      // deno-lint-ignore no-explicit-any
      return { status: response.status, headers: response.headers, body: json as any };
    };
    const readContact = `const f = await filesystem.readTextFile({ path: ${
      JSON.stringify(`${root}/contact.txt`)
    } }); return f.content;`;

    try {
      await t.step("401 without a key and with a wrong key; the body names the kind", async () => {
        const none = await call(undefined, "/v1/execute", { code: "return 1" });
        assertEquals(none.status, 401);
        assertEquals(none.body.error.kind, "unauthorized");
        const wrong = await call("nope", "/v1/execute", { code: "return 1" });
        assertEquals(wrong.status, 401);
        const tools = await call(undefined, "/v1/tools");
        assertEquals(tools.status, 401);
      });

      await t.step("alpha: filesystem only, mask mode", async () => {
        const reply = await call("alpha-key", "/v1/execute", { code: readContact });
        assertEquals(reply.status, 200);
        assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
        assertEquals(reply.body.result, "Contact: [REDACTED_EMAIL], card [REDACTED_CARD]");
        assertEquals(reply.body.redactions, { email: 1, credit_card: 1 });
        const memory = await call("alpha-key", "/v1/execute", {
          code: `return await tools.call("memory.read_graph", {});`,
        });
        assertEquals(memory.body.ok, false);
        assertMatch(memory.body.error.message, /not available/);
        const listed = await call("alpha-key", "/v1/tools");
        assert(listed.body.tools.length > 0);
        assert(listed.body.tools.every((x: { id: string }) => x.id.startsWith("filesystem.")));
      });

      await t.step("403 when a request names a tool its tenant may not use", async () => {
        const reply = await call("alpha-key", "/v1/execute", {
          code: "return 1",
          tools: ["memory.read_graph"],
        });
        assertEquals(reply.status, 403);
        assertEquals(reply.body.error.kind, "forbidden");
      });

      await t.step("beta: tokenize mode and the vault round trip through a real tool", async () => {
        const session = { "x-airlock-session": "conversation-1" };
        const first = await call("beta-key", "/v1/execute", { code: readContact }, session);
        assertEquals(first.body.ok, true, JSON.stringify(first.body));
        assertEquals(untag(first.body.result), "Contact: [EMAIL_1], card [CARD_1]");
        const [ada] = /\[EMAIL_1_[a-z]{7}\]/.exec(first.body.result)!;
        // The agent acts on the placeholder without ever seeing the address.
        const second = await call("beta-key", "/v1/execute", {
          code: `await memory.createEntities({ entities: [{ name: "Ada", entityType: "person",
                   observations: ["email ${ada}"] }] });
                 const graph = await memory.readGraph({});
                 return graph.entities[0].observations[0];`,
        }, session);
        assertEquals(second.body.ok, true, JSON.stringify(second.body));
        assertEquals(second.body.result, `email ${ada}`, "the same placeholder on the way out");
        const stored = await Deno.readTextFile(memoryFile);
        assertMatch(stored, new RegExp(EMAIL.replace(/\./g, "\\.")), "the server got the value");
        // Another session does not know the placeholder: the call is refused, nothing stored.
        const other = await call("beta-key", "/v1/execute", {
          code: `await memory.createEntities({ entities: [{ name: "Eve", entityType: "person",
                   observations: ["email ${ada}"] }] }); return "done";`,
        }, { "x-airlock-session": "conversation-2" });
        assertEquals(other.body.ok, false);
        assertMatch(other.body.error.message, /does not stand for any value/);
        assertNotMatch(await Deno.readTextFile(memoryFile), /"Eve"/);
      });

      await t.step("400 names the field; 413 for an oversized body", async () => {
        const bad = await call("alpha-key", "/v1/execute", { code: 5 });
        assertEquals(bad.status, 400);
        assertMatch(bad.body.error.message, /^code: /);
        const big = await call("alpha-key", "/v1/execute", { code: "//" + "x".repeat(70_000) });
        assertEquals(big.status, 413);
        assertEquals(big.body.error.kind, "payload_too_large");
      });

      await t.step("429 with Retry-After past the rate; other tenants unaffected", async () => {
        const statuses: number[] = [];
        let retryAfter: string | null = null;
        for (let i = 0; i < 5; i++) {
          const reply = await call("limited-key", "/v1/execute", { code: "return 1" });
          statuses.push(reply.status);
          if (reply.status === 429) {
            retryAfter = reply.headers.get("retry-after");
            assertEquals(reply.body.error.kind, "rate_limited");
          }
        }
        assertEquals(statuses, [200, 200, 200, 429, 429]);
        assert(Number(retryAfter) >= 1, `Retry-After is ${retryAfter}`);
        const other = await call("alpha-key", "/v1/execute", { code: "return 2" });
        assertEquals(other.status, 200);
      });

      await t.step(
        "503 with Retry-After when the queue is full, not unbounded waiting",
        async () => {
          const slow = { code: "await new Promise((r) => setTimeout(r, 1500)); return 'slow'" };
          const replies = await Promise.all(
            Array.from({ length: 5 }, () => call("busy-key", "/v1/execute", slow)),
          );
          const statuses = replies.map((r) => r.status).sort();
          assertEquals(statuses.filter((s) => s === 200).length, 3, String(statuses));
          assertEquals(statuses.filter((s) => s === 503).length, 2, String(statuses));
          const refused = replies.find((r) => r.status === 503)!;
          assertEquals(refused.body.error.kind, "queue_full");
          assertEquals(refused.headers.get("retry-after"), "1");
        },
      );

      await t.step("search, readiness, metrics and OpenAPI", async () => {
        const search = await call(
          "beta-key",
          "/v1/tools/search?q=read%20the%20knowledge%20graph&k=3",
        );
        assertEquals(search.status, 200);
        assert(search.body.results.length > 0);
        assert(
          search.body.results.every((r: { id: string }) =>
            r.id.startsWith("memory.") || r.id === "filesystem.read_text_file"
          ),
          "search respects the tenant's tools",
        );
        assertMatch(search.body.results[0].signature, /^\/\*\*[\s\S]*memory\.\w+\(args/);
        const noQuery = await call("beta-key", "/v1/tools/search");
        assertEquals(noQuery.status, 400);
        const ready = await call(undefined, "/readyz");
        assertEquals(ready.status, 200);
        assertEquals(ready.body.upstreams.length, 2);
        assert(["use", "lexical", "transformers"].includes(ready.body.index.embedder.active));
        const metrics = await fetch(`${gw.url}/metrics`);
        const text = await metrics.text();
        assertMatch(text, /airlock_executions_total\{tenant="alpha",outcome="ok"\} \d+/);
        assertMatch(text, /airlock_tool_calls_total\{tenant="beta",tool="memory\.create_entities"/);
        assertMatch(text, /airlock_redactions_total\{type="email"\} \d+/);
        assertMatch(text, /airlock_rejected_total\{tenant="limited",kind="rate_limited"\} 2/);
        assertMatch(text, /airlock_upstream_up\{server="filesystem"\} 1/);
        assertMatch(text, /airlock_execution_duration_seconds_bucket\{tenant="alpha",le="\+Inf"\}/);
        const openapi = await call(undefined, "/openapi.json");
        assertEquals(openapi.body.openapi, "3.1.0");
        const body = openapi.body.paths["/v1/execute"].post.requestBody.content["application/json"];
        assertEquals(body.schema.required, ["code"]);
        assert("413" in openapi.body.paths["/v1/execute"].post.responses);
      });
    } finally {
      const status = await gw.stop();
      assertEquals(status.code, 0, "graceful shutdown");
    }

    await t.step("audit: every execution and tool call is in SQLite, never a result", async () => {
      const db = new DatabaseSync(auditPath, { readOnly: true });
      try {
        const rows = db.prepare(
          "SELECT tenant, ok, error_kind, code_hash, redactions FROM executions ORDER BY id",
        ).all() as Array<Record<string, unknown>>;
        const byTenant = (id: string) => rows.filter((r) => r.tenant === id).length;
        assertEquals(byTenant("limited"), 3, "refused requests never ran, so are not executions");
        assert(byTenant("alpha") >= 3 && byTenant("beta") >= 3 && byTenant("busy") === 3);
        assert(rows.every((r) => /^hmac-sha256:[0-9a-f]{64}$/.test(String(r.code_hash))));
        const masked = rows.find((r) => r.tenant === "alpha" && r.ok === 1)!;
        assertEquals(JSON.parse(String(masked.redactions)), { email: 1, credit_card: 1 });
        const calls = db.prepare(
          "SELECT e.tenant, c.tool, c.ok FROM tool_calls c JOIN executions e ON e.id = c.execution_id",
        ).all() as Array<Record<string, unknown>>;
        assert(calls.some((c) => c.tenant === "beta" && c.tool === "memory.create_entities"));
        assert(
          calls.some((c) => c.tenant === "alpha" && c.tool === "memory.read_graph" && c.ok === 0),
        );
      } finally {
        db.close();
      }
      for (const file of [auditPath, `${auditPath}-wal`]) {
        const bytes = await Deno.readFile(file).catch(() => new Uint8Array());
        assertNotMatch(new TextDecoder().decode(bytes), /ada\.lovelace|4111 1111/);
      }
    });
    await Deno.remove(root, { recursive: true });
  },
});

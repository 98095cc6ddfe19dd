/**
 * Human approval end to end, against the real filesystem MCP server: over MCP with the SDK
 * client's elicitation handler (approve, deny, never answer, no elicitation at all), and over
 * HTTP (a plain request answered through `/v1/approvals`, and an SSE stream). A denied write
 * leaves the file untouched, an approved one writes it, a timeout denies it; the approver sees
 * placeholders, never the real values; one execution-scoped answer covers 50 writes; cancelling
 * withdraws; tenants cannot see or answer each other's approvals; the wall-clock limit stops
 * while a call waits.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { auth, exists, nextPending, sseEvents } from "./approval_helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const AGENT = "acme-agent-key";
const APPROVER = "acme-approver-key";
/** A key of acme that runs code and approves (its MCP client may answer elicitations). */
const DESK = "acme-desk-key";
const OTHER_AGENT = "other-agent-key";
const OTHER_APPROVER = "other-approver-key";
const QUICK = "quick-agent-key";
const EMAIL = "ada.lovelace@example.com";

/** An MCP client over Streamable HTTP and the raw messages it received. */
interface TestClient {
  client: Client;
  /** Every JSON-RPC message from the gateway, in order. */
  received: Array<{ id?: unknown; method?: string; params?: Record<string, unknown> }>;
}

/** An MCP client over Streamable HTTP; `onElicit` answers approvals (absent: no capability). */
async function mcpClient(
  gw: TestGateway,
  key: string,
  onElicit?: (request: ElicitRequest, signal: AbortSignal) => Promise<ElicitResult>,
): Promise<TestClient> {
  const client = new Client(
    { name: "approval-test", version: "1.0.0" },
    { capabilities: onElicit ? { elicitation: {} } : {} },
  );
  if (onElicit) {
    client.setRequestHandler(
      ElicitRequestSchema,
      (request: ElicitRequest, extra: { signal: AbortSignal }) => onElicit(request, extra.signal),
    );
  }
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
    requestInit: { headers: auth(key) },
  });
  await client.connect(transport);
  const received: TestClient["received"] = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message: unknown, extra?: unknown) => {
    received.push(message as TestClient["received"][number]);
    deliver?.(message as never, extra as never);
  };
  return { client, received };
}

/** Runs `code` with execute_code and returns its structured result. */
async function runMcp(
  { client }: TestClient,
  code: string,
  onprogress?: (progress: { progress: number; message?: string }) => void,
) {
  const result = await client.request(
    { method: "tools/call", params: { name: "execute_code", arguments: { code } } },
    CallToolResultSchema,
    { timeout: 60_000, onprogress },
  );
  // deno-lint-ignore no-explicit-any
  return result.structuredContent as any;
}

/** Code that writes `content` to `path` and reports how the call ended. */
const writeCode = (path: string, content: string) => `
try {
  await filesystem.writeFile({ path: ${JSON.stringify(path)}, content: ${
  JSON.stringify(content)
} });
  return { wrote: true };
} catch (e) {
  return { wrote: false, kind: e.kind, message: e.message };
}`;

Deno.test({
  name: "approval: real filesystem server over MCP elicitation and HTTP/SSE",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-approval-" });
    await Deno.writeTextFile(`${root}/contact.txt`, `write to ${EMAIL}`);
    const policy = { tools: ["filesystem.write_file", "filesystem.write_*"], timeoutSeconds: 60 };
    const gw = await startTestGateway({
      servers: {
        filesystem: {
          ...filesystemServer(root),
          // The server says create_directory is not destructive but we want it asked;
          // and we declare edit_file harmless though the server does not.
          toolAnnotations: { edit_file: { destructiveHint: false } },
        },
      },
      sandbox: { timeoutMs: 4000 },
      auth: {
        tenants: {
          acme: {
            keys: [hashApiKey(AGENT), hashApiKey(DESK)],
            approverKeys: [hashApiKey(APPROVER), hashApiKey(DESK)],
            requestsPerMinute: 10_000,
            approval: policy,
          },
          other: {
            keys: [hashApiKey(OTHER_AGENT)],
            approverKeys: [hashApiKey(OTHER_APPROVER)],
            requestsPerMinute: 10_000,
            approval: policy,
          },
          quick: {
            keys: [hashApiKey(QUICK)],
            requestsPerMinute: 10_000,
            approval: { destructive: true, timeoutSeconds: 1 },
          },
        },
      },
    }, { poolSize: 1 });
    try {
      await t.step("annotations: the override reaches the catalogue", async () => {
        const tools = await gw.get("/v1/tools", auth(AGENT));
        // deno-lint-ignore no-explicit-any
        const edit = tools.body.tools.find((x: any) => x.id === "filesystem.edit_file");
        assertEquals(edit.annotations.destructiveHint, false);
      });

      await t.step(
        "MCP: approved, the file is written; the approver saw placeholders",
        async () => {
          const seen: ElicitRequest[] = [];
          const progress: string[] = [];
          const client = await mcpClient(gw, DESK, async (request) => {
            seen.push(request);
            // A person takes a while: progress keeps flowing meanwhile.
            while (!progress.some((m) => /waiting for approval/.test(m))) {
              await new Promise((r) => setTimeout(r, 50));
            }
            const before = progress.length;
            while (progress.length < before + 2) await new Promise((r) => setTimeout(r, 50));
            return { action: "accept", content: { approve: true } };
          });
          try {
            const path = `${root}/copy.txt`;
            const out = await runMcp(
              client,
              `const text = await filesystem.readTextFile({ path: ${
                JSON.stringify(`${root}/contact.txt`)
              } });
             await filesystem.writeFile({ path: ${
                JSON.stringify(path)
              }, content: text.content ?? String(text) });
             return "done";`,
              (p) => progress.push(p.message ?? ""),
            );
            assertEquals(out.ok, true, JSON.stringify(out));
            assert(progress.length >= 3, `progress while waiting: ${progress.join(" | ")}`);
            // Reading is not asked; writing is, once.
            assertEquals(seen.length, 1);
            const message = String(seen[0].params.message);
            assertMatch(message, /filesystem\.write_file/);
            assertMatch(message, /\[EMAIL_1_[a-z]{7}\]/);
            assert(!message.includes(EMAIL), "the approver must not see the real address");
            // The tool got the real value.
            assertMatch(await Deno.readTextFile(path), new RegExp(EMAIL.replace(/\./g, "\\.")));
          } finally {
            await client.client.close();
          }
        },
      );

      await t.step(
        "MCP: denied, the file is untouched and the code gets approval_denied",
        async () => {
          const client = await mcpClient(gw, DESK, () =>
            Promise.resolve({
              action: "accept",
              content: { approve: false, reason: "not today" },
            }));
          try {
            const path = `${root}/denied.txt`;
            const out = await runMcp(client, writeCode(path, "nope"));
            assertEquals(out.result.wrote, false);
            assertEquals(out.result.kind, "approval_denied");
            assertMatch(out.result.message, /not today/);
            assert(!(await exists(path)), "a denied write must not happen");
            assertEquals(out.tools.calls[0].outcome, "refused");
          } finally {
            await client.client.close();
          }
        },
      );

      await t.step("MCP: declined elicitation denies too", async () => {
        const client = await mcpClient(gw, DESK, () => Promise.resolve({ action: "decline" }));
        try {
          const out = await runMcp(client, writeCode(`${root}/declined.txt`, "x"));
          assertEquals(out.result.kind, "approval_denied");
          assert(!(await exists(`${root}/declined.txt`)));
        } finally {
          await client.client.close();
        }
      });

      await t.step(
        "MCP: never answered, the call times out and is cancelled at the client",
        async () => {
          const client = await mcpClient(gw, QUICK, (_request, signal) =>
            new Promise((resolve) => {
              signal.addEventListener("abort", () => resolve({ action: "cancel" }));
            }));
          try {
            const path = `${root}/timeout.txt`;
            const out = await runMcp(client, writeCode(path, "late"));
            assertEquals(out.result.kind, "approval_timeout", JSON.stringify(out));
            assert(!(await exists(path)), "a timed-out write must not happen");
            // The elicitation was withdrawn at the client (notifications/cancelled for its id;
            // the SDK client ignores a cancellation of request id 0, so the message is checked).
            const elicit = client.received.find((m) => m.method === "elicitation/create");
            assert(elicit, "an elicitation was sent");
            assert(
              client.received.some((m) =>
                m.method === "notifications/cancelled" && m.params?.requestId === elicit.id
              ),
              "the elicitation is cancelled once the approval timed out",
            );
          } finally {
            await client.client.close();
          }
        },
      );

      await t.step(
        "MCP: a client without elicitation cannot be asked (onUnavailable: deny)",
        async () => {
          const client = await mcpClient(gw, QUICK);
          try {
            const out = await runMcp(client, writeCode(`${root}/unasked.txt`, "x"));
            assertEquals(out.result.kind, "approval_denied");
            assertMatch(out.result.message, /no approver/);
            assert(!(await exists(`${root}/unasked.txt`)));
            // The read-only tool is not held.
            const read = await runMcp(
              client,
              `return await filesystem.listAllowedDirectories({});`,
            );
            assertEquals(read.ok, true, JSON.stringify(read));
            // destructive: true, but the operator declared edit_file harmless: not held either.
            await Deno.writeTextFile(`${root}/edit.txt`, "alpha");
            const edit = await runMcp(
              client,
              `await filesystem.editFile({ path: ${
                JSON.stringify(`${root}/edit.txt`)
              }, edits: [{ oldText: "alpha", newText: "beta" }] }); return 1;`,
            );
            assertEquals(edit.ok, true, JSON.stringify(edit));
            assertEquals(await Deno.readTextFile(`${root}/edit.txt`), "beta");
          } finally {
            await client.client.close();
          }
        },
      );

      await t.step("MCP: one execution-scoped approval covers 50 writes", async () => {
        let asked = 0;
        const client = await mcpClient(gw, DESK, () => {
          asked++;
          return Promise.resolve({
            action: "accept",
            content: { approve: true, scope: "execution" },
          });
        });
        try {
          const out = await runMcp(
            client,
            `for (let i = 0; i < 50; i++) {
               await filesystem.writeFile({ path: ${
              JSON.stringify(root)
            } + "/bulk" + i + ".txt", content: "n" + i });
             }
             return "ok";`,
          );
          assertEquals(out.ok, true, JSON.stringify(out.error));
          assertEquals(asked, 1);
          for (let i = 0; i < 50; i++) {
            assertEquals(await Deno.readTextFile(`${root}/bulk${i}.txt`), `n${i}`);
          }
        } finally {
          await client.client.close();
        }
      });

      await t.step(
        "HTTP: a plain request waits; denied over /v1/approvals, untouched",
        async () => {
          const path = `${root}/http-denied.txt`;
          const running = gw.post("/v1/execute", { code: writeCode(path, "x") }, auth(AGENT));
          const pending = await nextPending(gw, APPROVER);
          assertEquals(pending.tool, "filesystem.write_file");
          // The agent's own key cannot answer; nor can another tenant's approver, nor see it.
          const agentTry = await gw.post(
            `/v1/approvals/${pending.id}`,
            { decision: "approve" },
            auth(AGENT),
          );
          assertEquals(agentTry.status, 403);
          const otherTry = await gw.post(
            `/v1/approvals/${pending.id}`,
            { decision: "approve" },
            auth(OTHER_APPROVER),
          );
          assertEquals(otherTry.status, 404);
          assertEquals((await gw.get("/v1/approvals", auth(OTHER_APPROVER))).body.approvals, []);
          const bad = await gw.post(
            `/v1/approvals/${pending.id}`,
            { decision: "maybe" },
            auth(APPROVER),
          );
          assertEquals(bad.status, 400);
          const answer = await gw.post(
            `/v1/approvals/${pending.id}`,
            { decision: "deny", reason: "no writes" },
            auth(APPROVER),
          );
          assertEquals(answer.status, 200, JSON.stringify(answer.body));
          assertEquals(answer.body.status, "denied");
          const reply = await running;
          assertEquals(reply.status, 200);
          assertEquals(reply.body.result.kind, "approval_denied");
          assertMatch(reply.body.result.message, /no writes/);
          assert(!(await exists(path)));
          // Answering again: 409.
          const again = await gw.post(
            `/v1/approvals/${pending.id}`,
            { decision: "approve" },
            auth(APPROVER),
          );
          assertEquals(again.status, 409);
        },
      );

      await t.step("HTTP: a huge argument is shown cut; bad answers are refused", async () => {
        const path = `${root}/huge.txt`;
        const huge = `${"lorem ipsum ".repeat(25_000)} ${EMAIL}`;
        const running = gw.post("/v1/execute", { code: writeCode(path, huge) }, auth(AGENT));
        const pending = await nextPending(gw, APPROVER);
        assert(pending.arguments.length <= 4100, `${pending.arguments.length} characters shown`);
        // Redacted first (the address becomes [EMAIL_1]), then cut, head and tail shown.
        assertMatch(pending.arguments, /…\[\d+ of 3000\d\d characters not shown\]…/);
        assertMatch(pending.arguments, /\[EMAIL_1_[a-z]{7}\]"/);
        assertEquals(pending.argumentsShortened, true);
        const post = (id: string, body: unknown) =>
          gw.post(`/v1/approvals/${id}`, body, auth(APPROVER));
        assertEquals((await post("not-an-id", { decision: "approve" })).status, 404);
        assertEquals((await post(crypto.randomUUID(), { decision: "approve" })).status, 404);
        assertEquals(
          (await post(pending.id, { decision: "approve", reason: "r".repeat(5000) })).status,
          413,
        );
        assertEquals(
          (await post(pending.id, { decision: "approve", reason: "r".repeat(600) })).status,
          400,
        );
        assertEquals((await post(pending.id, { decision: "approve", extra: 1 })).status, 400);
        const answer = await post(pending.id, { decision: "deny" });
        assertEquals(answer.status, 200);
        assertEquals((await running).body.result.kind, "approval_denied");
        assert(!(await exists(path)));
      });

      await t.step("HTTP: the wall-clock limit stops while a call waits", async () => {
        const path = `${root}/slow.txt`;
        const running = gw.post(
          "/v1/execute",
          { code: writeCode(path, "slow"), limits: { timeoutMs: 1000 } },
          auth(AGENT),
        );
        const pending = await nextPending(gw, APPROVER);
        // Longer than the execution's whole limit: without the pause it would be killed.
        await new Promise((r) => setTimeout(r, 2000));
        const answer = await gw.post(
          `/v1/approvals/${pending.id}`,
          { decision: "approve" },
          auth(APPROVER),
        );
        assertEquals(answer.status, 200);
        const reply = await running;
        assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
        assertEquals(reply.body.result, { wrote: true });
        assertEquals(await Deno.readTextFile(path), "slow");
      });

      await t.step("SSE: approval event, approve over /v1/approvals, result event", async () => {
        const path = `${root}/sse.txt`;
        const response = await fetch(`${gw.url}/v1/execute`, {
          method: "POST",
          headers: {
            ...auth(AGENT),
            "content-type": "application/json",
            accept: "text/event-stream",
          },
          body: JSON.stringify({
            code: `console.log("mail ${EMAIL}");\n${writeCode(path, `to ${EMAIL}`)}`,
          }),
        });
        assertEquals(response.status, 200);
        assertMatch(response.headers.get("content-type") ?? "", /text\/event-stream/);
        const kinds: string[] = [];
        // deno-lint-ignore no-explicit-any
        let result: any;
        for await (const { event, data } of sseEvents(response)) {
          kinds.push(event);
          // deno-lint-ignore no-explicit-any
          const d = data as any;
          if (event === "log") {
            assert(!JSON.stringify(d).includes(EMAIL), "log events are redacted");
          }
          if (event === "approval") {
            assertEquals(d.tool, "filesystem.write_file");
            assert(typeof d.executionId === "string" && typeof d.expiresAt === "string");
            assert(!d.arguments.includes(EMAIL), "the approval shows placeholders");
            assertMatch(d.arguments, /\[EMAIL_\d+_[a-z]{7}\]/);
            const answer = await gw.post(
              `/v1/approvals/${d.id}`,
              { decision: "approve" },
              auth(APPROVER),
            );
            assertEquals(answer.status, 200);
          }
          if (event === "result") result = d;
        }
        assert(kinds.includes("log") && kinds.includes("approval"), kinds.join(","));
        assertEquals(kinds.at(-1), "result");
        assertEquals(result.ok, true, JSON.stringify(result));
        assertEquals(result.result, { wrote: true });
        assertEquals(await Deno.readTextFile(path), `to ${EMAIL}`);
      });

      await t.step(
        "SSE: closing the stream while pending withdraws the approval (409)",
        async () => {
          const path = `${root}/cancelled.txt`;
          const abort = new AbortController();
          const response = await fetch(`${gw.url}/v1/execute`, {
            method: "POST",
            headers: {
              ...auth(AGENT),
              "content-type": "application/json",
              accept: "text/event-stream",
            },
            body: JSON.stringify({ code: writeCode(path, "x") }),
            signal: abort.signal,
          });
          let id: string | undefined;
          for await (const { event, data } of sseEvents(response)) {
            if (event === "approval") {
              id = (data as { id: string }).id;
              break;
            }
          }
          assert(id, "an approval event arrived");
          abort.abort();
          // Withdrawn: no longer listed, and a late answer gets 409.
          let listed = true;
          for (let i = 0; i < 200 && listed; i++) {
            const list = await gw.get("/v1/approvals", auth(APPROVER));
            listed = list.body.approvals.some((a: { id: string }) => a.id === id);
            if (listed) await new Promise((r) => setTimeout(r, 25));
          }
          assert(!listed, "the approval is withdrawn");
          const late = await gw.post(
            `/v1/approvals/${id}`,
            { decision: "approve" },
            auth(APPROVER),
          );
          assertEquals(late.status, 409);
          assert(!(await exists(path)));
        },
      );

      await t.step("record: audit rows and metrics", async () => {
        const rows = gw.gateway.audit!.recentApprovals({ limit: 1000 });
        const decisions = new Set(rows.map((r) => r.decision));
        for (const d of ["approved", "denied", "timeout", "withdrawn", "unavailable"]) {
          assert(decisions.has(d), `an audit row with decision ${d}: ${[...decisions]}`);
        }
        const byKey = rows.find((r) => r.decidedBy?.startsWith("key:sha256:"));
        assert(byKey, "an HTTP decision records the key fingerprint");
        assert(!byKey.decidedBy!.includes(hashApiKey(APPROVER).slice(7)), "not the full hash");
        const desk = `mcp-client:key:sha256:${hashApiKey(DESK).slice(7, 23)}`;
        assert(rows.some((r) => r.decidedBy === desk && r.scope === "execution"));
        assert(rows.every((r) => !r.arguments.includes(EMAIL)));
        const metrics = (await gw.get("/metrics")).body as string;
        assertMatch(
          metrics,
          /airlock_approval_decisions_total\{tenant="acme",outcome="approved"\} \d+/,
        );
        assertMatch(metrics, /airlock_approval_wait_seconds_count\{tenant="acme"\} \d+/);
        assertMatch(metrics, /# TYPE airlock_approvals_pending gauge/);
      });
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

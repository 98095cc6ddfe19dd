/**
 * The red team's attacks on human approval (rtappr), end to end against the real filesystem
 * MCP server, each of which succeeded before the fixes:
 *
 * 1. real personal data and secrets in what the approval shows (SSE event, `GET
 *    /v1/approvals`, the audit, the MCP elicitation), and in log lines of inspected objects;
 * 2. an agent key that is not an approver key approving its own call through its MCP
 *    client's elicitation;
 * 3. an approver shown nothing, or not the file a call writes;
 * 4. code that computes while a call of its own waits, far past its time limit;
 * 5. `onUnavailable: "allow"` letting calls through when approvers exist but the MCP client
 *    cannot be asked, or when the asked client fails.
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

const AGENT = "rt-agent-key";
const APPROVER = "rt-approver-key";
/** Runs code and approves: its MCP client may answer elicitations. */
const DESK = "rt-desk-key";
const SLOW = "rt-slow-agent-key";
const SLOW_APPROVER = "rt-slow-approver-key";
const LAX = "rt-lax-agent-key";
const LAXAPP = "rt-laxapp-agent-key";
const LAXAPP_APPROVER = "rt-laxapp-approver-key";
const CARD = "4111111111111111";
const SSN = "123-45-6789";
const IBAN = "DE89370400440532013000";
const SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const RAW = [CARD, SSN, IBAN, SECRET];

const leaked = (text: string) => RAW.filter((v) => text.includes(v));

/** An MCP client over Streamable HTTP; `onElicit` answers approvals (absent: no capability). */
async function mcpClient(
  gw: TestGateway,
  key: string,
  onElicit?: (request: ElicitRequest) => Promise<ElicitResult>,
): Promise<Client> {
  const client = new Client(
    { name: "rt", version: "1.0.0" },
    { capabilities: onElicit ? { elicitation: {} } : {} },
  );
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, (r: ElicitRequest) => onElicit(r));
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
    requestInit: { headers: auth(key) },
  });
  await client.connect(transport);
  return client;
}

async function runMcp(client: Client, code: string) {
  const result = await client.request(
    { method: "tools/call", params: { name: "execute_code", arguments: { code } } },
    CallToolResultSchema,
    { timeout: 120_000 },
  );
  // deno-lint-ignore no-explicit-any
  return result.structuredContent as any;
}

Deno.test({
  name: "approval attacks (rtappr): real filesystem server over HTTP, SSE and MCP",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-approval-rt-" });
    // Real personal data and a secret, one per line, in a file the code reads.
    await Deno.writeTextFile(
      `${root}/customer.txt`,
      `card:\n${CARD}\nssn:\n${SSN}\niban:\n${IBAN}\nkey:\n${SECRET}\n`,
    );
    const gw = await startTestGateway({
      servers: { filesystem: filesystemServer(root) },
      sandbox: { timeoutMs: 2000 },
      auth: {
        tenants: {
          acme: {
            keys: [hashApiKey(AGENT), hashApiKey(DESK)],
            approverKeys: [hashApiKey(APPROVER), hashApiKey(DESK)],
            requestsPerMinute: 10_000,
            approval: {
              tools: ["filesystem.write_file", "filesystem.edit_file"],
              timeoutSeconds: 30,
            },
          },
          slow: {
            keys: [hashApiKey(SLOW)],
            approverKeys: [hashApiKey(SLOW_APPROVER)],
            requestsPerMinute: 10_000,
            approval: { tools: ["filesystem.write_file"], timeoutSeconds: 30 },
          },
          laxapp: {
            keys: [hashApiKey(LAXAPP)],
            approverKeys: [hashApiKey(LAXAPP_APPROVER)],
            requestsPerMinute: 10_000,
            approval: { tools: ["filesystem.write_file"], onUnavailable: "allow" },
          },
          lax: {
            keys: [hashApiKey(LAX)],
            requestsPerMinute: 10_000,
            approval: { tools: ["filesystem.write_file"], onUnavailable: "allow" },
          },
        },
      },
    }, { poolSize: 1 });
    const copyCode = (target: string) =>
      `const r = await filesystem.readTextFile({ path: ${JSON.stringify(`${root}/customer.txt`)} });
       const text = r.content ?? String(r);
       try { await filesystem.writeFile({ path: ${JSON.stringify(target)}, content: text }); }
       catch (e) { return { kind: e.kind }; }
       return "written";`;
    try {
      await t.step("1: no real value in the approval (SSE event, list, audit)", async () => {
        const response = await fetch(`${gw.url}/v1/execute`, {
          method: "POST",
          headers: {
            ...auth(AGENT),
            "content-type": "application/json",
            accept: "text/event-stream",
          },
          body: JSON.stringify({ code: copyCode(`${root}/copy.txt`) }),
        });
        let shown = "";
        let listed = "";
        for await (const { event, data } of sseEvents(response)) {
          // deno-lint-ignore no-explicit-any
          const d = data as any;
          if (event === "approval") {
            shown = d.arguments;
            listed = JSON.stringify((await gw.get("/v1/approvals", auth(APPROVER))).body);
            await gw.post(`/v1/approvals/${d.id}`, { decision: "deny" }, auth(APPROVER));
          }
        }
        const audited = JSON.stringify(gw.gateway.audit!.recentApprovals({ limit: 10 }));
        assertEquals(leaked(shown), [], `the approval event: ${shown}`);
        assertMatch(
          shown,
          /\[CARD_\d+_[a-z]{7}\][\s\S]*\[SSN_\d+_[a-z]{7}\][\s\S]*\[IBAN_\d+_[a-z]{7}\]/,
        );
        assertEquals(leaked(listed), [], "GET /v1/approvals");
        assertEquals(leaked(audited), [], "the audit's approvals");
        assert(!(await exists(`${root}/copy.txt`)));
      });

      await t.step("1: no real value in the MCP elicitation message", async () => {
        let message = "";
        const client = await mcpClient(gw, DESK, (request) => {
          message = String(request.params.message);
          return Promise.resolve({ action: "accept", content: { approve: false } });
        });
        try {
          const out = await runMcp(client, copyCode(`${root}/copy-mcp.txt`));
          assertEquals(out.result, { kind: "approval_denied" });
          assertEquals(leaked(message), [], message);
          assertMatch(message, /\[SECRET_\d+_[a-z]{7}\]/);
          assertMatch(message, /shown in full/);
        } finally {
          await client.close();
        }
      });

      await t.step(
        "1: no real value in log lines of inspected objects or error texts",
        async () => {
          const reply = await gw.post("/v1/execute", {
            code: `console.log({ card: "x\\t${CARD}", list: ["k\\t${SSN}"] });
                 console.error(new Map([["iban", "v\\t${IBAN}"]]));
                 throw new Error(JSON.stringify({ key: "\\n${SECRET}" }));`,
          }, auth(AGENT));
          const text = JSON.stringify(reply.body);
          assertEquals(leaked(text), [], text);
          assertEquals(reply.body.logs.length, 2);
        },
      );

      await t.step("1: no real value in type-check diagnostics that quote literals", async () => {
        const reply = await gw.post("/v1/execute", {
          check: true,
          // TypeScript quotes a literal type with its escapes: '"x\t4111…"'.
          code: `const n: "a" = "x\\t${CARD}";\nconst m: { k: "b" } = { k: "\\n${IBAN}" };`,
        }, auth(AGENT));
        assertEquals(reply.body.error?.kind, "type", JSON.stringify(reply.body));
        const text = JSON.stringify(reply.body);
        assertEquals(leaked(text), [], text);
        assertMatch(text, /\[CARD_\d+_[a-z]{7}\]/);
      });

      await t.step("2: an agent key's own MCP client cannot approve its call", async () => {
        await Deno.writeTextFile(`${root}/important.txt`, "KEEP ME");
        let elicited = 0;
        const client = await mcpClient(gw, AGENT, () => {
          elicited++;
          return Promise.resolve({
            action: "accept",
            content: { approve: true, scope: "execution" },
          });
        });
        try {
          const running = runMcp(
            client,
            `try { await filesystem.writeFile({ path: ${
              JSON.stringify(`${root}/important.txt`)
            }, content: "OVERWRITTEN BY AGENT" }); return "written"; } catch (e) { return e.kind; }`,
          );
          // The tenant's approvers are asked instead, over /v1/approvals.
          const pending = await nextPending(gw, APPROVER);
          const answer = await gw.post(
            `/v1/approvals/${pending.id}`,
            { decision: "deny" },
            auth(APPROVER),
          );
          assertEquals(answer.status, 200);
          const out = await running;
          assertEquals(out.result, "approval_denied");
          assertEquals(elicited, 0, "the agent's client is not asked");
          assertEquals(await Deno.readTextFile(`${root}/important.txt`), "KEEP ME");
        } finally {
          await client.close();
        }
        // A key that is both: its client is asked, and the audit names the key.
        const desk = await mcpClient(
          gw,
          DESK,
          () => Promise.resolve({ action: "accept", content: { approve: true } }),
        );
        try {
          const out = await runMcp(
            desk,
            `await filesystem.writeFile({ path: ${
              JSON.stringify(`${root}/desk.txt`)
            }, content: "ok" }); return "written";`,
          );
          assertEquals(out.result, "written");
          const row = gw.gateway.audit!.recentApprovals({ tenant: "acme", limit: 1 })[0];
          assertEquals(row.decidedBy, `mcp-client:key:sha256:${hashApiKey(DESK).slice(7, 23)}`);
        } finally {
          await desk.close();
        }
      });

      await t.step("3: the approver sees the file a call writes, and every key", async () => {
        const shown: string[] = [];
        const client = await mcpClient(gw, DESK, (request) => {
          shown.push(String(request.params.message));
          return Promise.resolve({ action: "accept", content: { approve: false } });
        });
        try {
          // A path of more than 1,000 characters: its end is shown.
          const hidden = `${root}/` + "./".repeat(520) + "important.txt";
          await runMcp(
            client,
            `try { await filesystem.writeFile({ path: ${
              JSON.stringify(hidden)
            }, content: "x" }); } catch {} return 1;`,
          );
          // Over 4,000 characters without whitespace: every key, the path among them.
          await runMcp(
            client,
            `const X = "X".repeat(990), Y = "Y".repeat(990);
             const edits = [{ oldText: "KEEP ME", newText: X }, { oldText: X, newText: Y },
               { oldText: Y, newText: "GONE" }];
             try { await filesystem.editFile({ edits, path: ${
              JSON.stringify(`${root}/important.txt`)
            } }); } catch {} return 1;`,
          );
          assertEquals(shown.length, 2);
          assertMatch(shown[0], /important\.txt"/);
          assertMatch(shown[0], /…\[\d+ of \d+ characters not shown\]…/);
          assertMatch(shown[0], /shortened/);
          assertMatch(shown[1], /"path":"[^"]*important\.txt"/);
          assertMatch(shown[1], /"newText":"GONE"/);
          assertEquals(await Deno.readTextFile(`${root}/important.txt`), "KEEP ME");
        } finally {
          await client.close();
        }
      });

      await t.step(
        "4: code that computes while its own call waits is stopped at its limit",
        async () => {
          // timeoutMs 2000: the code keeps a write waiting at all times (approvers exist, nobody
          // answers; a new one every second) and burns CPU meanwhile for up to 60 s of wall time.
          // Before, the paused clock let it run all that time. The limit is CPU time, so a loaded
          // machine only makes the kill come later, not fail to come.
          const reply = await gw.post("/v1/execute", {
            code: `const t0 = Date.now(); let last = 0; let spins = 0;
            const fire = () => { last = Date.now();
              filesystem.writeFile({ path: ${
              JSON.stringify(`${root}/never.txt`)
            }, content: "x" }).catch(() => {}); };
            fire();
            while (Date.now() - t0 < 60000) {
              const s = Date.now(); while (Date.now() - s < 50) spins++;
              await new Promise((r) => setTimeout(r, 0));
              if (Date.now() - last > 1000) fire();
            }
            return { ranMs: Date.now() - t0, spins };`,
          }, auth(SLOW));
          assertEquals(reply.body.ok, false, JSON.stringify(reply.body));
          assertEquals(reply.body.error.kind, "timeout", JSON.stringify(reply.body.error));
          assert(!(await exists(`${root}/never.txt`)));
          // Its pending approval was withdrawn with it.
          const row = gw.gateway.audit!.recentApprovals({ tenant: "slow", limit: 1 })[0];
          assertEquals(row?.decision, "withdrawn");
        },
      );

      await t.step(
        "5: approvers exist, the MCP client cannot be asked: they are (allow)",
        async () => {
          const target = `${root}/laxapp.txt`;
          const client = await mcpClient(gw, LAXAPP); // no elicitation capability
          try {
            const running = runMcp(
              client,
              `try { await filesystem.writeFile({ path: ${
                JSON.stringify(target)
              }, content: "x" }); return "written"; } catch (e) { return e.kind; }`,
            );
            const pending = await nextPending(gw, LAXAPP_APPROVER);
            await gw.post(
              `/v1/approvals/${pending.id}`,
              { decision: "deny" },
              auth(LAXAPP_APPROVER),
            );
            const out = await running;
            assertEquals(out.result, "approval_denied");
            assert(!(await exists(target)));
          } finally {
            await client.close();
          }
        },
      );

      await t.step("5: a client whose elicitation fails denies (allow)", async () => {
        const target = `${root}/lax.txt`;
        const client = await mcpClient(gw, LAX, () => Promise.reject(new Error("user rejected")));
        try {
          const out = await runMcp(
            client,
            `try { await filesystem.writeFile({ path: ${
              JSON.stringify(target)
            }, content: "x" }); return "written"; } catch (e) { return e.kind; }`,
          );
          assertEquals(out.result, "approval_denied");
          assert(!(await exists(target)));
          const row = gw.gateway.audit!.recentApprovals({ tenant: "lax", limit: 1 })[0];
          assertEquals(row.decision, "denied");
          assertEquals(row.decidedBy, `mcp-client:key:sha256:${hashApiKey(LAX).slice(7, 23)}`);
        } finally {
          await client.close();
        }
      });
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

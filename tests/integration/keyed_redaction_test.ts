/**
 * Values under object keys are redacted with their key as context on every path, through a
 * real gateway (red team d1): a config file read through the real filesystem MCP server and
 * returned parsed, its keyword secrets, SSN and phone number next to their keys, in mask and
 * tokenize modes (result, logs, error); a placeholder of such a value stands for the value
 * alone and reaches a tool as it; and what an approver is shown of structured arguments (the
 * HTTP approval, the audit row and the MCP elicitation).
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  type ElicitRequest,
  ElicitRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { auth, withApprovalGateway } from "./approval_helpers.ts";
import { untag } from "../placeholders.ts";

/** The red team's config file, with look-alikes (`id`, `count`, `port`) that must stay. */
const CONFIG = {
  database: { host: "db.internal", user: "app", password: "S3cr3t!Pass", port: 5432 },
  stripe: { api_key: "k9Zq3Xw7Lm2Pn8Rt4Vy6Hs1J" },
  env: { DB_PASSWORD: "hunter2hunter2", SESSION_SECRET: "Xk9mQ2pL7vR4nW8sT3yU" },
  customer: { ssn: "078051120", phone: "4155550134", id: 4155559876, count: 78051121 },
  // Nested arrays inherit their key.
  backups: { phones: [["4155550177"]], ssn: ["078051120"] },
};
const RAW = [
  "S3cr3t!Pass",
  "k9Zq3Xw7Lm2Pn8Rt4Vy6Hs1J",
  "hunter2hunter2",
  "Xk9mQ2pL7vR4nW8sT3yU",
  "078051120",
  "4155550134",
  "4155550177",
];
/** What the parsed file is in either mode, placeholders untagged (mask: `[REDACTED_…]`). */
const TOKENIZED = {
  database: { host: "db.internal", user: "app", password: "[SECRET_1]", port: 5432 },
  stripe: { api_key: "[SECRET_2]" },
  env: { DB_PASSWORD: "[SECRET_3]", SESSION_SECRET: "[SECRET_4]" },
  customer: { ssn: "[SSN_1]", phone: "[PHONE_1]", id: 4155559876, count: 78051121 },
  backups: { phones: [["[PHONE_2]"]], ssn: ["[SSN_1]"] },
};
/** `value` with every placeholder, masked or tokenized, written as its type: `[SECRET]`. */
const byType = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value).replace(
      /\[(?:REDACTED_)?([A-Z]+)(?:_[1-9][0-9]*(?:_[a-z]{7})?)?\]/g,
      "[$1]",
    ),
  );

const leaked = (text: string) => RAW.filter((raw) => text.includes(raw));
const leakedArgs = (text: string) => ARGS_RAW.filter((raw) => text.includes(raw));

Deno.test({
  name: "keyed redaction: a config file read through the filesystem server and returned parsed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-keyed-" });
    const path = `${root}/config.json`;
    await Deno.writeTextFile(path, JSON.stringify(CONFIG, null, 2));
    const code = `
      const r = await filesystem.readTextFile({ path: ${JSON.stringify(path)} });
      const text = typeof r === "string" ? r : (r.content ?? r.text);
      const parsed = JSON.parse(text);
      console.log(parsed);
      console.log(JSON.stringify(parsed.env));
      return { parsed, customers: [parsed.customer], file: r };`;
    try {
      for (const mode of ["mask", "tokenize"] as const) {
        await t.step(mode, async () => {
          const gw = await startTestGateway({
            pii: { mode },
            servers: { filesystem: filesystemServer(root) },
            sandbox: { timeoutMs: 20_000 },
          });
          try {
            const session = { "x-airlock-session": `keyed-${mode}` };
            const reply = await gw.post("/v1/execute", { code }, session);
            assertEquals(reply.status, 200, JSON.stringify(reply.body));
            const body = reply.body;
            assertEquals(body.ok, true, JSON.stringify(body));
            assertEquals(leaked(JSON.stringify(body)), [], JSON.stringify(body));
            // Placeholders compared by type (their numbers depend on the log lines redacted
            // first); in tokenize mode one value has one placeholder wherever it is.
            const parsed = body.result.parsed;
            assertEquals(byType(parsed), byType(TOKENIZED));
            assertEquals(byType(body.result.customers), [byType(TOKENIZED.customer)]);
            if (mode === "mask") return;
            assertEquals(parsed.backups.ssn[0], parsed.customer.ssn);
            const secrets = [
              parsed.database.password,
              parsed.stripe.api_key,
              parsed.env.DB_PASSWORD,
            ];
            assertEquals(new Set(secrets).size, 3);
            // A placeholder stands for the value alone: a tool given it gets the real password.
            const placeholder = body.result.parsed.database.password as string;
            const out = `${root}/restored.txt`;
            const write = await gw.post("/v1/execute", {
              code: `await filesystem.writeFile({ path: ${JSON.stringify(out)}, content: ${
                JSON.stringify(`password=${placeholder}`)
              } }); return "ok";`,
            }, session);
            assertEquals(write.body.ok, true, JSON.stringify(write.body));
            assertEquals(await Deno.readTextFile(out), "password=S3cr3t!Pass");
          } finally {
            await gw.close();
          }
        });
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

const AGENT = "keyed-agent-key";
const APPROVER = "keyed-approver-key";
/** Runs code and approves: its MCP client answers elicitations. */
const DESK = "keyed-desk-key";

/**
 * The arguments an approver is asked about: the config, and an SSN stored as a number (its
 * leading zero lost; only its key says what it is).
 */
const ARGS = { ...CONFIG, numbers: { ssn: 78051120, phone: 4155550188, id: 4155559876 } };
const ARGS_SHOWN = {
  ...TOKENIZED,
  numbers: { ssn: "[SSN_1]", phone: "[PHONE_3]", id: 4155559876 },
};
const ARGS_RAW = [...RAW, "78051120", "4155550188"];

/** Code that asks to store `value` under "config" and reports how the call ended. */
const putCode = (value: unknown) => `
  try { await ledger.put({ key: "config", value: ${JSON.stringify(value)} }); return "put"; }
  catch (e) { return e.kind; }`;

/** The approval's arguments as shown, with their `value` parsed, placeholders untagged. */
function shownValue(text: string): unknown {
  return untag(JSON.parse(text).value);
}

Deno.test({
  name: "keyed redaction: an approver's view of structured arguments (HTTP, audit row, MCP)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withApprovalGateway({
      servers: () => ({ ledger: fixtureServer("ledger") }),
      approval: { tools: ["ledger.put"], timeoutSeconds: 60 },
      tenant: { keys: [AGENT, DESK], approverKeys: [APPROVER, DESK] },
    }, async ({ gw, decide }) => {
      await t.step("HTTP approval and the audit row", async () => {
        const running = gw.post("/v1/execute", { code: putCode(ARGS) }, auth(AGENT));
        const pending = await decide("deny");
        const reply = await running;
        assertEquals(reply.body.result, "approval_denied");
        assertEquals(leakedArgs(pending.arguments), [], pending.arguments);
        assertEquals(shownValue(pending.arguments), ARGS_SHOWN);
        const [row] = gw.gateway.audit!.recentApprovals({ tenant: "acme", limit: 1 });
        assertEquals(leakedArgs(row.arguments), [], row.arguments);
      });

      await t.step("MCP elicitation", async () => {
        const seen: ElicitRequest[] = [];
        const client = new Client(
          { name: "keyed-test", version: "1.0.0" },
          { capabilities: { elicitation: {} } },
        );
        client.setRequestHandler(ElicitRequestSchema, (request: ElicitRequest) => {
          seen.push(request);
          return Promise.resolve({ action: "accept", content: { approve: false } });
        });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
            requestInit: { headers: auth(DESK) },
          }),
        );
        try {
          const result = await client.request(
            {
              method: "tools/call",
              params: { name: "execute_code", arguments: { code: putCode(ARGS) } },
            },
            CallToolResultSchema,
            { timeout: 60_000 },
          );
          // deno-lint-ignore no-explicit-any
          assertEquals((result.structuredContent as any).result, "approval_denied");
          assertEquals(seen.length, 1);
          const message = String(seen[0].params.message);
          assertEquals(leakedArgs(message), [], message);
          assertMatch(message, /"password":"\[SECRET_1_[a-z]{7}\]"/);
        } finally {
          await client.close();
        }
      });
    });
  },
});

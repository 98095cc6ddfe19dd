/**
 * Red team n1 (N1-11): a console line judges the objects it renders as the result does. The
 * value path judges each value under its key (the key above, plural keys, pair tuples, Map
 * entries); the log path used to see only Deno's rendered text (`{ credentials: { prod: "…" }
 * }`), so `console.log(obj)` leaked what returning `obj` redacts. Proves that no such value
 * is raw in the HTTP response's `logs`, in the MCP `notifications/message` lines or in the
 * SSE `log` events, for `console.log`/`error`/`warn`/`info`/`table`, nested arrays, a `Map`,
 * pair tuples, with and without returning the object; and that the result is redacted too.
 * Fails on the code before the fix (main d9899af).
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { sseEvents } from "./approval_helpers.ts";

const SECRETS = [
  "Xk9mQ2pL7vRtYw3zAb4Cd5",
  "Hv4nQ8wLm2Tz6Xc9Rb3Ks7",
  "Pw5eJ9rYt2Uo6Ia1Sd4Fg8",
  "Tq3wE8rTy5Ui2Op7As1Df6",
  "Gh7jK2lZx9Cv4Bn6Mq1Wr3",
  "Zb8nM3qW7eR1tY5uI9oP2a",
  "Lk4jH8gF2dS6aP0oI3uY7t",
];

/** Logs objects whose values only their keys say are secrets; returns only some of them. */
const CODE = `
  const s = ${JSON.stringify(SECRETS)};
  const creds = { credentials: { prod: s[0] } };
  const many = { passwords: [s[1]] };
  const pair = Object.entries({ password: s[2] })[0];
  console.log(creds);
  console.error("failed with", many);
  console.warn({ api_keys: { stripe: { live: s[3] } } });
  console.info(new Map([["db_password", s[4]]]));
  console.table([{ name: "DB_PASSWORD", value: s[5] }]);
  console.log({ config: { tokens: [[s[6]]] } });
  console.log(pair);
  return { creds, many, pair };`;

/** The machine is shared: an execution may wait for a sandbox. */
const SANDBOX = { timeoutMs: 20_000, maxWaitMs: 20_000 };

function raw(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

Deno.test({
  name: "console objects: a logged object is redacted as the returned one (HTTP, MCP, SSE)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({ pii: { mode: "mask" }, sandbox: SANDBOX });
    try {
      const client = new Client({ name: "console-objects", version: "1.0.0" });
      const notes: unknown[] = [];
      client.setNotificationHandler(
        LoggingMessageNotificationSchema,
        (n: { params: { data: unknown } }) => {
          notes.push(n.params.data);
        },
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
      let mcp = "";
      try {
        const r = await client.callTool({ name: "execute_code", arguments: { code: CODE } });
        mcp = JSON.stringify(r);
      } finally {
        await client.close();
      }
      const reply = await gw.post("/v1/execute", { code: CODE });
      assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
      const response = await fetch(`${gw.url}/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ code: CODE }),
      });
      const events: string[] = [];
      for await (const { event, data } of sseEvents(response)) {
        if (event === "log") events.push(JSON.stringify(data));
      }
      assertEquals(events.length, 7, events.join("\n"));
      assertEquals(reply.body.logs.length, 7, JSON.stringify(reply.body.logs));
      assertEquals(notes.length, 7, JSON.stringify(notes));
      assertEquals(
        {
          result: raw(JSON.stringify(reply.body.result)),
          logs: raw(JSON.stringify(reply.body.logs)),
          notifications: raw(JSON.stringify(notes)),
          mcpResult: raw(mcp),
          sse: raw(events.join("\n")),
        },
        { result: [], logs: [], notifications: [], mcpResult: [], sse: [] },
        JSON.stringify(reply.body.logs),
      );
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "console objects: tokenize gives a logged value the placeholder the result gives it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({ pii: { mode: "tokenize" }, sandbox: SANDBOX });
    try {
      const reply = await gw.post("/v1/execute", {
        code: `const c = { credentials: { prod: ${JSON.stringify(SECRETS[0])} } };
               console.log(c); return c;`,
      });
      assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
      const placeholder = reply.body.result.credentials.prod;
      assertEquals(/^\[SECRET_\d+_[a-z]{7}\]$/.test(placeholder), true, placeholder);
      assertEquals(reply.body.logs[0].text.includes(placeholder), true, reply.body.logs[0].text);
      assertEquals(raw(JSON.stringify(reply.body)), []);
    } finally {
      await gw.close();
    }
  },
});

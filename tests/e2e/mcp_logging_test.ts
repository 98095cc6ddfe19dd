/**
 * MCP logging, end to end: the real gateway (`main.ts serve`) and the SDK client over
 * Streamable HTTP. `execute_code`'s console lines arrive as `notifications/message` while the
 * code runs, redacted, mapped to RFC 5424 levels, filtered by `logging/setLevel`, and capped
 * in size and number.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { assert, assertEquals } from "../assert.ts";
import { untag } from "../placeholders.ts";
import { startGatewayProcess, writeConfig } from "./process.ts";

interface LogMessage {
  level: string;
  logger?: string;
  data: unknown;
}

interface ToolResult {
  content: Array<{ type: string; text?: string }>;
  structuredContent?: { logs?: Array<{ level: string; text: string }>; result?: unknown };
  isError?: boolean;
}

/** Every console level once, and an e-mail address that must never leave unredacted. */
const ALL_LEVELS = `console.debug("a debug line");
console.log("mail ada.lovelace@example.com");
console.info("an info line");
console.warn("a warning line");
console.error("an error line");
return "done";`;

Deno.test({
  name: "mcp logging: execute_code's console lines as notifications/message, by level, redacted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-mcp-logging-" });
    const config = await writeConfig({
      servers: {},
      sandbox: { timeoutMs: 20_000, poolSize: 1 },
      selection: { embedder: "lexical", cacheDir: `${root}/embeddings` },
      audit: { path: ":memory:" },
    });
    const gw = await startGatewayProcess(config);
    const client = new Client({ name: "airlock-test", version: "1.0.0" });
    const messages: LogMessage[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n: { params: LogMessage }) => {
      messages.push(n.params as LogMessage);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
    const run = async (code: string) => {
      messages.length = 0;
      const result = await client.callTool({ name: "execute_code", arguments: { code } });
      return { result: result as ToolResult, messages: [...messages] };
    };
    try {
      await t.step("the server declares the logging capability", () => {
        assert(client.getServerCapabilities()?.logging, "no logging capability");
      });

      await t.step("without setLevel: info and above, levels mapped, text redacted", async () => {
        const { result, messages } = await run(ALL_LEVELS);
        assertEquals(result.structuredContent?.result, "done");
        assertEquals(untag(messages), [
          { level: "info", logger: "airlock", data: "mail [EMAIL_1]" },
          { level: "info", logger: "airlock", data: "an info line" },
          { level: "warning", logger: "airlock", data: "a warning line" },
          { level: "error", logger: "airlock", data: "an error line" },
        ]);
        // The same vault as the result: the notification and the result agree.
        const logs = result.structuredContent?.logs ?? [];
        assertEquals(logs.find((l) => l.level === "log")?.text, messages[0].data);
        assertEquals(untag(messages[0].data), "mail [EMAIL_1]");
      });

      await t.step("setLevel warning: only warning and error", async () => {
        assertEquals(await client.setLoggingLevel("warning"), {});
        const { messages } = await run(ALL_LEVELS);
        assertEquals(messages.map((m) => m.level), ["warning", "error"]);
      });

      await t.step("setLevel debug: every line, debug included", async () => {
        assertEquals(await client.setLoggingLevel("debug"), {});
        const { messages } = await run(ALL_LEVELS);
        assertEquals(messages.map((m) => m.level), ["debug", "info", "info", "warning", "error"]);
        assertEquals(messages[0].data, "a debug line");
        assert(!JSON.stringify(messages).includes("ada.lovelace"), JSON.stringify(messages));
      });

      await t.step("an unknown level is refused as invalid params", async () => {
        let refused: unknown;
        try {
          // deno-lint-ignore no-explicit-any
          await client.setLoggingLevel("loud" as any);
        } catch (error) {
          refused = error;
        }
        assert(refused, "setLevel accepted an unknown level");
        assert(/-32602|invalid/i.test(String(refused)), String(refused));
      });

      await t.step(
        "each message is cut to 2 KiB; 100 per execution, then one warning",
        async () => {
          assertEquals(await client.setLoggingLevel("info"), {});
          const { result, messages } = await run(
            `console.log("é".repeat(3000));
           for (let i = 0; i < 150; i++) console.log("line " + i);
           return "logged";`,
          );
          assertEquals(result.structuredContent?.result, "logged");
          assertEquals(result.structuredContent?.logs?.length, 151, "the result keeps every line");
          assertEquals(messages.length, 101);
          const first = String(messages[0].data);
          assert(first.endsWith("…"), first.slice(-10));
          const bytes = new TextEncoder().encode(first.slice(0, -1)).length;
          assert(bytes <= 2048 && bytes >= 2046, `cut to ${bytes} bytes`);
          assertEquals(messages[1].data, "line 0");
          assertEquals(messages[99].data, "line 98");
          assertEquals(messages[100].level, "warning");
          assert(/stop after 100/.test(String(messages[100].data)), String(messages[100].data));
        },
      );

      await t.step("a line arrives while the code is still running", async () => {
        // The code never ends by itself; only the first line's arrival makes the test cancel
        // the call. Sent at the end instead, nothing would arrive before the 20 s timeout.
        const controller = new AbortController();
        const seen: string[] = [];
        client.setNotificationHandler(
          LoggingMessageNotificationSchema,
          (n: { params: LogMessage }) => {
            seen.push(String(n.params.data));
            if (n.params.data === "started") controller.abort();
          },
        );
        let outcome: unknown;
        try {
          outcome = await client.callTool(
            {
              name: "execute_code",
              arguments: { code: `console.log("started"); while (true) {}` },
            },
            undefined,
            { signal: controller.signal, timeout: 60_000 },
          );
        } catch (error) {
          outcome = error;
        }
        assertEquals(seen, ["started"]);
        assert(controller.signal.aborted, `the call ended without the line: ${String(outcome)}`);
      });
    } finally {
      await client.close();
      await gw.stop();
      await Deno.remove(config);
      await Deno.remove(root, { recursive: true });
    }
  },
});

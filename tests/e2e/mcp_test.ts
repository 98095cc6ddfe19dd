/**
 * Airlock's MCP surface driven by real clients: the SDK client over stdio and over
 * Streamable HTTP, and the MCP Inspector CLI; progress notifications and cancellation.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { untag } from "../placeholders.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { MAIN, REPO, startGatewayProcess, tenantWithKey, writeConfig } from "./process.ts";

const INSPECTOR = "npm:@modelcontextprotocol/inspector@2.12.0";

interface ListedTool {
  name: string;
  description?: string;
  inputSchema: { properties?: Record<string, unknown> };
}

interface ToolResult {
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

async function fixtureConfig(extra: Record<string, unknown> = {}) {
  const root = await Deno.makeTempDir({ prefix: "airlock-mcp-" });
  await Deno.writeTextFile(`${root}/hello.txt`, "hello from the filesystem server");
  const config = await writeConfig({
    servers: { filesystem: filesystemServer(root) },
    sandbox: { timeoutMs: 15_000, poolSize: 1 },
    selection: { embedder: "lexical", cacheDir: `${root}/embeddings` },
    audit: { path: `${root}/audit.db` },
    ...extra,
  });
  return { root, config };
}

async function exerciseClient(client: Client, root: string) {
  const { tools } = await client.listTools() as { tools: ListedTool[] };
  const names = tools.map((t) => t.name).sort();
  assertEquals(names, ["execute_code", "search_tools"]);
  const execute = tools.find((t) => t.name === "execute_code")!;
  assertMatch(execute.description ?? "", /top-level `await`/);
  assertMatch(execute.description ?? "", /`filesystem` \(\d+ tools\)/);
  assertEquals(Object.keys(execute.inputSchema.properties ?? {}).sort(), [
    "check",
    "code",
    "intent",
    "tools",
  ]);

  const ok = await client.callTool({
    name: "execute_code",
    arguments: {
      code: `const f = await filesystem.readTextFile({ path: ${
        JSON.stringify(`${root}/hello.txt`)
      } });\nconsole.log("read it");\nreturn f.content.toUpperCase();`,
    },
  }) as ToolResult;
  assertEquals(ok.isError, false);
  assertEquals(ok.structuredContent?.result, "HELLO FROM THE FILESYSTEM SERVER");
  assertMatch(ok.content[0].text!, /HELLO FROM THE FILESYSTEM SERVER[\s\S]*\[log\] read it/);

  const failed = await client.callTool({
    name: "execute_code",
    arguments: { code: "const x = 1;\nthrow new Error('broken on purpose');" },
  }) as ToolResult;
  assertEquals(failed.isError, true);
  assertEquals((failed.structuredContent?.error as { kind: string; line: number }).line, 2);
  assertMatch(failed.content[0].text!, /Error \(runtime\) at line 2: Error: broken on purpose/);

  const search = await client.callTool({
    name: "search_tools",
    arguments: { query: "read a text file", k: 3 },
  }) as ToolResult;
  assertEquals(search.isError ?? false, false);
  const results = search.structuredContent?.results as Array<{ id: string; signature: string }>;
  assertEquals(results.length, 3);
  assert(results.some((r) => r.id === "filesystem.read_text_file"), JSON.stringify(results));
  assertMatch(search.content[0].text!, /filesystem\.readTextFile\(args/);
}

Deno.test({
  name: "mcp over stdio: the SDK client lists and calls execute_code and search_tools",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { root, config } = await fixtureConfig();
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", "-A", MAIN, "mcp", "--config", config],
      cwd: REPO,
      stderr: "ignore",
    });
    const client = new Client({ name: "airlock-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      await exerciseClient(client, root);
    } finally {
      await client.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "mcp over Streamable HTTP: sessions, auth, progress and cancellation",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { root, config } = await fixtureConfig({
      auth: { tenants: { acme: tenantWithKey("acme-key", { requestsPerMinute: 1000 }) } },
    });
    const gw = await startGatewayProcess(config);
    const connect = async (key?: string) => {
      const client = new Client({ name: "airlock-test", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
        requestInit: key ? { headers: { authorization: `Bearer ${key}` } } : undefined,
      });
      await client.connect(transport);
      return client;
    };
    try {
      await t.step("without a key the session is refused", async () => {
        let refused = false;
        try {
          await connect();
        } catch (error) {
          refused = true;
          assertMatch(String(error), /401|unauthorized|API key/i);
        }
        assert(refused, "connecting without a key must fail");
      });

      await t.step("with a key: the same results as over stdio", async () => {
        const client = await connect("acme-key");
        try {
          await exerciseClient(client, root);
        } finally {
          await client.close();
        }
      });

      await t.step("the MCP session keeps PII placeholders; the tool gets the value", async () => {
        await Deno.writeTextFile(`${root}/contact.txt`, "grace.hopper@example.net");
        const client = await connect("acme-key");
        let grace = "";
        try {
          const read = await client.callTool({
            name: "execute_code",
            arguments: {
              code: `return (await filesystem.readTextFile({ path: ${
                JSON.stringify(`${root}/contact.txt`)
              } })).content;`,
            },
          }) as ToolResult;
          grace = read.structuredContent?.result as string;
          assertEquals(untag(grace), "[EMAIL_1]");
          const write = await client.callTool({
            name: "execute_code",
            arguments: {
              code: `await filesystem.writeFile({ path: ${
                JSON.stringify(`${root}/copy.txt`)
              }, content: "to: ${grace}" }); return "written";`,
            },
          }) as ToolResult;
          assertEquals(write.structuredContent?.result, "written");
          assertEquals(await Deno.readTextFile(`${root}/copy.txt`), "to: grace.hopper@example.net");
        } finally {
          await client.close();
        }
        const other = await connect("acme-key");
        try {
          const refused = await other.callTool({
            name: "execute_code",
            arguments: {
              code: `await filesystem.writeFile({ path: ${
                JSON.stringify(`${root}/other.txt`)
              }, content: "to: ${grace}" }); return "written";`,
            },
          }) as ToolResult;
          // Another session does not know the placeholder: refused, nothing written.
          assertEquals(refused.isError, true);
          assertMatch(JSON.stringify(refused.structuredContent), /does not stand for any value/);
          assertEquals(
            await Deno.stat(`${root}/other.txt`).then(() => true, () => false),
            false,
            "another session does not know the placeholder",
          );
        } finally {
          await other.close();
        }
      });

      await t.step("a long execution reports progress", async () => {
        const client = await connect("acme-key");
        try {
          const progress: string[] = [];
          const result = await client.callTool(
            {
              name: "execute_code",
              arguments: {
                code: `for (let i = 0; i < 3; i++) {
                         console.log("step " + i);
                         await new Promise((r) => setTimeout(r, 700));
                       }
                       return "finished";`,
              },
            },
            undefined,
            {
              onprogress: (p: { message?: string }) => progress.push(String(p.message)),
              timeout: 30_000,
            },
          ) as ToolResult;
          assertEquals(result.structuredContent?.result, "finished");
          assert(progress.length >= 3, `progress notifications: ${JSON.stringify(progress)}`);
          assert(progress.some((m) => /running for \d+ s/.test(m)));
        } finally {
          await client.close();
        }
      });

      await t.step("cancelling a call stops its execution", async () => {
        const client = await connect("acme-key");
        try {
          const controller = new AbortController();
          const started = performance.now();
          const pending = client.callTool(
            { name: "execute_code", arguments: { code: "while (true) {}" } },
            undefined,
            { signal: controller.signal, timeout: 30_000 },
          );
          setTimeout(() => controller.abort("the user changed their mind"), 500);
          let rejected = false;
          try {
            await pending;
          } catch {
            rejected = true;
          }
          assert(rejected, "the client sees the call cancelled");
          // The execution ends long before its 15 s timeout, recorded as cancelled.
          const db = `${root}/audit.db`;
          let kinds: unknown[] = [];
          for (let i = 0; i < 100 && !kinds.includes("cancelled"); i++) {
            await new Promise((r) => setTimeout(r, 100));
            const sqlite = new DatabaseSync(db, { readOnly: true });
            kinds = sqlite.prepare("SELECT error_kind FROM executions").all()
              .map((r) => (r as { error_kind: unknown }).error_kind);
            sqlite.close();
          }
          assert(kinds.includes("cancelled"), `audit kinds: ${JSON.stringify(kinds)}`);
          assert(performance.now() - started < 12_000, "stopped well before the timeout");
          const after = await client.callTool({
            name: "execute_code",
            arguments: { code: "return 'still serving'" },
          }) as ToolResult;
          assertEquals(after.structuredContent?.result, "still serving");
        } finally {
          await client.close();
        }
      });
    } finally {
      await gw.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "mcp: the MCP Inspector CLI lists and calls execute_code",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { root, config } = await fixtureConfig();
    const inspector = async (...method: string[]) => {
      // The Inspector needs Node 22; Deno runs its CLI here. The gateway's config comes
      // through the child's environment because the Inspector owns `--config`.
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          INSPECTOR,
          "--cli",
          "-e",
          `AIRLOCK_CONFIG=${config}`,
          Deno.execPath(),
          "run",
          "-A",
          MAIN,
          "mcp",
          ...method,
        ],
        cwd: REPO,
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      assertEquals(output.code, 0, new TextDecoder().decode(output.stderr).slice(-2000));
      return JSON.parse(stdout.slice(stdout.indexOf("{")));
    };
    try {
      const listed = await inspector("--method", "tools/list");
      assertEquals(listed.tools.map((x: { name: string }) => x.name).sort(), [
        "execute_code",
        "search_tools",
      ]);
      const called = await inspector(
        "--method",
        "tools/call",
        "--tool-name",
        "execute_code",
        "--tool-arg",
        `code=const f = await filesystem.readTextFile({ path: "${root}/hello.txt" }); return f.content.length;`,
      );
      assertEquals(called.isError, false);
      assertEquals(called.structuredContent.result, "hello from the filesystem server".length);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

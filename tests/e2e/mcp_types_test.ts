/**
 * The tools' declarations as MCP resources, with the SDK client over Streamable HTTP:
 * listing, reading, `notifications/resources/list_changed` when an upstream server's tools
 * change, and `execute_code` with `check: true`.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { assert, assertEquals, assertIncludes, assertMatch, assertRejects } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

Deno.test({
  name: "mcp: declarations as resources follow the catalogue; execute_code checks",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let gw: TestGateway | undefined;
    let client: Client | undefined;
    try {
      gw = await startTestGateway({
        servers: { paged: fixtureServer("paginated"), ledger: fixtureServer("ledger") },
      });
      client = new Client({ name: "airlock-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
      const c = client;
      let changed = 0;
      c.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
        changed++;
      });
      const text = async (uri: string) => {
        const read = await c.readResource({ uri });
        assertEquals(read.contents.length, 1);
        return (read.contents[0] as { text: string }).text;
      };

      await t.step("the server announces resources with listChanged", () => {
        assertEquals(c.getServerCapabilities()?.resources?.listChanged, true);
      });

      await t.step("resources/list: the index, one file per namespace, tools.d.ts", async () => {
        const { resources } = await c.listResources();
        assertEquals(resources.map((r: { uri: string }) => r.uri).sort(), [
          "airlock://types/index.json",
          "airlock://types/ledger.d.ts",
          "airlock://types/paged.d.ts",
          "airlock://types/tools.d.ts",
        ]);
        const index = JSON.parse(await text("airlock://types/index.json"));
        assertEquals(index.namespaces.map((n: { uri: string }) => n.uri), [
          "airlock://types/ledger.d.ts",
          "airlock://types/paged.d.ts",
        ]);
        assertEquals(index.common, "airlock://types/tools.d.ts");
      });

      await t.step("resources/read: a namespace's declarations", async () => {
        const paged = await text("airlock://types/paged.d.ts");
        assertIncludes(paged, "declare const paged: {");
        assertIncludes(paged, "tool00(args?: {");
        assertIncludes(paged, "echoed: string;");
        const common = await text("airlock://types/tools.d.ts");
        assertIncludes(common, '"paged.tool_00": typeof paged.tool00;');
        assertIncludes(common, "declare class ToolError");
        await assertRejects(
          () => c.readResource({ uri: "airlock://types/nothing.d.ts" }),
          /not found/,
        );
      });

      await t.step("a catalogue change is announced and the declarations follow it", async () => {
        const before = changed;
        const reply = await c.callTool({
          name: "execute_code",
          arguments: { code: `return await paged.addTool({ name: "fresh_tool" });`, check: true },
        });
        assertEquals(reply.isError, false, JSON.stringify(reply.structuredContent));
        for (let i = 0; i < 100 && changed === before; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert(changed > before, "no notifications/resources/list_changed arrived");
        for (let i = 0; i < 100; i++) {
          if ((await text("airlock://types/paged.d.ts")).includes("freshTool(")) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assertIncludes(await text("airlock://types/paged.d.ts"), "freshTool(");
      });

      await t.step(
        "execute_code with check: true refuses a wrong program and runs nothing",
        async () => {
          const reply = await c.callTool({
            name: "execute_code",
            arguments: {
              code:
                `await ledger.write({ key: "k" });\nconst r = await paged.tool00({ value: "x" });\nreturn r.echoe;`,
              check: true,
            },
          });
          assertEquals(reply.isError, true);
          const structured = reply.structuredContent as {
            error: { kind: string; diagnostics: { line: number; message: string }[] };
          };
          assertEquals(structured.error.kind, "type");
          assertEquals(structured.error.diagnostics[0].line, 3);
          assertIncludes(structured.error.diagnostics[0].message, "Did you mean 'echoed'?");
          const content = reply.content as { type: string; text: string }[];
          assertMatch(content[0].text, /^Error \(type\) at line 3:/);
          const ledger = await c.callTool({
            name: "execute_code",
            arguments: { code: "return await ledger.ledger();" },
          });
          assertEquals(
            (ledger.structuredContent as { result: { writes: string[] } }).result.writes,
            [],
          );
        },
      );
    } finally {
      await client?.close();
      await gw?.close();
    }
  },
});

/**
 * Dumps the real `tools/list` of the MCP reference servers published on npm into
 * `bench/data/reference_tools.json`, so the retrieval evaluation uses their genuine
 * names, descriptions and input schemas.
 *
 * Run: `deno run -A bench/data/dump_reference_tools.ts` (needs npx and the npm registry).
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const servers: Record<string, string[]> = {
  filesystem: ["-y", "@modelcontextprotocol/server-filesystem", Deno.cwd()],
  memory: ["-y", "@modelcontextprotocol/server-memory"],
  everything: ["-y", "@modelcontextprotocol/server-everything"],
};

const out: Record<string, { instructions?: string; tools: unknown[] }> = {};
for (const [name, args] of Object.entries(servers)) {
  const transport = new StdioClientTransport({ command: "npx", args, stderr: "ignore" });
  const client = new Client({ name: "airlock-dump", version: "0.0.0" });
  await client.connect(transport);
  const { tools } = await client.listTools();
  out[name] = {
    instructions: client.getInstructions(),
    tools: tools.map((t: { name: string; description?: string; inputSchema: unknown }) => ({
      name: t.name,
      description: t.description ?? "",
      inputSchema: t.inputSchema,
    })),
  };
  console.error(`${name}: ${tools.length} tools`);
  await client.close();
}
const target = new URL("./reference_tools.json", import.meta.url);
await Deno.writeTextFile(target, JSON.stringify(out, null, 2) + "\n");

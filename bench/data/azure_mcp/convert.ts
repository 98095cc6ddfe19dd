/**
 * Converts the public tool-retrieval set of the Azure MCP Server (github.com/microsoft/mcp,
 * MIT licence, `eng/tools/ToolDescriptionEvaluator/{tools,prompts}.json` at commit
 * 2c930f6f591f94a1b52a2fecc26fe0f076ce38fa, 2025-12-01) into this folder's compact format.
 *
 * `deno run -A bench/data/azure_mcp/convert.ts TOOLS.json PROMPTS.json`
 *
 * - Each tool's namespace (the first word of its command, `acr`, `cosmos`, …) becomes its
 *   server; the rest of the command, joined with `_`, its name (`acr registry list` →
 *   `acr.registry_list`). Descriptions are kept as published.
 * - Options become parameters (`--resource-group` → `resource-group`), with their
 *   descriptions; the seven options every tool shares (tenant, auth method, retry settings)
 *   are left out: they say nothing about which tool is meant, and they were 70 % of the file.
 * - `prompts.json` maps a tool (`acr_registry_list`) to the prompts written for it; each
 *   prompt becomes a query whose gold tool is that one. Prompts of tools missing from
 *   `tools.json` are skipped.
 *
 * @module
 */

const SHARED = new Set([
  "--tenant",
  "--auth-method",
  "--retry-delay",
  "--retry-max-delay",
  "--retry-max-retries",
  "--retry-mode",
  "--retry-network-timeout",
]);

interface Option {
  name: string;
  description: string;
  type?: string;
  required?: boolean | null;
}
interface Tool {
  description: string;
  command: string;
  option?: Option[] | null;
}

const [toolsPath, promptsPath] = Deno.args;
const tools = (JSON.parse(await Deno.readTextFile(toolsPath)) as { results: Tool[] }).results;
const prompts = JSON.parse(await Deno.readTextFile(promptsPath)) as Record<string, string[]>;

const servers: Record<string, { source: string; tools: unknown[] }> = {};
const ids = new Map<string, string>();
for (const tool of tools) {
  const [server, ...rest] = tool.command.trim().split(/\s+/);
  const name = rest.join("_");
  ids.set(tool.command.trim().split(/\s+/).join("_"), `${server}.${name}`);
  const params: Record<string, string> = {};
  for (const option of tool.option ?? []) {
    if (SHARED.has(option.name)) continue;
    const key = option.name.replace(/^--/, "") + (option.required ? "" : "?");
    params[key] = `${option.type ?? "string"}: ${option.description.replace(/\s+/g, " ").trim()}`;
  }
  servers[server] ??= {
    source: "Azure MCP Server (github.com/microsoft/mcp, MIT), `azmcp tools list` as published",
    tools: [],
  };
  servers[server].tools.push([name, tool.description.replace(/\r\n/g, "\n"), params]);
}
const queries: Array<[string, string[]]> = [];
for (const [key, list] of Object.entries(prompts)) {
  const id = ids.get(key);
  if (!id) continue;
  for (const prompt of list) queries.push([prompt, [id]]);
}
const here = new URL(".", import.meta.url);
await Deno.writeTextFile(new URL("catalogue.json", here), JSON.stringify(servers, null, 1) + "\n");
await Deno.writeTextFile(new URL("queries.json", here), JSON.stringify(queries, null, 1) + "\n");
console.log(
  `${tools.length} tools in ${Object.keys(servers).length} servers, ${queries.length} queries`,
);

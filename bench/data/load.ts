/**
 * Loads the retrieval evaluation set: the tool catalogue (`reference_tools.json`, the real
 * `tools/list` of three reference servers, plus `catalogue.json`, the published tool lists of
 * well-known MCP servers in a compact form) and the labelled queries (`queries.json`).
 *
 * Compact tool form: `[name, description, { "param": "type: description", "opt?": … }]`, where
 * `type` is `string`, `number`, `integer`, `boolean`, `object`, `array`, `string[]` or
 * `enum(a,b,c)`; a trailing `?` marks an optional parameter.
 *
 * @module
 */
import type { JsonSchema, ToolInfo } from "../../upstream/types.ts";

/** One labelled query: the tools (ids `server.tool`) a correct selection must contain. */
export interface EvalQuery {
  /** The natural-language request. */
  query: string;
  /** The ids of the tools it needs. */
  tools: string[];
}

type CompactTool = [string, string, Record<string, string>];
interface CompactServer {
  source: string;
  instructions?: string;
  tools: CompactTool[];
}
interface ReferenceServer {
  instructions?: string;
  tools: Array<{ name: string; description: string; inputSchema: JsonSchema }>;
}

function paramSchema(spec: string): JsonSchema {
  const colon = spec.indexOf(":");
  const type = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const description = colon < 0 ? "" : spec.slice(colon + 1).trim();
  let schema: JsonSchema;
  const enumMatch = /^enum\((.*)\)$/.exec(type);
  if (enumMatch) schema = { type: "string", enum: enumMatch[1].split(",") };
  else if (type === "string[]") schema = { type: "array", items: { type: "string" } };
  else schema = { type };
  return description ? { ...schema, description } : schema;
}

/** Expands a compact tool into the JSON Schema an MCP server would send. */
export function expandTool(server: string, tool: CompactTool, instructions?: string): ToolInfo {
  const [name, description, params] = tool;
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, spec] of Object.entries(params)) {
    const optional = key.endsWith("?");
    const prop = optional ? key.slice(0, -1) : key;
    properties[prop] = paramSchema(spec);
    if (!optional) required.push(prop);
  }
  return {
    id: `${server}.${name}`,
    server,
    name,
    description,
    inputSchema: { type: "object", properties, required },
    ...(instructions ? { serverInstructions: instructions } : {}),
  };
}

/** The whole evaluation catalogue as `ToolInfo`s. */
export async function loadCatalogue(): Promise<ToolInfo[]> {
  const dir = new URL(".", import.meta.url);
  const reference = JSON.parse(
    await Deno.readTextFile(new URL("reference_tools.json", dir)),
  ) as Record<string, ReferenceServer>;
  const compact = JSON.parse(
    await Deno.readTextFile(new URL("catalogue.json", dir)),
  ) as Record<string, CompactServer>;
  const tools: ToolInfo[] = [];
  for (const [server, entry] of Object.entries(reference)) {
    for (const t of entry.tools) {
      tools.push({
        id: `${server}.${t.name}`,
        server,
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema,
        ...(entry.instructions ? { serverInstructions: entry.instructions } : {}),
      });
    }
  }
  for (const [server, entry] of Object.entries(compact)) {
    for (const t of entry.tools) tools.push(expandTool(server, t, entry.instructions));
  }
  return tools;
}

/** The labelled queries. */
export async function loadQueries(): Promise<EvalQuery[]> {
  const raw = JSON.parse(
    await Deno.readTextFile(new URL("queries.json", import.meta.url)),
  ) as Array<[string, string[]]>;
  return raw.map(([query, tools]) => ({ query, tools }));
}

/**
 * Pads a catalogue to `size` tools with synthetic variants (renamed servers `<server>_<n>`,
 * descriptions suffixed with the variant's region), for latency figures only.
 */
export function padCatalogue(tools: ToolInfo[], size: number): ToolInfo[] {
  const regions = ["eu", "us", "apac", "staging", "archive", "sandbox", "legacy", "mirror"];
  const out = [...tools];
  for (let n = 1; out.length < size; n++) {
    for (const t of tools) {
      if (out.length >= size) break;
      const server = `${t.server}_${regions[(n - 1) % regions.length]}${n}`;
      out.push({
        ...t,
        id: `${server}.${t.name}`,
        server,
        description: `${t.description} (${regions[(n - 1) % regions.length]} instance ${n})`,
      });
    }
  }
  return out;
}

/**
 * The public set brought in from the Azure MCP Server (github.com/microsoft/mcp, MIT; see
 * `azure_mcp/convert.ts` for the source commit and the conversion): 180 tools over 44
 * namespaces (servers here) and 474 prompts, each labelled with the one tool it was written
 * for.
 */
export async function loadAzureMcp(): Promise<{ catalogue: ToolInfo[]; queries: EvalQuery[] }> {
  const dir = new URL("azure_mcp/", import.meta.url);
  const compact = JSON.parse(
    await Deno.readTextFile(new URL("catalogue.json", dir)),
  ) as Record<string, CompactServer>;
  const catalogue: ToolInfo[] = [];
  for (const [server, entry] of Object.entries(compact)) {
    for (const t of entry.tools) catalogue.push(expandTool(server, t, entry.instructions));
  }
  const raw = JSON.parse(
    await Deno.readTextFile(new URL("queries.json", dir)),
  ) as Array<[string, string[]]>;
  return { catalogue, queries: raw.map(([query, tools]) => ({ query, tools })) };
}

/**
 * A fixed split of queries into a tuning half and a test half, by a hash of the query text
 * (FNV-1a), so it does not depend on the order of the file.
 */
export function splitQueries(queries: EvalQuery[]): { tune: EvalQuery[]; test: EvalQuery[] } {
  const tune: EvalQuery[] = [];
  const test: EvalQuery[] = [];
  for (const q of queries) {
    let h = 0x811c9dc5;
    for (let i = 0; i < q.query.length; i++) {
      h ^= q.query.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    (h % 2 === 0 ? tune : test).push(q);
  }
  return { tune, test };
}

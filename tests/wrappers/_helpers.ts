/**
 * Shared helpers of the wrappers tests: the captured reference-server catalogues and a
 * small ToolInfo builder.
 *
 * @module
 */
import type { JsonSchema, ToolInfo } from "../../upstream/types.ts";

/** The reference servers whose `tools/list` output is saved under `fixtures/`. */
export const FIXTURE_SERVERS = ["everything", "filesystem", "memory"] as const;

/** One saved `tools/list` entry. */
interface McpTool {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
  outputSchema?: JsonSchema;
  annotations?: Record<string, unknown>;
}

/** The catalogue of one fixture server as the upstream layer would build it. */
export function fixtureTools(server: (typeof FIXTURE_SERVERS)[number]): ToolInfo[] {
  const file = new URL(`./fixtures/${server}.tools.json`, import.meta.url);
  const { tools } = JSON.parse(Deno.readTextFileSync(file)) as { tools: McpTool[] };
  return tools.map((t) => ({
    id: `${server}.${t.name}`,
    server,
    name: t.name,
    description: t.description ?? "",
    inputSchema: t.inputSchema,
    ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
    ...(t.annotations ? { annotations: t.annotations } : {}),
  }));
}

/** Every fixture tool of every reference server. */
export function fixtureCatalogue(): ToolInfo[] {
  return FIXTURE_SERVERS.flatMap((s) => fixtureTools(s));
}

/** A minimal ToolInfo for hand-written cases. */
export function tool(
  server: string,
  name: string,
  inputSchema: JsonSchema = { type: "object", properties: {} },
  extra: Partial<ToolInfo> = {},
): ToolInfo {
  return { id: `${server}.${name}`, server, name, description: "", inputSchema, ...extra };
}

/**
 * Reading a server's tool list: every page of `tools/list`, turned into catalogue
 * entries.
 *
 * @module
 */

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";

import type { ToolInfo } from "./types.ts";

/** More pages than any real server sends; past it we assume a cursor loop. */
const MAX_PAGES = 1000;

/**
 * Every tool the server lists, following `nextCursor` until the last page. Stops with an
 * error when a cursor repeats or there are more than 1,000 pages (a broken server).
 *
 * @param client a connected client
 * @param options timeout and abort signal for each page request
 */
export async function listAllTools(client: Client, options: RequestOptions = {}): Promise<Tool[]> {
  const tools: Tool[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.listTools(cursor === undefined ? {} : { cursor }, options);
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) {
      rememberOutputSchemas(client, tools);
      return tools;
    }
    if (seenCursors.has(cursor)) throw new Error(`tools/list repeated cursor ${cursor}`);
    seenCursors.add(cursor);
  }
  throw new Error(`tools/list returned more than ${MAX_PAGES} pages`);
}

/**
 * The SDK validates `structuredContent` against each tool's `outputSchema`, but it
 * rebuilds its validator table from every `tools/list` page it sees, so after a paginated
 * listing only the last page's tools would be checked. Give it the whole list.
 */
function rememberOutputSchemas(client: Client, tools: Tool[]): void {
  const sdk = client as unknown as { cacheToolMetadata?: (tools: Tool[]) => void };
  if (typeof sdk.cacheToolMetadata === "function") sdk.cacheToolMetadata(tools);
}

/**
 * Catalogue entries for one server's tools, in the server's order. A name listed twice
 * keeps its first entry.
 *
 * @param server the config key of the server
 * @param tools the tools as the server listed them
 * @param instructions the server's `instructions` from its initialize result
 */
export function toToolInfos(server: string, tools: Tool[], instructions?: string): ToolInfo[] {
  const infos: ToolInfo[] = [];
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name)) continue;
    seen.add(tool.name);
    const info: ToolInfo = {
      id: `${server}.${tool.name}`,
      server,
      name: tool.name,
      description: tool.description ?? "",
      inputSchema: tool.inputSchema as Record<string, unknown>,
    };
    if (tool.outputSchema) info.outputSchema = tool.outputSchema as Record<string, unknown>;
    if (tool.annotations) info.annotations = { ...tool.annotations };
    if (instructions) info.serverInstructions = instructions;
    infos.push(info);
  }
  return infos;
}

/**
 * Reading a server's tool list: every page of `tools/list`, each tool vetted on its own
 * (`vet.ts`) so that one bad entry cannot fail the whole list.
 *
 * @module
 */

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import { z } from "zod";

/** More pages than any real server sends; past it we assume a cursor loop. */
const MAX_PAGES = 1000;

/**
 * A `tools/list` page as far as the gateway relies on it: an array of entries (each one
 * vetted later, on its own) and an optional cursor. The SDK's `ListToolsResultSchema`
 * would reject the whole page for one tool it does not like.
 */
const ToolsPageSchema = z.looseObject({
  tools: z.array(z.unknown()),
  nextCursor: z.string().nullish(),
});

/**
 * Every entry the server lists, unvalidated, following `nextCursor` until the last page
 * (a missing, `null` or empty cursor ends the list). Stops with an error when a page has
 * no `tools` array, a cursor repeats, or there are more than 1,000 pages (a broken server).
 *
 * @param client a connected client
 * @param options timeout and abort signal for each page request
 * @returns the `tools` arrays of all pages, concatenated; vet them with `vetTools`
 */
export async function listAllTools(
  client: Client,
  options: RequestOptions = {},
): Promise<unknown[]> {
  const tools: unknown[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.request(
      { method: "tools/list", params: cursor === undefined ? {} : { cursor } },
      ToolsPageSchema,
      options,
    );
    for (const tool of result.tools) tools.push(tool);
    cursor = result.nextCursor || undefined;
    if (cursor === undefined) return tools;
    if (seenCursors.has(cursor)) {
      throw new Error(`tools/list repeated cursor ${JSON.stringify(cursor.slice(0, 100))}`);
    }
    seenCursors.add(cursor);
  }
  throw new Error(`tools/list returned more than ${MAX_PAGES} pages`);
}

/**
 * The tools' TypeScript declarations as files an agent can browse: one `<namespace>.d.ts` per
 * namespace the caller may use and `tools.d.ts` (`ToolError` and `tools`, with `tools.call`
 * typed by id), listed by an index. Served as MCP resources (`airlock://types/…`) and over
 * HTTP (`GET /v1/types/…`). Only the caller's tools appear, from the redacted listing; they
 * are the declarations `check: true` checks against (every tool typed, no lazy index
 * signature), except where redaction replaced personal data in a schema.
 *
 * @module
 */

import type { ToolInfo } from "../upstream/mod.ts";
import {
  declarationsFor,
  type NameMap,
  TOOL_ERROR_DECLARATION,
  typedToolsDeclaration,
} from "../wrappers/mod.ts";

/** The file of the common declarations (`ToolError`, `tools`); no namespace has this name. */
export const COMMON_TYPES_FILE = "tools.d.ts";

/** One namespace in the index. */
export interface TypeNamespace {
  /** The global the code uses (`filesystem`). */
  namespace: string;
  /** The server's config key. */
  server: string;
  /** The file name (`filesystem.d.ts`). */
  file: string;
  /** Tools of the namespace the caller may use. */
  tools: number;
}

/** The namespaces of `tools` (the caller's), sorted by namespace. */
export function typeNamespaces(tools: readonly ToolInfo[], names: NameMap): TypeNamespace[] {
  const byServer = new Map<string, number>();
  for (const t of tools) byServer.set(t.server, (byServer.get(t.server) ?? 0) + 1);
  return [...byServer].map(([server, count]) => {
    const namespace = names.namespaces.get(server) ?? server;
    return { namespace, server, file: `${namespace}.d.ts`, tools: count };
  }).sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
}

/**
 * The text of one file (`<namespace>.d.ts` or {@link COMMON_TYPES_FILE}) for the caller's
 * `tools`, or `undefined` when there is no such file for this caller.
 */
export function typeFile(
  tools: readonly ToolInfo[],
  names: NameMap,
  file: string,
): string | undefined {
  if (file === COMMON_TYPES_FILE) {
    const ids = new Map<string, string>();
    for (const t of tools) {
      const ns = names.namespaces.get(t.server);
      const fn = names.functions.get(t.id);
      if (ns && fn) ids.set(t.id, `${ns}.${fn}`);
    }
    return "// Airlock sandbox API: ToolError and tools (generated).\n\n" +
      `${TOOL_ERROR_DECLARATION}\n${typedToolsDeclaration(ids)}`;
  }
  const entry = typeNamespaces(tools, names).find((n) => n.file === file);
  if (!entry) return undefined;
  return declarationsFor(tools.filter((t) => t.server === entry.server), {
    names,
    servers: [entry.server],
    lazy: false,
    common: false,
  });
}

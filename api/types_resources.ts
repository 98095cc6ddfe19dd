/**
 * The tools' TypeScript declarations as MCP resources, for one session's tenant:
 * `airlock://types/index.json` lists the namespaces, `airlock://types/<namespace>.d.ts` holds
 * one namespace's declarations and `airlock://types/tools.d.ts` holds `ToolError` and `tools`
 * (with `tools.call` typed by id). `notifications/resources/list_changed` goes out when the
 * upstream catalogue changes.
 *
 * @module
 */

import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { COMMON_TYPES_FILE, type Gateway, type Tenant } from "../gateway/mod.ts";

/** The URI of the index resource. */
export const TYPES_INDEX_URI = "airlock://types/index.json";
/** The prefix of every declaration resource. */
export const TYPES_URI_PREFIX = "airlock://types/";

const TYPESCRIPT = "application/typescript";

/**
 * Registers the resources on `server` and subscribes it to catalogue changes.
 * @returns a function that unsubscribes (call it when the session closes)
 */
export function registerTypeResources(
  server: McpServer,
  gateway: Gateway,
  tenant: Tenant,
): () => void {
  const index = () => ({
    namespaces: gateway.typeNamespaces(tenant).map((n) => ({
      ...n,
      uri: TYPES_URI_PREFIX + encodeURIComponent(n.file),
    })),
    common: TYPES_URI_PREFIX + COMMON_TYPES_FILE,
  });
  server.registerResource("types-index", TYPES_INDEX_URI, {
    title: "Tool declarations: index",
    description: "The namespaces the code can use, each with the URI of its TypeScript " +
      "declarations (.d.ts), and the URI of tools.d.ts (ToolError and tools.call/search).",
    mimeType: "application/json",
  }, (uri: URL) => {
    // Each read took one request of the rate limit at the transport (api/mcp_gate.ts).
    return {
      contents: [{
        uri: uri.href,
        mimeType: "application/json",
        text: JSON.stringify(index(), null, 2),
      }],
    };
  });
  server.registerResource(
    "types",
    new ResourceTemplate(`${TYPES_URI_PREFIX}{file}`, {
      list: () => ({
        resources: [
          ...gateway.typeNamespaces(tenant).map((n) => ({
            uri: TYPES_URI_PREFIX + encodeURIComponent(n.file),
            name: n.file,
            title: `${n.namespace}: ${n.tools} tool${n.tools === 1 ? "" : "s"}`,
            mimeType: TYPESCRIPT,
          })),
          {
            uri: TYPES_URI_PREFIX + COMMON_TYPES_FILE,
            name: COMMON_TYPES_FILE,
            title: "ToolError and tools (call by id, search)",
            mimeType: TYPESCRIPT,
          },
        ],
      }),
    }),
    {
      description: "TypeScript declarations of one namespace's tools, as the code calls them.",
      mimeType: TYPESCRIPT,
    },
    (uri: URL, variables: Record<string, string | string[]>) => {
      const raw = variables.file;
      const file = decodeURIComponent(Array.isArray(raw) ? raw[0] ?? "" : raw ?? "");
      const text = file.length <= 256 ? gateway.typeFile(tenant, file) : undefined;
      // Unknown and not allowed look the same: no other tenant's tools are revealed.
      if (text === undefined) {
        throw new McpError(ErrorCode.InvalidParams, `Resource ${uri.href} not found`);
      }
      return { contents: [{ uri: uri.href, mimeType: TYPESCRIPT, text }] };
    },
  );
  return gateway.onTypesChange(() => server.sendResourceListChanged());
}

/**
 * Types shared by the upstream layer and its consumers (`wrappers`, `gateway`).
 *
 * @module
 */

/** JSON Schema as an MCP server sends it; we never assume more structure than this. */
export type JsonSchema = Record<string, unknown>;

/** One tool of one upstream MCP server, as kept in the catalogue. */
export interface ToolInfo {
  /** `server.tool_name`: the config key of the server, a dot, the tool's MCP name. */
  id: string;
  /** The config key of the server (the namespace in sandbox code). */
  server: string;
  /** The tool's name as the MCP server reports it. */
  name: string;
  /** The tool's description, or `""`. */
  description: string;
  /** The tool's `inputSchema`. */
  inputSchema: JsonSchema;
  /** The tool's `outputSchema`, when the server declares one. */
  outputSchema?: JsonSchema;
  /** MCP tool annotations (`readOnlyHint`, `title`, …), when present. */
  annotations?: Record<string, unknown>;
  /** The server's `instructions` from its initialize result, when present. */
  serverInstructions?: string;
}

/**
 * An operator's corrections of a server's tool annotations, by the tool's MCP name: the keys
 * given replace the server's (`{ "write_file": { "destructiveHint": false } }`).
 */
export type ToolAnnotationOverrides = Record<string, Record<string, unknown>>;

/** An upstream server started as a subprocess and spoken to over stdio. */
export interface StdioServerConfig {
  /** Corrections of the annotations the server declares. */
  toolAnnotations?: ToolAnnotationOverrides;
  /** The program to run, e.g. `npx`. */
  command: string;
  /** Its arguments. */
  args?: string[];
  /** Extra environment variables for it (added to a minimal base environment). */
  env?: Record<string, string>;
  /** Working directory; defaults to the gateway's. */
  cwd?: string;
}

/** An upstream server reached over MCP Streamable HTTP. */
export interface HttpServerConfig {
  /** Corrections of the annotations the server declares. */
  toolAnnotations?: ToolAnnotationOverrides;
  /** The MCP endpoint, e.g. `http://127.0.0.1:9000/mcp`. */
  url: string;
  /** Extra request headers (for example an `Authorization` header). */
  headers?: Record<string, string>;
}

/** One entry of the config's `servers` section. */
export type ServerConfig = StdioServerConfig | HttpServerConfig;

/**
 * Airlock as an MCP server: tools `execute_code` and `search_tools`, over stdio
 * (`deno task mcp`) and over Streamable HTTP at `/mcp` (one server and transport per MCP
 * session, as the SDK defines them). Results are `structuredContent` plus a readable
 * text; failed code sets `isError`. Long executions send progress notifications and
 * honour cancellation. The MCP session plays the role of `X-Airlock-Session`.
 *
 * @module
 */

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { z } from "zod";
import { GatewayError } from "./errors.ts";
import type { Gateway } from "./gateway.ts";
import type { ExecuteResponse } from "./schemas.ts";
import type { Tenant } from "./tenants.ts";

const SERVER_INFO = { name: "airlock", version: "1.0.0" };
const PROGRESS_INTERVAL_MS = 1000;
const TEXT_RESULT_CHARS = 8000;

/** The description of `execute_code`: how to write code for Airlock, and what exists. */
export function executeCodeDescription(gateway: Gateway, tenant: Tenant): string {
  const tools = gateway.listTools(tenant);
  const names = gateway.names();
  const perServer = new Map<string, number>();
  for (const t of tools) perServer.set(t.server, (perServer.get(t.server) ?? 0) + 1);
  const namespaces = [...perServer].map(([server, n]) =>
    `- \`${names.namespaces.get(server) ?? server}\` (${n} tools)`
  );
  return [
    "Run a TypeScript program in a locked-down sandbox and get back only its return value.",
    "Use it instead of many single tool calls: read, filter and combine data inside the code,",
    "and return just the small answer. Intermediate data never enters your context.",
    "",
    "How to write the code:",
    "- Plain TypeScript; top-level `await` and a top-level `return` (the returned value is the result, as JSON).",
    "- Each MCP server is a namespace; each tool a camelCase async function with one object argument:",
    "  `const f = await filesystem.readTextFile({ path: 'a.json' })`.",
    '- `await tools.call("server.tool_name", args)` calls a tool by id; `await tools.search("what you need", 5)`',
    "  returns `[{ id, description, signature }]` to discover tools and their argument types.",
    "- A failed tool call throws `ToolError` (catch it to carry on). `console.log` output is returned as logs.",
    "- No network, files, environment or subprocesses: only the tools. There is a timeout and a memory limit.",
    "- Personal data in results is replaced by placeholders such as [EMAIL_1]; pass a placeholder to a tool",
    "  and the tool receives the real value.",
    "- Pass `intent` (what the code is for) to help pick tools, or `tools` (ids) to inject exactly those.",
    "",
    namespaces.length > 0
      ? "Namespaces:\n" + namespaces.join("\n")
      : "No tool servers are connected.",
  ].join("\n");
}

/** Renders an execution for the text part of a tool result. */
export function renderExecution(response: ExecuteResponse): string {
  const lines: string[] = [];
  if (response.ok) {
    const json = response.result === undefined ? "(no value)" : JSON.stringify(response.result);
    lines.push(
      json.length > TEXT_RESULT_CHARS
        ? `${json.slice(0, TEXT_RESULT_CHARS)}… (${json.length} characters; see structuredContent)`
        : json,
    );
  } else {
    const e = response.error!;
    lines.push(`Error (${e.kind})${e.line ? ` at line ${e.line}` : ""}: ${e.message}`);
  }
  if (response.logs.length > 0) {
    lines.push("", "Logs:", ...response.logs.map((l) => `[${l.level}] ${l.text}`));
  }
  if (response.tools.calls.length > 0) {
    const failed = response.tools.calls.filter((c) => !c.ok).length;
    lines.push("", `Tool calls: ${response.tools.calls.length} (${failed} failed)`);
  }
  return lines.join("\n");
}

/** The arguments of `execute_code`. */
interface ExecuteCodeArgs {
  code: string;
  intent?: string;
  tools?: string[];
}

/** What this module uses of the SDK's per-request context. */
interface ToolExtra {
  signal: AbortSignal;
  sessionId?: string;
  requestId?: string | number;
  _meta?: { progressToken?: string | number };
  sendNotification(notification: {
    method: "notifications/progress";
    params: { progressToken: string | number; progress: number; message?: string };
  }): Promise<void>;
}

/** Who an MCP server instance serves. */
export interface McpContext {
  /** The tenant (from the API key at session start, or local). */
  tenant: Tenant;
  /** A stable session id for PII placeholders when the transport has none (stdio). */
  fallbackSessionId: string;
}

/** Creates one MCP server for one client session. */
export function createMcpServer(gateway: Gateway, context: McpContext): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions: "Airlock runs TypeScript that calls MCP tools inside a sandbox. " +
      "Use execute_code to do many tool calls in one round trip; search_tools to find tools.",
  });

  server.registerTool("execute_code", {
    title: "Execute TypeScript with MCP tools",
    description: executeCodeDescription(gateway, context.tenant),
    inputSchema: {
      code: z.string().min(1).describe("The TypeScript program; `return` its answer."),
      intent: z.string().optional().describe("What the code is for (helps pick tools)."),
      tools: z.array(z.string()).optional().describe('Tool ids ("server.tool") to inject.'),
    },
    annotations: { openWorldHint: true },
  }, async (args: ExecuteCodeArgs, extra: ToolExtra) => {
    const progressToken = extra._meta?.progressToken;
    let progress = 0;
    const notify = (message: string) => {
      if (progressToken === undefined) return;
      progress++;
      extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken, progress, message: message.slice(0, 500) },
      }).catch(() => {});
    };
    const started = Date.now();
    const heartbeat = setInterval(
      () => notify(`running for ${Math.round((Date.now() - started) / 1000)} s`),
      PROGRESS_INTERVAL_MS,
    );
    try {
      gateway.limiter.take(context.tenant);
      const response = await gateway.execute(
        { code: args.code, intent: args.intent, tools: args.tools },
        {
          tenant: context.tenant,
          requestId: String(extra.requestId ?? crypto.randomUUID()),
          sessionId: extra.sessionId ?? context.fallbackSessionId,
          signal: extra.signal,
          transport: "mcp",
          // Log lines are redacted in the response; progress carries only a count.
          onLog: () => notify("the code wrote a log line"),
        },
      );
      return {
        content: [{ type: "text" as const, text: renderExecution(response) }],
        structuredContent: response as unknown as Record<string, unknown>,
        isError: !response.ok,
      };
    } catch (error) {
      return requestError(error);
    } finally {
      clearInterval(heartbeat);
    }
  });

  server.registerTool("search_tools", {
    title: "Search the available MCP tools",
    description: "Find tools by what they do. Returns ids, scores, descriptions and the " +
      "TypeScript signature to call from execute_code.",
    inputSchema: {
      query: z.string().min(1).describe("What the tool should do, in natural language."),
      k: z.number().int().min(1).max(100).optional().describe("How many results (default 10)."),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args: { query: string; k?: number }) => {
    try {
      gateway.limiter.take(context.tenant);
      const results = await gateway.searchTools(context.tenant, args.query, args.k ?? 10);
      const text = results.length === 0
        ? "No matching tools."
        : results.map((r) => `${r.id} (${r.score})\n${r.signature}`).join("\n\n");
      return {
        content: [{ type: "text" as const, text }],
        structuredContent: { results },
      };
    } catch (error) {
      return requestError(error);
    }
  });

  return server;
}

function requestError(error: unknown) {
  const kind = error instanceof GatewayError
    ? error.kind
    : (error as { kind?: string })?.kind ?? "internal";
  const message = error instanceof Error ? error.message : String(error);
  return {
    content: [{ type: "text" as const, text: `Refused (${kind}): ${message}` }],
    structuredContent: { error: { kind, message } },
    isError: true,
  };
}

interface HttpSession {
  transport: WebStandardStreamableHTTPServerTransport;
  tenantId: string;
}

/**
 * Serves MCP over Streamable HTTP: one transport and server per session. The tenant is
 * fixed when the session starts; later requests of the session must come from the same
 * tenant.
 */
export class McpHttpEndpoint {
  #gateway: Gateway;
  #sessions = new Map<string, HttpSession>();
  #maxSessions: number;

  /**
   * @param gateway the gateway to serve
   * @param maxSessions open sessions kept; beyond it the least recently used is closed
   */
  constructor(gateway: Gateway, maxSessions = 1000) {
    this.#gateway = gateway;
    this.#maxSessions = maxSessions;
  }

  /** Open sessions (for tests and metrics). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Handles one HTTP request to `/mcp` for an authenticated tenant. */
  async handle(request: Request, tenant: Tenant): Promise<Response> {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) {
      const session = this.#sessions.get(sessionId);
      if (!session) {
        return jsonRpcError(404, "Session not found");
      }
      if (session.tenantId !== tenant.id) {
        throw new GatewayError("forbidden", "this MCP session belongs to another tenant");
      }
      // Map order is the eviction order: a used session moves to the back.
      this.#sessions.delete(sessionId);
      this.#sessions.set(sessionId, session);
      return await session.transport.handleRequest(request);
    }
    if (request.method !== "POST") {
      return jsonRpcError(400, "Bad Request: Mcp-Session-Id header is required");
    }
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (id: string) => {
          this.#sessions.set(id, { transport, tenantId: tenant.id });
          for (const [oldest, session] of this.#sessions) {
            if (this.#sessions.size <= this.#maxSessions) break;
            this.#sessions.delete(oldest);
            session.transport.close().catch(() => {});
          }
        },
        onsessionclosed: (id: string) => {
          this.#sessions.delete(id);
        },
      });
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
    };
    const server = createMcpServer(this.#gateway, {
      tenant,
      fallbackSessionId: crypto.randomUUID(),
    });
    await server.connect(transport);
    return await transport.handleRequest(request);
  }

  /** Closes every session. */
  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.transport.close().catch(() => {})));
  }
}

function jsonRpcError(status: number, message: string): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }),
    { status, headers: { "content-type": "application/json" } },
  );
}

/**
 * Airlock as an MCP server: tools `execute_code` and `search_tools`, and the tools'
 * declarations as resources (`airlock://types/…`, see `types_resources.ts`), over stdio
 * (`deno task mcp`) and over Streamable HTTP at `/mcp` (one server and transport per MCP
 * session, as the SDK defines them). Results are `structuredContent` plus a readable
 * text; failed code sets `isError`. Long executions send progress notifications and
 * honour cancellation. The code's console lines are sent as they are written, redacted, as
 * `notifications/message` (the `logging` capability; `logging/setLevel` filters them). The MCP
 * session plays the role of `X-Airlock-Session`.
 *
 * @module
 */

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type LoggingLevel,
  type SetLevelRequest,
  SetLevelRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { JudgedValues, type RedactionOptions, redactLogLine } from "../pii/mod.ts";
import type { LogEntry } from "../sandbox/mod.ts";
import {
  apiKeyId,
  type Caller,
  type ExecuteResponse,
  type Gateway,
  GatewayError,
  MAX_CODE_CHARS,
  redactionOptions,
  type ReplyOutcome,
  safeErrorMessage,
  type SharedMcpSessions,
  type Tenant,
} from "../gateway/mod.ts";
import { addMcpSessionMetrics } from "../observability/mod.ts";
import { mcpApprovalChannel, type NoteAsk, replyAnswer, type SendRequest } from "./mcp_approval.ts";
import { type ForeignReply, isWireId, routeReplies } from "./mcp_replies.ts";
import { requestIdFrom } from "./request_id.ts";
import { registerTypeResources } from "./types_resources.ts";
import { replayInitialize } from "./mcp_shared.ts";
import { admitInitialize, jsonRpcError } from "./mcp_admission.ts";
import { gateMessages } from "./mcp_gate.ts";
// The bound of `tools.search` and `GET /v1/tools/search` (not re-exported by gateway/mod.ts).
import { MAX_SEARCH_QUERY_CHARS } from "../gateway/bridge.ts";

const SERVER_INFO = { name: "airlock", version: "1.0.0" };
const PROGRESS_INTERVAL_MS = 1000;
/** Least time between two progress notifications of one call, in ms. */
const PROGRESS_MIN_GAP_MS = 100;

const TEXT_RESULT_CHARS = 8000;

/** Longest text of one log notification, in UTF-8 bytes; longer lines are cut and end in "…". */
export const LOG_NOTIFICATION_MAX_BYTES = 2048;
/**
 * Log notifications sent per execution; past it one `warning` says so and the rest are
 * dropped (every line is still in the result's `logs`).
 */
export const LOG_NOTIFICATIONS_PER_EXECUTION = 100;
/** The level a session starts at: `console.debug` and `console.trace` are sent only on request. */
export const DEFAULT_LOG_LEVEL: LoggingLevel = "info";
/** The `logger` of Airlock's log notifications. */
export const LOGGER = "airlock";

/** Console levels of the sandbox as MCP (RFC 5424 syslog) levels. */
const CONSOLE_LEVELS: Record<LogEntry["level"], LoggingLevel> = {
  debug: "debug",
  log: "info",
  info: "info",
  warn: "warning",
  error: "error",
};
/** MCP's levels, least severe first (RFC 5424 order, as the spec's schema lists them). */
const LEVELS: readonly LoggingLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];
const SEVERITY = new Map<LoggingLevel, number>(LEVELS.map((level, i) => [level, i]));

/** The parameters of one `notifications/message`. */
interface LogMessage {
  level: LoggingLevel;
  logger: string;
  data: string;
}

/**
 * Forwards one execution's console lines as log notifications: at or above the session's
 * level, redacted (the result's logs are redacted only once the run is over, so lines are
 * redacted here too, with the same options and vault), cut to
 * {@linkcode LOG_NOTIFICATION_MAX_BYTES} and at most
 * {@linkcode LOG_NOTIFICATIONS_PER_EXECUTION} of them. Each line is redacted whole: the
 * sandbox already caps all of an execution's log text (`maxLogBytes`), and cutting before
 * redacting could leave half a value that no longer looks like one.
 */
function logForwarder(
  minLevel: () => LoggingLevel,
  redact: (entry: LogEntry) => string,
  send: (message: LogMessage) => void,
): (entry: LogEntry) => void {
  let sent = 0;
  let capped = false;
  const passes = (level: LoggingLevel) => SEVERITY.get(level)! >= SEVERITY.get(minLevel())!;
  return (entry) => {
    const level = CONSOLE_LEVELS[entry.level] ?? "info";
    if (!passes(level) || capped) return;
    if (sent >= LOG_NOTIFICATIONS_PER_EXECUTION) {
      capped = true;
      if (passes("warning")) {
        send({
          level: "warning",
          logger: LOGGER,
          data: `log notifications stop after ${LOG_NOTIFICATIONS_PER_EXECUTION} per execution; ` +
            "every line is in the result's logs",
        });
      }
      return;
    }
    sent++;
    send({ level, logger: LOGGER, data: utf8Cut(redact(entry), LOG_NOTIFICATION_MAX_BYTES) });
  };
}

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes plus "…" (never inside a character). Only the
 * kept prefix is encoded, so this is linear in `maxBytes`, not in `text`.
 */
function utf8Cut(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: this short a text fits whatever it holds.
  if (text.length * 3 <= maxBytes) return text;
  const { read } = new TextEncoder().encodeInto(text, new Uint8Array(maxBytes));
  return read === text.length ? text : `${text.slice(0, read)}…`;
}

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
    "- Personal data in results is replaced by placeholders such as [EMAIL_1_kqzmtwa]; pass a placeholder to a",
    "  tool (whole, tag included) and the tool receives the real value. One that expired is refused.",
    "- Pass `intent` (what the code is for) to help pick tools, or `tools` (ids) to inject exactly those.",
    "- Pass `check: true` to type-check first: with type errors nothing runs and `error.diagnostics`",
    "  lists them. The declarations are resources: `airlock://types/index.json`, `airlock://types/<namespace>.d.ts`.",
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
  check?: boolean;
}

/** What this module uses of the SDK's per-request context. */
interface ToolExtra {
  signal: AbortSignal;
  sessionId?: string;
  requestId?: string | number;
  _meta?: { progressToken?: string | number };
  sendRequest: SendRequest;
  sendNotification(
    notification: {
      method: "notifications/progress";
      params: { progressToken: string | number; progress: number; message?: string };
    } | { method: "notifications/message"; params: LogMessage },
  ): Promise<void>;
}

/** Who an MCP server instance serves. */
export interface McpContext {
  /** The tenant (from the API key at session start, or local). */
  tenant: Tenant;
  /** A stable session id for PII placeholders when the transport has none (stdio). */
  fallbackSessionId: string;
  /**
   * Identity of the API key the session belongs to (its `sha256:` hash), so its PII vault
   * is that key's; `""` or absent without one.
   */
  keyId?: string;
  /**
   * Notes who an approval's elicitation asks, before it is sent, where replies are routed across
   * replicas (shared sessions; see `mcp_replies.ts`). Absent: replies reach only this server.
   */
  noteAsk?: NoteAsk;
}

/**
 * Creates one MCP server for one client session. It has the `tools` and `logging`
 * capabilities: `logging/setLevel` sets the session's level (default
 * {@linkcode DEFAULT_LOG_LEVEL}) for the log notifications of later `execute_code` calls.
 */
export function createMcpServer(gateway: Gateway, context: McpContext): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { logging: {} },
    instructions: "Airlock runs TypeScript that calls MCP tools inside a sandbox. " +
      "Use execute_code to do many tool calls in one round trip; search_tools to find tools.",
  });
  // One server serves one session, so its level is the session's. The SDK's own handler keeps
  // levels in a private map this module cannot read: this one replaces it. The request schema
  // already refuses an unknown level (invalid params).
  let logLevel: LoggingLevel = DEFAULT_LOG_LEVEL;
  server.server.setRequestHandler(SetLevelRequestSchema, (request: SetLevelRequest) => {
    logLevel = request.params.level;
    return {};
  });

  server.registerTool("execute_code", {
    title: "Execute TypeScript with MCP tools",
    description: executeCodeDescription(gateway, context.tenant),
    inputSchema: {
      code: z.string().min(1).max(MAX_CODE_CHARS)
        .describe("The TypeScript program; `return` its answer."),
      intent: z.string().max(4000).optional()
        .describe("What the code is for (helps pick tools)."),
      tools: z.array(z.string().max(256)).max(200).optional()
        .describe('Tool ids ("server.tool") to inject.'),
      check: z.boolean().optional()
        .describe(
          "Type-check first; with type errors nothing runs and error.diagnostics lists them " +
            "(default: the tenant's setting). Declarations: resources airlock://types/….",
        ),
    },
    annotations: { openWorldHint: true },
  }, async (args: ExecuteCodeArgs, extra: ToolExtra) => {
    const progressToken = extra._meta?.progressToken;
    let progress = 0;
    // At most one progress notification per PROGRESS_MIN_GAP_MS: a log flood (50,000 lines
    // a second) must not become 50,000 notifications the gateway serialises and streams.
    let lastSent = -Infinity;
    let pending: ReturnType<typeof setTimeout> | undefined;
    let pendingMessage = "";
    const send = (message: string) => {
      lastSent = performance.now();
      progress++;
      extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken: progressToken!, progress, message: message.slice(0, 500) },
      }).catch(() => {});
    };
    const notify = (message: string) => {
      if (progressToken === undefined) return;
      const wait = lastSent + PROGRESS_MIN_GAP_MS - performance.now();
      if (wait <= 0 && pending === undefined) return send(message);
      pendingMessage = message;
      pending ??= setTimeout(() => {
        pending = undefined;
        send(pendingMessage);
      }, Math.max(0, wait));
    };
    const started = Date.now();
    const heartbeat = setInterval(
      () => notify(`running for ${Math.round((Date.now() - started) / 1000)} s`),
      PROGRESS_INTERVAL_MS,
    );
    const sessionId = extra.sessionId ?? context.fallbackSessionId;
    // The vault the execution will use (gateway.execute asks for the same one), so a value
    // gets the same placeholder in a notification as in the result.
    // A line is judged with the objects it renders, and hides what the lines before it were
    // found to hold (red team n1; pii/log_lines.ts).
    let redaction: RedactionOptions | undefined;
    const forwardLog = logForwarder(
      () => logLevel,
      (entry) => {
        redaction ??= {
          ...redactionOptions(
            context.tenant,
            gateway.sessionVaults.current({
              tenant: context.tenant.id,
              keyId: context.keyId ?? "",
              session: sessionId,
            }),
          ),
          judged: new JudgedValues(),
        };
        return redactLogLine(entry.text, entry.values, redaction).text;
      },
      (params) =>
        extra.sendNotification({ method: "notifications/message", params }).catch(() => {}),
    );
    try {
      // `keyId` binds the session's PII vault to its API key.
      const caller: Caller = {
        tenant: context.tenant,
        keyId: context.keyId,
        // The JSON-RPC id is the client's: it goes into logs and the audit only when it is
        // a plain token, like HTTP's X-Request-Id (an id can be megabytes of personal data).
        requestId: requestIdFrom(extra.requestId),
        sessionId,
        signal: extra.signal,
        transport: "mcp",
        // Progress carries only a count; the line itself goes out redacted as a log message.
        onLog: (entry) => {
          notify("the code wrote a log line");
          forwardLog(entry);
        },
        // Calls that need approval are put to the client as elicitations when it can answer
        // and its key may approve; otherwise they wait for the tenant's approvers.
        approvals: mcpApprovalChannel(
          server.server.getClientCapabilities(),
          extra.sendRequest,
          {
            keyId: context.keyId ?? "",
            mayApprove: gateway.tenants.mayApprove(context.tenant, context.keyId ?? ""),
          },
          (request) => notify(`waiting for approval of ${request.tool}`),
          context.noteAsk,
        ),
      };
      const response = await gateway.execute(
        { code: args.code, intent: args.intent, tools: args.tools, check: args.check },
        caller,
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
      clearTimeout(pending);
    }
  });

  server.registerTool("search_tools", {
    title: "Search the available MCP tools",
    description: "Find tools by what they do. Returns ids, scores, descriptions and the " +
      "TypeScript signature to call from execute_code.",
    inputSchema: {
      // Capped like `GET /v1/tools/search`'s `q`: a long query holds the shared encoder.
      query: z.string().min(1).max(MAX_SEARCH_QUERY_CHARS, {
        message: `the query is longer than ${MAX_SEARCH_QUERY_CHARS} characters`,
      }).describe(
        `What the tool should do, in natural language (at most ${MAX_SEARCH_QUERY_CHARS} characters).`,
      ),
      k: z.number().int().min(1).max(100).optional().describe("How many results (default 10)."),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args: { query: string; k?: number }) => {
    try {
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

  // The tools' declarations as resources; the subscription ends with the session.
  const unsubscribe = registerTypeResources(server, gateway, context.tenant);
  const onclose = server.server.onclose;
  server.server.onclose = () => {
    unsubscribe();
    onclose?.();
  };

  return server;
}

function requestError(error: unknown) {
  const kind = error instanceof GatewayError
    ? error.kind
    : (error as { kind?: string })?.kind ?? "internal";
  const message = safeErrorMessage(error instanceof Error ? error.message : String(error));
  return {
    content: [{ type: "text" as const, text: `Refused (${kind}): ${message}` }],
    structuredContent: { error: { kind, message } },
    isError: true,
  };
}

/** Options of a {@linkcode McpHttpEndpoint}. */
export interface McpHttpOptions {
  /**
   * Open sessions in all (default 1,000). A last resort: over it, the tenant with the most
   * open sessions loses its least recently used one.
   */
  maxSessions?: number;
  /**
   * Open sessions of one tenant (default 100, at most `maxSessions`); over it, that
   * tenant's least recently used session is closed, never another tenant's.
   */
  maxSessionsPerTenant?: number;
  /**
   * A session without a request for this long is closed, in ms (default 30 min). The clock
   * restarts when a request arrives and when its handler returns (an SSE response may
   * stream on), so keep it well above the longest execution (`sandbox.timeoutMs` ≤ 10 min).
   */
  idleTimeoutMs?: number;
}

/** Open MCP sessions of one tenant and why sessions were closed, for metrics. */
export interface McpTenantSessionStats {
  /** The tenant's id. */
  tenant: string;
  /** Open sessions. */
  sessions: number;
  /** Sessions closed for room, since the endpoint started. */
  evicted: {
    /** By the tenant's own cap. */
    tenant: number;
    /** By the cap on all sessions (this tenant had the most). */
    global: number;
  };
  /** Sessions closed for being idle, since the endpoint started. */
  expired: number;
}

/**
 * What became of the client replies that reached this replica for requests it did not send, per
 * tenant: an approval's answer given to the replica holding the call (`delivered`,
 * `unconfirmed`), too late (`ended`), matching nothing pending on that session (`unknown`), not
 * given (`failed`), or not even tried because the tenant already had
 * {@linkcode MAX_FOREIGN_REPLIES_PER_TENANT} being given (`busy`).
 */
export type ForeignReplyOutcome = ReplyOutcome | "busy";

/**
 * Replies for requests another replica sent that one tenant may have being given at once on this
 * replica (each may wait seconds for the holder); more are counted `busy` and logged.
 */
export const MAX_FOREIGN_REPLIES_PER_TENANT = 32;

/** A snapshot of a {@linkcode McpHttpEndpoint}'s sessions. */
export interface McpSessionStats {
  /** Replies for requests this replica did not send, per tenant and outcome, since it started. */
  replies?: Array<{ tenant: string; outcome: ForeignReplyOutcome; count: number }>;
  /** Open sessions in all. */
  sessions: number;
  /**
   * MCP servers (each with its transport and catalogue subscription) not yet closed: the open
   * sessions plus any being built or rebuilt for a request right now.
   */
  servers: number;
  /** Per tenant, in the order tenants were first seen. */
  tenants: McpTenantSessionStats[];
}

interface HttpSession {
  id: string;
  transport: WebStandardStreamableHTTPServerTransport;
  tenantId: string;
  /** Identity of the API key that opened the session (its `sha256:` hash; "" without one). */
  keyId: string;
  /** When the last request arrived or finished (ms since the epoch). */
  lastUsed: number;
  /** POST requests whose response is still being sent. */
  busy: number;
}

interface TenantSessions {
  /** Least recently used first. */
  sessions: Map<string, HttpSession>;
  evictedByTenant: number;
  evictedByAll: number;
  expired: number;
}

const DEFAULT_MAX_SESSIONS = 1000;
const DEFAULT_MAX_SESSIONS_PER_TENANT = 100;
const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
const MAX_SWEEP_INTERVAL_MS = 60 * 1000;

/**
 * Serves MCP over Streamable HTTP: one transport and server per session. The tenant and
 * the API key are fixed when the session starts; later requests of the session must come
 * with the same key (another key, even of the same tenant, is refused with `forbidden`).
 *
 * Sessions are bounded per tenant (that tenant's least recently used goes first), in all
 * (a last resort that takes from the tenant with the most), and in time (idle ones close).
 * Closing a session, for whatever reason, also drops its PII vault.
 */
export class McpHttpEndpoint {
  #gateway: Gateway;
  #sessions = new Map<string, HttpSession>();
  #tenants = new Map<string, TenantSessions>();
  #maxSessions: number;
  #maxPerTenant: number;
  #idleMs: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #nextSweep = 0;
  /** Sessions known to every replica (Redis), when the gateway has shared state. */
  #shared: SharedMcpSessions | undefined;
  /** Sessions being rebuilt on this replica, so concurrent requests rebuild once. */
  #rebuilding = new Map<string, Promise<HttpSession | undefined>>();
  /** Servers built and not yet closed (see {@linkcode McpSessionStats.servers}). */
  #servers = 0;
  /** Replies for requests another replica sent: per tenant, being given now and by outcome. */
  #replies = new Map<string, { giving: number; outcomes: Map<ForeignReplyOutcome, number> }>();

  /**
   * @param gateway the gateway to serve
   * @param options the caps, or (the older form) just `maxSessions`
   * @throws RangeError with `kind: "invalid_option"` for a cap or time that is not a
   *   positive number
   */
  constructor(gateway: Gateway, options: number | McpHttpOptions = {}) {
    const o: McpHttpOptions = typeof options === "number" ? { maxSessions: options } : options;
    this.#gateway = gateway;
    addMcpSessionMetrics(gateway.metrics, () => this.stats());
    // Counts of sessions: whole, and at least one, so a new session never evicts itself.
    this.#maxSessions = Math.max(
      1,
      Math.floor(positive(o.maxSessions, DEFAULT_MAX_SESSIONS, "maxSessions")),
    );
    this.#maxPerTenant = Math.min(
      Math.max(
        1,
        Math.floor(
          positive(o.maxSessionsPerTenant, DEFAULT_MAX_SESSIONS_PER_TENANT, "maxSessionsPerTenant"),
        ),
      ),
      this.#maxSessions,
    );
    this.#idleMs = positive(o.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, "idleTimeoutMs");
    this.#shared = gateway.sharedMcpSessions({
      ttlMs: this.#idleMs,
      maxPerTenant: this.#maxPerTenant,
    });
  }

  /** Open sessions (for tests and metrics). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Open sessions per tenant and closing counters, for metrics. O(tenants). */
  stats(): McpSessionStats {
    this.#expireIdle(Date.now());
    return {
      sessions: this.#sessions.size,
      servers: this.#servers,
      replies: [...this.#replies].flatMap(([tenant, r]) =>
        [...r.outcomes].map(([outcome, count]) => ({ tenant, outcome, count }))
      ),
      tenants: [...this.#tenants].map(([tenant, t]) => ({
        tenant,
        sessions: t.sessions.size,
        evicted: { tenant: t.evictedByTenant, global: t.evictedByAll },
        expired: t.expired,
      })),
    };
  }

  /**
   * Handles one HTTP request to `/mcp` for an authenticated tenant.
   * @param keyId identity of the caller's API key; by default the `sha256:` hash of the
   *   `Authorization: Bearer` key (as the configuration stores it), `""` without one
   * @throws GatewayError `forbidden` when the session belongs to another tenant or key
   */
  async handle(request: Request, tenant: Tenant, keyId?: string): Promise<Response> {
    const key = keyId ?? apiKeyId(request.headers.get("authorization"));
    const now = Date.now();
    // Also swept here, at most once a second, in case the timer was held up.
    if (now >= this.#nextSweep) this.#expireIdle(now);
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) {
      // Shared sessions: the record in Redis decides; this replica rebuilds what it lacks.
      const session = this.#shared
        ? await this.#sharedSession(sessionId, tenant, key)
        : this.#sessions.get(sessionId);
      if (!session) {
        return jsonRpcError(404, -32000, "Session not found");
      }
      if (session.tenantId !== tenant.id) {
        throw new GatewayError("forbidden", "this MCP session belongs to another tenant");
      }
      if (session.keyId !== key) {
        throw new GatewayError("forbidden", "this MCP session belongs to another API key");
      }
      this.#touch(session);
      // A POST (a tool call) keeps the session busy until its response has been sent,
      // SSE included, so idle expiry never cuts a running execution. The standalone GET
      // stream does not count: a client holding only that open is idle.
      if (request.method !== "POST") return await session.transport.handleRequest(request);
      session.busy++;
      let response: Response;
      try {
        response = await session.transport.handleRequest(request);
      } catch (error) {
        this.#done(session);
        throw error;
      }
      return this.#untilSent(response, () => this.#done(session));
    }
    if (request.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    // A new session (`initialize`) takes one request of the tenant's rate limit, on every
    // backend: a client cannot open sessions (each a record and a server) without bound.
    await this.#gateway.limiter.take(tenant);
    // Only an `initialize` can open a session: anything else is refused from its body, before
    // a transport and a server (subscribed to catalogue changes) are built for nothing.
    const admitted = await admitInitialize(request);
    if (admitted instanceof Response) return admitted;
    const params = this.#shared ? admitted.params : undefined;
    let sharing: Promise<unknown> | undefined;
    const transport = await this.#connect(tenant, key, () => crypto.randomUUID(), (id) => {
      if (this.#shared && params) {
        const known = this.#tenants.get(tenant.id)?.sessions.keys() ?? [];
        sharing = this.#shared.create(
          id,
          { tenant: tenant.id, keyId: key, initialize: params },
          [...known],
        )
          .then((evicted: string[]) => {
            // The tenant's oldest sessions, gone everywhere: gone here too.
            for (const old of evicted) {
              const s = this.#sessions.get(old);
              if (s) this.#close(s);
            }
          });
      }
    });
    // Whatever happens below, a server that opened no session is closed (and unsubscribed):
    // nothing built for this request outlives it unless it is a session's.
    const opened = () =>
      transport.sessionId !== undefined &&
      this.#sessions.get(transport.sessionId)?.transport === transport;
    let response: Response;
    try {
      response = await transport.handleRequest(request, { parsedBody: admitted.body });
    } catch (error) {
      if (!opened()) await transport.close().catch(() => {});
      throw error;
    }
    if (!opened()) {
      // Refused by the SDK (Accept, Content-Type, a bad initialize): the answer is complete
      // JSON, so the transport can go now.
      const body = await response.arrayBuffer().catch(() => new ArrayBuffer(0));
      await transport.close().catch(() => {});
      return new Response(body, { status: response.status, headers: response.headers });
    }
    if (sharing) {
      try {
        await sharing;
      } catch (error) {
        // Not known to the other replicas: the session cannot be served behind a balancer.
        await response.body?.cancel().catch(() => {});
        const session = transport.sessionId ? this.#sessions.get(transport.sessionId) : undefined;
        if (session) this.#close(session);
        throw sharedError(error);
      }
    }
    return response;
  }

  /** A transport and MCP server for the tenant, connected; `onInitialized` sees the id. */
  async #connect(
    tenant: Tenant,
    key: string,
    sessionIdGenerator: () => string,
    onInitialized: (id: string) => void,
  ): Promise<WebStandardStreamableHTTPServerTransport> {
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator,
        onsessioninitialized: (id: string) => {
          this.#open({
            id,
            transport,
            tenantId: tenant.id,
            keyId: key,
            lastUsed: Date.now(),
            busy: 0,
          });
          onInitialized(id);
        },
        // The client closed the session (DELETE): gone on every replica.
        onsessionclosed: (id: string) => {
          this.#forget(id, transport, true);
        },
      });
    let closed = false;
    transport.onclose = () => {
      if (!closed) {
        closed = true;
        this.#servers--;
      }
      if (transport.sessionId) this.#forget(transport.sessionId, transport);
    };
    // With shared sessions, a client's reply to an approval's elicitation may reach another
    // replica: the request is noted in the shared store so that replica gives it to this one.
    const noteAsk = this.#shared
      ? (approvalId: string, approver: string) =>
        transport.sessionId
          ? this.#gateway.approvals.noteAsked(tenant.id, approvalId, {
            session: transport.sessionId,
            approver,
          })
          : Promise.resolve(false)
      : undefined;
    const server = createMcpServer(this.#gateway, {
      tenant,
      fallbackSessionId: crypto.randomUUID(),
      keyId: key,
      noteAsk,
    });
    this.#servers++;
    try {
      await server.connect(transport);
    } catch (error) {
      await transport.close().catch(() => {});
      throw error;
    }
    // Every request of the session takes its share of the tenant's rate limit, batches too.
    gateMessages(transport, () => this.#gateway.limiter.take(tenant));
    // Requests this server sends get ids no other replica uses; replies to other replicas'
    // requests are given to them (approvals) or counted and logged, never dropped unseen.
    routeReplies(transport, (reply) => this.#foreignReply(tenant, transport.sessionId, reply));
    return transport;
  }

  /**
   * A client's reply that reached this replica for a request it did not send: an approval's
   * answer is given to the replica holding the call (as the approver it noted, only from the
   * session it asked); every outcome is counted, and each one not given is logged (no payload).
   */
  #foreignReply(tenant: Tenant, session: string | undefined, reply: ForeignReply): void {
    let replies = this.#replies.get(tenant.id);
    if (replies === undefined) {
      replies = { giving: 0, outcomes: new Map() };
      this.#replies.set(tenant.id, replies);
    }
    const r = replies;
    const done = (outcome: ForeignReplyOutcome) => {
      r.outcomes.set(outcome, (r.outcomes.get(outcome) ?? 0) + 1);
      if (outcome === "delivered" || outcome === "unconfirmed") return;
      this.#gateway.log({
        level: outcome === "unknown" || outcome === "ended" ? "info" : "warn",
        msg: "MCP reply for a request this replica did not send",
        tenant: tenant.id,
        outcome,
        error: "error" in reply,
      });
    };
    if (session === undefined || !isWireId(reply.id)) return done("unknown");
    if (r.giving >= MAX_FOREIGN_REPLIES_PER_TENANT) return done("busy");
    r.giving++;
    this.#gateway.approvals.answerReply(
      tenant.id,
      session,
      reply.id,
      (approver) => replyAnswer(reply, approver),
    ).then(done, () => done("failed")).finally(() => r.giving--);
  }

  /**
   * The local session for `id` when the shared record says it lives (rebuilt here when this
   * replica has not served it yet), or undefined (closed, expired or evicted).
   * @throws GatewayError `forbidden` (another tenant or key), `state_unavailable`
   */
  async #sharedSession(id: string, tenant: Tenant, key: string): Promise<HttpSession | undefined> {
    let record;
    try {
      // Touched only for its own tenant; another one gets `forbidden` below.
      record = await this.#shared!.touch(id, tenant.id);
    } catch (error) {
      throw sharedError(error);
    }
    const local = this.#sessions.get(id);
    if (!record) {
      // Closed or expired on the cluster: a copy here is stale.
      if (local) this.#close(local);
      return undefined;
    }
    if (record.tenant !== tenant.id) {
      throw new GatewayError("forbidden", "this MCP session belongs to another tenant");
    }
    if (record.keyId !== key) {
      throw new GatewayError("forbidden", "this MCP session belongs to another API key");
    }
    if (local) return local;
    let pending = this.#rebuilding.get(id);
    if (!pending) {
      pending = (async () => {
        const transport = await this.#connect(tenant, key, () => id, () => {});
        try {
          await replayInitialize(transport, record.initialize);
        } catch {
          await transport.close().catch(() => {});
          return undefined;
        }
        return this.#sessions.get(id);
      })().finally(() => this.#rebuilding.delete(id));
      this.#rebuilding.set(id, pending);
    }
    return await pending;
  }

  /** Closes every session. */
  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    for (const s of sessions) this.#forget(s.id, s.transport);
    await Promise.all(sessions.map((s) => s.transport.close().catch(() => {})));
  }

  #open(session: HttpSession): void {
    this.#sessions.set(session.id, session);
    let tenant = this.#tenants.get(session.tenantId);
    if (tenant === undefined) {
      tenant = { sessions: new Map(), evictedByTenant: 0, evictedByAll: 0, expired: 0 };
      this.#tenants.set(session.tenantId, tenant);
    }
    tenant.sessions.set(session.id, session);
    // The new session is the tenant's most recent, and the per-tenant cap is at least 1,
    // so only the tenant's older sessions go.
    while (tenant.sessions.size > this.#maxPerTenant) {
      tenant.evictedByTenant++;
      this.#close(tenant.sessions.values().next().value!);
    }
    while (this.#sessions.size > this.#maxSessions) {
      let heaviest: TenantSessions | undefined;
      for (const t of this.#tenants.values()) {
        if (heaviest === undefined || t.sessions.size > heaviest.sessions.size) heaviest = t;
      }
      heaviest!.evictedByAll++;
      this.#close(heaviest!.sessions.values().next().value!);
    }
    if (this.#sweeper === undefined) {
      const sweeper = setInterval(
        () => this.#expireIdle(Date.now()),
        Math.min(this.#idleMs, MAX_SWEEP_INTERVAL_MS),
      );
      // Abandoned sessions must not keep the process alive.
      Deno.unrefTimer(sweeper);
      this.#sweeper = sweeper;
    }
  }

  /** A request of `session` has been answered: it counts as a use. */
  #done(session: HttpSession): void {
    session.busy--;
    this.#touch(session);
  }

  /** `response` with `onEnd` called once when its body has been sent, failed or cancelled. */
  #untilSent(response: Response, onEnd: () => void): Response {
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        onEnd();
      }
    };
    if (response.body === null) {
      end();
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            end();
            controller.close();
          } else controller.enqueue(value);
        } catch (error) {
          end();
          controller.error(error);
        }
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  /** Marks a use: the session moves to the back of its tenant's eviction order. */
  #touch(session: HttpSession): void {
    const tenant = this.#tenants.get(session.tenantId);
    if (tenant?.sessions.get(session.id) !== session) return; // closed meanwhile
    session.lastUsed = Date.now();
    tenant.sessions.delete(session.id);
    tenant.sessions.set(session.id, session);
  }

  /**
   * Closes sessions idle for longer than the idle time. Each tenant's sessions are least
   * recently used first, so only the front of each is looked at: O(tenants) plus O(1) per
   * closed session.
   */
  #expireIdle(now: number): void {
    this.#nextSweep = now + Math.min(1000, this.#idleMs);
    for (const tenant of this.#tenants.values()) {
      for (const session of tenant.sessions.values()) {
        if (now - session.lastUsed < this.#idleMs) break;
        if (session.busy > 0) continue;
        tenant.expired++;
        this.#close(session);
      }
    }
  }

  #close(session: HttpSession): void {
    this.#forget(session.id, session.transport);
    session.transport.close().catch(() => {});
  }

  /**
   * Drops a session from the books and its PII vault; safe to call more than once. With
   * shared sessions, only `everywhere` (the client closed it) drops the shared record and
   * vault: this replica closing its copy (idle, room) leaves the session to the others.
   */
  #forget(
    id: string,
    transport: WebStandardStreamableHTTPServerTransport,
    everywhere = false,
  ): void {
    const session = this.#sessions.get(id);
    if (session === undefined || session.transport !== transport) return;
    this.#sessions.delete(id);
    this.#tenants.get(session.tenantId)?.sessions.delete(id);
    // Executions of this session use the MCP session id as their PII session.
    // (In memory, and in Redis with shared state; there in the background.)
    if (!this.#shared || everywhere) {
      this.#gateway.sessionVaults.drop({
        tenant: session.tenantId,
        keyId: session.keyId,
        session: id,
      });
      this.#shared?.delete(id, session.tenantId).catch(() => {});
    }
    // The form gateway.ts used before vaults were keyed by (tenant, key, session).
    this.#gateway.vaults.delete(`${session.tenantId}:${id}`);
    if (this.#sessions.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}

/** The identity of the `Authorization: Bearer` key: its `sha256:` hash, or `""`. */
function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === "number" && value > 0)) {
    throw Object.assign(new RangeError(`${name} must be a positive number`), {
      kind: "invalid_option",
    });
  }
  return value;
}

/** A shared-state failure as the client sees it. */
function sharedError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const kind = (error as { kind?: string })?.kind;
  return kind === "state_unavailable"
    ? new GatewayError("state_unavailable", (error as Error).message, { retryAfter: 1 })
    : new GatewayError("internal", "the MCP session could not be shared");
}

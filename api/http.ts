/**
 * The HTTP API on Hono: `POST /v1/execute`, `GET /v1/tools`, `GET /v1/tools/search`,
 * `GET /v1/types`, `GET /v1/types/{namespace}.d.ts`,
 * MCP at `/mcp`, `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /openapi.json`. Middleware order: request id and
 * access log → `Host`/`Origin` check (every route; 403 `forbidden`) → authentication → rate
 * limit → route. Served by `serveHttp` (`server.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { getPath } from "hono/utils/url";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { QueueFullError, SandboxUnavailableError } from "../sandbox/mod.ts";
import {
  apiKeyId,
  type Caller,
  executeRequestSchema,
  formatIssues,
  type Gateway,
  GatewayError,
  type Tenant,
  toolSearchQuerySchema,
} from "../gateway/mod.ts";
import { CONTENT_TYPE as METRICS_CONTENT_TYPE } from "../observability/mod.ts";
import { addApprovalRoutes } from "./approvals.ts";
import { streamExecution, wantsEventStream } from "./execute_stream.ts";
import { HostGuard } from "./host_guard.ts";
import type { McpHttpEndpoint } from "./mcp.ts";
import type { RequestHead, ServeOptions } from "./server.ts";
import { openApiDocument } from "./openapi.ts";
import { requestIdFrom } from "./request_id.ts";
import { addTypeRoutes } from "./types_routes.ts";

const REJECTED_KINDS: Record<number, string> = {
  401: "unauthorized",
  403: "forbidden",
  413: "payload_too_large",
  429: "rate_limited",
  503: "unavailable",
};

/** Longest `X-Airlock-Session`, in UTF-16 units (the vault store's limit). */
const MAX_SESSION_ID_CHARS = 256;

type Env = { Variables: { tenant: Tenant; requestId: string } };

/** Optional parts of the HTTP app. */
export interface HttpExtras {
  /** Serves MCP over Streamable HTTP at `/mcp` (authenticated like the API). */
  mcp?: McpHttpEndpoint;
  /** Structured log sink. */
  logger?: (event: Record<string, unknown>) => void;
}

/** Builds the Hono application for a gateway. */
export function createHttpApp(gateway: Gateway, extras: HttpExtras = {}): Hono<Env> {
  const app = new Hono<Env>();
  const log = extras.logger ?? (() => {});

  app.onError((error, c) => sendError(c, toGatewayError(error, log)));
  app.notFound((c) =>
    sendError(c, new GatewayError("not_found", `no route ${c.req.method} ${c.req.path}`))
  );

  app.use("*", async (c, next) => {
    // A client's request id goes into logs and the audit: only a plain token is kept.
    const requestId = requestIdFrom(c.req.header("x-request-id"));
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    const started = performance.now();
    await next();
    const route = c.req.routePath ?? c.req.path;
    const status = c.res.status;
    gateway.metrics.httpRequests.inc({ route, status: String(status) });
    const rejectedKind = REJECTED_KINDS[status];
    if (rejectedKind) {
      gateway.metrics.rejected.inc({ tenant: c.get("tenant")?.id ?? "", kind: rejectedKind });
    }
    log({
      level: "info",
      msg: "http",
      requestId,
      method: c.req.method,
      route,
      status,
      ms: Math.round(performance.now() - started),
      tenant: c.get("tenant")?.id,
    });
  });

  // DNS rebinding: before any route (MCP, health and metrics included), so a browser page on
  // another name that resolves to this machine gets nothing but a 403.
  const guard = new HostGuard(gateway.config.http);
  app.use("*", async (c, next) => {
    const problem = guard.check(c.req.header("host"), c.req.header("origin"));
    if (problem) throw new GatewayError("forbidden", problem);
    await next();
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const readiness = await gateway.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  // Needs no key, so anyone can ask for it in a loop: the page (tenants x catalogued tools)
  // is rendered in slices that yield the loop, once for all scrapes that ask meanwhile, and
  // reused for a short while after (observability/metrics_page.ts).
  app.get(
    "/metrics",
    async (c) =>
      c.body(await gateway.metrics.page.read(), 200, { "content-type": METRICS_CONTENT_TYPE }),
  );

  const authenticate = async (c: Context<Env>, next: () => Promise<void>) => {
    c.set("tenant", gateway.tenants.authenticate(c.req.header("authorization")));
    await next();
  };
  const rateLimit = async (c: Context<Env>, next: () => Promise<void>) => {
    await gateway.limiter.take(c.get("tenant"));
    await next();
  };
  app.use("/v1/*", async (c, next) => {
    // Approvers authenticate with their own keys, in the approval routes.
    if (c.req.path === "/v1/approvals" || c.req.path.startsWith("/v1/approvals/")) {
      return await next();
    }
    await authenticate(c, () => rateLimit(c, next));
  });
  addApprovalRoutes(app, gateway);
  const mcp = extras.mcp;
  if (mcp) {
    // MCP tool calls are rate-limited one by one inside the MCP server.
    app.all("/mcp", authenticate, (c) => mcp.handle(c.req.raw, c.get("tenant")));
  }

  app.post(
    "/v1/execute",
    bodyLimit({
      maxSize: gateway.config.http.maxBodyBytes,
      onError: (c) =>
        sendError(
          c,
          new GatewayError(
            "payload_too_large",
            `the request body is larger than ${gateway.config.http.maxBodyBytes} bytes`,
          ),
        ),
    }),
    async (c) => {
      const body = await readJson(c);
      const parsed = executeRequestSchema.safeParse(body);
      if (!parsed.success) {
        throw new GatewayError("invalid_request", formatIssues(parsed.error.issues));
      }
      const sessionId = c.req.header("x-airlock-session") || undefined;
      if (sessionId !== undefined && sessionId.length > MAX_SESSION_ID_CHARS) {
        throw new GatewayError(
          "invalid_request",
          `X-Airlock-Session must be at most ${MAX_SESSION_ID_CHARS} characters`,
        );
      }
      const caller: Caller = {
        tenant: c.get("tenant"),
        requestId: c.get("requestId"),
        sessionId,
        keyId: apiKeyId(c.req.header("authorization")),
        signal: c.req.raw.signal,
        transport: "http",
        // A plain request waits for its approvals, answered over /v1/approvals.
        approvals: { answersItself: false },
      };
      if (wantsEventStream(c.req.header("accept"))) {
        return streamExecution(c, gateway, parsed.data, caller, (e) => toGatewayError(e, log));
      }
      const response = await gateway.execute(parsed.data, caller);
      return c.json(response);
    },
  );

  app.get("/v1/tools", (c) => {
    const tools = gateway.listToolsForCaller(c.get("tenant")).map((t) => ({
      id: t.id,
      server: t.server,
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema,
      outputSchema: t.outputSchema ?? null,
      annotations: t.annotations ?? null,
    }));
    return c.json({ tools });
  });

  app.get("/v1/tools/search", async (c) => {
    const parsed = toolSearchQuerySchema.safeParse({ q: c.req.query("q"), k: c.req.query("k") });
    if (!parsed.success) {
      throw new GatewayError("invalid_request", formatIssues(parsed.error.issues));
    }
    const results = await gateway.searchTools(c.get("tenant"), parsed.data.q, parsed.data.k);
    return c.json({ results });
  });

  addTypeRoutes(app, gateway);

  return app;
}

/**
 * The check `serveHttp` runs before it reads any byte of a request body (its `admit`
 * option): a foreign `Host` or `Origin` gets its 403 as from the app; a route that needs an API key (`/v1/*`, `/mcp`; approver keys for
 * `/v1/approvals`) gets its 401/403 before the body is read, so a client without a key cannot
 * make the gateway hold body bytes. Undefined lets the request through to the app, which
 * checks the key again.
 */
export function bodyAdmission(
  gateway: Gateway,
): (request: RequestHead) => Response | string | undefined {
  const guard = new HostGuard(gateway.config.http);
  return (request) => {
    const authorization = request.headers.get("authorization");
    try {
      // The path as the router sees it (Hono's own decoding): `/%761/execute` is
      // `/v1/execute` there, and got past this check undecoded (red team, 2026-11-30).
      // Hono's `getPath` reads nothing of a request but its `url`.
      const path = getPath({ url: request.url } as Request);
      // As in the app: a foreign Host or Origin gets its 403 before any key is looked at.
      const problem = guard.check(request.headers.get("host"), request.headers.get("origin"));
      if (problem) throw new GatewayError("forbidden", problem);
      // The body's bytes are held for the tenant whose key it is (its share of the budget).
      if (path === "/v1/approvals" || path.startsWith("/v1/approvals/")) {
        return `tenant:${gateway.tenants.authenticateApprover(authorization).tenant.id}`;
      } else if (path.startsWith("/v1/") || path === "/mcp") {
        return `tenant:${gateway.tenants.authenticate(authorization).id}`;
      }
      // No other route reads a body: one sent there is not read either (an anonymous client
      // could otherwise hold body bytes with requests to `/healthz`).
      throw new GatewayError("not_found", `no route ${request.method} ${path} takes a body`);
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      const rejectedKind = REJECTED_KINDS[error.status];
      if (rejectedKind) gateway.metrics.rejected.inc({ tenant: "", kind: rejectedKind });
      return Response.json(error.toBody(), { status: error.status });
    }
  };
}

/**
 * The `serveHttp` options that come from a gateway: its configuration's `http` limits
 * (connections, deadlines, body sizes and the shared body budget) and {@linkcode bodyAdmission}.
 * Callers add where to listen and a logger.
 */
export function gatewayServeOptions(gateway: Gateway): ServeOptions {
  const http = gateway.config.http;
  return {
    maxConnections: http.maxConnections,
    headersTimeoutMs: http.headersTimeoutMs,
    requestTimeoutMs: http.requestTimeoutMs,
    keepAliveTimeoutMs: http.keepAliveTimeoutMs,
    maxBodyBytes: http.maxBodyBytes,
    maxHeldBodyBytes: http.maxHeldBodyBytes,
    maxHeldBodyBytesPerPayer: http.maxHeldBodyBytesPerTenant ?? undefined,
    admit: bodyAdmission(gateway),
  };
}

async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new GatewayError(
      "invalid_request",
      "the body must be JSON (Content-Type: application/json)",
    );
  }
  try {
    return await c.req.json();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError("invalid_request", "the body is not valid JSON");
  }
}

function toGatewayError(
  error: unknown,
  log: (event: Record<string, unknown>) => void,
): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof QueueFullError) {
    return new GatewayError("queue_full", error.message, { retryAfter: 1 });
  }
  if (error instanceof SandboxUnavailableError) {
    // No process could be started (EMFILE, EAGAIN, ...): the code never ran; retry later.
    return new GatewayError("unavailable", error.message, {
      retryAfter: Math.max(1, Math.ceil(error.retryAfterSeconds)),
    });
  }
  log({ level: "error", msg: "unhandled error", error: String((error as Error)?.stack ?? error) });
  return new GatewayError("internal", "internal error");
}

function sendError(c: Context, error: GatewayError): Response {
  if (error.retryAfter !== undefined) c.header("Retry-After", String(error.retryAfter));
  return c.json(error.toBody(), error.status as 400);
}

/**
 * The HTTP API on Hono: `POST /v1/execute`, `GET /healthz`.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { QueueFullError } from "../sandbox/mod.ts";
import { formatIssues } from "./config.ts";
import { GatewayError } from "./errors.ts";
import type { Gateway } from "./gateway.ts";
import { executeRequestSchema } from "./schemas.ts";

/** Builds the Hono application for a gateway. */
export function createHttpApp(gateway: Gateway): Hono {
  const app = new Hono();

  app.onError((error, c) => sendError(c, toGatewayError(error)));
  app.notFound((c) =>
    sendError(c, new GatewayError("not_found", `no route ${c.req.method} ${c.req.path}`))
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));

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
      const response = await gateway.execute(parsed.data, {
        tenant: "local",
        requestId: crypto.randomUUID(),
        sessionId: c.req.header("x-airlock-session") || undefined,
        signal: c.req.raw.signal,
      });
      return c.json(response);
    },
  );

  return app;
}

async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new GatewayError("invalid_request", "the body must be JSON (Content-Type: application/json)");
  }
  try {
    return await c.req.json();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError("invalid_request", "the body is not valid JSON");
  }
}

function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof QueueFullError) {
    return new GatewayError("queue_full", error.message, { retryAfter: 1 });
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled", error: String(error) }));
  return new GatewayError("internal", "internal error");
}

function sendError(c: Context, error: GatewayError): Response {
  if (error.retryAfter !== undefined) c.header("Retry-After", String(error.retryAfter));
  return c.json(error.toBody(), error.status as 400);
}

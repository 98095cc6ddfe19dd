/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
 *
 * @module
 */

import { z } from "zod";
import {
  errorBodySchema,
  executeRequestSchema,
  executeResponseSchema,
  toolEntrySchema,
  toolSearchQuerySchema,
  toolSearchResultSchema,
} from "../gateway/mod.ts";
import {
  approvalAnswerSchema,
  approvalDecisionSchema,
  approvalListSchema,
  approvalStandingSchema,
  approvalUnconfirmedSchema,
} from "./approvals.ts";

const json = (schema: z.ZodType) => ({
  "application/json": { schema: z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) },
});

const errorResponse = (description: string) => ({ description, content: json(errorBodySchema) });

let cached: Record<string, unknown> | undefined;

/** The document served at `GET /openapi.json`. */
export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: "3.1.0",
    info: {
      title: "Airlock",
      version: "1.0.0",
      description: "Code-execution gateway for AI agents: send TypeScript, get a small, " +
        "redacted answer. Upstream MCP tools are available inside the code as typed functions.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/execute": {
        post: {
          summary: "Run TypeScript with typed MCP tools in a sandbox",
          requestBody: { required: true, content: json(executeRequestSchema) },
          parameters: [{
            name: "X-Airlock-Session",
            in: "header",
            required: false,
            schema: { type: "string" },
            description: "Keeps PII placeholders stable across executions of one session.",
          }],
          responses: {
            "200": {
              description: "The code ran (it may still have failed: see ok and error). With " +
                "`Accept: text/event-stream`, a stream of events as they happen: `log` " +
                "({ level, text }, redacted), `progress` ({ elapsedMs, message }, each second), " +
                "`approval` (a call waiting for a person; answer it with POST " +
                "/v1/approvals/{id}), then one `result` (this response body) or one `error` " +
                "({ error: { kind, message } }). Closing the stream cancels the execution and " +
                "withdraws its pending approvals. A plain JSON request waits for its approvals.",
              content: {
                ...json(executeResponseSchema),
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            "400": errorResponse("Invalid body; the message names the fields"),
            "401": errorResponse("Missing or unknown API key"),
            "403": errorResponse("A requested tool is not allowed for this tenant"),
            "413": errorResponse("Body too large"),
            "429": errorResponse("Rate limit; see Retry-After"),
            "503": errorResponse("Queue full; see Retry-After"),
          },
        },
      },
      "/v1/approvals": {
        get: {
          summary: "Pending approvals of the caller's tenant (needs a key in approverKeys)",
          responses: {
            "200": { description: "Oldest first", content: json(approvalListSchema) },
            "401": errorResponse("Missing or unknown API key"),
            "403": errorResponse("The key is not one of the tenant's approverKeys"),
            "503": errorResponse(
              "state_unavailable, with Retry-After: approvals cannot be reached",
            ),
          },
        },
      },
      "/v1/approvals/{id}": {
        get: {
          summary: "Where one approval stands (needs a key in approverKeys)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description: "Pending, or settled with what the replica holding the call did",
              content: json(approvalStandingSchema),
            },
            "401": errorResponse("Missing or unknown API key"),
            "403": errorResponse("The key is not one of the tenant's approverKeys"),
            "404": errorResponse("No such approval (unknown, another tenant's, or forgotten)"),
            "503": errorResponse(
              "state_unavailable, with Retry-After: approvals cannot be reached",
            ),
          },
        },
        post: {
          summary: "Answer a pending approval (needs a key in approverKeys)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { required: true, content: json(approvalAnswerSchema) },
          responses: {
            "200": {
              description: "The decision was taken, and the replica holding the call acted on it",
              content: json(approvalDecisionSchema),
            },
            "202": {
              description: "Given through a replica that does not hold the call, and its fate is " +
                "not known yet (taken but not confirmed, or it cannot be told): GET this path " +
                "later (`acted`) or see the audit",
              content: json(approvalUnconfirmedSchema),
            },
            "400": errorResponse("Invalid body; the message names the fields"),
            "401": errorResponse("Missing or unknown API key"),
            "403": errorResponse("The key is not one of the tenant's approverKeys"),
            "404": errorResponse("No such approval (unknown, or another tenant's)"),
            "409": errorResponse(
              "No longer pending: answered, expired or withdrawn (what the replica holding the " +
                "call confirmed it did, or that it has not confirmed yet)",
            ),
            "413": errorResponse("Body too large"),
            "503": errorResponse(
              "state_unavailable, with Retry-After: approvals cannot be reached, or the replica " +
                "holding the call does not answer or did not take the answer in time (withdrawn: " +
                "it never acts on it; said only once the withdrawal succeeded)",
            ),
          },
        },
      },
      "/v1/tools": {
        get: {
          summary: "Tools this tenant may use",
          responses: {
            "200": {
              description: "The catalogue",
              content: json(z.object({ tools: z.array(toolEntrySchema) })),
            },
            "401": errorResponse("Missing or unknown API key"),
          },
        },
      },
      "/v1/tools/search": {
        get: {
          summary: "Search tools by meaning",
          parameters: Object.entries(
            (z.toJSONSchema(toolSearchQuerySchema, { io: "input" }) as {
              properties: Record<string, unknown>;
            }).properties,
          ).map(([name, schema]) => ({ name, in: "query", required: name === "q", schema })),
          responses: {
            "200": {
              description: "Ranked tools with their TypeScript signatures",
              content: json(z.object({ results: z.array(toolSearchResultSchema) })),
            },
            "400": errorResponse("Bad query parameters"),
            "401": errorResponse("Missing or unknown API key"),
          },
        },
      },
      "/v1/types": {
        get: {
          summary: "The namespaces whose TypeScript declarations this tenant may read",
          responses: {
            "200": {
              description: "One entry per namespace, and the path of tools.d.ts",
              content: json(z.object({
                namespaces: z.array(z.object({
                  namespace: z.string(),
                  server: z.string(),
                  file: z.string(),
                  tools: z.number().int(),
                  path: z.string(),
                })),
                common: z.string(),
              })),
            },
            "401": errorResponse("Missing or unknown API key"),
          },
        },
      },
      "/v1/types/{file}": {
        get: {
          summary: "One namespace's declarations ({namespace}.d.ts) or tools.d.ts",
          parameters: [{
            name: "file",
            in: "path",
            required: true,
            schema: { type: "string" },
            description: "`<namespace>.d.ts` as GET /v1/types lists it, or `tools.d.ts`",
          }],
          responses: {
            "200": {
              description: "TypeScript declarations",
              content: { "application/typescript": { schema: { type: "string" } } },
            },
            "401": errorResponse("Missing or unknown API key"),
            "404": errorResponse("No such file for this tenant"),
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "Alive" } } } },
      "/readyz": {
        get: {
          summary: "Readiness: upstream servers, embedder, warm pool",
          responses: { "200": { description: "Ready" }, "503": { description: "Not ready" } },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "Text format" } },
        },
      },
      "/mcp": {
        post: {
          summary: "MCP over Streamable HTTP (tools execute_code and search_tools)",
          responses: { "200": { description: "MCP response" } },
        },
      },
    },
  };
  return cached;
}

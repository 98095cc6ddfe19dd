/**
 * Request and response schemas of the public API. The same zod schemas validate
 * requests and generate the OpenAPI document.
 *
 * @module
 */

import { z } from "zod";
import { SANDBOX_ERROR_KINDS } from "../sandbox/mod.ts";

/** Largest accepted `code`, in characters. */
export const MAX_CODE_CHARS = 512 * 1024;

/** `POST /v1/execute` request body. */
export const executeRequestSchema = z.strictObject({
  code: z.string().min(1, { message: "code must not be empty" }).max(MAX_CODE_CHARS)
    .describe("TypeScript to run; may use top-level await and return."),
  intent: z.string().max(4000).optional()
    .describe("What the code is for, in natural language; helps tool selection."),
  tools: z.array(
    z.string().max(256).regex(/^[^.\s]+\.[^\s]+$/, { message: 'a tool id is "server.tool"' }),
  )
    .max(200).optional()
    .describe("Inject exactly these tools (ids server.tool); also narrows what may be called."),
  limits: z.strictObject({
    timeoutMs: z.number().int().positive().optional(),
    memoryMb: z.number().int().min(16).optional(),
    maxOutputBytes: z.number().int().positive().optional(),
  }).optional().describe("At most the tenant's maxima."),
  check: z.boolean().optional()
    .describe(
      "Type-check the code against the tools' declarations first; with errors nothing runs " +
        '(error.kind "type", error.diagnostics). Default: the tenant\'s setting.',
    ),
});

/** A validated execute request. */
export type ExecuteRequest = z.infer<typeof executeRequestSchema>;

/**
 * Error kinds of a response: the sandbox's, plus the type check's (`type`: the code has type
 * errors, `check_timeout`: the check did not finish in time, `check_limit`: it hit a limit of
 * the checker, its memory cap or its nesting depth; in every case nothing ran).
 */
const errorKinds = z.enum([...SANDBOX_ERROR_KINDS, "type", "check_timeout", "check_limit"]);

/** One type error, in the caller's code. */
export const diagnosticSchema = z.object({
  line: z.number().int().describe("1-based line in the caller's code"),
  column: z.number().int().describe("1-based column, in UTF-16 code units"),
  message: z.string().describe("TypeScript's message, redacted and bounded"),
  code: z.number().int().describe("TypeScript's diagnostic code"),
});

/** `POST /v1/execute` 200 response body. */
export const executeResponseSchema = z.object({
  ok: z.boolean(),
  result: z.unknown().optional(),
  logs: z.array(z.object({
    level: z.enum(["log", "info", "warn", "error", "debug"]),
    text: z.string(),
  })),
  error: z.object({
    kind: errorKinds,
    message: z.string(),
    line: z.number().int().optional(),
    stack: z.string().optional(),
    diagnostics: z.array(diagnosticSchema).optional()
      .describe('With kind "type": the type errors (at most the configured number).'),
  }).optional(),
  tools: z.object({
    injected: z.array(z.string()),
    calls: z.array(z.object({
      tool: z.string(),
      ms: z.number(),
      ok: z.boolean(),
      outcome: z.enum(["ok", "error", "refused", "cancelled"])
        .describe("cancelled: in flight when the execution ended, cancelled at the server"),
      error: z.string().optional(),
      warning: z.string().optional()
        .describe("the result broke the tool's outputSchema; the code got the text content"),
      prefetched: z.literal(true).optional()
        .describe("served from a call started before the code made it (speculation)"),
      cached: z.literal(true).optional()
        .describe("served from the session read cache (speculation)"),
    })),
  }),
  redactions: z.record(z.string(), z.number()),
  stats: z.object({ durationMs: z.number(), sandboxMs: z.number(), warm: z.boolean() }),
});

/** The body of a 200 response from `POST /v1/execute`. */
export type ExecuteResponse = z.infer<typeof executeResponseSchema>;

/** Every non-200 body. */
export const errorBodySchema = z.object({
  error: z.object({ kind: z.string(), message: z.string() }),
});

/** `GET /v1/tools/search` query parameters. */
export const toolSearchQuerySchema = z.strictObject({
  q: z.string({ message: "q is required" }).trim().min(1, { message: "q must not be empty" })
    .max(2000).describe("What the tools should do, in natural language."),
  k: z.coerce.number().int().min(1).max(100).default(10).describe("How many results."),
});

/** One tool search result. */
export const toolSearchResultSchema = z.object({
  id: z.string(),
  score: z.number(),
  description: z.string(),
  signature: z.string().describe("The TypeScript declaration the code would call."),
});

/** `GET /v1/tools` entry. */
export const toolEntrySchema = z.object({
  id: z.string(),
  server: z.string(),
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
  outputSchema: z.record(z.string(), z.unknown()).nullable(),
  annotations: z.record(z.string(), z.unknown()).nullable(),
});

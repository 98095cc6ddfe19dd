/**
 * The approval routes: `GET /v1/approvals` lists the caller's tenant's pending approvals,
 * `GET /v1/approvals/{id}` says where one stands, `POST /v1/approvals/{id}` answers one. Both need a key listed in the tenant's
 * `approverKeys` (any caller without auth). Another tenant's approval is indistinguishable
 * from an unknown one (404); one that was answered, expired or withdrawn gives 409. When shared
 * state (Redis) cannot be reached, or the replica holding the call does not answer, both give
 * 503 `state_unavailable` with `Retry-After` (an answer may still have been taken: the replica
 * holding the call records what it acted on). An answer through a replica that does not hold
 * the call is `200` only once the holder confirmed it acted on it; `202` `unconfirmed` when it
 * was taken but not confirmed, or nobody can tell (`GET /v1/approvals/{id}` or the audit tell
 * later).
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import {
  type ApprovalRequest,
  approverFingerprint,
  formatIssues,
  type Gateway,
  GatewayError,
  MAX_APPROVAL_REASON_CHARS,
} from "../gateway/mod.ts";

/** The body of `POST /v1/approvals/{id}`. */
export const approvalAnswerSchema = z.strictObject({
  decision: z.enum(["approve", "deny"]),
  reason: z.string().max(MAX_APPROVAL_REASON_CHARS).optional(),
  scope: z.enum(["call", "execution"]).optional(),
});

/** A pending approval as the HTTP API shows it (also the data of an SSE `approval` event). */
export const approvalEntrySchema = z.object({
  id: z.string(),
  tool: z.string(),
  server: z.string(),
  arguments: z.string().describe(
    "The JSON text of the arguments as they will be sent, except that a value the agent " +
      "never saw keeps its placeholder (listed in hiddenValues); each value redacted as if " +
      "the code had written it before it is rendered, at most 4,000 characters: long strings show " +
      "head and tail, long arrays their first items, every cut marked in place …[…]… (an " +
      "ellipsis inside a value is escaped as \\u2026); invisible characters escaped.",
  ),
  argumentsShortened: z.boolean().describe("Whether `arguments` leaves something out."),
  hiddenValues: z.array(z.object({
    placeholder: z.string(),
    why: z.enum(["upstream", "unknown"]),
  })).optional().describe(
    "Placeholders left in `arguments` for values the approver is not shown: the call sends " +
      "the value behind each. `upstream`: the agent only ever saw the placeholder (the value " +
      "is in no code it sent: a tool's result or other data, or a value the code computed); " +
      "`unknown`: it no longer resolves. At most 20; absent when there is none.",
  ),
  hiddenValuesTotal: z.number().int().optional().describe(
    "How many distinct hidden values the arguments hold (with hiddenValues).",
  ),
  executionId: z.string(),
  requestedAt: z.string().describe("ISO 8601"),
  expiresAt: z.string().describe("ISO 8601; then the call is denied (approval_timeout)"),
});

/** `GET /v1/approvals`. */
export const approvalListSchema = z.object({ approvals: z.array(approvalEntrySchema) });

/** The reply of `POST /v1/approvals/{id}`. */
export const approvalDecisionSchema = z.object({
  id: z.string(),
  status: z.enum(["approved", "denied"]),
  scope: z.enum(["call", "execution"]),
  decidedBy: z.string(),
  decidedAt: z.string(),
});

/** The reply of `POST /v1/approvals/{id}` (`202`) when what became of the answer is not known yet. */
export const approvalUnconfirmedSchema = z.object({
  id: z.string(),
  status: z.literal("unconfirmed"),
  decision: z.enum(["approved", "denied"]),
  taken: z.enum(["taken", "unknown"]).describe(
    "`taken`: the replica holding the call took the answer but has not confirmed acting on " +
      "it; `unknown`: whether it took it cannot be told now (shared state did not answer).",
  ),
  scope: z.enum(["call", "execution"]),
  decidedBy: z.string(),
  offeredAt: z.string().describe("ISO 8601"),
  message: z.string(),
});

/** The reply of `GET /v1/approvals/{id}`. */
export const approvalStandingSchema = z.object({
  id: z.string(),
  status: z.enum(["pending", "settled"]),
  decision: z.string().optional().describe(
    "How the request was settled (approved, denied, timeout, withdrawn); with `settled`",
  ),
  decidedAt: z.string().optional().describe("ISO 8601; with `settled`"),
  acted: z.object({ status: z.string(), at: z.string().describe("ISO 8601") }).optional()
    .describe(
      "What the replica holding the call confirmed it did (approved: the call was sent to its " +
        "server; not_sent: approved, but the execution ended before the call was sent; unknown: " +
        "approved, and the replica holding the call died before confirming; timeout, " +
        "withdrawn: it did not run), which may differ from `decision` (a take whose reply it " +
        "never got). Absent while it has not confirmed.",
    ),
});

/** The shown form of a pending request (no tenant, no request id). */
export function approvalEntry(request: ApprovalRequest): z.infer<typeof approvalEntrySchema> {
  return {
    id: request.id,
    tool: request.tool,
    server: request.server,
    arguments: request.arguments,
    argumentsShortened: request.argumentsShortened ?? false,
    ...(request.hiddenValues?.length
      ? {
        hiddenValues: request.hiddenValues,
        hiddenValuesTotal: request.hiddenValuesTotal ?? request.hiddenValues.length,
      }
      : {}),
    executionId: request.executionId,
    requestedAt: new Date(request.requestedAt).toISOString(),
    expiresAt: new Date(request.expiresAt).toISOString(),
  };
}

/** Largest body of an answer, in bytes. */
export const MAX_ANSWER_BYTES = 4096;

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// deno-lint-ignore no-explicit-any
type AnyEnv = any;

/** Adds the approval routes to `app`; they authenticate approvers themselves. */
export function addApprovalRoutes(app: Hono<AnyEnv>, gateway: Gateway): void {
  const approver = (c: Context) =>
    gateway.tenants.authenticateApprover(c.req.header("authorization"));

  app.get("/v1/approvals", async (c) => {
    const { tenant } = approver(c);
    const pending = await gateway.approvals.list(tenant.id);
    return c.json({ approvals: pending.map(approvalEntry) });
  });

  app.get("/v1/approvals/:id", async (c) => {
    const { tenant } = approver(c);
    const id = c.req.param("id");
    if (!ID_PATTERN.test(id)) throw new GatewayError("not_found", "there is no such approval");
    const standing = await gateway.approvals.lookup(tenant.id, id);
    if (!standing) throw new GatewayError("not_found", "there is no such approval");
    if (standing.status === "pending") return c.json({ id, status: "pending" });
    const { settled, acted } = standing;
    return c.json({
      id,
      status: "settled",
      decision: settled.status,
      decidedAt: new Date(settled.at).toISOString(),
      ...(acted ? { acted: { status: acted.status, at: new Date(acted.at).toISOString() } } : {}),
    });
  });

  const limit = bodyLimit({
    maxSize: MAX_ANSWER_BYTES,
    onError: () => {
      throw new GatewayError("payload_too_large", `an answer is at most ${MAX_ANSWER_BYTES} bytes`);
    },
  });
  app.post("/v1/approvals/:id", limit, async (c) => {
    const { tenant, keyId } = approver(c);
    const id = c.req.param("id");
    // Not an id the gateway hands out: unknown, without looking anything up.
    if (!ID_PATTERN.test(id)) throw new GatewayError("not_found", "there is no such approval");
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError("invalid_request", "the body is not valid JSON");
    }
    const parsed = approvalAnswerSchema.safeParse(body);
    if (!parsed.success) {
      throw new GatewayError("invalid_request", formatIssues(parsed.error.issues));
    }
    const outcome = await gateway.approvals.answer(tenant.id, id, {
      approve: parsed.data.decision === "approve",
      reason: parsed.data.reason,
      scope: parsed.data.scope ?? "call",
      decidedBy: approverFingerprint(keyId),
    });
    if (outcome.status === "unconfirmed") {
      return c.json({
        id,
        status: outcome.status,
        decision: outcome.decision,
        taken: outcome.taken,
        scope: outcome.answer.scope ?? "call",
        decidedBy: outcome.answer.decidedBy,
        offeredAt: new Date(outcome.offeredAt).toISOString(),
        message: "the outcome is not known yet: GET /v1/approvals/{id} later (`acted` says what " +
          "the replica holding the call did, once it confirms) or see the audit",
      }, 202);
    }
    return c.json({
      id,
      status: outcome.status,
      scope: outcome.answer?.scope ?? "call",
      decidedBy: outcome.answer?.decidedBy ?? "",
      decidedAt: new Date(outcome.decidedAt).toISOString(),
    });
  });
}

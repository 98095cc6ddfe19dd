/**
 * Approval over MCP: when the client declared the `elicitation` capability (form mode), a
 * call that needs approval becomes an `elicitation/create` request, sent on the stream of
 * the `execute_code` call that made it, asking `approve` (boolean), optional `reason` and
 * optional `scope` (`call` | `execution`).
 *
 * @module
 */

import { ElicitResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { ClientCapabilities, ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import {
  type ApprovalAnswer,
  type ApprovalChannel,
  type ApprovalRequest,
  approverFingerprint,
  escapeInvisible,
  MAX_APPROVAL_REASON_CHARS,
} from "../gateway/mod.ts";
import { APPROVAL_REPLY_META, type ForeignReply } from "./mcp_replies.ts";

/** Sends a request to the client related to the current tool call (the SDK's `extra.sendRequest`). */
export type SendRequest = (
  request: { method: "elicitation/create"; params: Record<string, unknown> },
  schema: typeof ElicitResultSchema,
  options: { signal: AbortSignal; timeout: number },
) => Promise<ElicitResult>;

/** The form a client fills in. */
export const APPROVAL_FORM = {
  type: "object",
  properties: {
    approve: {
      type: "boolean",
      title: "Approve",
      description: "Let this tool call run.",
    },
    reason: {
      type: "string",
      title: "Reason",
      description: "Why (shown to the code when the call is denied).",
      maxLength: MAX_APPROVAL_REASON_CHARS,
    },
    scope: {
      type: "string",
      title: "Scope",
      description: '"execution" approves every further call to this tool in this execution.',
      enum: ["call", "execution"],
      default: "call",
    },
  },
  required: ["approve"],
} as const;

/** Whether the client can answer form elicitations. */
export function supportsFormElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation as Record<string, unknown> | undefined;
  if (!elicitation) return false;
  // `{}` is form mode (the older declaration); otherwise `form` must be there.
  return Object.keys(elicitation).length === 0 || "form" in elicitation;
}

/**
 * The text a person reads: server, tool, the arguments and the values they hide. The tool's
 * name is the server's, so it is shown with its invisible characters escaped like the
 * arguments (a name must not look like another).
 */
export function approvalMessage(request: ApprovalRequest): string {
  return [
    `Airlock: code running for you wants to call the tool "${escapeInvisible(request.tool)}" ` +
    `(server "${escapeInvisible(request.server)}") with these arguments:`,
    "",
    request.arguments,
    "",
    request.argumentsShortened
      ? "These arguments are shortened to fit: every cut is marked …[…]… in place " +
        "(an ellipsis inside a value is shown as \\u2026)."
      : "These arguments are shown in full.",
    ...hiddenNote(request),
    "",
    `Approve this call? Without an answer it is denied at ${
      new Date(request.expiresAt).toISOString()
    }.`,
  ].join("\n");
}

/**
 * The lines that tell a person which values of the call are not shown (none when every
 * value is): each placeholder kept for a value the agent never saw.
 */
function hiddenNote(request: ApprovalRequest): string[] {
  const hidden = request.hiddenValues ?? [];
  if (hidden.length === 0) return [];
  const total = request.hiddenValuesTotal ?? hidden.length;
  const more = total > hidden.length ? ` and ${total - hidden.length} more` : "";
  return [
    "",
    `NOT SHOWN: ${total} value${total === 1 ? "" : "s"} in these arguments ` +
    `${total === 1 ? "is" : "are"} hidden from you because the agent itself only saw ` +
    `${total === 1 ? "it" : "them"} as a placeholder (data from a tool or elsewhere, or a ` +
    `value its code computed; never one it wrote): ${
      hidden.map((h) => h.placeholder).join(", ")
    }${more}. The call ` +
    "sends the real value in each place; deny it if you cannot tell what it does.",
  ];
}

/**
 * Notes, before an approval's elicitation is sent, who is asked (the approval's id and the
 * approver identity its answers carry), so a reply reaching another replica finds the request
 * (`ApprovalBroker.noteAsked`). Given only where replies are routed (`mcp_replies.ts`): the
 * elicitation then carries the approval id for the router, which sends it as the JSON-RPC id.
 */
export type NoteAsk = (approvalId: string, approver: string) => Promise<unknown>;

/** Who the session is, for {@linkcode mcpApprovalChannel}. */
export interface McpApprover {
  /** The `sha256:<hex>` of the session's API key; `""` without auth. */
  keyId: string;
  /** Whether that key may answer its tenant's approvals (`TenantDirectory.mayApprove`). */
  mayApprove: boolean;
}

/**
 * The approval channel of one `execute_code` call. The client is asked (elicitation) only
 * when it can answer and its key may approve; otherwise the call waits for the tenant's
 * approvers over `/v1/approvals` (`answersItself: false`), and is "unavailable" only when
 * the tenant has none. Its answers are recorded as `mcp-client:` and the key's fingerprint.
 * @param onAsk called when a request is announced (progress text)
 * @param noteAsk where replies are routed across replicas (see {@linkcode NoteAsk})
 */
export function mcpApprovalChannel(
  capabilities: ClientCapabilities | undefined,
  sendRequest: SendRequest,
  who: McpApprover,
  onAsk: (request: ApprovalRequest) => void = () => {},
  noteAsk?: NoteAsk,
): ApprovalChannel {
  const approver = `mcp-client:${approverFingerprint(who.keyId)}`;
  if (who.mayApprove) {
    const channel = elicitationChannel(capabilities, sendRequest, onAsk, approver, noteAsk);
    if (channel) return channel;
  }
  return { answersItself: false, ask: (request) => onAsk(request) };
}

/**
 * The elicitation channel of one `execute_code` call, or `undefined` when the client cannot
 * answer elicitations.
 * @param onAsk called when a request is put to the client (progress text)
 * @param approver the `decidedBy` of its answers
 * @param noteAsk where replies are routed across replicas (see {@linkcode NoteAsk})
 */
export function elicitationChannel(
  capabilities: ClientCapabilities | undefined,
  sendRequest: SendRequest,
  onAsk: (request: ApprovalRequest) => void = () => {},
  approver = "mcp-client",
  noteAsk?: NoteAsk,
): ApprovalChannel | undefined {
  if (!supportsFormElicitation(capabilities)) return undefined;
  return {
    answersItself: true,
    approver,
    async ask(request, signal): Promise<ApprovalAnswer> {
      onAsk(request);
      // Aborted only while the client has not answered: a request that ended another way
      // (timeout, an answer over HTTP, the execution ending) is cancelled at the client
      // (notifications/cancelled); one the client answered is not.
      const pending = new AbortController();
      const withdraw = () => pending.abort(signal.reason);
      signal.addEventListener("abort", withdraw, { once: true });
      if (signal.aborted) withdraw();
      try {
        // Noted before it is sent: the reply may come at once, through another replica. Best
        // effort (the store may be down): the reply then counts only where it was sent from.
        if (noteAsk) await noteAsk(request.id, approver).catch(() => {});
        const result = await sendRequest(
          {
            method: "elicitation/create",
            params: {
              mode: "form",
              message: approvalMessage(request),
              requestedSchema: APPROVAL_FORM,
              ...(noteAsk ? { _meta: { [APPROVAL_REPLY_META]: request.id } } : {}),
            },
          },
          ElicitResultSchema,
          // The broker's own timeout settles first and aborts this.
          {
            signal: pending.signal,
            timeout: Math.max(1000, request.expiresAt - Date.now() + 5000),
          },
        );
        return answerOf(result, approver);
      } finally {
        signal.removeEventListener("abort", withdraw);
      }
    },
  };
}

/**
 * A client's elicitation result as an answer: only `accept` with `approve: true` approves.
 * @param decidedBy who answered (default `mcp-client`)
 */
export function answerOf(result: ElicitResult, decidedBy = "mcp-client"): ApprovalAnswer {
  if (result.action !== "accept") {
    return {
      approve: false,
      reason: result.action === "decline" ? "declined by the user" : "dismissed by the user",
      decidedBy,
    };
  }
  const content = result.content ?? {};
  const answer: ApprovalAnswer = {
    approve: content.approve === true,
    scope: content.scope === "execution" ? "execution" : "call",
    decidedBy,
  };
  if (typeof content.reason === "string" && content.reason !== "") {
    answer.reason = content.reason.slice(0, MAX_APPROVAL_REASON_CHARS);
  }
  return answer;
}

/**
 * A client's reply to an approval elicitation as an answer of `decidedBy`, as the replica that
 * sent it would take it: a result is read as {@linkcode answerOf} reads it; an error, or a result
 * that is not an elicitation result, is a denial (the client did not answer the request).
 */
export function replyAnswer(reply: ForeignReply, decidedBy: string): ApprovalAnswer {
  if ("result" in reply) {
    const parsed = ElicitResultSchema.safeParse(reply.result);
    if (parsed.success) return answerOf(parsed.data, decidedBy);
  }
  return {
    approve: false,
    reason: "the approver's client did not answer the request",
    scope: "call",
    decidedBy,
  };
}

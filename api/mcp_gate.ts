/**
 * Admission of each JSON-RPC message an MCP session receives over HTTP, before the SDK's
 * handlers see it: every request that makes the gateway answer takes one request of the
 * tenant's rate limit (a batch of 100 is 100 requests), and a resource URI is capped before
 * the SDK parses and matches it.
 *
 * Free: the session's opening `initialize` (it took its request before the session was built;
 * any later one is counted: the SDK answers one it cannot parse, and it went free, red team l2:
 * 30,000 answers in 10 s at 5 a minute), notifications (no
 * answer; `notifications/cancelled` only stops work) and the client's responses (to the
 * gateway's own requests). Everything else is counted here, `tools/call` and `resources/read`
 * included: the SDK refuses an unknown tool, invalid arguments or an unknown URI before any
 * handler runs, so a count in the handlers let such requests through free (red team j2: 3,000
 * invalid `execute_code` calls answered in 0.7 s with 8.4 MB of error text at 5 requests a
 * minute). `ping` is counted: it is cheap, but a batch of 100 pings is still 100 answers.
 *
 * @module
 */

import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  type JSONRPCMessage,
  type MessageExtraInfo,
} from "@modelcontextprotocol/sdk/types.js";
import { GatewayError } from "../gateway/mod.ts";

/** Longest resource URI read, in UTF-16 units (a declaration file's URI is < 300). */
export const MAX_RESOURCE_URI_CHARS = 2048;

/**
 * Puts the gate in front of `transport`'s message handler. Call it after the MCP server has
 * connected to the transport (connecting sets the handler this one wraps).
 * @param take takes one request of the tenant's rate limit; throws GatewayError
 *   `rate_limited` (with `retryAfter`, seconds) when there is none left
 */
export function gateMessages(transport: Transport, take: () => Promise<void>): void {
  const next = transport.onmessage;
  if (next === undefined) throw new Error("gateMessages: the transport is not connected");
  const refuse = (id: string | number, code: number, message: string, data?: unknown) =>
    transport.send({ jsonrpc: "2.0", id, error: { code, message, data } }).catch(() => {});
  let opened = false;
  transport.onmessage = <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => {
    const m = message as { id?: string | number; method?: string; params?: { uri?: unknown } };
    // Notifications and responses pass.
    if (m.id === undefined || typeof m.method !== "string") return next(message, extra);
    if (m.method === "resources/read") {
      const uri = m.params?.uri;
      if (typeof uri === "string" && uri.length > MAX_RESOURCE_URI_CHARS) {
        refuse(
          m.id,
          ErrorCode.InvalidParams,
          `the resource URI is longer than ${MAX_RESOURCE_URI_CHARS} characters`,
          { kind: "invalid_request" },
        );
        return;
      }
    }
    if (m.method === "initialize" && !opened) {
      opened = true;
      return next(message, extra);
    }
    const id = m.id;
    take().then(
      () => next(message, extra),
      (error) => {
        if (!(error instanceof GatewayError)) {
          refuse(id, ErrorCode.InternalError, "internal error", { kind: "internal" });
          return;
        }
        refuse(id, ErrorCode.InvalidRequest, error.message, {
          kind: error.kind,
          ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}),
        });
      },
    );
  };
}

/**
 * Replies to the gateway's own requests (elicitations) over MCP sessions that several replicas
 * serve: the client's JSON-RPC response may reach a replica that did not send the request (a
 * round-robin balancer). The SDK numbers a session's outgoing requests 0, 1, 2… per server
 * instance, so two replicas serving one session use the same ids, and a reply for one replica's
 * request would be matched by another to a request of its own, or dropped as unknown (202).
 *
 * {@linkcode routeReplies} sits between a transport and its MCP server: each outgoing request
 * gets a wire id no other replica uses (a random UUID, or the approval's id for an approval's
 * elicitation, see {@linkcode APPROVAL_REPLY_META}), mapped back to the SDK's number when its
 * reply comes; a reply this replica did not ask for never reaches the SDK: it goes to `foreign`
 * (which gives an approval's answer to the replica holding the call). Mappings live only while
 * their request does: removed when the reply comes or the request is cancelled.
 *
 * @module
 */

import type {
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";

/**
 * The `_meta` key an approval's elicitation carries its approval id under, so that the router
 * sends it with that id as its JSON-RPC id (a replica receiving the reply finds the request by
 * it). Removed before the request leaves: the client never sees it.
 */
export const APPROVAL_REPLY_META = "airlock/approval";

/** Wire ids this router gives: a UUID (the approvals' ids are UUIDs too). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `id` can be one of the wire ids this router gives (a lower-case UUID): any other reply
 * id is nobody's request, and is not looked up (it would be a key of the client's choosing).
 */
export function isWireId(id: unknown): id is string {
  return typeof id === "string" && id.length === 36 && UUID.test(id);
}

/** A JSON-RPC response (result or error) as the router hands it over. */
export interface ForeignReply {
  /** The reply's id, as the client sent it. */
  id: string | number;
  /** The result, when it is one. */
  result?: unknown;
  /** The error, when it is one. */
  error?: unknown;
}

/**
 * Gives the requests `transport` sends ids unique across replicas and hands replies that no
 * request of this transport is waiting for to `foreign` instead of the SDK. Call it after the MCP
 * server has connected to the transport (connecting sets the handlers this wraps).
 * @param foreign called once per such reply (never throws into the transport)
 * @throws Error when the transport is not connected
 */
export function routeReplies(transport: Transport, foreign: (reply: ForeignReply) => void): void {
  const next = transport.onmessage;
  if (next === undefined) throw new Error("routeReplies: the transport is not connected");
  const send = transport.send.bind(transport);
  /** Wire id → the SDK's id, and back, for requests waiting for their reply. */
  const toLocal = new Map<string, string | number>();
  const toWire = new Map<string | number, string>();
  const forget = (wire: string) => {
    const local = toLocal.get(wire);
    toLocal.delete(wire);
    if (local !== undefined) toWire.delete(local);
  };

  transport.send = (message: JSONRPCMessage, options?: TransportSendOptions) => {
    const m = message as {
      id?: string | number;
      method?: string;
      params?: { requestId?: string | number; _meta?: Record<string, unknown> };
    };
    if (typeof m.method === "string" && m.id !== undefined) {
      const wire = wireId(m.params?._meta);
      toLocal.set(wire, m.id);
      toWire.set(m.id, wire);
      return send({ ...message, id: wire, params: withoutTag(m.params) } as JSONRPCMessage, options)
        .catch((error: unknown) => {
          forget(wire);
          throw error;
        });
    }
    if (m.method === "notifications/cancelled" && m.params?.requestId !== undefined) {
      // The SDK cancels its request by its own id: the client knows it by the wire id.
      const wire = toWire.get(m.params.requestId);
      if (wire !== undefined) {
        forget(wire);
        return send(
          { ...message, params: { ...m.params, requestId: wire } } as JSONRPCMessage,
          options,
        );
      }
    }
    return send(message, options);
  };

  transport.onmessage = <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => {
    const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
    const isReply = m.method === undefined && m.id !== undefined &&
      ("result" in m || "error" in m);
    if (!isReply) return next(message, extra);
    const local = typeof m.id === "string" ? toLocal.get(m.id) : undefined;
    if (local !== undefined) {
      forget(m.id as string);
      return next({ ...message, id: local } as JSONRPCMessage, extra);
    }
    if (typeof m.id !== "string" && typeof m.id !== "number") return;
    try {
      foreign("result" in m ? { id: m.id, result: m.result } : { id: m.id, error: m.error });
    } catch { /* a reply's fate is the handler's */ }
  };
}

/** The wire id of an outgoing request: the approval's id it is tagged with, else a fresh UUID. */
function wireId(meta: Record<string, unknown> | undefined): string {
  const tag = meta?.[APPROVAL_REPLY_META];
  return isWireId(tag) ? tag : crypto.randomUUID();
}

/** `params` without the approval tag (and without `_meta` when nothing else was in it). */
function withoutTag(
  params: { _meta?: Record<string, unknown> } | undefined,
): Record<string, unknown> | undefined {
  if (params?._meta === undefined || !(APPROVAL_REPLY_META in params._meta)) return params;
  const { [APPROVAL_REPLY_META]: _, ...meta } = params._meta;
  const { _meta: __, ...rest } = params;
  return Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
}

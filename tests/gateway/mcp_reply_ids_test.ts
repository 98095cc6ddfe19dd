/**
 * The ids of the requests the gateway sends over an MCP session (`api/mcp_replies.ts`): the SDK
 * numbers each server's requests from 0, so two replicas serving one session sent the same ids
 * and a reply could be taken by the wrong one. Proves that each request leaves with a UUID (an
 * approval's elicitation: its approval id, the tag removed), that its reply comes back to the SDK
 * under the SDK's own id exactly once, that a cancellation names the request by the id the client
 * knows, and that every reply this transport did not ask for (unknown, answered already, cancelled,
 * numeric, failed to send) goes to the foreign handler instead of the SDK.
 */

import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { APPROVAL_REPLY_META, type ForeignReply, routeReplies } from "../../api/mcp_replies.ts";
import { assert, assertEquals } from "../assert.ts";

/** A transport whose sends are kept, and whose SDK side records what it is handed. */
function fakeTransport(failSends = false) {
  const sent: JSONRPCMessage[] = [];
  const received: JSONRPCMessage[] = [];
  const foreign: ForeignReply[] = [];
  const transport = {
    onmessage: (message: JSONRPCMessage) => void received.push(message),
    send: (message: JSONRPCMessage) => {
      if (failSends) return Promise.reject(new Error("stream gone"));
      sent.push(message);
      return Promise.resolve();
    },
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
  } as unknown as Transport;
  routeReplies(transport, (reply) => foreign.push(reply));
  const fromClient = (message: unknown) => transport.onmessage!(message as JSONRPCMessage);
  return { transport, sent, received, foreign, fromClient };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

Deno.test("a request leaves with a UUID and its reply reaches the SDK under its own id, once", async () => {
  const t = fakeTransport();
  await t.transport.send({ jsonrpc: "2.0", id: 0, method: "ping" });
  const wire = (t.sent[0] as { id: unknown }).id as string;
  assert(UUID.test(wire), `a UUID, not the SDK's number: ${wire}`);
  t.fromClient({ jsonrpc: "2.0", id: wire, result: {} });
  assertEquals(t.received, [{ jsonrpc: "2.0", id: 0, result: {} }]);
  // The same reply again: nobody waits for it any more.
  t.fromClient({ jsonrpc: "2.0", id: wire, result: {} });
  assertEquals(t.received.length, 1);
  assertEquals(t.foreign, [{ id: wire, result: {} }]);
});

Deno.test("an approval's elicitation leaves with the approval id, the tag removed", async () => {
  const t = fakeTransport();
  const approval = crypto.randomUUID();
  await t.transport.send({
    jsonrpc: "2.0",
    id: 3,
    method: "elicitation/create",
    params: { message: "m", _meta: { [APPROVAL_REPLY_META]: approval } },
  });
  await t.transport.send({
    jsonrpc: "2.0",
    id: 4,
    method: "elicitation/create",
    params: { message: "m", _meta: { [APPROVAL_REPLY_META]: "not-a-uuid", other: 1 } },
  });
  const [first, second] = t.sent as Array<{ id: string; params: Record<string, unknown> }>;
  assertEquals(first.id, approval);
  assertEquals(first.params, { message: "m" }, "the client never sees the tag");
  assert(UUID.test(second.id) && second.id !== "not-a-uuid", "a tag that is no UUID is not used");
  assertEquals(second.params, { message: "m", _meta: { other: 1 } }, "other _meta is kept");
  t.fromClient({ jsonrpc: "2.0", id: approval, error: { code: -1, message: "no" } });
  assertEquals(t.received, [{ jsonrpc: "2.0", id: 3, error: { code: -1, message: "no" } }]);
});

Deno.test("a cancellation names the request by its wire id; a later reply is foreign", async () => {
  const t = fakeTransport();
  await t.transport.send({ jsonrpc: "2.0", id: 7, method: "elicitation/create", params: {} });
  const wire = (t.sent[0] as { id: string }).id;
  await t.transport.send({
    jsonrpc: "2.0",
    method: "notifications/cancelled",
    params: { requestId: 7, reason: "timeout" },
  });
  assertEquals(t.sent[1], {
    jsonrpc: "2.0",
    method: "notifications/cancelled",
    params: { requestId: wire, reason: "timeout" },
  });
  t.fromClient({ jsonrpc: "2.0", id: wire, result: { action: "accept" } });
  assertEquals(t.received, [], "the SDK is not handed a reply for a request it cancelled");
  assertEquals(t.foreign.length, 1);
});

Deno.test("replies nobody here asked for go to the foreign handler; the rest passes", async () => {
  const t = fakeTransport();
  const stranger = crypto.randomUUID();
  t.fromClient({ jsonrpc: "2.0", id: stranger, result: {} });
  t.fromClient({ jsonrpc: "2.0", id: 0, result: {} });
  t.fromClient({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  t.fromClient({ jsonrpc: "2.0", method: "notifications/initialized" });
  assertEquals(t.foreign, [{ id: stranger, result: {} }, { id: 0, result: {} }]);
  assertEquals(t.received.length, 2, "the client's requests and notifications reach the SDK");
  // A send that failed leaves nothing waiting.
  const failing = fakeTransport(true);
  await failing.transport.send({ jsonrpc: "2.0", id: 0, method: "ping" }).catch(() => {});
  failing.fromClient({ jsonrpc: "2.0", id: 0, result: {} });
  assertEquals(failing.received, []);
});

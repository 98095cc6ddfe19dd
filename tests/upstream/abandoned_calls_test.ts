/**
 * The ledger of calls given up on (`upstream/abandoned_calls.ts`), fed the JSON-RPC messages a
 * real client sends and receives: a call counts for its owner from its cancellation until its
 * late answer or the grace period, never longer, and never for anyone else.
 */

import { assertEquals } from "../assert.ts";
import { AbandonedCalls, abandonedCallsObserver } from "../../upstream/abandoned_calls.ts";

const call = (id: number | string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "t", arguments: {} },
});
const cancel = (id: number | string) => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId: id, reason: "the execution ended" },
});
const answer = (id: number | string) => ({ jsonrpc: "2.0", id, result: { content: [] } });
const failure = (id: number | string) => ({
  jsonrpc: "2.0",
  id,
  error: { code: -32603, message: "x" },
});

Deno.test("abandoned calls: counted from cancellation to the late answer, per owner", () => {
  const ledger = new AbandonedCalls(60_000);
  let owner: string | undefined = "a";
  const observe = abandonedCallsObserver(ledger, () => owner);
  for (const id of [1, 2, 3]) observe.sent(call(id));
  owner = "b";
  observe.sent(call("s-4"));
  owner = undefined;
  observe.sent(call(5)); // nobody's (the gateway's own): never counted
  // Answered in time: never abandoned.
  observe.received(answer(1));
  observe.sent(cancel(1));
  assertEquals(ledger.count("a"), 0);
  // Cancelled before an answer: abandoned until the late answer or error.
  for (const id of [2, 3, "s-4", 5]) observe.sent(cancel(id));
  assertEquals([ledger.count("a"), ledger.count("b")], [2, 1]);
  assertEquals(ledger.ignoresCancellation, false);
  observe.received(answer(2));
  assertEquals(ledger.ignoresCancellation, true, "answered after its cancellation");
  observe.received(failure("s-4"));
  assertEquals([ledger.count("a"), ledger.count("b")], [1, 0]);
  // Messages that are not answers to our calls change nothing.
  observe.received({ jsonrpc: "2.0", id: 3, method: "sampling/createMessage", params: {} });
  observe.received({ jsonrpc: "2.0", method: "notifications/progress", params: {} });
  observe.sent(cancel(99));
  assertEquals(ledger.count("a"), 1);
  ledger.clear();
  assertEquals(ledger.count("a"), 0);
});

Deno.test("abandoned calls: a call never answered stops counting after the grace period", async () => {
  const ledger = new AbandonedCalls(50);
  const observe = abandonedCallsObserver(ledger, () => "a");
  observe.sent(call(7));
  observe.sent(cancel(7));
  assertEquals(ledger.count("a"), 1);
  await new Promise((r) => setTimeout(r, 120));
  assertEquals(ledger.count("a"), 0);
  // Its answer, arriving after all, changes no count but shows the server ignores cancellation.
  assertEquals(ledger.ignoresCancellation, false);
  observe.received(answer(7));
  assertEquals(ledger.count("a"), 0);
  assertEquals(ledger.ignoresCancellation, true);
});

Deno.test("abandoned calls: a call that never reached the server is not held against anyone", () => {
  const ledger = new AbandonedCalls(60_000);
  const unwritten = new Set<number | string>([7]);
  const observe = abandonedCallsObserver(ledger, () => "victim", (id) => !unwritten.has(id));
  // Refused by the transport (its queue was full): the send failed, then the SDK cancels it.
  observe.sent(call(5));
  observe.failed?.(call(5));
  observe.sent(cancel(5));
  // Still queued when cancelled: the transport drops it unwritten.
  observe.sent(call(7));
  observe.sent(cancel(7));
  // Observed before (red team round 3): both counted, and the victim was refused for 5 s
  // ("may still be working on 24 calls") for calls the server never saw.
  assertEquals(ledger.count("victim"), 0);
  // A call that was written and cancelled still counts.
  observe.sent(call(8));
  observe.sent(cancel(8));
  assertEquals(ledger.count("victim"), 1);
});

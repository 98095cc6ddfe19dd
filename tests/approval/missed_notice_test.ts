/**
 * A waiting call always ends, even when the store's notice of its settlement never reaches
 * the broker that holds it (pub/sub is at most once): two brokers share one store whose
 * subscription delivers nothing. Before the fix, the waiter's timeout found the request
 * settled by the other broker and returned without resolving it: the call waited for ever.
 */

import { assertEquals } from "../assert.ts";
import {
  ApprovalBroker,
  type ApprovalOutcome,
  MemoryApprovalStore,
  type SettlementNotice,
} from "../../gateway/approval/mod.ts";

/** A shared store whose notices are all lost (a subscriber that is always reconnecting). */
class DeafStore extends MemoryApprovalStore {
  override subscribe(_listener: (notice: SettlementNotice) => void): () => void {
    return () => {};
  }
}

const request = {
  tenant: "acme",
  executionId: crypto.randomUUID(),
  requestId: "r1",
  server: "fs",
  tool: "fs.write_file",
  arguments: "{}",
};

/** The outcome, or "still waiting" when it has not come within `ms`. */
async function within(
  outcome: Promise<ApprovalOutcome>,
  ms: number,
): Promise<ApprovalOutcome | "still waiting"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"still waiting">((r) =>
    timer = setTimeout(() => r("still waiting"), ms)
  );
  try {
    return await Promise.race([outcome, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("approval: a decision whose notice was lost still ends the waiting call with it", async () => {
  const store = new DeafStore();
  const a = new ApprovalBroker({ store });
  const b = new ApprovalBroker({ store });
  try {
    // A long timeout: only the re-read of the record (every second) can end it in time.
    const waiting = a.request(request, { timeoutMs: 60_000, maxPending: 5 });
    const [pending] = await b.list("acme");
    await b.answer("acme", pending.id, { approve: true, reason: "fine", decidedBy: "ann" });
    const outcome = await within(waiting, 5_000);
    assertEquals(outcome === "still waiting" ? outcome : outcome.status, "approved");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("approval: a timeout that finds the request settled elsewhere ends with that decision", async () => {
  const store = new DeafStore();
  const a = new ApprovalBroker({ store });
  const b = new ApprovalBroker({ store });
  try {
    const waiting = a.request(request, { timeoutMs: 300, maxPending: 5 });
    const [pending] = await b.list("acme");
    await b.answer("acme", pending.id, { approve: false, reason: "no", decidedBy: "ann" });
    const outcome = await within(waiting, 5_000);
    assertEquals(outcome === "still waiting" ? outcome : outcome.status, "denied");
  } finally {
    await a.close();
    await b.close();
  }
});

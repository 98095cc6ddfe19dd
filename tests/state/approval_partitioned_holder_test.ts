/**
 * From the red team (l3): a replica cut off from Redis with its sockets open (a partition that
 * black-holes traffic) kept its subscriber as Redis sees it, so an answer through another
 * replica was taken: 200 `approved`, Redis kept `approved` (retries got 409 `(approved)`),
 * while the holder never heard of it, ended the call at its deadline and recorded `timeout`.
 * Now the answer is only offered; the cut-off holder cannot take it, so it is withdrawn (503)
 * and the holder's own deadline decides: its `timeout` row is the only decision anywhere.
 */

import { assertEquals, assertMatch, assertNotEquals } from "../assert.ts";
import { findProgram, skipWithout } from "../services.ts";
import { APPROVER, auth, withHeldCall } from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "approval: an answer a cut-off holder cannot take is withdrawn (503); its deadline decides",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHeldCall({ timeoutSeconds: 8, relayed: "a" }, async (held, relay) => {
      const { b, id } = held;
      relay.freeze();
      const answer = await b.post(
        `/v1/approvals/${id}`,
        { decision: "approve", reason: "go ahead" },
        auth(APPROVER),
      );
      assertEquals(answer.status, 503, JSON.stringify(answer.body));
      assertEquals(answer.body.error.kind, "state_unavailable");
      assertEquals(answer.headers.get("retry-after"), "1");
      // A's deadline ends the call: refused, not run.
      assertMatch(await held.onA, /not approved within 8 s/);
      relay.unfreeze();
      const late = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertNotEquals(late.status, 200, JSON.stringify(late.body));
      // Withdrawn by B once A's lease lapsed, or settled by A's own timeout: never approved.
      if (late.status === 409) assertMatch(late.body.error.message, /\((timeout|withdrawn)\b/);
      await held.a.stop();
      assertEquals(held.rowsOnA(), [["timeout", undefined]]);
      assertEquals(held.rowsOnB().filter(([d]) => d === "approved"), []);
      assertEquals(await held.ran(), false);
    });
  },
});

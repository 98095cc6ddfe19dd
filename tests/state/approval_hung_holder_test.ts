/**
 * From the red team (l3): a replica that hangs (SIGSTOP: a blocked event loop, a frozen VM)
 * while it holds a call waiting for approval still had its lease and its subscriber, so an
 * answer through another replica was taken: 200 `approved`; killed then, the call never ran
 * and no row said so. Now an answer through B is only offered to the holder, and withdrawn
 * when the holder does not take it in time: 503 with Retry-After. A holder that resumes never
 * acts on the withdrawn answer (a later answer is what it acts on); one that dies is withdrawn
 * and recorded. Real Redis, replica A a real gateway process, the real sink MCP server.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { APPROVER, auth, holdCallOnA } from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "approval: an answer a hung holder did not take is withdrawn (503), never reported done",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const redis = await startRedis();
    try {
      await t.step("A resumes: it acts on the next answer, not the withdrawn one", async () => {
        const held = await holdCallOnA(redis.url, redis.url, 60);
        const { a, b, admin, id } = held;
        try {
          a.kill("SIGSTOP");
          const answer = await b.post(
            `/v1/approvals/${id}`,
            { decision: "approve" },
            auth(APPROVER),
          );
          assertEquals(answer.status, 503, JSON.stringify(answer.body));
          assertEquals(answer.body.error.kind, "state_unavailable");
          assertMatch(answer.body.error.message, /did not take the answer/);
          assertEquals(answer.headers.get("retry-after"), "1");
          a.kill("SIGCONT");
          // A renews its lease again (it lives): then a person denies the call.
          assert(
            await waitFor(
              async () =>
                await admin.connection.run((c) => c.pTTL(`airlock:approvalholder:acme:${id}`)) >
                  4200,
              15_000,
            ),
            "A renews its lease",
          );
          const denied = await b.post(
            `/v1/approvals/${id}`,
            { decision: "deny", reason: "no" },
            auth(APPROVER),
          );
          assertEquals(denied.status, 200, JSON.stringify(denied.body));
          assertEquals(denied.body.status, "denied");
          assertMatch(await held.onA, /not approved|denied/i);
          assertEquals(await held.ran(), false, "the withdrawn approval was never acted on");
          await a.stop();
          assertMatch(denied.body.decidedBy, /^key:sha256:/);
          assertEquals(held.rowsOnA(), [["denied", denied.body.decidedBy]]);
          assertEquals(held.rowsOnB(), []);
        } finally {
          await held.close();
        }
      });

      await t.step("A dies: withdrawn and recorded, nothing ran", async () => {
        const held = await holdCallOnA(redis.url, redis.url, 60);
        const { a, b, admin, id } = held;
        try {
          a.kill("SIGSTOP");
          const answer = await b.post(
            `/v1/approvals/${id}`,
            { decision: "approve" },
            auth(APPROVER),
          );
          assertEquals(answer.status, 503, JSON.stringify(answer.body));
          assertMatch(answer.body.error.message, /did not take the answer/);
          a.kill("SIGKILL");
          await a.stop();
          await held.onA;
          assert(
            await waitFor(
              async () =>
                await admin.connection.run((c) => c.exists(`airlock:approvalholder:acme:${id}`)) ===
                  0,
              15_000,
            ),
            "A's lease lapsed",
          );
          const late = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
          assertEquals(late.status, 409, JSON.stringify(late.body));
          assertMatch(late.body.error.message, /withdrawn/);
          assertEquals(held.rowsOnB(), [["withdrawn", "airlock"]]);
          assertEquals(await held.ran(), false);
        } finally {
          await held.close();
        }
      });
    } finally {
      await redis.stop();
    }
  },
});

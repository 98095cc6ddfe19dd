/**
 * An approved call that never reached its server is never reported as approved and acted on
 * (red team rt-n2, N2-1): the execution on the holder (replica A, a real process) ends while
 * its take of an answer given through B is on the wire. The take wakes the call with
 * `approved`, but the execution has ended, so the call is stopped before it is sent. B's
 * answer is then not `200 approved`, `GET /v1/approvals/{id}` says `acted: not_sent`, and A's
 * call row says the call was never sent (not "the server may or may not have acted").
 */

import { NOT_SENT_ERROR } from "../../gateway/bridge.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { APPROVER, auth, holdStreamedCallOnA } from "./streamed_holder.ts";
import { redisRelay, TAKE_MARKER } from "./redis_relay.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "an execution ending during the holder's take: the approved call is reported not sent",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const relay = redisRelay(Number(new URL(redis.url).port));
    try {
      const held = await holdStreamedCallOnA(redis.url, relay.url, 30);
      try {
        relay.watch(TAKE_MARKER, () => {
          // The take is in Redis; its reply is held. Meanwhile A's client goes away.
          relay.freeze();
          held.disconnect();
          setTimeout(() => relay.unfreeze(), 700);
        });
        const answer = await held.b.post(
          `/v1/approvals/${held.id}`,
          { decision: "approve", reason: "go" },
          auth(APPROVER),
        );
        let standing: Record<string, { status?: string } | string> = {};
        assert(
          await waitFor(async () => {
            standing = (await held.b.get(`/v1/approvals/${held.id}`, auth(APPROVER))).body;
            return standing.acted !== undefined;
          }, 10_000),
          "A confirms what became of the call",
        );
        console.log("answer", answer.status, JSON.stringify(answer.body));
        const ran = await held.ran();
        await held.a.stop();
        const audit = held.auditOnA();
        assert(!ran, "the call never reached the server");
        assert(
          !(answer.status === 200 && answer.body.status === "approved"),
          `the approver was told ${answer.status} ${JSON.stringify(answer.body)}`,
        );
        assertEquals((standing.acted as { status: string }).status, "not_sent");
        // The person's decision is recorded as given; the call's row says it was never sent.
        assertEquals(audit.approvals.map(([decision]) => decision), ["approved"]);
        const calls = audit.calls as Array<{ tool: string; outcome: string; error?: string }>;
        assertEquals(
          calls.filter((c) => c.tool === "sink.store").map((c) => [c.outcome, c.error]),
          [["cancelled", NOT_SENT_ERROR]],
        );
      } finally {
        await held.close();
      }
    } finally {
      await relay.close();
      await redis.stop();
    }
  },
});

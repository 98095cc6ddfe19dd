/**
 * A holder killed right after taking an answer does not leave it unresolved forever (red team
 * rt-n2, N2-5): replica A (a real process) is SIGKILLed the moment its take has been written to
 * Redis (the take runs; A dies before waking the call, recording or confirming). B's answer is
 * `202 unconfirmed` ("GET later or see the audit"). The holder's lease is kept until it confirms,
 * so once it lapses the next replica that lists, answers or asks for the tenant settles what is
 * known: `GET /v1/approvals/{id}` says `acted: unknown` (whether the call was sent is not known),
 * and B's audit holds the approval, its row saying so. Nothing ran.
 */

import { AuditLog } from "../../observability/audit.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { redisRelay } from "./redis_relay.ts";
import { APPROVER, auth, holdCallOnA } from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "a holder killed right after its take: acted unknown and a row, once its lease lapses",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    let kill: () => void = () => {};
    const relay = redisRelay(Number(new URL(redis.url).port), { onTake: () => kill() });
    try {
      const held = await holdCallOnA(redis.url, relay.url, 30);
      try {
        const { a, b, id } = held;
        kill = () => a.kill("SIGKILL");
        relay.arm();
        const answer = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
        assertEquals(answer.status, 202, JSON.stringify(answer.body));
        let standing: Record<string, unknown> = {};
        assert(
          await waitFor(async () => {
            standing = (await b.get(`/v1/approvals/${id}`, auth(APPROVER))).body;
            return standing.acted !== undefined;
          }, 30_000),
          `what became of the call is never known: ${JSON.stringify(standing)}`,
        );
        assertEquals(standing.decision, "approved");
        assertEquals((standing.acted as { status: string }).status, "unknown");
        const onB = (b.gateway.audit as AuditLog).recentApprovals({ limit: 100 })
          .filter((r) => r.id === id);
        assertEquals(onB.map((r) => r.decision), ["approved"]);
        assertMatch(onB[0].reason ?? "", /died before confirming.*unknown/);
        // Found once: a second look writes nothing more.
        await b.get("/v1/approvals", auth(APPROVER));
        assertEquals(
          (b.gateway.audit as AuditLog).recentApprovals({ limit: 100 }).filter((r) => r.id === id)
            .length,
          1,
        );
        const late = await b.post(`/v1/approvals/${id}`, { decision: "deny" }, auth(APPROVER));
        assertEquals(late.status, 409, JSON.stringify(late.body));
        assert(!(await held.ran()), "nothing ran");
      } finally {
        await held.close();
      }
    } finally {
      await relay.close();
      await redis.stop();
    }
  },
});

/**
 * The two-phase answer over replicas, at the store (real Redis): an answer through a replica
 * that does not hold the call is only offered; the holder takes it (the request is settled with
 * it) or the answering replica withdraws it; the one that comes first wins, and a holder that
 * settles the request itself (its deadline) voids any offer.
 */

import type { ApprovalAnswer, ApprovalRequest, ApprovalStatus } from "../../gateway/mod.ts";
import { RedisApprovalStore, RedisState } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "approval store: an offered answer is taken by the holder or withdrawn, never both",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const stateA = new RedisState({ url: redis.url });
    const stateB = new RedisState({ url: redis.url });
    const open = (state: RedisState) =>
      new RedisApprovalStore<ApprovalRequest, ApprovalStatus, ApprovalAnswer>(
        state.connection,
        { keyPrefix: state.keyPrefix, masterKey: "4".repeat(64) },
      );
    const a = open(stateA);
    const b = open(stateB);
    const offers: Array<{ id: string; offer: string }> = [];
    const stopOffers = a.onOffer(({ id, offer }) => offers.push({ id, offer }));
    const later = Date.now() + 60_000;
    const unsubscribe = a.subscribe(() => {});
    try {
      assert(await waitFor(() => stateA.health().up && stateB.health().up));
      const ask = async () => {
        const now = Date.now();
        const request: ApprovalRequest = {
          id: crypto.randomUUID(),
          tenant: "acme",
          executionId: crypto.randomUUID(),
          requestId: "r",
          server: "sink",
          tool: "sink.store",
          arguments: "{}",
          requestedAt: now,
          expiresAt: now + 60_000,
        };
        assert(await a.add(request, 10));
        return request.id;
      };
      const yes: ApprovalAnswer = { approve: true, scope: "call", decidedBy: "key:sha256:1" };
      // A's holder channel must have its subscriber before anything is offered.
      assert(
        await waitFor(async () =>
          typeof await b.offer("acme", await ask(), "approved", yes, 5000) === "object"
        ),
      );

      // Withdrawn first: the holder finds nothing to take; the request is still pending.
      const one = await ask();
      const offered = await b.offer("acme", one, "approved", yes, 5000);
      assert(typeof offered === "object", String(offered));
      assert(
        await waitFor(() => offers.some((o) => o.id === one)),
        "the holder is told on its channel",
      );
      const heard = offers.find((o) => o.id === one)!.offer;
      assertEquals(await a.pendingOffer("acme", one), heard);
      assertEquals(await b.offer("acme", one, "denied", { ...yes, approve: false }, 5000), "busy");
      assertEquals(await b.withdrawOffer("acme", one), true);
      assertEquals(await a.take("acme", one, heard, later), undefined);
      assertEquals((await a.get("acme", one))?.id, one);
      assertEquals(await b.settled("acme", one), undefined);

      // Taken first: settled with the offered answer; the withdrawal finds nothing.
      const again = await b.offer("acme", one, "approved", yes, 5000);
      assert(typeof again === "object");
      const current = (await a.pendingOffer("acme", one))!;
      // A take sent for an earlier offer (held up on the wire) takes nothing; nor one that
      // lands past the request's deadline.
      assertEquals(await a.take("acme", one, heard, later), undefined);
      assertEquals(await a.take("acme", one, current, Date.now() - 1000), undefined);
      const taken = await a.take("acme", one, current, later);
      assertEquals(taken?.request.id, one);
      assertEquals(taken?.settlement.status, "approved");
      assertEquals(taken?.settlement.at, again.at);
      assertEquals(await b.withdrawOffer("acme", one), false);
      assertEquals((await b.settled("acme", one))?.status, "approved");
      assertEquals(await a.take("acme", one, current, later), undefined, "taken once");

      // The holder's own deadline settles it: the standing offer is void.
      const two = await ask();
      assert(typeof await b.offer("acme", two, "approved", yes, 5000) === "object");
      assertEquals((await a.settle("acme", two, "timeout"))?.id, two);
      assertEquals(await a.pendingOffer("acme", two), undefined);
      assertEquals(await a.take("acme", two, "any", later), undefined);
      assertEquals(await b.withdrawOffer("acme", two), false);
      assertEquals((await b.settled("acme", two))?.status, "timeout");
      assertEquals(await b.offer("acme", two, "approved", yes, 5000), undefined, "not pending");
    } finally {
      stopOffers();
      unsubscribe();
      await stateA.close();
      await stateB.close();
      await redis.stop();
    }
  },
});

/**
 * Who an approval's MCP elicitation asked, at the store (real Redis): noted only while the
 * request is pending, living no longer than its record and deleted when it is settled (whoever
 * settles it: its holder, or a take of an offered answer), so one tenant can hold at most one per
 * pending request; sealed (the MCP session id is never in Redis in clear); another tenant's id
 * finds nothing.
 */

import type { ApprovalAnswer, ApprovalRequest, ApprovalStatus } from "../../gateway/mod.ts";
import { RedisApprovalStore, RedisState } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "approval store: an ask lives only while its request is pending, sealed, per tenant",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url });
    const store = new RedisApprovalStore<ApprovalRequest, ApprovalStatus, ApprovalAnswer>(
      state.connection,
      { keyPrefix: state.keyPrefix, masterKey: "4".repeat(64) },
    );
    const unsubscribe = store.subscribe(() => {});
    try {
      assert(await waitFor(() => state.health().up));
      const add = async (tenant: string) => {
        const now = Date.now();
        const request: ApprovalRequest = {
          id: crypto.randomUUID(),
          tenant,
          executionId: crypto.randomUUID(),
          requestId: "r",
          server: "sink",
          tool: "sink.store",
          arguments: "{}",
          requestedAt: now,
          expiresAt: now + 10_000,
        };
        assert(await store.add(request, 10));
        return request.id;
      };
      const session = `session-${crypto.randomUUID()}`;
      const ask = { session, approver: "mcp-client:key:sha256:0123456789abcdef" };

      // Not pending (never added): nothing is noted.
      assertEquals(await store.markAsked("acme", crypto.randomUUID(), ask), false);

      const id = await add("acme");
      assert(await store.markAsked("acme", id, ask));
      assertEquals(await store.asked("acme", id), ask);
      assertEquals(await store.asked("other", id), undefined, "another tenant finds nothing");

      // The record's TTL read first: the ask's, read after, can only be lower or equal.
      const [keys, recordTtl, ttl] = await state.connection.run(async (c) => [
        await c.keys("*approvalask*"),
        await c.pTTL(`${state.keyPrefix}approval:acme:${id}`),
        await c.pTTL(`${state.keyPrefix}approvalask:acme:${id}`),
      ]) as [string[], number, number];
      assertEquals(keys.length, 1);
      assert(ttl > 0 && ttl <= recordTtl, `lives no longer than its record: ${ttl} ≤ ${recordTtl}`);
      const raw = await state.connection.run((c) => c.get(keys[0]));
      assert(!String(raw).includes(session) && !String(raw).includes("mcp-client"), "sealed");

      // Settled by its holder: gone.
      assert(await store.settle("acme", id, "timeout"));
      assertEquals(await store.asked("acme", id), undefined);
      assertEquals(await store.markAsked("acme", id, ask), false, "never noted after it ended");

      // Settled by a take of an offered answer: gone too.
      const taken = await add("acme");
      assert(await store.markAsked("acme", taken, ask));
      const yes: ApprovalAnswer = { approve: true, scope: "call", decidedBy: ask.approver };
      assert(
        await waitFor(async () =>
          typeof await store.offer("acme", taken, "approved", yes, 5000) === "object"
        ),
      );
      const offer = await store.pendingOffer("acme", taken);
      assert(await store.take("acme", taken, offer!, Date.now() + 10_000));
      assertEquals(await store.asked("acme", taken), undefined);

      const left = await state.connection.run((c) => c.keys("*approvalask*"));
      assertEquals(left, [], "no ask outlives its request");
    } finally {
      unsubscribe();
      await state.close();
      await redis.stop();
    }
  },
});

/**
 * Every key an approval writes to Redis is inside a per-tenant bound (red team rt-n2, N2-6):
 * what a holder confirms it did with each settled request (`markActed`, written for every
 * settlement: answers, timeouts, withdrawals, a dead replica's withdrawn requests) is kept with
 * the tenant's settled decisions and forgotten with them, not as a key per settlement kept an
 * hour. One tenant settling many requests keeps at most `maxBriefPerTenant` confirmations; a
 * confirmation for a request never settled (or forgotten) writes nothing; another tenant's stay.
 */

import type { ApprovalAnswer, ApprovalRequest, ApprovalStatus } from "../../gateway/mod.ts";
import { RedisApprovalStore, RedisState } from "../../state/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const BRIEF = 8;

Deno.test({
  name: "approval store: confirmations stay within the tenant's bound on settled decisions",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url });
    const store = new RedisApprovalStore<
      ApprovalRequest,
      ApprovalStatus,
      ApprovalAnswer,
      ApprovalStatus | "not_sent"
    >(state.connection, {
      keyPrefix: state.keyPrefix,
      masterKey: "5".repeat(64),
      maxBriefPerTenant: BRIEF,
    });
    const ask = async (tenant: string) => {
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
        expiresAt: now + 60_000,
      };
      assert(await store.add(request, 10));
      return request.id;
    };
    try {
      assert(await waitFor(() => state.health().up));
      const other = await ask("other");
      await store.settle("other", other, "timeout");
      await store.markActed("other", other, { status: "timeout", at: Date.now() });
      const statuses = ["timeout", "withdrawn", "denied", "approved"] as const;
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) {
        const id = await ask("acme");
        const status = statuses[i % statuses.length];
        const answer = status === "denied" || status === "approved"
          ? { approve: status === "approved", decidedBy: "key:sha256:1" }
          : undefined;
        assert(await store.settle("acme", id, status, answer));
        await store.markActed("acme", id, {
          status: status === "approved" && i % 8 === 3 ? "not_sent" : status,
          at: Date.now(),
        });
        ids.push(id);
      }
      // Never settled: nothing is written for it.
      await store.markActed("acme", crypto.randomUUID(), { status: "timeout", at: Date.now() });
      const { free, held } = await state.connection.run(async (c) => ({
        free: await c.keys("*approvalacted*"),
        held: await c.hLen(`${state.keyPrefix}approvalsacted:acme`),
      }));
      assertEquals(free, [], "no confirmation key of its own per settlement");
      assert(held <= BRIEF, `acme keeps ${held} confirmations (bound ${BRIEF})`);
      // The newest are still known, the oldest forgotten with their decisions, and the other
      // tenant's confirmation stays.
      assertEquals((await store.acted("acme", ids.at(-1)!))?.status, "not_sent");
      assertEquals((await store.acted("acme", ids.at(-2)!))?.status, "denied");
      assertEquals(await store.acted("acme", ids[0]), undefined);
      assertEquals(await store.settled("acme", ids[0]), undefined);
      assertEquals((await store.acted("other", other))?.status, "timeout");
    } finally {
      await state.close();
      await redis.stop();
    }
  },
});

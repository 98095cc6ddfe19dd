/**
 * From the red team (j3): approval decisions over two replicas sharing one real Redis must be
 * in the record exactly when they were acted on. Replica A holds a call waiting for approval of
 * the real sink server's `store`; then:
 * - the approver answers through replica B while Redis stalls (`CLIENT PAUSE`): B cannot know
 *   whether its answer was taken and says so (503 `state_unavailable`, `Retry-After`), Redis
 *   takes it when the stall ends, A runs the call and records the approval, with the approver;
 * - the call's timeout falls inside a Redis stall: A refuses the call and records the timeout;
 * - Redis restarts empty while the call waits: at its timeout A records it;
 * - a channel's own answer (MCP elicitation) reaches the holder while Redis stalls: taken
 *   when Redis is back (it was dropped before), acted on and recorded.
 * Each approval is recorded once over the two replicas' logs.
 */

import {
  ApprovalBroker,
  type ApprovalEvent,
  type ApprovalRequest,
} from "../../gateway/approval/mod.ts";
import {
  type ApprovalAnswer,
  type ApprovalStatus,
  approverFingerprint,
  hashApiKey,
} from "../../gateway/mod.ts";
import { RedisApprovalStore, RedisState } from "../../state/mod.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import {
  AGENT,
  APPROVER,
  auth,
  pendingOn,
  replicaConfig,
  sinkServer,
  storeCode,
  withReplicas,
} from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

/** Sends one command to Redis on a connection of its own (CLIENT PAUSE holds every other). */
async function redisCommand(port: number, command: string): Promise<void> {
  const admin = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await admin.write(new TextEncoder().encode(`${command}\r\n`));
    await admin.read(new Uint8Array(64));
  } finally {
    admin.close();
  }
}

Deno.test({
  name: "approval record over replicas: lost replies, stalls and restarts leave one true row",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withReplicas({
      prefix: "airlock-approval-rec-",
      vaultKey: "5".repeat(64),
      config: (root, redisUrl) =>
        replicaConfig(
          redisUrl,
          { sink: sinkServer(root) },
          { tools: ["sink.store"], timeoutSeconds: 4 },
          20_000,
        ),
    }, async ({ redis, root, a, b }) => {
      const store = (name: string) => storeCode(`${root}/${name}`);
      /** The rows of `id` in both replicas' logs, as [replica, decision, decidedBy]. */
      const rows = (id: string) =>
        [a, b].flatMap((gw, i) =>
          gw.gateway.audit!.recentApprovals({ limit: 1000 }).filter((r) => r.id === id).map(
            (r) => [i === 0 ? "a" : "b", r.decision, r.decidedBy ?? null],
          )
        );

      await t.step(
        "approved through B while Redis stalls: 503, then run and recorded",
        async () => {
          const running = a.post("/v1/execute", { code: store("f1.json") }, auth(AGENT));
          const { id } = await pendingOn(b);
          await redisCommand(redis.port, "CLIENT PAUSE 2500 ALL");
          const answer = await b.post(
            `/v1/approvals/${id}`,
            { decision: "approve" },
            auth(APPROVER),
          );
          // B's settle went out but its reply did not come back in time: it cannot say.
          assertEquals(answer.status, 503, JSON.stringify(answer.body));
          assertEquals(answer.body.error.kind, "state_unavailable");
          assertEquals(answer.headers.get("retry-after"), "1");
          const reply = await running;
          assertEquals(reply.body.result, "stored", JSON.stringify(reply.body));
          assertEquals(await Deno.readTextFile(`${root}/f1.json`), "1");
          // The replica that ran the call recorded the approval, with the approver.
          assert(await waitFor(() => rows(id).length > 0), "recorded");
          assertEquals(rows(id), [["a", "approved", approverFingerprint(hashApiKey(APPROVER))]]);
          const again = await b.post(
            `/v1/approvals/${id}`,
            { decision: "approve" },
            auth(APPROVER),
          );
          assertEquals(again.status, 409);
          assertMatch(again.body.error.message, /approved/);
          assertEquals(rows(id).length, 1, "recorded once");
        },
      );

      await t.step("the timeout falls inside a Redis stall: refused and recorded", async () => {
        const running = a.post("/v1/execute", { code: store("f2.json") }, auth(AGENT));
        const { id, expiresAt } = await pendingOn(b);
        // Redis stalls from half a second before the deadline to 2.5 s after it.
        const wait = Date.parse(expiresAt) - Date.now() - 500;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await redisCommand(redis.port, "CLIENT PAUSE 3000 ALL");
        const reply = await running;
        assertMatch(String(reply.body.result), /not approved within/, JSON.stringify(reply.body));
        assert(!(await exists(`${root}/f2.json`)), "nothing stored");
        assert(await waitFor(() => rows(id).length > 0), "recorded");
        assertEquals(rows(id), [["a", "timeout", null]]);
      });

      await t.step(
        "Redis restarts empty while the call waits: recorded at its timeout",
        async () => {
          const running = a.post("/v1/execute", { code: store("f3.json") }, auth(AGENT));
          const { id } = await pendingOn(b);
          await redis.kill();
          await redis.restart();
          const reply = await running;
          assertMatch(String(reply.body.result), /not approved within/, JSON.stringify(reply.body));
          assert(!(await exists(`${root}/f3.json`)), "nothing stored");
          assert(await waitFor(() => rows(id).length > 0), "recorded");
          assertEquals(rows(id), [["a", "timeout", null]]);
        },
      );
    });
  },
});

Deno.test({
  name: "approval record: a channel's answer during a Redis stall is taken and recorded",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const state = new RedisState({ url: redis.url });
    const events: ApprovalEvent[] = [];
    const broker = new ApprovalBroker({
      store: new RedisApprovalStore<ApprovalRequest, ApprovalStatus, ApprovalAnswer>(
        state.connection,
        { keyPrefix: state.keyPrefix, masterKey: "4".repeat(64) },
      ),
      onSettled: (event) => events.push(event),
    });
    try {
      assert(await waitFor(() => state.health().up));
      // An MCP client's elicitation answer, given while Redis stalls: the first settle's reply
      // is lost (the script runs when the stall ends).
      const outcome = await broker.request({
        tenant: "acme",
        executionId: crypto.randomUUID(),
        requestId: "r1",
        server: "sink",
        tool: "sink.store",
        arguments: "{}",
      }, {
        timeoutMs: 15_000,
        maxPending: 10,
        channel: {
          answersItself: true,
          approver: "mcp-client:key:x",
          ask: async () => {
            await redisCommand(redis.port, "CLIENT PAUSE 2500 ALL");
            return { approve: true, decidedBy: "mcp-client:key:x" };
          },
        },
      });
      assertEquals(outcome.status, "approved");
      assert(await waitFor(() => events.length > 0), "recorded");
      assertEquals(events.map((e) => [e.outcome.status, e.outcome.answer?.decidedBy]), [[
        "approved",
        "mcp-client:key:x",
      ]]);
    } finally {
      await broker.close();
      await state.close();
      await redis.stop();
    }
  },
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

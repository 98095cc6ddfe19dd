/**
 * From the red team (j3): a replica that dies (SIGKILL) while its call waits for approval left
 * the request answerable through another replica: 200 `approved`, an `approved` row, and
 * nothing ran. Unanswered, it counted against the tenant's `maxPending` until its record
 * expired (deadline + 60 s), then vanished without a row. Here replica A is a real gateway
 * process, killed while it holds the call; replica B is in this process; one real Redis.
 * Answering through B fails clearly while A's lease runs (503: the holder does not answer),
 * the request is withdrawn once it lapsed (409, and B records `withdrawn`), it no longer
 * counts against `maxPending`, and nothing was stored.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { findProgram, skipWithout, waitFor } from "../services.ts";
import { AGENT, APPROVER, auth, storeCode, withHeldCall } from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "approval: a dead replica's pending request is withdrawn and recorded, never approved",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHeldCall({ timeoutSeconds: 60 }, async (held) => {
      const { a, b: gw, admin, id } = held;
      const pending = async () =>
        (await gw.get("/v1/approvals", auth(APPROVER))).body.approvals as { id: string }[];
      assertEquals((await pending()).map((p) => p.id), [id], "A's call is the one pending");
      const subscribers = async () =>
        Number(
          (await admin.connection.run((c) =>
            c.sendCommand(["PUBSUB", "NUMSUB", "airlock:approvals:settled"])
          ) as unknown[])[1],
        );
      assertEquals(await subscribers(), 2);

      // A's children (its MCP server, its warm sandboxes) are ended by the helper if need be.
      a.kill("SIGKILL");
      await a.stop();
      await held.onA;
      // Redis has seen A's connections close.
      assert(await waitFor(async () => await subscribers() === 1), "A's subscriber gone");

      const early = await gw.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertEquals(early.status, 503, JSON.stringify(early.body));
      assertEquals(early.body.error.kind, "state_unavailable");
      assertMatch(early.body.error.message, /replica holding this call/);

      // A's lease lapses: its request no longer counts against maxPending (1): B can ask.
      assert(
        await waitFor(
          async () =>
            await admin.connection.run((c) => c.exists(`airlock:approvalholder:acme:${id}`)) === 0,
          15_000,
        ),
        "A's lease lapsed",
      );
      const onB = gw.post(
        "/v1/execute",
        { code: storeCode(`${held.root}/f2.json`) },
        auth(AGENT),
      );
      let fresh: string | undefined;
      assert(
        await waitFor(async () => {
          fresh = (await pending()).find((p) => p.id !== id)?.id;
          return fresh !== undefined;
        }, 30_000),
        "B's call is pending, not refused over capacity",
      );
      assertEquals((await pending()).map((p) => p.id), [fresh], "A's request is not listed");

      const late = await gw.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertEquals(late.status, 409, JSON.stringify(late.body));
      assertMatch(late.body.error.message, /withdrawn/);
      assertEquals(held.rowsOnB(), [["withdrawn", "airlock"]]);

      const approved = await gw.post(
        `/v1/approvals/${fresh}`,
        { decision: "approve" },
        auth(APPROVER),
      );
      assertEquals(approved.status, 200, JSON.stringify(approved.body));
      assertEquals((await onB).body.result, "stored");
      assertEquals(await Deno.readTextFile(`${held.root}/f2.json`), "1");
      assert(!(await held.ran()), "A stored nothing");
    });
  },
});

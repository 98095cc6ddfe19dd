/**
 * From the red team (m2): an answer through a replica that does not hold the call reported what
 * that replica did not know. A take that ran in Redis but whose reply the holder never got was
 * `200 approved` while the holder ended the call at its deadline (`timeout`, nothing ran); a
 * withdrawal that could not reach Redis was `503 … did not take the answer` while the holder,
 * resumed, took it and ran the call. Now `200` needs the holder's confirmation, `503` a
 * withdrawal that succeeded, and anything else is `202 unconfirmed`; the holder writes what it
 * did to Redis once it can, and `GET /v1/approvals/{id}` (or a later answer, `409`) reports it.
 */

import { assert, assertEquals, assertMatch, assertNotEquals } from "../assert.ts";
import { findProgram, skipWithout, waitFor } from "../services.ts";
import { APPROVER, auth, withHeldCall } from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name:
    "approval: a take whose reply is lost is 202 unconfirmed; the holder's timeout reaches Redis",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHeldCall({ timeoutSeconds: 8, relayed: "a" }, async (held, relay) => {
      const { b, id } = held;
      relay.arm();
      const answer = await b.post(
        `/v1/approvals/${id}`,
        { decision: "approve", reason: "go ahead" },
        auth(APPROVER),
      );
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
      assertEquals(answer.body.status, "unconfirmed");
      assertEquals(answer.body.decision, "approved");
      assertEquals(answer.body.taken, "taken");
      // A never got the take's reply: its deadline ends the call, not run.
      assertMatch(await held.onA, /not approved within 8 s/);
      relay.unfreeze();
      // Once A reaches Redis again it writes what it did: the record was taken as approved,
      // A confirms it acted as `timeout`.
      let standing: Record<string, unknown> | undefined;
      assert(
        await waitFor(async () => {
          standing = (await b.get(`/v1/approvals/${id}`, auth(APPROVER))).body;
          return standing?.acted !== undefined;
        }, 15_000),
        JSON.stringify(standing),
      );
      assertEquals(standing!.status, "settled");
      assertEquals(standing!.decision, "approved");
      assertEquals((standing!.acted as { status: string }).status, "timeout");
      let late: { status: number; body: { error?: { message: string } } } | undefined;
      assert(
        await waitFor(async () => {
          late = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
          return late.status === 409 && /\(timeout\)/.test(late.body.error?.message ?? "");
        }, 5_000),
        JSON.stringify(late?.body),
      );
      await held.a.stop();
      assertEquals(held.rowsOnA(), [["timeout", undefined]]);
      assertEquals(held.rowsOnB(), []);
      assertEquals(await held.ran(), false);
    });
  },
});

Deno.test({
  name: "approval: a holder stopped right after its take, then killed: 202, then 409 not confirmed",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHeldCall({
      timeoutSeconds: 8,
      relayed: "a",
      onTake: (held) => Deno.kill(held.a.pid, "SIGSTOP"),
    }, async (held, relay) => {
      const { b, id } = held;
      relay.arm();
      const answer = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
      assertEquals(answer.body.taken, "taken");
      held.a.kill("SIGKILL");
      await held.onA;
      const late = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertEquals(late.status, 409, JSON.stringify(late.body));
      assertMatch(late.body.error.message, /has not confirmed acting on it/);
      const standing = await b.get(`/v1/approvals/${id}`, auth(APPROVER));
      assertEquals(standing.status, 200, JSON.stringify(standing.body));
      assertEquals(standing.body.status, "settled");
      assertEquals(standing.body.decision, "approved");
      assertEquals(standing.body.acted, undefined);
      assertEquals(await held.ran(), false);
    });
  },
});

Deno.test({
  name:
    "approval: a withdrawal that cannot reach Redis is not 503: 202 unknown; what ran is reported",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHeldCall({ timeoutSeconds: 20, relayed: "b" }, async (held, relay) => {
      const { b, id } = held;
      held.a.kill("SIGSTOP"); // A cannot take within B's wait
      const answering = b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      // Sequencing, not timing: B's link is cut before its wait for the take (2.5 s) ends, so
      // its withdrawal cannot reach Redis; A, resumed, finds the offer still standing.
      await sleep(2000);
      relay.freeze();
      await sleep(600);
      held.a.kill("SIGCONT");
      const answer = await answering;
      assertNotEquals(answer.status, 503, JSON.stringify(answer.body));
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
      assertEquals(answer.body.taken, "unknown");
      relay.unfreeze();
      const onA = await held.onA;
      const ran = await held.ran();
      assertEquals(ran, onA.includes("stored"), onA);
      // Later, Redis says what A did (approved and ran, or its own end).
      let standing: Record<string, unknown> | undefined;
      assert(
        await waitFor(async () => {
          standing = (await b.get(`/v1/approvals/${id}`, auth(APPROVER))).body;
          return standing?.acted !== undefined;
        }, 15_000),
        JSON.stringify(standing),
      );
      assertEquals((standing!.acted as { status: string }).status, ran ? "approved" : "timeout");
      const late = await b.post(`/v1/approvals/${id}`, { decision: "deny" }, auth(APPROVER));
      assertEquals(late.status, 409, JSON.stringify(late.body));
      assertMatch(late.body.error.message, ran ? /\(approved\)/ : /\(timeout\)/);
      await held.a.stop();
      assertEquals(held.rowsOnA().map(([d]) => d), [ran ? "approved" : "timeout"]);
    });
  },
});

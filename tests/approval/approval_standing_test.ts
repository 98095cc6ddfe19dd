/**
 * `GET /v1/approvals/{id}` on one replica (the in-memory store): pending while the call waits,
 * settled with what was done once answered (one process: the record is what the holder did),
 * 404 for an unknown id or another tenant's, 403 for an agent key.
 */

import { assert, assertEquals } from "../assert.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { auth, nextPending, withApprovalGateway } from "../integration/approval_helpers.ts";

const AGENT = "agent-key";
const APPROVER = "approver-key";
const OTHER_APPROVER = "other-approver-key";

Deno.test({
  name: "approval: GET /v1/approvals/{id} says pending, then settled with what was done",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withApprovalGateway({
      prefix: "airlock-standing-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.store"], timeoutSeconds: 60 },
      tenant: { keys: [AGENT], approverKeys: [APPROVER] },
      otherTenants: { other: { keys: ["other-agent"], approverKeys: [OTHER_APPROVER] } },
    }, async ({ gw, root }) => {
      const run = gw.post("/v1/execute", {
        code: `await sink.store({ path: ${JSON.stringify(`${root}/f.json`)}, value: 1 }); return 1`,
      }, auth(AGENT));
      // Handled even when an assertion fails first (closing the gateway fails it).
      run.catch(() => {});
      const { id } = await nextPending(gw, APPROVER);
      const pending = await gw.get(`/v1/approvals/${id}`, auth(APPROVER));
      assertEquals(pending.status, 200, JSON.stringify(pending.body));
      assertEquals(pending.body, { id, status: "pending" });
      assertEquals((await gw.get(`/v1/approvals/${id}`, auth(OTHER_APPROVER))).status, 404);
      assertEquals((await gw.get(`/v1/approvals/${id}`, auth(AGENT))).status, 403);
      const unknown = await gw.get(`/v1/approvals/${crypto.randomUUID()}`, auth(APPROVER));
      assertEquals(unknown.status, 404);
      assertEquals((await gw.get(`/v1/approvals/not-an-id`, auth(APPROVER))).status, 404);
      const answered = await gw.post(
        `/v1/approvals/${id}`,
        { decision: "approve" },
        auth(APPROVER),
      );
      assertEquals(answered.status, 200, JSON.stringify(answered.body));
      assertEquals((await run).body.result, 1);
      const settled = await gw.get(`/v1/approvals/${id}`, auth(APPROVER));
      assertEquals(settled.status, 200);
      assertEquals(settled.body.status, "settled");
      assertEquals(settled.body.decision, "approved");
      assertEquals(settled.body.acted.status, "approved");
      assert(!Number.isNaN(Date.parse(settled.body.decidedAt)), settled.body.decidedAt);
    });
  },
});

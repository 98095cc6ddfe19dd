/**
 * From the red team (l3): the approver's reason was cut to 500 characters, then masked (which
 * lengthens it), then cut again by the audit with a plain slice: the row's reason ended inside
 * a mask, with no marker; the arguments field was cut the same way. Now the reason is masked
 * first (its input bounded), then cut where no mask is split, marked; the audit cuts both
 * fields so too.
 */

import { storableApproval } from "../../observability/audit.ts";
import { CUT_MARKER } from "../../observability/audit_text.ts";
import { assert, assertEquals } from "../assert.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { auth, withApprovalGateway } from "../integration/approval_helpers.ts";
import { waitFor } from "../services.ts";

const AGENT = "agent-key";
const APPROVER = "approver-key";

/** No `[` left open before the cut marker (a mask or placeholder cut in two). */
function cutWhole(text: string): boolean {
  const kept = text.slice(0, -CUT_MARKER.length);
  return text.endsWith(CUT_MARKER) && kept.lastIndexOf("[") <= kept.lastIndexOf("]");
}

Deno.test({
  name:
    "approval: a reason that masking lengthens is cut whole and marked, in the answer and the row",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withApprovalGateway({
      prefix: "airlock-reason-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.store"], timeoutSeconds: 60 },
      tenant: { keys: [AGENT], approverKeys: [APPROVER] },
    }, async ({ gw, root, decide }) => {
      const run = gw.post("/v1/execute", {
        code: `await sink.store({ path: ${JSON.stringify(`${root}/f.json`)}, value: 1 }); return 1`,
      }, auth(AGENT));
      // 485 characters; each address masked is longer than the address.
      const reason = "ok, checked hosts 10.0.0.1 ".repeat(18).trim();
      const { id } = await decide("approve", reason);
      assertEquals((await run).body.result, 1);
      let rows: Array<{ id: string; reason?: string }> = [];
      assert(
        await waitFor(() => {
          rows = gw.gateway.audit!.recentApprovals({ limit: 10 }).filter((r) => r.id === id);
          return rows.length === 1;
        }, 10_000),
      );
      const stored = rows[0].reason ?? "";
      assert(stored.length <= 500, String(stored.length));
      assert(cutWhole(stored), stored.slice(-40));
      assert(!stored.includes("10.0.0.1"), "masked");
    });
  },
});

Deno.test("audit: an approval's reason and arguments are cut beside a mask, marked", () => {
  const mask = "[REDACTED_EMAIL]";
  const row = storableApproval({
    id: crypto.randomUUID(),
    tenant: "acme",
    executionId: crypto.randomUUID(),
    requestId: "r",
    tool: "sink.store",
    // The bound (4,096; 500) falls inside a mask.
    arguments: `"${"a".repeat(4088)}${mask}${"b".repeat(100)}"`,
    requestedAt: new Date().toISOString(),
    decidedAt: new Date().toISOString(),
    decision: "approved",
    reason: `${"r".repeat(492)}${mask} and more`,
  });
  assert(row.arguments.length <= 4096 && cutWhole(row.arguments), row.arguments.slice(-40));
  assert(row.reason!.length <= 500 && cutWhole(row.reason!), row.reason!.slice(-40));
});

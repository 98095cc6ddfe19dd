/**
 * The approval configuration: validated like the rest (unknown keys are errors), absent or
 * empty means no approval, a tenant's own policy replaces the top-level one, approver keys
 * authenticate only for approvals, and annotation overrides are checked per key.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { hashApiKey, parseConfig, TenantDirectory } from "../../gateway/mod.ts";
import { GatewayError } from "../../gateway/mod.ts";

Deno.test("config: approval defaults, per-tenant policy, strict keys", () => {
  const none = new TenantDirectory(parseConfig({}));
  assertEquals(none.list()[0].approval, undefined, "the default is no approval");
  assertEquals(
    new TenantDirectory(parseConfig({ approval: { tools: [] } })).list()[0].approval,
    undefined,
    "a policy that matches nothing is none",
  );
  const local = new TenantDirectory(parseConfig({ approval: { destructive: true } })).list()[0];
  assertEquals(local.approval?.timeoutSeconds, 300);
  assertEquals(local.approval?.onUnavailable, "deny");
  assertEquals(local.hasApprovers, true, "without auth anyone local may answer");

  const config = parseConfig({
    approval: { tools: ["fs.*"] },
    auth: {
      tenants: {
        a: { keys: [hashApiKey("a")], approverKeys: [hashApiKey("a-approver")] },
        b: { keys: [hashApiKey("b")], approval: { tools: ["github.*"], timeoutSeconds: 5 } },
      },
    },
  });
  const dir = new TenantDirectory(config);
  assertEquals(dir.get("a")!.approval?.tools, ["fs.*"]);
  assertEquals(dir.get("b")!.approval?.tools, ["github.*"]);
  assertEquals(dir.get("b")!.hasApprovers, false);

  assertThrows(
    () => parseConfig({ approval: { tools: [], when: "always" } }),
    /unknown key "when"/,
  );
  assertThrows(() => parseConfig({ approval: { onUnavailable: "ask" } }), /onUnavailable/);
  assertThrows(() => parseConfig({ approval: { timeoutSeconds: 0 } }), /timeoutSeconds/);
  assertThrows(
    () =>
      parseConfig({
        servers: { fs: { command: "x", toolAnnotations: { write_file: { harmless: true } } } },
      }),
    /unknown key "harmless"/,
  );
  const ok = parseConfig({
    servers: {
      fs: { url: "http://127.0.0.1:1/mcp", toolAnnotations: { w: { readOnlyHint: true } } },
    },
  });
  assert(ok.servers.fs);
});

Deno.test("tenants: approver keys answer approvals only; agent keys only run code", () => {
  const dir = new TenantDirectory(parseConfig({
    auth: {
      tenants: {
        a: {
          keys: [hashApiKey("agent"), hashApiKey("both")],
          approverKeys: [hashApiKey("approver"), hashApiKey("both")],
        },
      },
    },
  }));
  const approver = dir.authenticateApprover("Bearer approver");
  assertEquals(approver.tenant.id, "a");
  assertEquals(approver.keyId, hashApiKey("approver"));
  assertEquals(dir.authenticateApprover("Bearer both").tenant.id, "a");
  assertEquals(dir.authenticate("Bearer both").id, "a");
  const agent = assertThrows(() => dir.authenticateApprover("Bearer agent"));
  assert(agent instanceof GatewayError && agent.kind === "forbidden");
  const unknown = assertThrows(() => dir.authenticateApprover("Bearer nobody"));
  assert(unknown instanceof GatewayError && unknown.kind === "unauthorized");
  // An approver-only key cannot run code.
  const run = assertThrows(() => dir.authenticate("Bearer approver"));
  assertMatch(run.message, /not valid/);
});

/**
 * An operator's `toolAnnotations` correction wins over what the server says about the same
 * question (red team c3): `destructiveHint: true` on a tool the server calls read-only makes
 * its calls wait for approval (`approval.destructive`) and keeps speculation off it; a
 * `readOnlyHint: false` drops the server's `destructiveHint` said of a read-only tool; a
 * server's own read-only-and-destructive contradiction counts as destructive.
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import { startSpecGateway } from "../speculation/harness.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { applyAnnotationOverrides, type ToolInfo, vetTools } from "../../upstream/mod.ts";
import { ApprovalPolicy, isHarmless } from "../../gateway/approval/mod.ts";
import { isReadOnly } from "../../gateway/speculation/policy.ts";
import { approvalSchema, parseConfig } from "../../gateway/config.ts";

const policy = new ApprovalPolicy(approvalSchema.parse({ destructive: true }));

/** A tool as the server lists it, with `override` applied. */
function corrected(server: Record<string, unknown>, override: Record<string, unknown>): ToolInfo {
  const listed: ToolInfo = {
    id: "s.t",
    server: "s",
    name: "t",
    description: "",
    inputSchema: { type: "object" },
    annotations: server,
  };
  return applyAnnotationOverrides([listed], { t: override })[0];
}

Deno.test("annotations: the operator's read-only or destructive correction settles both hints", () => {
  const cases: Array<[Record<string, unknown>, Record<string, unknown>, boolean]> = [
    // [server's annotations, operator's correction, gated and not speculated]
    [{ readOnlyHint: true }, { destructiveHint: true }, true], // the red team's case
    [{ readOnlyHint: true, destructiveHint: false }, { destructiveHint: true }, true],
    [{ readOnlyHint: true, destructiveHint: false }, { readOnlyHint: false }, true],
    [{ readOnlyHint: true, idempotentHint: true }, { destructiveHint: true }, true],
    [{ readOnlyHint: true, destructiveHint: true }, {}, true], // the server contradicts itself
    [{ destructiveHint: true }, { readOnlyHint: true }, false],
    [{}, { readOnlyHint: true }, false],
    [{ readOnlyHint: false, destructiveHint: false }, { readOnlyHint: false }, false],
    [{ readOnlyHint: false }, { destructiveHint: false }, false],
  ];
  for (const [server, override, gated] of cases) {
    const tool = corrected(server, override);
    const what = `${JSON.stringify(server)} + ${JSON.stringify(override)} = ${
      JSON.stringify(tool.annotations)
    }`;
    assertEquals(policy.needsApproval(tool), gated, what);
    assertEquals(isHarmless(tool.annotations), !gated, what);
    if (gated) assert(!isReadOnly(tool, []), `${what} is speculated on`);
  }
});

Deno.test("annotations: a correction that is read-only and destructive at once is refused", () => {
  assertThrows(
    () =>
      parseConfig({
        servers: {
          fs: {
            command: "x",
            toolAnnotations: { w: { readOnlyHint: true, destructiveHint: true } },
          },
        },
      }),
    /contradict/,
  );
});

Deno.test({
  name: "annotations: destructiveHint from the operator gates and unspeculates a listed read",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The ledger server lists `get` and `ledger` as readOnlyHint: true.
    const h = await startSpecGateway({
      servers: {
        ledger: {
          ...fixtureServer("ledger"),
          toolAnnotations: {
            get: { destructiveHint: true },
            ledger: { destructiveHint: true },
          },
        },
      },
      approval: { destructive: true, onUnavailable: "deny" },
    });
    try {
      // No approver can be asked: a call that needs approval is denied.
      const get = await h.run(
        `try { await ledger.get({ key: "k" }); return "ran"; } catch (e) { return e.kind; }`,
        { session: "s" },
      );
      assert(get.result !== "ran", `get ran without approval: ${JSON.stringify(get)}`);
      const read = `const id = ["ledger", "ledger"].join(".");
        try { return (await tools.call(id, {})).reads.length; } catch (e) { return e.kind; }`;
      const first = await h.run(read, { session: "s" });
      assert(first.result !== 0, `ledger ran without approval: ${JSON.stringify(first)}`);
      // Nothing was prefetched or cached for the session.
      const calls = [...get.tools.calls, ...first.tools.calls];
      assertEquals(calls.map((c) => c.cached ?? c.prefetched ?? false), calls.map(() => false));
      assertEquals([get.result, first.result], ["approval_denied", "approval_denied"]);
      const listed = h.gateway.upstream.catalogue().find((t) => t.id === "ledger.get");
      assertEquals(listed?.annotations, { readOnlyHint: false, destructiveHint: true });
    } finally {
      await h.close();
    }
  },
});

Deno.test("annotations: a hint that is not a boolean is read the cautious way", () => {
  const { tools, warnings } = vetTools("s", [
    {
      name: "a",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true, destructiveHint: "true" },
    },
    {
      name: "b",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true, destructiveHint: 1 },
    },
    {
      name: "c",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true, destructiveHint: "false" },
    },
    { name: "d", inputSchema: { type: "object" }, annotations: { readOnlyHint: "true" } },
    {
      name: "e",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true, destructiveHint: null },
    },
    {
      name: "f",
      inputSchema: { type: "object" },
      annotations: { idempotentHint: "yes", openWorldHint: 0 },
    },
    { name: "g", inputSchema: { type: "object" }, annotations: { readOnlyHint: true, title: "G" } },
  ]);
  const by = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const name of ["a", "b", "c", "e"]) {
    assertEquals(by[name].annotations, { readOnlyHint: true, destructiveHint: true }, name);
  }
  assertEquals(by.d.annotations, { readOnlyHint: false });
  assertEquals(by.f.annotations, { idempotentHint: false, openWorldHint: true });
  assertEquals(by.g.annotations, { readOnlyHint: true, title: "G" });
  for (const name of ["a", "b", "c", "d", "e"]) {
    assert(policy.needsApproval(by[name]), `${name} is not asked about`);
    assert(!isReadOnly(by[name], []), `${name} is speculated on`);
  }
  assert(!policy.needsApproval(by.g));
  assertEquals(warnings.length, 7);
});

Deno.test({
  name:
    "annotations: mistyped destructive hints are asked about and never prefetched (real server)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "airlock-hints-" });
    const log = `${dir}/calls.log`;
    const server = fixtureServer("hints", ["--log", log]);
    server.args = server.args!.map((a) => a === "--allow-read" ? `--allow-write=${dir}` : a);
    const h = await startSpecGateway({
      servers: { hints: server },
      approval: { destructive: true, onUnavailable: "deny" },
    });
    try {
      const reply = await h.run(
        `const r: string[] = [];
        for (const name of ["boolboth", "wipe_string", "wipe_number", "wipe_word", "wipe_null", "read_string"]) {
          try { await tools.call("hints." + name, { target: name }); r.push(name + " ran"); }
          catch (e) { r.push(name + ": " + (e as { kind: string }).kind); }
        }
        // Never called: a literal call in dead code, which the prefetch reads.
        if (Math.random() > 2) await hints.wipe_number({ target: "dead-code" });
        await new Promise((resolve) => setTimeout(resolve, 500));
        return r;`,
        { session: "s" },
      );
      assertEquals(reply.error, undefined, JSON.stringify(reply.error));
      assertEquals(reply.result, [
        "boolboth: approval_denied",
        "wipe_string: approval_denied",
        "wipe_number: approval_denied",
        "wipe_word: approval_denied",
        "wipe_null: approval_denied",
        "read_string: approval_denied",
      ]);
      const calls = await Deno.readTextFile(log).catch(() => "");
      // Before: wipe_string ran unasked, and the dead-code wipe_number ran upstream.
      assertEquals(calls, "");
    } finally {
      await h.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

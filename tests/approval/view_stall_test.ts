/**
 * Showing held calls to an approver does not hold the gateway's shared event loop (red team
 * n3, end to end through HTTP, `/healthz` probed meanwhile):
 * - B1: four approval-gated calls, each with one string argument of about 4 MB of e-mail
 *   addresses. Before, the view redacted each string whole on the main thread although it
 *   shows about 1,000 characters of it: about a second per held call.
 * - B5 (approval variant): a session whose vault holds 10,000 upstream addresses sharing a
 *   60-unit prefix, then a gated call with 2,000 `a`s. Before, putting upstream values back as
 *   placeholders for the view tried every value at every position: 4–9 s in one stretch
 *   before the approver was even asked.
 * README: "`/healthz` p99 < 50 ms while any one execution misbehaves"; the bound here (1 s
 * for the slowest answer) leaves room for a loaded shared machine.
 */
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { type Execute, probeHealthz, withHttpGateway } from "../stall_probe.ts";

/** A gateway whose `light.*` tools need approval (nobody answers: 1 s timeout). */
function withGateway(tools: number, fn: (execute: Execute, url: string) => Promise<void>) {
  return withHttpGateway(
    {
      servers: { light: fixtureServer("light", ["--tools", String(tools)]) },
      sandbox: { timeoutMs: 60000, memoryMb: 256 },
      approval: { tools: ["light.*"], timeoutSeconds: 1 },
    },
    "view",
    fn,
  );
}

Deno.test({
  name: "approval view: four held calls of 4 MB arguments do not stall /healthz",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withGateway(4, async (execute, url) => {
      await execute("return 1;");
      const code = `const text = "ann.lee@example.com, ".repeat(190000);
        const out = [];
        for (let i = 0; i < 4; i++) {
          out.push(await tools.call("light.op_" + i, { id: text }).then(() => "ran", (e) => e.kind));
        }
        return out;`;
      const { value: reply, max } = await probeHealthz(url, () => execute(code));
      assertEquals(
        reply.result,
        Array(4).fill("approval_timeout"),
        JSON.stringify(reply).slice(0, 300),
      );
      assert(max < 1000, `/healthz stalled ${max.toFixed(0)} ms`);
    });
  },
});

Deno.test({
  name: "approval view: 10,000 upstream values sharing a prefix do not stall /healthz",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withGateway(1, async (execute, url) => {
      const first = await execute(
        `const p = "a".repeat(60);
         return Array.from({ length: 10000 }, (_, i) => p + i + "@example.com");`,
      );
      const values = first.result as string[];
      assert(/^\[EMAIL_/.test(values[9999]), JSON.stringify(first).slice(0, 300));
      const code = `try { await light.op_0({ id: "a".repeat(2000) }); return "ran"; }
        catch (e) { return e.kind; }`;
      const { value: reply, max } = await probeHealthz(url, () => execute(code));
      assertEquals(reply.result, "approval_timeout", JSON.stringify(reply).slice(0, 300));
      assert(max < 1000, `/healthz stalled ${max.toFixed(0)} ms`);
    });
  },
});

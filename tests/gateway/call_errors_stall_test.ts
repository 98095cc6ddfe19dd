/**
 * An execution's call records are redacted without holding the gateway's shared event loop
 * (red team n3, B4, end to end through HTTP, `/healthz` probed meanwhile). The reference
 * filesystem server quotes its caller's input in its errors ("Access denied - path outside
 * allowed directories: …"): 1000 failing calls whose paths carry phone numbers give 1000
 * error records of 2,000 characters of personal data. Before, they were redacted in one
 * synchronous `.map` at the end of the execution: `/healthz` stalled 1.3–1.9 s. Also checks
 * that the records are still redacted (no phone number in the response).
 * README: "`/healthz` p99 < 50 ms while any one execution misbehaves"; the bound here (1 s
 * for the slowest answer) leaves room for a loaded shared machine.
 */
import { assert, assertEquals } from "../assert.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { probeHealthz, withHttpGateway } from "../stall_probe.ts";

Deno.test({
  name: "call records: 1000 failed calls quoting phone numbers do not stall /healthz",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir();
    await withHttpGateway(
      {
        servers: { filesystem: filesystemServer(root) },
        sandbox: { timeoutMs: 60000, maxToolCalls: 1000 },
      },
      undefined,
      async (execute, url) => {
        const code = (calls: number) =>
          `const unit = "+1 415 555 0134, ";
        for (let i = 0; i < ${calls}; i++) {
          try { await filesystem.readTextFile({ path: "/elsewhere/" + i + "/" + unit.repeat(130) }); }
          catch { /* each failure is recorded */ }
        }
        return "done";`;
        // Warms up the JIT and the redaction paths.
        await execute(code(50));
        const { value: reply, max } = await probeHealthz(url, () => execute(code(1000)));
        assertEquals(reply.result, "done", JSON.stringify(reply).slice(0, 300));
        const calls = reply.tools.calls as Array<{ error?: string }>;
        assertEquals(calls.length, 1000);
        assert(calls.every((c) => c.error && !c.error.includes("555 0134")), calls[0].error);
        assert(max < 1000, `/healthz stalled ${max.toFixed(0)} ms`);
      },
    );
  },
});

/**
 * Putting restored values back into a tool's echo does not hold the gateway's shared event
 * loop (red team n3, B5, end to end). Two executions of one session: the first returns 256
 * addresses `"a"×60 + i + "@example.com"` (they become placeholders in the session's vault);
 * the second sends those placeholders to an echoing tool with 40,000 `a`s, and the echo, with
 * the 256 restored values in it, is searched for them. Before, each position of the echo tried
 * every value sharing its first two units (`startsWith`): about 3 s in one stretch here, 7 s
 * for 80,000 `a`s. README: "`/healthz` p99 < 50 ms while any one execution misbehaves"; the
 * bound here (1 s for the slowest answer; the old code stalled 2.4 s) leaves room for a loaded
 * shared machine.
 * Also checks that the echo came back with the placeholders, not the values.
 */
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { probeHealthz, withHttpGateway } from "../stall_probe.ts";

Deno.test({
  name: "retokenize: an echo of 256 restored values sharing a prefix does not stall /healthz",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withHttpGateway(
      {
        servers: { faulty: fixtureServer("faulty") },
        sandbox: { timeoutMs: 60000 },
      },
      "echo",
      async (execute, url) => {
        const first = await execute(
          `return Array.from({ length: 256 }, (_, i) => "${"a".repeat(60)}" + i + "@example.com");`,
        );
        const placeholders: string[] = first.result;
        assert(
          Array.isArray(placeholders) && placeholders.every((p) => /^\[EMAIL_/.test(p)),
          `not placeholders: ${JSON.stringify(first).slice(0, 300)}`,
        );
        const code = `const r = await faulty.echo({ text: ${
          JSON.stringify(placeholders.join(" "))
        } +
          " " + "a".repeat(40000) });
        const text = typeof r === "string" ? r : JSON.stringify(r);
        return [text.includes("@example.com"), text.includes(${
          JSON.stringify(placeholders[255])
        })];`;
        const { value: reply, max } = await probeHealthz(url, () => execute(code));
        assertEquals(reply.result, [false, true], JSON.stringify(reply).slice(0, 300));
        assert(max < 1000, `/healthz stalled ${max.toFixed(0)} ms`);
      },
    );
  },
});

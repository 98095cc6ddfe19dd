/**
 * `check: true` over real HTTP against hostile programs (red team rttype items 1 and 3): a
 * program whose types need gigabytes (type-level string doubling) used to take the whole
 * gateway down out of memory, because the checker's Worker was not stopped by `terminate()`.
 * Now each such request gets `check_limit` or `check_timeout` with nothing run, the gateway's
 * own resident memory stays bounded (measured: it runs in this process), the killed checker
 * processes are gone, and another tenant's checked execution still runs.
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";
import { gone, memoryBomb } from "../typecheck/hostile.ts";

const ATTACKER = { authorization: "Bearer attacker-key" };
const VICTIM = { authorization: "Bearer victim-key" };

Deno.test({
  name: "typecheck isolation: hostile checks over HTTP cannot exhaust the gateway's memory",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({
        auth: {
          tenants: {
            attacker: { keys: [hashApiKey("attacker-key")], requestsPerMinute: 10_000 },
            victim: { keys: [hashApiKey("victim-key")], requestsPerMinute: 10_000 },
          },
        },
        typecheck: { timeoutMs: 3000, memoryMb: 128 },
      });
      const g = gw;
      const warm = await g.post("/v1/execute", { code: "return 1 + 1", check: true }, VICTIM);
      assertEquals(warm.body.ok, true, JSON.stringify(warm.body));
      const before = Deno.memoryUsage().rss;
      const killed: number[] = [];
      for (let i = 0; i < 2; i++) {
        killed.push(g.gateway.typeChecker().stats().pid!);
        const reply = await g.post(
          "/v1/execute",
          { code: memoryBomb(4096), check: true },
          ATTACKER,
        );
        assertEquals(reply.status, 200, JSON.stringify(reply.body));
        assertEquals(reply.body.ok, false);
        assert(
          ["check_limit", "check_timeout"].includes(reply.body.error.kind),
          JSON.stringify(reply.body.error),
        );
        assertEquals(reply.body.tools.calls, []);
      }
      const grew = Deno.memoryUsage().rss - before;
      assert(grew < 200 * 1024 * 1024, `the gateway's RSS grew by ${grew} bytes`);
      for (const pid of killed) {
        assert(await gone(pid), `checker ${pid} is still running`);
      }
      // The other tenant's checked execution runs, type errors are still found.
      const ok = await g.post("/v1/execute", { code: "return 2 + 2", check: true }, VICTIM);
      assertEquals([ok.body.ok, ok.body.result], [true, 4], JSON.stringify(ok.body));
      const wrong = await g.post(
        "/v1/execute",
        { code: "const s: string = 1; return s;", check: true },
        VICTIM,
      );
      assertEquals(wrong.body.error?.kind, "type", JSON.stringify(wrong.body));
    } finally {
      await gw?.close();
    }
  },
});

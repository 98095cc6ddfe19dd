/**
 * Over real HTTP, with tenants: the admission estimate (`sandbox.maxWaitMs`) judges each
 * running execution by its own tenant's history, so one tenant's long (legal) executions
 * do not get another tenant's trivial request refused `503 queue_full` while a slot is
 * about to free (red team c2, 2026-11-30: refused 9 ms after it was sent, though it would
 * have started within about 400 ms). No timing assertions.
 */

import { assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "one tenant's long executions do not get another tenant's trivial request refused",
  // The slow executions are awaited; the HTTP client's connections close with the gateway.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gw = await startTestGateway({
      sandbox: { concurrency: 2, timeoutMs: 5000, maxWaitMs: 1000 },
      auth: {
        tenants: {
          alpha: { keys: [hashApiKey("ka")], requestsPerMinute: 1000 },
          beta: { keys: [hashApiKey("kb")], requestsPerMinute: 1000 },
          gamma: { keys: [hashApiKey("kc")], requestsPerMinute: 1000 },
        },
      },
    }, { poolSize: 2 });
    const run = (key: string, code: string) =>
      gw.post("/v1/execute", { code }, { authorization: `Bearer ${key}` });
    const long = "await new Promise(r => setTimeout(r, 3800)); return 'alpha'";
    try {
      // alpha's executions hold a slot about 3.8 s.
      assertEquals((await run("ka", long)).body.result, "alpha");
      // alpha holds one slot (within its share), beta a short execution the other.
      const a = run("ka", long);
      await sleep(300);
      const b = run("kb", "await new Promise(r => setTimeout(r, 500)); return 'beta'");
      await sleep(150);
      // beta's slot frees in about 0.35 s: gamma is admitted (it was refused at once).
      const g = await run("kc", "return 'gamma'");
      assertEquals([g.status, g.body.result], [200, "gamma"], JSON.stringify(g.body));
      assertEquals((await b).body.result, "beta");
      assertEquals((await a).body.result, "alpha");
      assertEquals(gw.gateway.sandbox.stats().refused, 0);
    } finally {
      await gw.close();
    }
  },
});

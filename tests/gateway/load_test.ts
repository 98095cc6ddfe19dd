/**
 * Behaviour under load over real HTTP: refusals beyond capacity are 503 `queue_full` with
 * `Retry-After`, the pool's figures are in `/metrics`, and the audit holds every execution
 * of a burst, also after shutdown, though it is written off the response path. No timing
 * assertions (the figures are in `bench/load.ts`).
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { AuditLog } from "../../observability/mod.ts";

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text);
  if (!match) throw new Error(`${name} is not in /metrics`);
  return Number(match[1]);
}

Deno.test("beyond capacity: 503 queue_full with Retry-After, counted in /metrics", async () => {
  const gw = await startTestGateway({ sandbox: { poolSize: 1, poolMax: 1, maxWaitMs: 0 } });
  try {
    await until(() => gw.gateway.sandbox.stats().poolReady === 1, "the warm process");
    const slow = gw.post("/v1/execute", {
      code: "await new Promise((r) => setTimeout(r, 400)); return 'slow';",
    });
    await until(() => gw.gateway.sandbox.stats().poolReady === 0, "the process to be taken");
    const refused = await gw.post("/v1/execute", { code: "return 1" });
    assertEquals(refused.status, 503);
    assertEquals(refused.body.error.kind, "queue_full");
    assertEquals(refused.headers.get("retry-after"), "1");
    assertEquals((await slow).body.result, "slow");

    const metrics = (await gw.get("/metrics")).body as string;
    assertEquals(metric(metrics, "airlock_sandbox_refused_total"), 1);
    assertEquals(metric(metrics, "airlock_pool_max"), 1);
    assertEquals(metric(metrics, "airlock_pool_hits_total"), 1);
    assertEquals(metric(metrics, "airlock_pool_hit_ratio"), 1);
    assertEquals(metric(metrics, "airlock_sandbox_cold_starts_total"), 0);
    assert(/^airlock_rejected_total\{tenant="local",kind="unavailable"\} 1$/m.test(metrics));
  } finally {
    await gw.close();
  }
});

Deno.test("the audit holds every execution of a burst, and after shutdown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "airlock-audit-burst-" });
  const path = `${dir}/audit.db`;
  const burst = 24;
  try {
    const gw = await startTestGateway({
      audit: { path },
      // Nothing refused here: every execution waits for its process.
      sandbox: { poolSize: 2, poolMax: 4, concurrency: 4, queue: 64, maxWaitMs: 600_000 },
    });
    let answered = 0;
    try {
      const replies = await Promise.all(
        Array.from(
          { length: burst },
          (_, i) =>
            gw.post("/v1/execute", { code: `return ${i};` }, { "x-request-id": `burst-${i}` }),
        ),
      );
      answered = replies.filter((r) => r.status === 200).length;
      assertEquals(answered, burst, JSON.stringify(replies.map((r) => r.status)));
      // Readers see every queued record (they flush first).
      const seen = gw.gateway.audit!.recent({ limit: 1000 }).map((r) => r.requestId).sort();
      assertEquals(seen, Array.from({ length: burst }, (_, i) => `burst-${i}`).sort());
      // Another burst, then shut down at once: what is still queued is written on close.
      const late = await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) =>
            gw.post("/v1/execute", { code: `return ${i};` }, { "x-request-id": `late-${i}` }),
        ),
      );
      assertEquals(late.map((r) => r.status), Array(8).fill(200));
    } finally {
      await gw.close();
    }
    const reopened = AuditLog.open(path, { retentionDays: Infinity });
    try {
      const ids = reopened.recent({ limit: 1000 }).map((r) => r.requestId);
      assertEquals(ids.length, burst + 8);
      assertEquals(ids.filter((id) => id.startsWith("late-")).length, 8);
    } finally {
      reopened.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

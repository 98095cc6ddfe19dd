/**
 * The admission estimate (`maxWaitMs`) follows what a request really waits for: its place
 * in the tenant-fair order, and when the running executions can be expected to free a slot,
 * judged by their own tenant's recent hold times and how long they have run. One tenant's
 * long executions count against its own requests, not against another tenant's. Real
 * sandbox processes (no warm pool: every execution starts its own); no timing assertions,
 * and margins of half a second or more on either side of every expected outcome.
 */

import { assertEquals } from "../assert.ts";
import { testSandbox, waitForNoStrays } from "../helpers.ts";
import { QueueFullError, type Sandbox } from "../../sandbox/mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hold = (ms: number) => `await new Promise((r) => setTimeout(r, ${ms})); return ${ms};`;

/** Runs `code` for tenant `key`: its result, or "refused" when admission refused it. */
async function attempt(sandbox: Sandbox, key: string, code: string): Promise<unknown> {
  try {
    return (await sandbox.run({ code, queueKey: key })).result;
  } catch (error) {
    if (error instanceof QueueFullError) return "refused";
    throw error;
  }
}

async function withSandbox(
  options: Parameters<typeof testSandbox>[0],
  fn: (sandbox: Sandbox) => Promise<void>,
): Promise<void> {
  const sandbox = testSandbox({ timeoutMs: 10_000, ...options });
  await sandbox.start();
  try {
    await fn(sandbox);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
}

Deno.test("wait estimate: the time a running execution has already run counts", async () => {
  await withSandbox({ concurrency: 1, maxWaitMs: 2000 }, async (sandbox) => {
    // alpha's executions hold the slot about 4 s.
    assertEquals(await attempt(sandbox, "alpha", hold(4000)), 4000);
    const running = attempt(sandbox, "alpha", hold(4000));
    await sleep(3000);
    // About 1 s is left of the running one: within 2 s. A mean alone (4 s) would refuse.
    assertEquals(await attempt(sandbox, "alpha", "return 'next'"), "next");
    assertEquals(await running, 4000);
    assertEquals(sandbox.stats().refused, 0);
  });
});

Deno.test("wait estimate: only the waiters ahead in the tenant-fair order count", async () => {
  await withSandbox({ concurrency: 2, queue: 64, maxWaitMs: 2000 }, async (sandbox) => {
    // alpha's executions hold a slot about 1.4 s (plus the process's start).
    assertEquals(await attempt(sandbox, "alpha", hold(1400)), 1400);
    // alpha fills both slots and queues what it may: its own line counts against it, and
    // past two waiting (the third would start after about 2.8 s) it is refused.
    const burst = Array.from({ length: 8 }, () => attempt(sandbox, "alpha", hold(1400)));
    // gamma is served after one of alpha's waiters, not after all of them: it starts when
    // the second slot frees, in about 1.4 s. Counting every tenant's waiters ((2 + 1) ×
    // 1.4 s ÷ 2 slots = 2.1 s) would refuse it.
    const gamma = attempt(sandbox, "gamma", "return 'gamma'");
    const alpha = await Promise.all(burst);
    assertEquals(await gamma, "gamma");
    assertEquals(alpha.filter((r) => r === 1400).length, 4, JSON.stringify(alpha));
    assertEquals(alpha.filter((r) => r === "refused").length, 4, JSON.stringify(alpha));
  });
});

Deno.test("wait estimate: a tenant's varied executions cannot make its short ones look long to others", async () => {
  await withSandbox({ concurrency: 2, maxWaitMs: 1000 }, async (sandbox) => {
    // alpha's history: mostly long (3 s), once short (0.3 s).
    assertEquals(
      await Promise.all([
        attempt(sandbox, "alpha", hold(3000)),
        attempt(sandbox, "alpha", hold(3000)),
      ]),
      [3000, 3000],
    );
    assertEquals(await attempt(sandbox, "alpha", hold(300)), 300);
    // alpha holds both slots: a long execution and a short one.
    const long = attempt(sandbox, "alpha", hold(3000));
    const short = attempt(sandbox, "alpha", hold(300));
    // gamma's wait is the short one's, about 0.3 s: admitted. Another tenant's execution is
    // judged by the earliest its tenant's history allows, never by that tenant's mean.
    const gamma = attempt(sandbox, "gamma", "return 'gamma'");
    // alpha's own request is judged by alpha's expectation (about 2 s): refused. Its own
    // long executions count against it.
    assertEquals(await attempt(sandbox, "alpha", "return 'alpha'"), "refused");
    assertEquals(await gamma, "gamma");
    assertEquals(await short, 300);
    assertEquals(await long, 3000);
    assertEquals(sandbox.stats().refused, 1);
  });
});

Deno.test("wait estimate: a waiter is not refused for another tenant's long history", async () => {
  await withSandbox({ concurrency: 2, maxWaitMs: 1000 }, async (sandbox) => {
    // alpha's executions are long, beta's and gamma's short.
    assertEquals(await attempt(sandbox, "alpha", hold(3000)), 3000);
    assertEquals(await attempt(sandbox, "beta", hold(400)), 400);
    const long = attempt(sandbox, "alpha", hold(3000));
    const short = attempt(sandbox, "beta", hold(400));
    // Both slots are held; beta's frees in about 0.4 s.
    assertEquals(await attempt(sandbox, "gamma", "return 'gamma'"), "gamma");
    assertEquals(await short, 400);
    // Once alpha holds both slots with long executions, gamma really would wait seconds:
    // refused at once, as before.
    const second = attempt(sandbox, "alpha", hold(3000));
    await sleep(100);
    assertEquals(await attempt(sandbox, "gamma", "return 'gamma'"), "refused");
    assertEquals(await long, 3000);
    assertEquals(await second, 3000);
    assertEquals(sandbox.stats().refused, 1);
  });
});

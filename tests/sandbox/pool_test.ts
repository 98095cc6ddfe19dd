/**
 * The warm pool follows the load: it grows to its maximum when executions find it empty,
 * shrinks back when idle, and once saturated refuses at once what it could not serve in
 * time. Real sandbox processes; no timing assertions.
 */

import { assert, assertEquals } from "../assert.ts";
import { waitForNoStrays } from "../helpers.ts";
import { QueueFullError, Sandbox, type SandboxOptions } from "../../sandbox/mod.ts";

function makeSandbox(overrides: Partial<SandboxOptions>): Sandbox {
  return new Sandbox({
    timeoutMs: 5000,
    memoryMb: 64,
    maxOutputBytes: 1024 * 1024,
    maxLogBytes: 64 * 1024,
    concurrency: 4,
    queue: 64,
    poolSize: 1,
    allowNet: [],
    allowRead: [],
    ...overrides,
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("the pool grows under load up to poolMax and shrinks back when idle", async () => {
  const sandbox = makeSandbox({ poolSize: 1, poolMax: 3, poolIdleMs: 1500 });
  await sandbox.start();
  try {
    await until(() => sandbox.stats().poolReady === 1, "the first warm process");
    assertEquals(sandbox.stats().poolSize, 1);
    // Eight executions at once against one ready process: the pool runs dry and grows.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => sandbox.run({ code: `return ${i};` })),
    );
    assertEquals(results.map((r) => r.result), [0, 1, 2, 3, 4, 5, 6, 7]);
    const grown = sandbox.stats();
    assertEquals(grown.poolSize, 3, "the target grew to poolMax");
    assertEquals(grown.poolMax, 3);
    // Each execution found a warm process or, the pool being dry, started its own.
    assertEquals(grown.poolHits + grown.coldStarts, 8);
    assert(grown.poolHits >= 1 && grown.coldStarts >= 1, JSON.stringify(grown));
    await until(() => sandbox.stats().poolReady === 3, "the grown pool to fill");
    // Idle: the target falls back to poolSize and the extra processes are stopped.
    await until(
      () => sandbox.stats().poolSize === 1 && sandbox.stats().poolReady === 1,
      "the pool to shrink",
    );
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("a saturated pool refuses at once with queue_full instead of queueing", async () => {
  const sandbox = makeSandbox({ poolSize: 1, poolMax: 1, maxWaitMs: 0 });
  await sandbox.start();
  try {
    await until(() => sandbox.stats().poolReady === 1, "the warm process");
    const running = sandbox.run({
      code: "await new Promise((r) => setTimeout(r, 300)); return 'ran';",
    });
    // The only process is taken and the pool is at its maximum: nothing can be ready in 0 ms.
    await until(() => sandbox.stats().poolReady === 0, "the process to be taken");
    let refused: unknown;
    try {
      await sandbox.run({ code: "return 'refused?'" });
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof QueueFullError, `expected QueueFullError, got ${refused}`);
    assertEquals((refused as QueueFullError).kind, "queue_full");
    assertEquals((await running).result, "ran");
    assertEquals(sandbox.stats().refused, 1);
    // Once a process is ready again, executions are accepted again.
    await until(() => sandbox.stats().poolReady === 1, "the refill");
    assertEquals((await sandbox.run({ code: "return 'again'" })).result, "again");
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("without maxWaitMs a drained pool falls back to cold processes, never refuses", async () => {
  const sandbox = makeSandbox({ poolSize: 1, poolMax: 1, concurrency: 2, queue: 100 });
  await sandbox.start();
  try {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => sandbox.run({ code: `return ${i} * 2;` })),
    );
    assertEquals(results.map((r) => r.result), [0, 2, 4, 6, 8, 10]);
    assertEquals(sandbox.stats().refused, 0);
    assert(sandbox.stats().coldStarts >= 1);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("an execution whose profile the pool does not hold starts its own process", async () => {
  const sandbox = makeSandbox({ poolSize: 1, poolMax: 2 });
  await sandbox.start();
  try {
    const other = await sandbox.run({ code: "return 1", limits: { memoryMb: 96 } });
    assertEquals(other.result, 1);
    assertEquals(other.warm, false);
    assertEquals(sandbox.stats().coldStarts, 1);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("with maxWaitMs, a request that would queue longer than that is refused at once", async () => {
  const sandbox = makeSandbox({ poolSize: 0, concurrency: 1, queue: 10, maxWaitMs: 100 });
  await sandbox.start();
  try {
    // Nothing is known about slot times yet: the first executions are never refused.
    const slow = "await new Promise((r) => setTimeout(r, 300)); return 'slow';";
    assertEquals((await sandbox.run({ code: slow })).result, "slow");
    // Now a slot is held for 300 ms or more: one waiting execution would wait past 100 ms.
    const running = sandbox.run({ code: slow });
    await until(() => sandbox.stats().active === 1, "the slot to be taken");
    let refused: unknown;
    try {
      await sandbox.run({ code: "return 1" });
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof QueueFullError, `expected QueueFullError, got ${refused}`);
    assertEquals((await running).result, "slow");
    assertEquals(sandbox.stats().refused, 1);
    // A free slot is never refused.
    assertEquals((await sandbox.run({ code: "return 2" })).result, 2);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

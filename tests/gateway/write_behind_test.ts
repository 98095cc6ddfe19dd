/** The audit write-behind queue: batches, order, backpressure instead of drops, failures. */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import { WriteBehind } from "../../observability/write_behind.ts";
import { AuditLog, type AuditRecord } from "../../observability/audit.ts";

Deno.test("a full queue makes pushes wait; every record is written, in order", async () => {
  const written: number[][] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => release = r);
  const queue = new WriteBehind<number>(async (batch) => {
    await gate;
    written.push([...batch]);
  }, { maxPending: 3, batchSize: 2, delayMs: 0 });
  const accepted = Array.from({ length: 8 }, (_, i) => queue.push(i));
  // The first three fit; the rest wait for room (backpressure), none is dropped.
  assertEquals(accepted.slice(0, 3), [undefined, undefined, undefined]);
  assert(accepted.slice(3).every((p) => p instanceof Promise));
  assertEquals(queue.stats().backpressured, 5);
  assertEquals(queue.stats().pending, 8);
  release();
  gate = Promise.resolve();
  await Promise.all(accepted);
  await queue.flush();
  assertEquals(written.flat(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert(written.every((b) => b.length <= 2), "batches are at most batchSize");
  assertEquals(queue.stats(), { pending: 0, written: 8, failed: 0, backpressured: 5 });
});

Deno.test("a failed batch is reported with its size and the queue goes on", async () => {
  const failures: number[] = [];
  const written: string[] = [];
  const queue = new WriteBehind<string>((batch) => {
    if (batch.includes("bad")) throw new Error("disk full");
    written.push(...batch);
  }, { batchSize: 2, delayMs: 0, onError: (_, count) => failures.push(count) });
  queue.push("a");
  queue.push("bad");
  queue.flushSync();
  queue.push("c");
  await queue.flush();
  assertEquals(failures, [2]);
  assertEquals(written, ["c"]);
  assertEquals(queue.stats().failed, 2);
});

function sample(requestId: string, time = new Date().toISOString()): AuditRecord {
  return {
    time,
    tenant: "t",
    requestId,
    transport: "http",
    codeHash: "sha256:00",
    ok: true,
    durationMs: 1,
    sandboxMs: 1,
    toolsInjected: [],
    calls: [{ tool: "a.b", ms: 1, ok: true, outcome: "ok" }],
    redactions: {},
  };
}

Deno.test("AuditLog.enqueue: queued rows are read back, a bad one does not take its batch", () => {
  const errors: number[] = [];
  const log = AuditLog.open(":memory:", {
    retentionDays: Infinity,
    onWriteError: (_, count) => errors.push(count),
  });
  try {
    log.enqueue(sample("one"));
    const bad = sample("two");
    bad.calls = [{ tool: null!, ms: 1, ok: true }];
    log.enqueue(bad);
    log.enqueue(sample("three"));
    assertEquals(log.queueStats().pending, 3);
    // recent() writes what is queued first.
    assertEquals(log.recent().map((r) => r.requestId).sort(), ["one", "three"]);
    assertEquals(errors, [1]);
    assertEquals(log.queueStats().pending, 0);
  } finally {
    log.close();
  }
  assertThrows(() => log.enqueue(sample("late")), /closed/);
});

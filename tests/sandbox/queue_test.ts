/** The execution queue: limits, refusal when full, fairness across tenants, abort. */

import { assertEquals, assertRejects } from "../assert.ts";
import { ExecutionQueue, QueueFullError } from "../../sandbox/mod.ts";

Deno.test("queue: runs up to the concurrency, queues up to the limit, refuses beyond", async () => {
  const queue = new ExecutionQueue(2, 1);
  const a = await queue.acquire();
  const b = await queue.acquire();
  assertEquals(queue.active, 2);
  const waiting = queue.acquire();
  assertEquals(queue.depth, 1);
  const error = await assertRejects(() => queue.acquire());
  assertEquals(error instanceof QueueFullError, true);
  a();
  const c = await waiting;
  assertEquals([queue.active, queue.depth], [2, 0]);
  b();
  c();
  a(); // releasing twice is harmless
  assertEquals(queue.active, 0);
});

Deno.test("queue: waiting work is served round-robin across tenants", async () => {
  const queue = new ExecutionQueue(1, 100);
  const first = await queue.acquire(undefined, "busy");
  const order: string[] = [];
  const waiters: Promise<void>[] = [];
  const enqueue = (key: string, label: string) =>
    waiters.push(
      queue.acquire(undefined, key).then((release) => {
        order.push(label);
        release();
      }),
    );
  for (let i = 1; i <= 4; i++) enqueue("busy", `busy${i}`);
  enqueue("quiet", "quiet1");
  enqueue("other", "other1");
  first();
  await Promise.all(waiters);
  assertEquals(order, ["busy1", "quiet1", "other1", "busy2", "busy3", "busy4"]);
});

Deno.test("queue: an aborted waiter leaves the line", async () => {
  const queue = new ExecutionQueue(1, 5);
  const release = await queue.acquire();
  const controller = new AbortController();
  const waiting = queue.acquire(controller.signal, "t");
  assertEquals(queue.depth, 1);
  controller.abort(new Error("gone"));
  await assertRejects(() => waiting, /gone/);
  assertEquals(queue.depth, 0);
  release();
  assertEquals(queue.active, 0);
});

Deno.test("queue: waitingAhead names exactly the waiters served before a new request", async () => {
  // Lines: busy ×4, quiet ×1, other ×1 (in that round order); then a new request of `key`.
  for (
    const [key, expected] of [
      ["busy", [["busy", 4], ["quiet", 1], ["other", 1]]],
      ["quiet", [["busy", 2], ["quiet", 1], ["other", 1]]],
      ["other", [["busy", 2], ["quiet", 1], ["other", 1]]],
      ["new", [["busy", 1], ["quiet", 1], ["other", 1]]],
    ] as const
  ) {
    const queue = new ExecutionQueue(1, 100);
    const first = await queue.acquire(undefined, "holder");
    assertEquals([...queue.holds].map((h) => h.key), ["holder"]);
    const order: string[] = [];
    const waiters: Promise<void>[] = [];
    const enqueue = (k: string, label: string) =>
      waiters.push(
        queue.acquire(undefined, k).then((release) => {
          assertEquals([...queue.holds].map((h) => h.key), [k], "the slot is held by its taker");
          order.push(label);
          release();
        }),
      );
    for (let i = 1; i <= 4; i++) enqueue("busy", `busy${i}`);
    enqueue("quiet", "quiet1");
    enqueue("other", "other1");
    const ahead = queue.waitingAhead(key);
    assertEquals(ahead, expected.map(([k, n]) => [k, n]), key);
    enqueue(key, "probe");
    first();
    await Promise.all(waiters);
    const served = ahead.reduce((sum, [, n]) => sum + n, 0);
    assertEquals(order.indexOf("probe"), served, `${key}: ${order.join(",")}`);
    assertEquals(queue.holds.size, 0);
  }
});

/**
 * An execution's abort signal does not collect a listener per tool call
 * (`upstream/follow_signal.ts`): the MCP SDK never removes the `abort` listener it adds to a
 * request's signal, so every call made with the execution's own signal left one behind until
 * the execution ended (memory linear in the calls, `addEventListener` quadratic). Real MCP
 * server (the reference `everything`), real calls: done, failed, in flight, and aborted.
 */

import assert from "node:assert/strict";

import { followSignal } from "../../upstream/follow_signal.ts";
import { UpstreamManager } from "../../upstream/mod.ts";
import { everythingServer } from "../fixtures/servers/reference.ts";

/** A signal that counts the `abort` listeners attached to it and not yet removed. */
function countedSignal(): { controller: AbortController; live: () => number } {
  const controller = new AbortController();
  const signal = controller.signal;
  const listeners = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: unknown, options?: unknown) => {
    if (type === "abort") listeners.add(listener);
    // deno-lint-ignore no-explicit-any
    return add(type, listener as any, options as any);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: unknown, options?: unknown) => {
    if (type === "abort") listeners.delete(listener);
    // deno-lint-ignore no-explicit-any
    return remove(type, listener as any, options as any);
  }) as typeof signal.removeEventListener;
  return { controller, live: () => listeners.size };
}

Deno.test("tool calls: the execution's signal holds no listener once its calls are over", async () => {
  const upstream = new UpstreamManager({ everything: everythingServer() });
  try {
    await upstream.start();
    const { controller, live } = countedSignal();
    const signal = controller.signal;
    for (let i = 0; i < 60; i++) {
      const result = await upstream.callTool("everything", "get-sum", { a: i, b: 1 }, { signal });
      assert.equal(result.isError ?? false, false);
    }
    assert.equal(live(), 0, "listeners left after 60 sequential calls");
    // Concurrent calls hold one listener each while in flight, none after.
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => upstream.callTool("everything", "get-sum", { a: i, b: 2 }, { signal }),
      ),
    );
    assert.equal(live(), 0, "listeners left after 20 concurrent calls");
    // Calls that fail at the server (wrong arguments) release theirs too.
    for (let i = 0; i < 5; i++) {
      await upstream.callTool("everything", "get-sum", { a: "x" }, { signal }).catch(() => {});
    }
    assert.equal(live(), 0, "listeners left after failed calls");
    // Aborting the execution still cancels a call in flight.
    const slow = upstream.callTool(
      "everything",
      "trigger-long-running-operation",
      { duration: 30, steps: 3 },
      { signal },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(live(), 1, "the call in flight follows the execution's signal");
    controller.abort(new Error("the execution ended"));
    await assert.rejects(slow);
  } finally {
    await upstream.close();
  }
});

Deno.test("followSignal: follows its parent's abort and reason, detaches on release", () => {
  assert.equal(followSignal(undefined).signal, undefined);
  const parent = new AbortController();
  const first = followSignal(parent.signal);
  const second = followSignal(parent.signal);
  second.release();
  second.release();
  parent.abort("ended");
  assert.equal(first.signal?.aborted, true);
  assert.equal(first.signal?.reason, "ended");
  assert.equal(second.signal?.aborted, false, "released: no longer follows");
  const late = followSignal(parent.signal);
  assert.equal(late.signal?.aborted, true, "an aborted parent gives an aborted signal");
});

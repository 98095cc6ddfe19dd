// The cooperative walks (walk.ts forEachLeafAsync / mapLeavesAsync) and what uses them on the
// gateway's main thread (redactValueAsync, retokenizeValueAsync): the same leaves in the same
// order as the synchronous walk, no copy of a value nothing changes, and the event loop served
// while a value of hundreds of thousands of small values is walked (a timer callback runs
// before the walk ends: it never did when the walk was one synchronous stretch). No timing
// assertions.

import { assert, assertEquals } from "../assert.ts";
import { redactValue, redactValueAsync, retokenizeValueAsync, Vault } from "../../pii/mod.ts";
import { forEachLeafAsync, mapLeaves, mapLeavesAsync } from "../../pii/walk.ts";

/** `actual` is `expected` itself (not an equal copy). */
function assertStrictEquals(actual: unknown, expected: unknown): void {
  assert(actual === expected, "expected the very same value, got another (a copy?)");
}

/** The red team's return value: about 1 MiB of JSON, 349,001 values. */
const emptyObjects = () => new Array(349_000).fill(0).map(() => ({}));

/**
 * Runs `work` and counts the timer callbacks that ran before it settled: a chain of
 * `setTimeout(0)`, each scheduling the next. Work done in one synchronous stretch (or in
 * microtasks only) lets none of them run.
 */
async function timerTurnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    if (done) return;
    turns++;
    timer = setTimeout(tick, 0);
  };
  timer = setTimeout(tick, 0);
  try {
    const value = await work();
    return { value, turns };
  } finally {
    done = true;
    clearTimeout(timer);
  }
}

/** A value with every kind of leaf, shared and cyclic references and a `__proto__` key. */
function mixed(): unknown {
  const shared = { s: "shared ann@example.com" };
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const proto = JSON.parse('{"__proto__": "bob@example.org"}');
  return {
    a: [1, "two", null, true, undefined, 123456789012, { b: [[], {}, ["deep"]] }],
    shared: [shared, shared],
    cyclic,
    proto,
    when: new Date(Date.UTC(2024, 0, 2)),
    empty: "",
  };
}

Deno.test("walk: the async walks see the leaves mapLeaves sees, in the same order", async () => {
  for (const value of [mixed(), "bare", 42, null, [], {}, [[["x"]]]]) {
    const sync: unknown[] = [];
    mapLeaves(value, (leaf) => (sync.push(leaf), leaf));
    const visited: unknown[] = [];
    await forEachLeafAsync(value, (leaf) => void visited.push(leaf));
    assertEquals(visited, sync);
    const mapped: unknown[] = [];
    await mapLeavesAsync(value, (leaf) => (mapped.push(leaf), leaf));
    assertEquals(mapped, sync);
  }
});

Deno.test("walk: mapLeavesAsync copies only when a leaf changes, and then as mapLeaves does", async () => {
  const value = mixed();
  assertStrictEquals(await mapLeavesAsync(value, (leaf) => leaf), value);
  const upper = (leaf: unknown) => typeof leaf === "string" ? leaf.toUpperCase() : leaf;
  const copy = await mapLeavesAsync(value, upper) as Record<string, unknown>;
  const expected = mapLeaves(value, upper) as Record<string, unknown>;
  assert(copy !== value, "a changed value must be a copy");
  assertEquals(copy, expected);
  // References are kept as references, the input is not modified.
  const shared = copy.shared as unknown[];
  assertStrictEquals(shared[0], shared[1]);
  const cyclic = copy.cyclic as Record<string, unknown>;
  assertStrictEquals(cyclic.self, cyclic);
  assert(Object.hasOwn(copy.proto as object, "__proto__"), "__proto__ must stay an own key");
  assertEquals((value as { a: unknown[] }).a[1], "two");
});

Deno.test("walk: 350,000 small values are walked in slices, the event loop served between", async () => {
  const value = emptyObjects();
  let leaves = 0;
  const walked = await timerTurnsDuring(() => forEachLeafAsync(value, () => void leaves++));
  assertEquals(leaves, 0); // empty objects only: no leaf at all
  assert(walked.turns > 0, "no timer ran during the walk");
  const numbers = new Array(400_000).fill(7);
  const mapped = await timerTurnsDuring(() =>
    mapLeavesAsync(numbers, (leaf) => (leaf as number) + 1)
  );
  assert(mapped.turns > 0, "no timer ran during the copying walk");
  assertEquals((mapped.value as number[]).length, 400_000);
  assertEquals((mapped.value as number[])[399_999], 8);
});

Deno.test("walk: an aborted signal stops the walk at its next yield", async () => {
  const stop = new AbortController();
  stop.abort(new Error("ended"));
  let error: unknown;
  try {
    await forEachLeafAsync(new Array(1_000_000).fill({}), () => {}, {
      sliceMs: 0,
      signal: stop.signal,
    });
  } catch (e) {
    error = e;
  }
  assertEquals((error as Error)?.message, "ended");
});

Deno.test("redactValueAsync: 349,000 empty objects come back uncopied, the event loop served", async () => {
  const value = emptyObjects();
  const { value: out, turns } = await timerTurnsDuring(() =>
    redactValueAsync(value, { mode: "tokenize", vault: new Vault({ tag: "kqzmtwa" }) })
  );
  assertStrictEquals(out.value, value);
  assertEquals(out.counts, {});
  assert(turns > 0, "redaction held the event loop from start to end");
});

Deno.test("redactValueAsync: many small texts under the worker threshold redact as redactValue does, in slices", async () => {
  // 60,000 leaves, ~40,000 units of text in all: under the worker threshold, so detection runs
  // on this thread too, and it must still yield. Placeholders numbered in document order.
  const value = Array.from({ length: 20_000 }, (_, i) => ({
    n: i % 1000 === 0 ? 4111111111111111 : i,
    t: i % 500 === 0 ? `u${i}@ex.com` : "ok",
    e: {},
  }));
  const sync = redactValue(value, { mode: "tokenize", vault: new Vault({ tag: "kqzmtwa" }) });
  const { value: async, turns } = await timerTurnsDuring(() =>
    redactValueAsync(value, { mode: "tokenize", vault: new Vault({ tag: "kqzmtwa" }) })
  );
  assertEquals(async.value, sync.value);
  assertEquals(async.counts, sync.counts);
  assertEquals(async.counts, { email: 40, credit_card: 20 });
  assert(turns > 0, "redaction held the event loop from start to end");
  // The number of the first row stays a number; the card became its placeholder.
  assertEquals((async.value as { n: unknown }[])[1].n, 1);
  assert(typeof (async.value as { n: unknown }[])[0].n === "string", "card not redacted");
});

Deno.test("retokenizeValueAsync: a big result without a restored value comes back uncopied, in slices", async () => {
  const value = Array.from({ length: 200_000 }, (_, i) => (i % 2 ? {} : "plain text"));
  const used = new Map([["ann@example.com", "[EMAIL_1_kqzmtwa]"]]);
  const { value: out, turns } = await timerTurnsDuring(() => retokenizeValueAsync(value, used));
  assertStrictEquals(out, value);
  assert(turns > 0, "retokenizing held the event loop from start to end");
  const hit = [...value, "mail ann@example.com"];
  const back = await retokenizeValueAsync(hit, used) as unknown[];
  assertEquals(back[200_000], "mail [EMAIL_1_kqzmtwa]");
  assertEquals(hit[200_000], "mail ann@example.com");
});

import assert from "node:assert/strict";

import { backoffDelay } from "../../upstream/mod.ts";

const bounds = { initialMs: 100, maxMs: 1000 };

Deno.test("backoffDelay doubles per attempt and stops at the cap", () => {
  const top = () => 0.999999; // jitter factor just under 1
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 10, 100].map((attempt) => backoffDelay(attempt, bounds, top)),
    [100, 200, 400, 800, 1000, 1000, 1000, 1000],
  );
});

Deno.test("backoffDelay jitter keeps the delay between half and all of the nominal value", () => {
  assert.deepEqual(backoffDelay(2, bounds, () => 0), 200);
  assert.deepEqual(backoffDelay(2, bounds, () => 0.5), 300);
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(3, bounds);
    if (delay < 400 || delay > 800) throw new Error(`delay ${delay} outside [400, 800]`);
  }
});

Deno.test("backoffDelay treats odd attempt numbers sanely", () => {
  const top = () => 0.999999;
  assert.deepEqual(backoffDelay(-3, bounds, top), 100);
  assert.deepEqual(backoffDelay(1.7, bounds, top), 200);
  assert.deepEqual(backoffDelay(1e9, bounds, top), 1000);
});

// The shipped secret thresholds still score well on the tuning data they came from.

import { passwordSamples, score, tokenSamples, tune } from "./tune_entropy.ts";
import { SECRET_THRESHOLDS } from "../../pii/mod.ts";

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

Deno.test("shipped token thresholds match the grid search and score F1 >= 0.97", () => {
  const tuned = tune(tokenSamples(), [12, 16, 20]);
  assert(
    JSON.stringify(tuned.t) === JSON.stringify(SECRET_THRESHOLDS.token),
    `re-tuned ${JSON.stringify(tuned.t)}; update SECRET_THRESHOLDS.token`,
  );
  const s = score(tokenSamples(), SECRET_THRESHOLDS.token);
  assert(s.f1 >= 0.97, `token F1 ${s.f1}`);
});

Deno.test("shipped password thresholds match the grid search and score F1 >= 0.97", () => {
  const tuned = tune(passwordSamples(), [6, 8]);
  assert(
    JSON.stringify(tuned.t) === JSON.stringify(SECRET_THRESHOLDS.password),
    `re-tuned ${JSON.stringify(tuned.t)}; update SECRET_THRESHOLDS.password`,
  );
  const s = score(passwordSamples(), SECRET_THRESHOLDS.password);
  assert(s.f1 >= 0.97, `password F1 ${s.f1}`);
});

Deno.test("thresholds generalise to samples drawn with another seed", () => {
  const t = score(tokenSamples(99), SECRET_THRESHOLDS.token);
  const p = score(passwordSamples(98), SECRET_THRESHOLDS.password);
  console.log(`held-out token F1 ${t.f1.toFixed(3)}, password F1 ${p.f1.toFixed(3)}`);
  assert(t.f1 >= 0.95 && p.f1 >= 0.95, "held-out F1 below 0.95");
});

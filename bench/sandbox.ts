/**
 * Overhead of a trivial execution through the pipeline, cold and with the warm pool,
 * next to a bare `deno run` of the same code, all measured in this run.
 *
 * Targets (DESIGN.md): warm p50 ≤ 1/3 of bare `deno run`; cold ≤ bare + 10 ms.
 */

import { Gateway, parseConfig } from "../gateway/mod.ts";
import { bareDenoRun, ms, percentile, sample, table, verdict } from "./stats.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 40);
const CODE = "const n: number = 40;\nreturn n + 2;";

async function pipeline(poolSize: number): Promise<{ times: number[]; warmShare: number }> {
  const gateway = new Gateway(
    parseConfig({
      sandbox: { concurrency: 2 },
      selection: { embedder: "lexical" },
      audit: { path: ":memory:" },
    }),
    {
      poolSize,
      logger: () => {},
    },
  );
  const tenant = gateway.tenants.authenticate(undefined);
  await gateway.start();
  let warm = 0;
  const waitForPool = async () => {
    // Model requests arriving no faster than the pool refills: a full pool, nothing starting.
    const busy = () => {
      const stats = gateway.sandbox.stats();
      return stats.poolReady < poolSize || stats.poolStarting > 0;
    };
    for (let i = 0; poolSize > 0 && i < 400 && busy(); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const times = await sample(RUNS, async () => {
    const response = await gateway.execute({ code: CODE }, { tenant, requestId: "b" });
    if (response.result !== 42) throw new Error(`bad result ${JSON.stringify(response)}`);
    if (response.stats.warm) warm++;
  }, { before: waitForPool });
  await gateway.close();
  return { times, warmShare: warm / (RUNS + 2) };
}

const bare = await bareDenoRun(RUNS);
const cold = await pipeline(0);
const warm = await pipeline(2);

const bareP50 = percentile(bare, 50);
const rows = [
  ["bare `deno run`", ms(bareP50), ms(percentile(bare, 95)), "baseline", "—"],
  [
    "pipeline, cold process",
    ms(percentile(cold.times, 50)),
    ms(percentile(cold.times, 95)),
    `≤ bare + 10 ms (${ms(bareP50 + 10)})`,
    verdict(percentile(cold.times, 50) <= bareP50 + 10),
  ],
  [
    `pipeline, warm pool (${Math.round(warm.warmShare * 100)}% warm)`,
    ms(percentile(warm.times, 50)),
    ms(percentile(warm.times, 95)),
    `≤ 1/3 of bare (${ms(bareP50 / 3)})`,
    verdict(percentile(warm.times, 50) <= bareP50 / 3),
  ],
];
console.log(`## Sandbox: trivial execution (${RUNS} runs each)\n`);
console.log(table(["path", "p50", "p95", "target", "result"], rows));
console.log(
  `\nwarm p50 / bare p50 = ${(percentile(warm.times, 50) / bareP50).toFixed(2)}; ` +
    `cold p50 − bare p50 = ${ms(percentile(cold.times, 50) - bareP50)}\n`,
);

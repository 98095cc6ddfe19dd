/**
 * The gateway under load: a real `main.ts serve` process on real HTTP, driven by this
 * process (so client and server do not share an event loop).
 *
 * 1. Baseline: a bare `deno run` of the same trivial code, measured in this run.
 * 2. Round trip: one trivial execution at a time, p50 against ≤ 1/5 of bare, two ways: on an
 *    idle gateway (the pool full, no replacement starting, 50 ms of quiet: the figure DESIGN
 *    names) and right after the previous execution (a warm process ready, but the previous
 *    one's replacement may still be starting beside it, as in earlier runs of this bench).
 * 3. Open loop: executions arrive at a fixed rate (not back to back: an arrival does not wait
 *    for earlier answers), for each rate in `LOAD_RATES`. Per rate: throughput, warm share,
 *    p50/p99 of the answered executions, refusals (503 `queue_full`) and how fast they came
 *    back. A rate is *sustained* when every execution is answered 200, ≥ 95 % warm, p99 ≤ 30 ms.
 *    CPU per answered execution is read from `/proc`: the gateway process's own (every
 *    thread) and that of its exited children (the sandbox processes), shown as the sum with
 *    the gateway's share beside it.
 *
 * DESIGN.md: warm round trip p50 ≤ 1/5 of bare; 60/s with ≥ 95 % warm and p99 ≤ 30 ms;
 * beyond capacity, refusals (503, `Retry-After`) answered in ≤ 10 ms.
 *
 * `deno run -A bench/load.ts` (env: `LOAD_RATES=20,40,60,80,100`, `LOAD_SECONDS=8`,
 * `LOAD_CONFIG` a JSON object merged over the bench's configuration).
 *
 * @module
 */

import { bareDenoRun, ms, percentile, table, verdict } from "./stats.ts";

const RATES = (Deno.env.get("LOAD_RATES") ?? "20,40,60,80,100,120").split(",").map(Number);
const SECONDS = Number(Deno.env.get("LOAD_SECONDS") ?? 8);
const BARE_RUNS = 20;
const RTT_RUNS = 60;
const CODE = "const n: number = 40;\nreturn n + 2;";
const root = new URL("..", import.meta.url).pathname;

interface Server {
  url: string;
  /**
   * CPU time (ms) so far of the gateway process itself (every thread) and of its exited
   * children (the sandbox processes and their start-up chain).
   */
  cpuMs(): { gateway: number; sandboxes: number };
  stop(): Promise<void>;
}

/** Starts `main.ts serve` on a free port with no upstream servers. */
async function startServer(dir: string): Promise<Server> {
  const config = {
    servers: {},
    selection: { embedder: "lexical", cacheDir: `${dir}/embeddings` },
    audit: { path: `${dir}/audit.db` },
    ...JSON.parse(Deno.env.get("LOAD_CONFIG") ?? "{}"),
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "serve", "--config", `${dir}/config.json`, "--port", `${port}`],
    cwd: root,
    stdout: "null",
    // The gateway's own structured log goes to a file, as an operator's would.
    stderr: "piped",
  }).spawn();
  const log = await Deno.open(`${dir}/gateway.log`, { write: true, create: true });
  const piping = child.stderr.pipeTo(log.writable).catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/readyz`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    cpuMs() {
      // utime, stime, cutime, cstime in clock ticks (100 per second on Linux).
      const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return {
        gateway: (Number(fields[11]) + Number(fields[12])) * 10,
        sandboxes: (Number(fields[13]) + Number(fields[14])) * 10,
      };
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await piping;
    },
  };
}

interface Outcome {
  status: number;
  ms: number;
  warm: boolean;
  retryAfter: boolean;
}

async function executeOnce(url: string): Promise<Outcome> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/execute`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: CODE }),
  });
  const body = await response.json();
  const elapsed = performance.now() - started;
  if (response.status === 200 && body.result !== 42) {
    throw new Error(`bad result ${JSON.stringify(body)}`);
  }
  return {
    status: response.status,
    ms: elapsed,
    warm: body.stats?.warm === true,
    retryAfter: response.headers.has("retry-after"),
  };
}

async function waitForPool(url: string, atLeast: number, idle = false): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const ready = metric(text, "airlock_pool_ready");
    const enough = idle
      ? ready >= metric(text, "airlock_pool_size") && metric(text, "airlock_pool_starting") === 0
      : ready >= atLeast;
    if (enough) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fires executions at `rate` per second for `seconds`; never waits for an answer to send. */
async function openLoop(url: string, rate: number, seconds: number): Promise<Outcome[]> {
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const pending: Promise<Outcome>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      executeOnce(url).catch((e) => {
        if (Deno.env.get("LOAD_DEBUG")) console.error(String(e));
        return { status: 0, ms: NaN, warm: false, retryAfter: false };
      }),
    );
  }
  return await Promise.all(pending);
}

function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name} ([0-9.e+-]+)`, "m").exec(text)?.[1] ?? NaN);
}

const bare = await bareDenoRun(BARE_RUNS);
const bareP50 = percentile(bare, 50);
const dir = await Deno.makeTempDir({ prefix: "airlock-load-" });
const server = await startServer(dir);
try {
  // Round trip, one at a time: on an idle gateway, and right after the previous one.
  const roundTrip = async (idle: boolean) => {
    const times: number[] = [];
    let warm = 0;
    for (let i = 0; i < RTT_RUNS + 5; i++) {
      await waitForPool(server.url, 1, idle);
      if (idle) await new Promise((r) => setTimeout(r, 50));
      const outcome = await executeOnce(server.url);
      if (i < 5) continue;
      times.push(outcome.ms);
      if (outcome.warm) warm++;
    }
    return { times, warm };
  };
  const idle = await roundTrip(true);
  const busy = await roundTrip(false);
  const rttRow = (label: string, { times, warm }: { times: number[]; warm: number }) => [
    `${label} (${warm}/${times.length} warm)`,
    ms(percentile(times, 50)),
    ms(percentile(times, 95)),
    `≤ 1/5 of bare (${ms(bareP50 / 5)})`,
    `${verdict(percentile(times, 50) <= bareP50 / 5)} (${
      (percentile(times, 50) / bareP50).toFixed(2)
    }×)`,
  ];
  console.log("## Load (`bench/load.ts`)\n");
  console.log(
    table(["path", "p50", "p95", "target", "result"], [
      ["bare `deno run` of the same code", ms(bareP50), ms(percentile(bare, 95)), "baseline", "—"],
      rttRow("warm execution, HTTP round trip, idle gateway", idle),
      rttRow("the same, right after the previous execution", busy),
    ]),
  );

  const rows: (string | number)[][] = [];
  const cpuSamples: number[] = [];
  const gatewayCpuSamples: number[] = [];
  let sustained = 0;
  for (const rate of RATES) {
    await new Promise((r) => setTimeout(r, 1500)); // let the pool settle between rates
    const t0 = performance.now();
    const cpu0 = server.cpuMs();
    const outcomes = await openLoop(server.url, rate, SECONDS);
    const elapsed = (performance.now() - t0) / 1000;
    const ok = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status === 503);
    const other = outcomes.length - ok.length - refused.length;
    const okMs = ok.map((o) => o.ms);
    const warmShare = ok.filter((o) => o.warm).length / Math.max(1, outcomes.length);
    const p99 = percentile(okMs, 99);
    const holds = ok.length === outcomes.length && warmShare >= 0.95 && p99 <= 30;
    if (holds) sustained = Math.max(sustained, rate);
    const refusedMs = refused.map((o) => o.ms);
    const cpu1 = server.cpuMs();
    const answered = Math.max(1, ok.length);
    const gatewayCpu = (cpu1.gateway - cpu0.gateway) / answered;
    const cpuPerExecution = gatewayCpu + (cpu1.sandboxes - cpu0.sandboxes) / answered;
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    rows.push([
      `${rate}/s`,
      `${(ok.length / elapsed).toFixed(1)}/s`,
      `${Math.round(warmShare * 100)} %`,
      ms(percentile(okMs, 50)),
      ms(p99),
      refused.length === 0
        ? "0"
        : `${refused.length} (p50 ${ms(percentile(refusedMs, 50))}, p99 ${
          ms(percentile(refusedMs, 99))
        }${refused.every((o) => o.retryAfter) ? ", Retry-After" : ", NO Retry-After"})`,
      other === 0 ? "0" : String(other),
      String(metric(metrics, "airlock_pool_size")),
      `${cpuPerExecution.toFixed(0)} ms (gateway ${gatewayCpu.toFixed(1)} ms)`,
      holds ? "yes" : "no",
    ]);
    cpuSamples.push(cpuPerExecution);
    gatewayCpuSamples.push(gatewayCpu);
  }
  console.log(
    `\nOpen loop, ${SECONDS} s per rate (warm share of all arrivals; latencies of the answered ones)\n`,
  );
  console.log(
    table(
      [
        "arrivals",
        "answered",
        "warm",
        "p50",
        "p99",
        "refused (503)",
        "failed",
        "pool size after",
        "CPU per execution (of it the gateway process)",
        "sustained",
      ],
      rows,
    ),
  );
  console.log(
    `\nMaximum sustained rate among those tried: ${
      sustained > 0 ? `${sustained}/s` : "none"
    } (target: 60/s with ≥ 95 % warm, p99 ≤ 30 ms): ${verdict(sustained >= 60)}`,
  );
  const cpuMedian = percentile(cpuSamples, 50);
  console.log(
    `Bare \`deno run\` baseline of this run: p50 ${ms(bareP50)}. CPU per answered execution ` +
      `(gateway + its sandbox process), median over the rates: ${cpuMedian.toFixed(0)} ms, so ` +
      `${navigator.hardwareConcurrency} cores cannot start more than about ${
        Math.floor(navigator.hardwareConcurrency * 1000 / cpuMedian)
      } executions a second even with nothing else running. Of it the gateway process ` +
      `itself (HTTP, pipeline, spawning, supervising and cleaning up after the sandbox): ` +
      `${percentile(gatewayCpuSamples, 50).toFixed(1)} ms.\n`,
  );
} finally {
  await server.stop();
  await Deno.remove(dir, { recursive: true });
}

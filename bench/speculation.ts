/**
 * Speculation against a slow upstream (the ledger fixture with `--delay-ms 200`: every `get`
 * and `put` takes 200 ms), each figure beside its baseline from the same run (the same
 * gateway and servers, a tenant with `speculation.enabled: false`):
 * (a) one execution with 5 sequential literal reads (target ≥ 3× faster);
 * (b) a 3-execution session modelled on "read config.json, get the version, open an issue
 *     with it" (config on one server, issues on another): repeated reads served from the cache;
 * (c) a repeated workload whose reads' arguments are not literals (a loop over keys, then a
 *     key taken from a result): the prediction's precision and the time it saves once learned;
 * (d) what the hooks cost the gateway per call (CPU on the event loop, in-process, 20,000 calls),
 *     beside the design's budget for a whole tool call's overhead (0.3 ms).
 */

import { Gateway, parseConfig } from "../gateway/mod.ts";
import { Speculation } from "../gateway/speculation/mod.ts";
import { buildNameMap } from "../wrappers/mod.ts";
import { fixtureServer } from "../tests/fixtures/servers/local.ts";
import { ms, percentile, table, verdict } from "./stats.ts";

const DELAY_MS = Number(Deno.env.get("BENCH_DELAY_MS") ?? 200);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const slow = (extra: string[] = []) =>
  fixtureServer("ledger", ["--delay-ms", String(DELAY_MS), ...extra]);
const emb = await Deno.makeTempDir({ prefix: "airlock-bench-spec-" });
const key = (c: string) => `sha256:${c.repeat(64)}`;

const gateway = new Gateway(
  parseConfig({
    servers: { files: slow(), issues: slow(), graph: slow() },
    sandbox: { timeoutMs: 60_000, concurrency: 2 },
    selection: { embedder: "lexical", cacheDir: `${emb}/.emb` },
    audit: { path: ":memory:" },
    pii: { mode: "off" },
    // Three separate ledger processes share no state: each its own write epoch, so a write to
    // issues does not void the files read (by default every server shares one epoch).
    speculation: { isolatedServers: ["files", "issues", "graph"] },
    auth: {
      tenants: {
        on: { keys: [key("a")], requestsPerMinute: 1_000_000 },
        off: { keys: [key("b")], requestsPerMinute: 1_000_000, speculation: { enabled: false } },
      },
    },
  }),
  { poolSize: 2, logger: () => {} },
);
await gateway.start();
let n = 0;
const run = async (tenant: "on" | "off", code: string, sessionId?: string) => {
  const started = performance.now();
  const response = await gateway.execute({ code }, {
    tenant: gateway.tenants.get(tenant)!,
    requestId: `bench-${++n}`,
    sessionId,
  });
  if (!response.ok) throw new Error(JSON.stringify(response.error));
  return { response, ms: performance.now() - started };
};

// Data: five files, a config with a version, a pointer chain for prediction.
await run(
  "off",
  `
  for (const k of ["r1", "r2", "r3", "r4", "r5"]) await files.put({ key: k, value: "x" });
  await files.put({ key: "config.json", value: { version: "2.4.1" } });
  for (const k of ["r1", "r2", "r3", "r4"]) await graph.put({ key: k, value: k });
  await graph.put({ key: "index", value: { pointer: "page-7" } });
  await graph.put({ key: "page-7", value: "the page" });
  return 1;`,
);

// (a) five sequential literal reads.
const FIVE = `
  const a = await files.get({ key: "r1" });
  const b = await files.get({ key: "r2" });
  const c = await files.get({ key: "r3" });
  const d = await files.get({ key: "r4" });
  const e = await files.get({ key: "r5" });
  return [a, b, c, d, e].map((x) => x.value).join("");`;
const fiveOn: number[] = [];
const fiveOff: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const off = await run("off", FIVE);
  const on = await run("on", FIVE);
  if (JSON.stringify(on.response.result) !== JSON.stringify(off.response.result)) {
    throw new Error("results differ");
  }
  fiveOff.push(off.ms);
  fiveOn.push(on.ms);
}
const fiveRatio = percentile(fiveOff, 50) / percentile(fiveOn, 50);

// (b) the 3-execution session.
const SESSION = [
  `const c = await files.get({ key: "config.json" }); return c.value.version;`,
  `const c = await files.get({ key: "config.json" });
   return await issues.put({ key: "release", value: "release " + c.value.version });`,
  `const c = await files.get({ key: "config.json" });
   const issue = await issues.get({ key: "release" });
   return [c.value.version, issue.value];`,
];
const sessionOn: number[] = [];
const sessionOff: number[] = [];
let cachedCalls = 0;
let repeatedReads = 0;
for (let i = 0; i < ROUNDS; i++) {
  for (const [tenant, times] of [["off", sessionOff], ["on", sessionOn]] as const) {
    let total = 0;
    for (const [j, code] of SESSION.entries()) {
      const r = await run(tenant, code, `session-${tenant}-${i}`);
      total += r.ms;
      if (tenant === "on" && j > 0) {
        repeatedReads++;
        cachedCalls += r.response.tools.calls.filter((c) => c.cached).length;
      }
    }
    times.push(total);
  }
}
const sessionRatio = percentile(sessionOff, 50) / percentile(sessionOn, 50);

// (c) prediction on a repeated workload: reads whose arguments are not literals (a loop over
// keys, then a key taken from a result), which the static scan cannot see.
const CHAIN = `
  const out = [];
  for (const k of ["r1", "r2", "r3", "r4"]) out.push((await graph.get({ key: k })).value);
  const index = await graph.get({ key: "index" });
  const page = await graph.get({ key: index.value.pointer });
  return [out, page.value];`;
const LEARN = 4;
const MEASURED = Math.max(ROUNDS, 5);
const chainOn: number[] = [];
const chainOff: number[] = [];
for (let i = 0; i < LEARN; i++) await run("on", CHAIN);
const before = gateway.speculation.stats().prediction.find((p) => p.tenant === "on");
for (let i = 0; i < MEASURED; i++) {
  chainOff.push((await run("off", CHAIN)).ms);
  chainOn.push((await run("on", CHAIN)).ms);
}
const after = gateway.speculation.stats().prediction.find((p) => p.tenant === "on")!;
const made = after.made - (before?.made ?? 0);
const used = after.used - (before?.used ?? 0);
const saved = percentile(chainOff, 50) - percentile(chainOn, 50);

// (d) the hooks' own cost per call: start, served, fetched, end, with learning and prediction.
async function hookMicros(session: string | undefined, resultChars: number): Promise<number> {
  const tool = {
    id: "kv.get",
    server: "kv",
    name: "get",
    description: "",
    inputSchema: { type: "object" },
    annotations: { readOnlyHint: true },
  };
  const spec = new Speculation();
  const runSpec = spec.begin(
    { enabled: true, ttlSeconds: 60, minConfidence: 0.8, maxPrefetchPerExecution: 8, readOnly: [] },
    {
      tenant: "t",
      key: "",
      session,
      code: "",
      names: buildNameMap([tool]),
      tool: () => tool,
      allowed: () => true,
      needsApproval: () => false,
      callTool: () => Promise.resolve({ content: [] }),
    },
  );
  const value = { content: "x".repeat(resultChars) };
  const result = { content: [{ type: "text" as const, text: "…" }], structuredContent: value };
  const calls = 20_000;
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const args = { key: `k${i}` };
    const call = runSpec.start(tool, args, args);
    await call.served();
    call.fetched(result);
    call.end(true, value);
  }
  const micros = (performance.now() - started) / calls * 1000;
  runSpec.close();
  spec.close();
  return micros;
}
const hookPlain = await hookMicros(undefined, 20);
const hookSession = await hookMicros("s", 20);
const hookBig = await hookMicros("s", 42_000);

console.log(`## Speculation (upstream: ${DELAY_MS} ms per call; ${ROUNDS} rounds, p50)\n`);
console.log(table(["measure", "speculation on", "baseline (off)", "target", "result"], [
  [
    "(a) one execution, 5 sequential literal reads",
    ms(percentile(fiveOn, 50)),
    ms(percentile(fiveOff, 50)),
    "≥ 3× faster",
    `${verdict(fiveRatio >= 3)} (${fiveRatio.toFixed(1)}×)`,
  ],
  [
    "(b) 3-execution session (read config, open issue, check)",
    ms(percentile(sessionOn, 50)),
    ms(percentile(sessionOff, 50)),
    "repeated reads cached",
    `${
      verdict(cachedCalls >= repeatedReads)
    } (${cachedCalls}/${repeatedReads} repeated reads cached, ${sessionRatio.toFixed(1)}×)`,
  ],
  [
    `(c) repeated workload after ${LEARN} learning runs (${MEASURED} runs)`,
    ms(percentile(chainOn, 50)),
    ms(percentile(chainOff, 50)),
    "precision, time saved",
    `precision ${made === 0 ? "n/a" : (used / made).toFixed(2)} (${used}/${made}), ${
      ms(saved)
    } saved per execution`,
  ],
  [
    "(d) hooks' CPU per call: no session / session / session with a 42 KB result",
    `${hookPlain.toFixed(0)} / ${hookSession.toFixed(0)} / ${hookBig.toFixed(0)} µs`,
    "—",
    "≤ 300 µs (the whole call's overhead budget)",
    verdict(Math.max(hookPlain, hookSession) <= 300),
  ],
]));
console.log("");
await gateway.close();
await Deno.remove(emb, { recursive: true }).catch(() => {});

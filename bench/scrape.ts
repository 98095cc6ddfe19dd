/**
 * `/healthz` and another tenant's executions while keyless clients scrape a large `/metrics`
 * page back to back (red team, 2026-11-30: two `curl` loops on a 957 KB page gave `/healthz`
 * p99 444 ms). A real gateway on real HTTP with two tenants and a 300-tool server; each tenant
 * fills its per-tool series (every tool called ok, refused and cancelled) with one execution.
 * The clients are processes of their own (as `curl` loops would be), so that none shares the
 * gateway's loop or another client's: a `/healthz` probe, one tenant's trivial executions in
 * turn, and `loops` scrape loops; first without the scrape loops, then with them.
 *
 * `deno run -A bench/scrape.ts [loops=2] [seconds=8]`
 *
 * @module
 */

import { createHttpApp, gatewayServeOptions, serveHttp } from "../api/mod.ts";
import { Gateway, hashApiKey, parseConfig } from "../gateway/mod.ts";
import { fixtureServer } from "../tests/fixtures/servers/local.ts";
import { percentile, table } from "./stats.ts";

const TOOLS = 300;
const KEYS = { a: "bench-key-a", b: "bench-key-b" };

/** What the clients measured, in ms per request. */
interface ClientReport {
  healthz: number[];
  executions: number[];
  scrapes: number[];
  /** The gateway process's CPU time over the run's wall time (1 = one core). */
  cpuShare: number;
}

/** The requests of one client process: one a loop of them, back to back. */
const REQUESTS: Record<string, (url: string) => Promise<Response>> = {
  healthz: (url) => fetch(`${url}/healthz`),
  execute: (url) =>
    fetch(`${url}/v1/execute`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEYS.b}` },
      body: JSON.stringify({ code: "return 1;" }),
    }),
  scrape: (url) => fetch(`${url}/metrics`),
};

/** One client: `kind` requests back to back for `seconds`; prints their times as JSON. */
async function client(kind: string, url: string, seconds: number): Promise<void> {
  const until = performance.now() + seconds * 1000;
  const times: number[] = [];
  while (performance.now() < until) {
    const t0 = performance.now();
    const response = await REQUESTS[kind](url);
    await response.arrayBuffer();
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify(times));
}

/** This process's CPU time (user + system, every thread), in ms, from /proc. */
function cpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

/**
 * A `/healthz` probe, one tenant's executions and `loops` scrape loops, each in a process of
 * its own (like `curl` loops: a client's own work does not delay another's), for `seconds`.
 */
async function runClients(url: string, loops: number, seconds: number): Promise<ClientReport> {
  const run = async (kind: string) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, "--client", kind, url, String(seconds)],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    return JSON.parse(new TextDecoder().decode(output.stdout)) as number[];
  };
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const [healthz, executions, ...scrapes] = await Promise.all([
    run("healthz"),
    run("execute"),
    ...Array.from({ length: loops }, () => run("scrape")),
  ]);
  const cpuShare = (cpuMs() - cpu0) / (performance.now() - t0);
  return { healthz, executions, scrapes: scrapes.flat(), cpuShare };
}

if (Deno.args[0] === "--client") {
  await client(Deno.args[1], Deno.args[2], Number(Deno.args[3]));
  Deno.exit(0);
}

const loops = Number(Deno.args[0] ?? 2);
const seconds = Number(Deno.args[1] ?? 8);
const config = parseConfig({
  servers: { light: fixtureServer("light", ["--tools", String(TOOLS)]) },
  auth: {
    tenants: {
      a: { keys: [hashApiKey(KEYS.a)], requestsPerMinute: 100_000 },
      b: { keys: [hashApiKey(KEYS.b)], requestsPerMinute: 100_000 },
    },
  },
  audit: { path: ":memory:" },
  selection: { embedder: "lexical", cacheDir: await Deno.makeTempDir() },
  sandbox: { timeoutMs: 20_000, maxToolCalls: 3 * (TOOLS + 1) },
});
const gateway = new Gateway(config, { poolSize: 2, logger: () => {} });
await gateway.start();
const server = await serveHttp(createHttpApp(gateway), {
  ...gatewayServeOptions(gateway),
  hostname: "127.0.0.1",
  port: 0,
});
const url = `http://127.0.0.1:${server.port}`;

// Every tool of the catalogue, called ok, refused (`id` not a string, against the tool's
// schema) and cancelled (still in flight when the execution returns): three outcomes per
// tenant and tool (two for `ping`, which takes any arguments).
const FILL =
  `const ids = ["light.ping", ...Array.from({ length: ${TOOLS} }, (_, i) => "light.op_" + i)];
  await Promise.all(ids.map((id) => tools.call(id, {})));
  await Promise.all(ids.map((id) => tools.call(id, { id: 5 }).catch(() => {})));
  for (const id of ids) tools.call(id, {}).catch(() => {});
  return ids.length;`;
for (const key of Object.values(KEYS)) {
  const response = await fetch(`${url}/v1/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ code: FILL }),
  });
  const body = await response.json();
  if (!body.ok) throw new Error(`fill failed: ${JSON.stringify(body.error)}`);
}
// Cancelled calls are recorded once their execution is audited; let that settle.
await new Promise((r) => setTimeout(r, 500));

const pageBytes = (await (await fetch(`${url}/metrics`)).arrayBuffer()).byteLength;
const idle = await runClients(url, 0, seconds);
const loaded = await runClients(url, loops, seconds);
const row = (name: string, report: ClientReport) => [
  name,
  String(report.healthz.length),
  percentile(report.healthz, 50).toFixed(1),
  percentile(report.healthz, 90).toFixed(1),
  percentile(report.healthz, 99).toFixed(1),
  Math.max(...report.healthz).toFixed(1),
  `${percentile(report.executions, 50).toFixed(1)} / ${
    percentile(report.executions, 99).toFixed(1)
  }`,
  report.scrapes.length
    ? `${report.scrapes.length}, p50 ${percentile(report.scrapes, 50).toFixed(1)} ms`
    : "—",
  `${(report.cpuShare * 100).toFixed(0)} %`,
];
console.log(
  `## \`/healthz\` while keyless clients scrape \`/metrics\` ` +
    `(${(pageBytes / 1024).toFixed(0)} KB page, ${loops} loops, ${seconds} s)\n`,
);
console.log(table(
  [
    "clients",
    "probes",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "tenant b execution p50 / p99 ms",
    "scrapes",
    "gateway CPU",
  ],
  [row("idle", idle), row(`${loops} scrape loops`, loaded)],
));

// The page's own counts, where there is one (not before it was shared and reused).
const page = (gateway.metrics as { page?: { stats(): unknown } }).page;
if (page) console.log(`\npage: ${JSON.stringify(page.stats())}`);

await server.shutdown();
await gateway.close();
Deno.exit(0);

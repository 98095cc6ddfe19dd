/**
 * `/healthz` latency while one execution misbehaves (DESIGN.md: "`/healthz` p99 < 50 ms while
 * any one execution misbehaves"). A real gateway on real HTTP; a probe requests `/healthz`
 * back to back while a hostile execution runs, and its p50/p99 are compared with a baseline
 * measured in the same run with nothing else running.
 *
 * Each hostile case is one member of a class the gateway must absorb without holding its
 * event loop: the largest value the caps allow (redacted: e-mail-dense text and the worst
 * input of the secret detector), floods of logs, of refused tool calls and of stdout
 * garbage, a huge error message, a return value and a tool's text result of 349,000 empty
 * objects, a busy loop until the timeout, and code whose comment holds a
 * 400,000-character identifier (scanned for tool names).
 *
 * `deno run -A bench/responsiveness.ts [word…]` (only the cases whose names hold a word)
 *
 * @module
 */

import { createHttpApp, serveHttp } from "../api/mod.ts";
import { Gateway, parseConfig } from "../gateway/mod.ts";
import { MAX_RPC_CALL_VALUES } from "../sandbox/mod.ts";
import { fixtureServer } from "../tests/fixtures/servers/local.ts";
import { percentile, table } from "./stats.ts";

const HEALTHZ_P99_TARGET_MS = 50;
const MAX_OUTPUT = 1024 * 1024;

/** Hostile programs; each is run alone while `/healthz` is probed. */
const CASES: Record<string, string> = {
  "largest value: e-mail dense": `return "ann.lee@example.com, ".repeat(${
    Math.floor(MAX_OUTPUT / 22) - 10
  });`,
  "largest value: PEM prefix repeated": `return "-----BEGIN PRIVATE KEY-----!".repeat(${
    Math.floor(MAX_OUTPUT / 28) - 10
  });`,
  "largest value: token: runs": `return "token:,".repeat(${Math.floor(MAX_OUTPUT / 7) - 10});`,
  "largest value: many small strings":
    `return Array.from({ length: 40000 }, (_, i) => "u" + i + "@example.com");`,
  "log flood": `for (let i = 0; i < 200000; i++) console.log("bob@example.com line", i); return 1;`,
  "forged log frames": `const e = new TextEncoder();
    const line = e.encode(JSON.stringify({ t: "log", level: "log", text: "x".repeat(60000) }) + "\\n");
    for (let i = 0; i < 200; i++) Deno.stdout.writeSync(line);
    return 1;`,
  "huge error message": `throw new Error("carol@example.net ".repeat(400000));`,
  "refused tool calls":
    `for (let i = 0; i < 3000; i++) { try { await tools.call("x" + i + "." + "y".repeat(5000), {}); } catch {} } return 1;`,
  "refused tool calls at once":
    `await Promise.allSettled(Array.from({ length: 50000 }, () => tools.call("nope.x", {}))); return 1;`,
  // Arguments of one call are parsed, checked and forwarded upstream on the shared event loop:
  // per value, not per byte, so calls at the cap on values (arguments of exactly
  // MAX_RPC_CALL_VALUES: the object, `id`, the array and its elements), in turn and at once.
  "tool calls at the value cap, in turn": `const a = Array(${MAX_RPC_CALL_VALUES - 3}).fill(0);
    for (let i = 0; i < 10; i++) await tools.call("light.op_0", { id: "x", a });
    return 1;`,
  "tool calls at the value cap, at once": `const a = Array(${MAX_RPC_CALL_VALUES - 3}).fill(0);
    await Promise.all(Array.from({ length: 10 }, () => tools.call("light.op_0", { id: "x", a })));
    return 1;`,
  "tool call past the value cap":
    `await tools.call("light.op_0", { id: "x", a: Array(2_000_000).fill(0) });
    return 1;`,
  // Walking, redacting and copying cost per value: about 1 MiB of empty objects (349,001
  // values) as a return value, and the same JSON text five times as a tool's text result
  // through a real echoing tool (parsed on the gateway's main thread below the value bound).
  "return value: 349,000 empty objects": `return new Array(349_000).fill(0).map(() => ({}));`,
  "tool result: 349,000 empty objects as text, 5 calls":
    `const text = "[" + "{},".repeat(348_999) + "{}]";
    for (let i = 0; i < 5; i++) await faulty.echo({ text });
    return 1;`,
  // A tool that turns its caller's text into structured content: 1.3 million values in one
  // upstream message (dropped unparsed past MAX_MESSAGE_VALUES), three times.
  "tool result: 1.3 million values as structured content, 3 calls":
    `const text = "[" + "{},".repeat(1_333_332) + "{}]";
    for (let i = 0; i < 3; i++) { try { await faulty.structure({ text }); } catch {} }
    return 1;`,
  "busy loop until timeout": `while (true) {}`,
  "identifier run in a comment": `// ${"a".repeat(400_000)}\nreturn 1;`,
};

async function probe(url: string, until: Promise<unknown>, minMs = 1500): Promise<number[]> {
  const times: number[] = [];
  let done = false;
  until.finally(() => done = true);
  const started = performance.now();
  while (!done || performance.now() - started < minMs) {
    const t0 = performance.now();
    const response = await fetch(`${url}/healthz`);
    await response.body?.cancel();
    times.push(performance.now() - t0);
  }
  return times;
}

const config = parseConfig({
  // A minimal upstream (one tool that accepts any extra arguments), for the tool-call cases.
  servers: {
    light: fixtureServer("light", ["--tools", "1"]),
    // An echoing tool: its text result is whatever the code sent.
    faulty: fixtureServer("faulty"),
  },
  audit: { path: ":memory:" },
  selection: { embedder: "lexical", cacheDir: await Deno.makeTempDir() },
  sandbox: { timeoutMs: 5000, memoryMb: 128, maxOutputBytes: MAX_OUTPUT, maxToolCalls: 1000 },
});
const gateway = new Gateway(config, { poolSize: 2, logger: () => {} });
await gateway.start();
const app = createHttpApp(gateway);
const server = await serveHttp(app, { hostname: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${server.port}`;

const execute = (code: string) =>
  fetch(`${url}/v1/execute`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

// Warm up the JIT, the pool and the redaction workers.
for (let i = 0; i < 3; i++) await execute(`return "warm@example.com".repeat(5000);`);
await probe(url, Promise.resolve(), 300);

const baseline = await probe(url, new Promise((r) => setTimeout(r, 2000)));
const base99 = percentile(baseline, 99);
const rows: string[][] = [[
  "baseline (idle)",
  baseline.length.toString(),
  percentile(baseline, 50).toFixed(2),
  base99.toFixed(2),
  Math.max(...baseline).toFixed(2),
  "—",
  "—",
  "—",
]];
let failed = 0;
// `deno run -A bench/responsiveness.ts return tool` runs only the cases whose names hold one
// of the words (all of them without any).
const picked = Object.entries(CASES).filter(([name]) =>
  Deno.args.length === 0 || Deno.args.some((word) => name.includes(word))
);
for (const [name, code] of picked) {
  const t0 = performance.now();
  const running = execute(code);
  const finished = running.then(() => performance.now() - t0);
  const times = await probe(url, running);
  const result = await running;
  const took = await finished;
  const p99 = percentile(times, 99);
  const pass = p99 < HEALTHZ_P99_TARGET_MS;
  if (!pass) failed++;
  const outcome = result.status === 200
    ? (result.body.ok ? "ok" : result.body.error.kind)
    : `HTTP ${result.status}`;
  rows.push([
    name,
    times.length.toString(),
    percentile(times, 50).toFixed(2),
    p99.toFixed(2),
    Math.max(...times).toFixed(2),
    `${outcome}, ${took.toFixed(0)} ms`,
    (p99 / base99).toFixed(1) + "×",
    pass ? "pass" : "FAIL",
  ]);
}

console.log(`## Responsiveness: \`/healthz\` while one execution misbehaves\n`);
console.log(
  table(
    [
      "execution",
      "probes",
      "p50 ms",
      "p99 ms",
      "max ms",
      "its outcome",
      "p99 vs idle",
      `p99 < ${HEALTHZ_P99_TARGET_MS} ms`,
    ],
    rows,
  ),
);
console.log(`\n${failed === 0 ? "All cases pass." : `${failed} case(s) over the target.`}\n`);

await server.shutdown();
await gateway.close();
Deno.exit(0);

/**
 * `/metrics` needs no key, and its page grows with tenants × catalogued tools (red team,
 * 2026-11-30: 2 tenants × 300 tools, a 957 KB page rendered in 100–160 ms on the event loop
 * per request; two `curl` loops put `/healthz` p99 at 444 ms). On a real gateway whose
 * series are filled by real executions: a render gives the loop turns (`/healthz` is answered
 * while it is under way), scrapes that arrive meanwhile share it, a finished page is reused
 * only while fresh, and the page written in slices is the page written in one go. No timing
 * assertions: a render is held open by a metric that waits for the test (`Gate`).
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { hashApiKey } from "../../gateway/mod.ts";
import {
  Counter,
  Histogram,
  type Metric,
  MetricsPage,
  Registry,
  TOOL_CALL_BUCKETS,
} from "../../observability/mod.ts";

const TOOLS = 300;
const KEYS = { a: "scrape-key-a", b: "scrape-key-b" };

/**
 * A metric with no samples that counts the renders that reach it and holds a sliced render
 * open until `open` is set: its pieces are empty strings, and the render gives the loop a
 * turn between them once a slice is spent. A render in one go (`samples()`) passes through.
 */
class Gate implements Metric {
  readonly type = "gauge" as const;
  readonly help = "Holds a render open.";
  /** How many renders reached it. */
  reached = 0;
  constructor(readonly name = "test_gate", public open = false) {}
  samples(): string {
    this.reached++;
    return "";
  }
  *chunks(): Generator<string> {
    this.reached++;
    while (!this.open) yield "";
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A gateway with two tenants and a 301-tool server; each tenant calls 300 tools ok and refused. */
async function filledGateway() {
  const gw = await startTestGateway({
    servers: { light: fixtureServer("light", ["--tools", String(TOOLS)]) },
    auth: {
      tenants: {
        a: { keys: [hashApiKey(KEYS.a)], requestsPerMinute: 6000 },
        b: { keys: [hashApiKey(KEYS.b)], requestsPerMinute: 6000 },
      },
    },
    sandbox: { timeoutMs: 20_000, maxToolCalls: 2 * TOOLS },
  });
  // Refused: `id` must be a string (the tool's schema); the call never reaches the server.
  const code = `const ids = Array.from({ length: ${TOOLS} }, (_, i) => "light.op_" + i);
    await Promise.all(ids.map((id) => tools.call(id, {})));
    await Promise.all(ids.map((id) => tools.call(id, { id: 5 }).catch(() => {})));
    return ids.length;`;
  for (const key of Object.values(KEYS)) {
    const reply = await gw.post("/v1/execute", { code }, { authorization: `Bearer ${key}` });
    assertEquals(reply.status, 200);
    assertEquals(reply.body.result, TOOLS, JSON.stringify(reply.body.error));
  }
  // The warm pool refills after each execution: until it has, its gauges move between two
  // renders (a loaded CI machine started the replacement during the comparison below).
  for (let i = 0; i < 200; i++) {
    const pool = gw.gateway.sandbox.stats();
    if (pool.poolStarting === 0 && pool.poolReady >= pool.poolSize) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return gw;
}

/** Sample lines of the per-tool families: 2 tenants × 300 tools × (2 outcomes + 17 lines). */
const TOOL_LINES = 2 * TOOLS * (2 + TOOL_CALL_BUCKETS.length + 3);

function toolLines(text: string): number {
  return text.split("\n").filter((l) => l.startsWith("airlock_tool_call")).length;
}

Deno.test("a keyless scrape of a large page lets /healthz through while it renders, and scrapes meanwhile share its render", async () => {
  const gw = await filledGateway();
  const gate = new Gate();
  const passed = new Gate("test_after_gate", true);
  gw.gateway.metrics.registry.register(gate);
  gw.gateway.metrics.registry.register(passed);
  const page = gw.gateway.metrics.page;
  try {
    const before = page.stats();
    let settled = 0;
    const scrape = () =>
      fetch(`${gw.url}/metrics`).then(async (r) => {
        const text = await r.text();
        settled++;
        return { status: r.status, type: r.headers.get("content-type"), text };
      });
    const first = scrape();
    // The render has written the whole big page and waits at the gate, last in the registry.
    await until(() => gate.reached === 1, "the render to reach the gate");
    const health = await gw.get("/healthz");
    assertEquals(health.status, 200);
    assertEquals(passed.reached, 0, "/healthz answered only after the render finished");

    // Seven more keyless scrapes arrive while that render is under way: they wait for it.
    const more = Array.from({ length: 7 }, scrape);
    await until(() => page.stats().served === before.served + 8, "the scrapes to arrive");
    assertEquals(settled, 0);
    gate.open = true;
    const pages = await Promise.all([first, ...more]);
    assertEquals(page.stats().renders, before.renders + 1);
    assertEquals([gate.reached, passed.reached], [1, 1]);
    for (const p of pages) {
      assertEquals(p.status, 200);
      assertEquals(p.type, "text/plain; version=0.0.4; charset=utf-8");
      assertEquals(p.text, pages[0].text);
    }
    assertEquals(toolLines(pages[0].text), TOOL_LINES);
    assert(pages[0].text.length > 900_000, `a ${pages[0].text.length}-character page`);
  } finally {
    gate.open = true;
    await gw.close();
  }
});

Deno.test("the page written in slices is the page written in one go, and timers run between slices", async () => {
  const gw = await filledGateway();
  try {
    const registry = gw.gateway.metrics.registry;
    // Slices of 0.5 ms: the page takes several whatever the machine (a few ms in one go here).
    const page = new MetricsPage(registry, { sliceMs: 0.5, maxReuseMs: 0 });
    let ticks = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      ticks++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const reading = page.read();
    const ticksAtStart = ticks;
    const bytes = await reading;
    done = true;
    assert(ticks > ticksAtStart, "no timer ran while the page was rendered");
    const text = new TextDecoder().decode(bytes);
    assertEquals(text, registry.render());
    assertEquals(toolLines(text), TOOL_LINES);
    // Without reuse, the next read renders again.
    await page.read();
    assertEquals(page.stats().renders, 2);
  } finally {
    await gw.close();
  }
});

Deno.test("a finished page is reused while fresh, then rendered again; reads in one turn share a render", async () => {
  const registry = new Registry();
  const counter = registry.register(new Counter("c_total", "C.", ["k"]));
  counter.inc({ k: "a" });
  const fresh = new MetricsPage(registry, { reuseMsPerMb: Infinity, maxReuseMs: 60_000 });
  const [one, two] = await Promise.all([fresh.read(), fresh.read()]);
  assert(one === two);
  counter.inc({ k: "a" });
  const three = await fresh.read();
  assert(three === one, "a fresh page is reused");
  const { lastBusyMs: _, ...stats } = fresh.stats();
  assertEquals(stats, { renders: 1, served: 3, lastBytes: one.length, lastReuseMs: 60_000 });

  const stale = new MetricsPage(registry, { maxReuseMs: 0 });
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert(text(await stale.read()).includes('c_total{k="a"} 2\n'));
  counter.inc({ k: "a" });
  assert(text(await stale.read()).includes('c_total{k="a"} 3\n'));
  assertEquals(stale.stats().renders, 2);
});

Deno.test("a series dropped and made again while a render yields is written once", async () => {
  const registry = new Registry();
  const counter = registry.register(new Counter("c_total", "C.", ["k"]));
  const histogram = registry.register(new Histogram("h_seconds", "H.", ["k"], [1]));
  for (let i = 0; i < 200; i++) {
    counter.inc({ k: String(i) });
    histogram.observe({ k: String(i) }, 0.5);
  }
  // Slices of 0 ms: a turn after nearly every series. At each turn, the first series (already
  // written) leaves and comes back, at the end of its family's map.
  let churns = 0;
  let done = false;
  const churn = () => {
    if (done) return;
    registry.retainSeries("k", (k) => k !== "0");
    counter.inc({ k: "0" });
    histogram.observe({ k: "0" }, 0.5);
    churns++;
    setTimeout(churn, 0);
  };
  const rendering = registry.renderSliced(0);
  setTimeout(churn, 0);
  const { text } = await rendering;
  done = true;
  assert(churns > 0, "the render never yielded");
  assertEquals(text.split("\n").filter((l) => l.startsWith('c_total{k="0"}')).length, 1);
  assertEquals(text.split("\n").filter((l) => l.startsWith('h_seconds_count{k="0"}')).length, 1);
  assertEquals(text.split("\n").filter((l) => l.startsWith("c_total{")).length, 200);
});

Deno.test("a render that fails fails every scrape that shared it; the next one renders again", async () => {
  const registry = new Registry();
  let fail = true;
  registry.register(
    new Counter("c_total", "C.", ["k"], () => {
      // A collected series with the wrong labels is a programming error: identify() throws.
      return fail ? [{ labels: { wrong: "x" }, value: 1 }] : [{ labels: { k: "x" }, value: 1 }];
    }),
  );
  const page = new MetricsPage(registry);
  const reads = [page.read(), page.read()];
  for (const read of reads) await assertRejects(() => read, /expected labels \{k\}/);
  fail = false;
  assert(new TextDecoder().decode(await page.read()).includes('c_total{k="x"} 1\n'));
  assertEquals(page.stats().renders, 2);
});

/**
 * The Prometheus registry: exact text, escaping, histograms, gauges from sources, and
 * every rendering parsed back by a small text-format parser that checks the format rules.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import {
  Counter,
  createGatewayMetrics,
  dropToolSeries,
  escapeLabelValue,
  type GatewayMetricSources,
  Gauge,
  Histogram,
  LATENCY_BUCKETS,
  observeExecution,
  Registry,
} from "../../observability/metrics.ts";
import type { AuditRecord } from "../../observability/audit.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

/**
 * Parses text format 0.0.4, failing on anything malformed: samples before their TYPE,
 * bad names, bad escapes, duplicate series, non-cumulative or incomplete histograms.
 */
function parseExposition(text: string): Map<string, Family> {
  assert(text === "" || text.endsWith("\n"), "output must end with a newline");
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split("\n").slice(0, -1)) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const [, what, name, rest] = meta;
      if (what === "HELP") {
        assert(!families.has(name), `HELP for ${name} repeated or after its samples`);
        assertMatch(rest, /^(?:[^\\\n]|\\[\\n])*$/, `bad HELP escaping: ${line}`);
        current = {
          name,
          help: rest.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c),
          type: "",
          samples: [],
        };
        families.set(name, current);
      } else {
        assert(current?.name === name, `TYPE ${name} without its HELP just before`);
        assert(["counter", "gauge", "histogram", "summary", "untyped"].includes(rest));
        current.type = rest;
      }
      continue;
    }
    assert(!line.startsWith("#"), `unexpected comment: ${line}`);
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert(match, `malformed sample line: ${JSON.stringify(line)}`);
    const [, name, body = "", rawValue] = match;
    assert(current && current.type, `sample ${name} outside a typed family`);
    const suffixes = current.type === "histogram" ? ["_bucket", "_sum", "_count"] : [""];
    assert(suffixes.some((s) => name === current!.name + s), `${name} not in ${current.name}`);
    const labels: Record<string, string> = {};
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    while (pair.lastIndex < body.length) {
      const start = pair.lastIndex;
      const m = pair.exec(body);
      assert(m && m.index === start, `bad labels at ${start} in ${JSON.stringify(body)}`);
      assert(!(m[1] in labels), `label ${m[1]} repeated`);
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    }
    assertMatch(rawValue, /^(?:[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$/);
    const value = rawValue === "+Inf"
      ? Infinity
      : rawValue === "-Inf"
      ? -Infinity
      : Number(rawValue);
    const series = name + JSON.stringify(labels);
    assert(
      !current.samples.some((s) => s.name + JSON.stringify(s.labels) === series),
      `duplicate ${series}`,
    );
    current.samples.push({ name, labels, value });
  }
  for (const family of families.values()) {
    assert(family.type, `${family.name} has no TYPE`);
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _, ...rest } = sample.labels;
    const key = JSON.stringify(rest);
    groups.set(key, [...groups.get(key) ?? [], sample]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name.endsWith("_bucket"));
    const count = samples.find((s) => s.name.endsWith("_count"));
    assert(count && samples.some((s) => s.name.endsWith("_sum")), `${key}: missing _sum/_count`);
    assertEquals(buckets.at(-1)?.labels.le, "+Inf");
    assertEquals(buckets.at(-1)?.value, count.value);
    for (let i = 1; i < buckets.length; i++) {
      assert(
        Number(buckets[i].labels.le.replace("+Inf", "Infinity")) > Number(buckets[i - 1].labels.le),
        "le ascending",
      );
      assert(buckets[i].value >= buckets[i - 1].value, `${key}: buckets not cumulative`);
    }
  }
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, "")) ?? families.get(name);
  return family?.samples.find((s) =>
    s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels)
  )?.value;
}

Deno.test("a small registry renders exactly", () => {
  const registry = new Registry();
  const requests = registry.register(new Counter("app_requests_total", "Requests.", ["code"]));
  const up = registry.register(new Counter("app_starts_total", "Starts.", []));
  const temp = registry.register(new Gauge("app_temperature", "Degrees.", ["room"]));
  const latency = registry.register(
    new Histogram("app_latency_seconds", "Latency.", ["op"], [0.1, 1]),
  );
  requests.inc({ code: "200" });
  requests.inc({ code: "200" }, 2);
  requests.inc({ code: "500" });
  up.inc();
  temp.set({ room: "a" }, -1.5);
  latency.observe({ op: "read" }, 0.05);
  latency.observe({ op: "read" }, 0.5);
  latency.observe({ op: "read" }, 7);
  const expected = [
    "# HELP app_requests_total Requests.",
    "# TYPE app_requests_total counter",
    'app_requests_total{code="200"} 3',
    'app_requests_total{code="500"} 1',
    "# HELP app_starts_total Starts.",
    "# TYPE app_starts_total counter",
    "app_starts_total 1",
    "# HELP app_temperature Degrees.",
    "# TYPE app_temperature gauge",
    'app_temperature{room="a"} -1.5',
    "# HELP app_latency_seconds Latency.",
    "# TYPE app_latency_seconds histogram",
    'app_latency_seconds_bucket{op="read",le="0.1"} 1',
    'app_latency_seconds_bucket{op="read",le="1"} 2',
    'app_latency_seconds_bucket{op="read",le="+Inf"} 3',
    'app_latency_seconds_sum{op="read"} 7.55',
    'app_latency_seconds_count{op="read"} 3',
    "",
  ].join("\n");
  assertEquals(registry.render(), expected);
  parseExposition(registry.render());
});

Deno.test("unlabelled counters and histograms export zero before any event", () => {
  const registry = new Registry();
  registry.register(new Counter("c_total", "C.", []));
  registry.register(new Histogram("h_seconds", "H.", [], [1]));
  registry.register(new Counter("labelled_total", "L.", ["x"]));
  assertEquals(
    registry.render(),
    [
      "# HELP c_total C.",
      "# TYPE c_total counter",
      "c_total 0",
      "# HELP h_seconds H.",
      "# TYPE h_seconds histogram",
      'h_seconds_bucket{le="1"} 0',
      'h_seconds_bucket{le="+Inf"} 0',
      "h_seconds_sum 0",
      "h_seconds_count 0",
      "# HELP labelled_total L.",
      "# TYPE labelled_total counter",
      "",
    ].join("\n"),
  );
});

Deno.test("label values and help text are escaped and parse back unchanged", () => {
  const registry = new Registry();
  const counter = registry.register(
    new Counter("odd_total", 'Help with \\ backslash, "quotes"\nand a newline.', ["v"]),
  );
  const nasty = 'a\\b"c\nd}{,=e "';
  counter.inc({ v: nasty });
  counter.inc({ v: "" });
  const text = registry.render();
  assertEquals(escapeLabelValue(nasty), 'a\\\\b\\"c\\nd}{,=e \\"');
  assert(text.includes(`odd_total{v="a\\\\b\\"c\\nd}{,=e \\""} 1\n`), text);
  assert(text.includes('# HELP odd_total Help with \\\\ backslash, "quotes"\\nand a newline.\n'));
  const family = parseExposition(text).get("odd_total")!;
  assertEquals(family.help, 'Help with \\ backslash, "quotes"\nand a newline.');
  assertEquals(family.samples.map((s) => s.labels.v), [nasty, ""]);
});

Deno.test("histogram buckets are cumulative and bounds are inclusive", () => {
  const registry = new Registry();
  const h = registry.register(new Histogram("h_seconds", "H.", ["t"], LATENCY_BUCKETS));
  const observations = [0, 0.005, 0.0051, 0.3, 0.3, 1, 29.9, 30, 31, 1e9];
  for (const o of observations) h.observe({ t: "x" }, o);
  h.observe({ t: "y" }, 0.01);
  const families = parseExposition(registry.render());
  const le = (bound: string, t = "x") => value(families, "h_seconds_bucket", { t, le: bound });
  assertEquals(le("0.005"), 2); // 0 and exactly 0.005
  assertEquals(le("0.01"), 3);
  assertEquals(le("0.25"), 3);
  assertEquals(le("0.5"), 5);
  assertEquals(le("1"), 6);
  assertEquals(le("30"), 8);
  assertEquals(le("+Inf"), 10);
  assertEquals(value(families, "h_seconds_count", { t: "x" }), 10);
  assertEquals(value(families, "h_seconds_sum", { t: "x" }), observations.reduce((a, b) => a + b));
  assertEquals(le("0.005", "y"), 0);
  assertEquals(le("0.01", "y"), 1);
  assertEquals(families.get("h_seconds")!.samples.length, 2 * (LATENCY_BUCKETS.length + 3));
});

Deno.test("gauges read their sources at every render; dropped series disappear", () => {
  let queue = 3;
  let upstreams = [{ server: "filesystem", up: true }, { server: 'we"ird', up: false }];
  let failing = false;
  const sources: GatewayMetricSources = {
    queueDepth: () => queue,
    activeExecutions: () => 2,
    poolReady: () => {
      if (failing) throw new Error("pool gone");
      return 1;
    },
    poolSize: () => 4,
    upstreams: () => upstreams,
  };
  const { registry } = createGatewayMetrics(sources);
  let families = parseExposition(registry.render());
  assertEquals(value(families, "airlock_queue_depth"), 3);
  assertEquals(value(families, "airlock_active_executions"), 2);
  assertEquals(value(families, "airlock_pool_ready"), 1);
  assertEquals(value(families, "airlock_pool_size"), 4);
  assertEquals(value(families, "airlock_upstream_up", { server: "filesystem" }), 1);
  assertEquals(value(families, "airlock_upstream_up", { server: 'we"ird' }), 0);

  queue = 0;
  upstreams = [{ server: "filesystem", up: false }];
  failing = true;
  families = parseExposition(registry.render());
  assertEquals(value(families, "airlock_queue_depth"), 0);
  assertEquals(families.get("airlock_upstream_up")!.samples, [
    { name: "airlock_upstream_up", labels: { server: "filesystem" }, value: 0 },
  ]);
  // A failing source loses only its own samples.
  assertEquals(families.get("airlock_pool_ready")!.samples, []);
  assertEquals(value(families, "airlock_pool_size"), 4);
});

Deno.test("the gateway metrics have the names, types and labels of the contract", () => {
  const metrics = createGatewayMetrics({
    queueDepth: () => 0,
    activeExecutions: () => 0,
    poolReady: () => 0,
    poolSize: () => 0,
    upstreams: () => [],
  });
  const record: AuditRecord = {
    time: "2026-11-20T10:00:00Z",
    tenant: "acme",
    requestId: "r",
    transport: "http",
    codeHash: "sha256:00",
    ok: false,
    errorKind: "timeout",
    durationMs: 1500,
    sandboxMs: 1400,
    toolsInjected: ["fs.read"],
    calls: [{ tool: "fs.read", ms: 0.5, ok: true }, { tool: "fs.read", ms: 20, ok: false }],
    redactions: { email: 2, phone: 0 },
  };
  observeExecution(metrics, record);
  observeExecution(metrics, { ...record, ok: true, errorKind: undefined, calls: [] });
  metrics.httpRequests.inc({ route: "/v1/execute", status: "200" });
  metrics.rejected.inc({ tenant: "acme", kind: "rate_limited" });
  metrics.toolSearches.inc({ tenant: "acme" });

  const families = parseExposition(metrics.registry.render());
  const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
  assertEquals(types, {
    airlock_executions_total: "counter",
    airlock_execution_duration_seconds: "histogram",
    airlock_tool_calls_total: "counter",
    airlock_tool_call_duration_seconds: "histogram",
    airlock_redactions_total: "counter",
    airlock_http_requests_total: "counter",
    airlock_rejected_total: "counter",
    airlock_tool_searches_total: "counter",
    airlock_queue_depth: "gauge",
    airlock_active_executions: "gauge",
    airlock_pool_ready: "gauge",
    airlock_pool_size: "gauge",
    airlock_upstream_up: "gauge",
  });
  const v = (name: string, labels: Record<string, string> = {}) => value(families, name, labels);
  assertEquals(v("airlock_executions_total", { tenant: "acme", outcome: "timeout" }), 1);
  assertEquals(v("airlock_executions_total", { tenant: "acme", outcome: "ok" }), 1);
  assertEquals(v("airlock_execution_duration_seconds_sum", { tenant: "acme" }), 3);
  assertEquals(v("airlock_execution_duration_seconds_bucket", { tenant: "acme", le: "1" }), 0);
  assertEquals(v("airlock_execution_duration_seconds_bucket", { tenant: "acme", le: "2.5" }), 2);
  const tool = { tenant: "acme", tool: "fs.read" };
  assertEquals(v("airlock_tool_calls_total", { ...tool, outcome: "ok" }), 1);
  assertEquals(v("airlock_tool_calls_total", { ...tool, outcome: "error" }), 1);
  assertEquals(v("airlock_tool_call_duration_seconds_bucket", { ...tool, le: "0.001" }), 1);
  assertEquals(v("airlock_tool_call_duration_seconds_bucket", { ...tool, le: "0.025" }), 2);
  assertEquals(v("airlock_redactions_total", { type: "email" }), 4);
  assertEquals(v("airlock_redactions_total", { type: "phone" }), undefined);
  assertEquals(v("airlock_http_requests_total", { route: "/v1/execute", status: "200" }), 1);
  assertEquals(v("airlock_rejected_total", { tenant: "acme", kind: "rate_limited" }), 1);
  assertEquals(v("airlock_tool_searches_total", { tenant: "acme" }), 1);
});

Deno.test("series of tools that left a server's list are dropped from every tool metric", () => {
  const metrics = createGatewayMetrics({
    queueDepth: () => 0,
    activeExecutions: () => 0,
    poolReady: () => 0,
    poolSize: () => 0,
    upstreams: () => [],
  });
  // A metric registered later with a `tool` label is covered too, and one without is untouched.
  const later = metrics.registry.register(
    new Histogram("test_tool_bytes", "A later tool metric.", ["tool"], [1, 10]),
  );
  const record = (tenant: string, tools: string[]): AuditRecord => ({
    time: "2026-11-30T10:00:00Z",
    tenant,
    requestId: "r",
    transport: "http",
    codeHash: "sha256:00",
    ok: true,
    durationMs: 10,
    sandboxMs: 5,
    toolsInjected: [],
    calls: tools.map((tool) => ({ tool, ms: 1, ok: true })),
    redactions: {},
  });
  const catalogue = new Set(["crm.get", "crm.gone", "crmx.get", "fs.read"]);
  for (const tenant of ["acme", "globex"]) {
    observeExecution(
      metrics,
      record(tenant, ["crm.get", "crm.gone", "crmx.get", "fs.read", "made.up"]),
      (id) => catalogue.has(id),
    );
  }
  later.observe({ tool: "crm.gone" }, 5);
  later.observe({ tool: "crm.get" }, 5);
  const toolsIn = (text: string) =>
    [...new Set([...text.matchAll(/tool="([^"]*)"/g)].map((m) => m[1]))].sort();
  assertEquals(toolsIn(metrics.registry.render()), [
    "(unknown)",
    "crm.get",
    "crm.gone",
    "crmx.get",
    "fs.read",
  ]);

  // crm's list no longer has crm.gone: 2 tenants x (counter + histogram) + the later metric.
  assertEquals(dropToolSeries(metrics, "crm", new Set(["crm.get"])), 5);
  const text = metrics.registry.render();
  parseExposition(text);
  // Another server whose name starts the same, other servers and (unknown) keep theirs.
  assertEquals(toolsIn(text), ["(unknown)", "crm.get", "crmx.get", "fs.read"]);
  const kept = { tenant: "acme", tool: "crm.get" };
  assertEquals(metrics.toolCalls.value({ ...kept, outcome: "ok" }), 1);
  assertEquals(metrics.executions.value({ tenant: "acme", outcome: "ok" }), 1);
  // Dropping again finds nothing; a tool that comes back starts from 0.
  assertEquals(dropToolSeries(metrics, "crm", new Set(["crm.get"])), 0);
  assertEquals(metrics.toolCalls.value({ tenant: "acme", tool: "crm.gone", outcome: "ok" }), 0);
  // A server with no tools left keeps none; a label no metric carries drops nothing.
  assertEquals(dropToolSeries(metrics, "fs", new Set()), 4);
  assertEquals(metrics.registry.retainSeries("nope", () => false), 0);
  assert(!metrics.registry.render().includes('tool="fs.read"'));
});

Deno.test("misuse is refused: bad names, labels, values, buckets, duplicates", () => {
  assertThrows(() => new Counter("bad-name", "x", []), /invalid metric name/);
  assertThrows(() => new Counter("ok_total", "x", ["__reserved"]), /invalid label name/);
  assertThrows(() => new Counter("ok_total", "x", ["a", "a"]), /duplicate/);
  assertThrows(() => new Histogram("h", "x", ["le"], [1]), /invalid label name: le/);
  assertThrows(() => new Histogram("h", "x", [], [1, 1]), /strictly ascending/);
  assertThrows(() => new Histogram("h", "x", [], [1, Infinity]), /finite/);
  assertThrows(() => new Histogram("h", "x", [], []), /buckets/);
  const counter = new Counter("c_total", "x", ["a"]);
  assertThrows(() => counter.inc({}), /expected labels \{a\}/);
  assertThrows(() => counter.inc({ a: "1", b: "2" }), /expected labels/);
  assertThrows(() => counter.inc({ a: "1" }, -1), /cannot add -1/);
  assertThrows(() => counter.inc({ a: "1" }, NaN), /cannot add NaN/);
  assertThrows(() => new Histogram("h", "x", [], [1]).observe({}, NaN), /NaN/);
  const registry = new Registry();
  registry.register(counter);
  assertThrows(() => registry.register(new Counter("c_total", "y", [])), /already registered/);
});

Deno.test("the parser rejects malformed text, so the tests above can fail", () => {
  assertThrows(() => parseExposition("x 1\n"), /outside a typed family/);
  assertThrows(() => parseExposition('# HELP x X\n# TYPE x gauge\nx{a="b\n'), /malformed/);
  assertThrows(() => parseExposition('# HELP x X\n# TYPE x gauge\nx{a="b"c"} 1\n'), /bad labels/);
  assertThrows(
    () =>
      parseExposition(
        '# HELP h H\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      ),
    /not cumulative/,
  );
  assertThrows(() => parseExposition("# HELP x X\n# TYPE x gauge\nx 1\nx 2\n"), /duplicate/);
});

/**
 * A small Prometheus registry (counters, gauges, histograms; text exposition format
 * 0.0.4) and Airlock's own metrics. No dependencies.
 *
 * Label values must come from bounded sets (tenants, catalogued tool ids, error kinds):
 * every distinct combination is a series kept until it is dropped. A value that can leave
 * its set at run time (a tool id, when its server's list changes) has its series dropped
 * when it leaves ({@linkcode Registry.retainSeries}, {@linkcode dropToolSeries}), or they
 * would pile up for the life of the process.
 *
 * @module
 */

import type { VaultStoreStats } from "../pii/mod.ts";
import type { AuditRecord } from "./audit.ts";
import { MetricsPage } from "./metrics_page.ts";
import { addAuditQueueMetrics, addPoolMetrics, type PoolMetricStats } from "./pool_metrics.ts";
import type { WriteBehindStats } from "./write_behind.ts";

/** Labels of one series. */
export type Labels = Record<string, string>;

/** What {@linkcode Registry} needs from a metric. */
export interface Metric {
  /** The metric family name. */
  readonly name: string;
  /** One line of help text. */
  readonly help: string;
  /** The Prometheus type. */
  readonly type: "counter" | "gauge" | "histogram";
  /** The sample lines, without HELP/TYPE, each ending in a newline. */
  samples(): string;
  /**
   * The same lines in pieces of at most one series each, in the same order (their
   * concatenation is {@linkcode samples}), so that a renderer can give the event loop a turn
   * between pieces ({@linkcode Registry.renderSliced}).
   */
  chunks(): Iterable<string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The base of every metric: name and label validation, series keyed by label values. */
export abstract class MetricFamily<S> {
  /** The metric family name. */
  readonly name: string;
  /** One line of help text. */
  readonly help: string;
  /** The label names every series carries, in output order. */
  readonly labelNames: readonly string[];
  /**
   * Series by the JSON of their label values, each with its label pairs as they are written
   * (`k="v",…`, escaped once when the series is made, not at every render).
   */
  protected readonly series = new Map<string, { labels: Labels; text: string; state: S }>();

  /** Validates the names; `reserved` are label names the subclass uses itself. */
  constructor(name: string, help: string, labelNames: string[], reserved: string[] = []) {
    if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name: ${name}`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__") || reserved.includes(label)) {
        throw new TypeError(`${name}: invalid label name: ${label}`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new TypeError(`${name}: duplicate label names`);
    }
    this.name = name;
    this.help = help;
    this.labelNames = [...labelNames];
  }

  /** The key and the ordered labels of a series. @throws TypeError on missing or extra labels */
  protected identify(labels: Labels): { key: string; labels: Labels } {
    const keys = Object.keys(labels);
    if (keys.length !== this.labelNames.length || keys.some((k) => !this.labelNames.includes(k))) {
      throw new TypeError(`${this.name}: expected labels {${this.labelNames}}, got {${keys}}`);
    }
    const values = this.labelNames.map((k) => String(labels[k]));
    const ordered = Object.fromEntries(this.labelNames.map((k, i) => [k, values[i]]));
    return { key: JSON.stringify(values), labels: ordered };
  }

  /** The series for `labels`, created by `init` on first use. */
  protected get(labels: Labels, init: () => S): S {
    const id = this.identify(labels);
    let entry = this.series.get(id.key);
    if (!entry) {
      entry = { labels: id.labels, text: labelPairs(id.labels), state: init() };
      this.series.set(id.key, entry);
    }
    return entry.state;
  }

  /**
   * The series now, copied: a render that yields between series walks this copy, so a series
   * dropped and made again meanwhile is not written twice (a Map's iteration would visit it
   * again at its new place).
   */
  protected snapshot(): Array<{ text: string; state: S }> {
    return [...this.series.values()];
  }

  /**
   * Drops the series whose `label` value fails `keep`; nothing happens if this family has no
   * such label. A dropped counter starts again from 0 if its labels come back (Prometheus
   * reads that as a reset). O(series).
   *
   * @returns how many series were dropped
   */
  retainSeries(label: string, keep: (value: string) => boolean): number {
    if (!this.labelNames.includes(label)) return 0;
    let dropped = 0;
    // Deleting the entry being visited is safe for a Map: iteration goes on with the next.
    for (const [key, { labels }] of this.series) {
      if (!keep(labels[label])) {
        this.series.delete(key);
        dropped++;
      }
    }
    return dropped;
  }
}

/** A sample read from elsewhere at render time. */
type Collected = Array<{ labels: Labels; value: number }>;

/**
 * The samples of `collect`, or none when it throws: a failing source must not take the
 * whole `/metrics` page down, its samples are left out and the rest still renders.
 */
function collectSafely(collect: (() => Collected) | undefined): Collected {
  try {
    return collect?.() ?? [];
  } catch {
    return [];
  }
}

/** A value that only goes up: `name{labels} value`. */
export class Counter extends MetricFamily<{ value: number }> implements Metric {
  /** Always `"counter"`. */
  readonly type = "counter" as const;

  readonly #collect?: () => Collected;

  /**
   * A counter; one without labels starts at 0 so it is exported before its first event.
   * `collect`, when given, supplies totals kept elsewhere (they must only go up) each time it
   * is rendered.
   */
  constructor(
    name: string,
    help: string,
    labelNames: string[] = [],
    collect?: () => Collected,
  ) {
    super(name, help, labelNames);
    this.#collect = collect;
    if (labelNames.length === 0 && !collect) this.get({}, () => ({ value: 0 }));
  }

  /** Adds `value` (default 1, never negative) to the series of `labels`. */
  inc(labels: Labels = {}, value = 1): void {
    if (!(value >= 0)) throw new RangeError(`${this.name}: cannot add ${value} to a counter`);
    this.get(labels, () => ({ value: 0 })).value += value;
  }

  /** The current value of one series (0 if never incremented); for tests. */
  value(labels: Labels = {}): number {
    return this.get(labels, () => ({ value: 0 })).value;
  }

  /** The sample lines: series counted here, then collected ones. */
  samples(): string {
    return joined(this.chunks());
  }

  /** {@linkcode samples}, one line at a time. */
  *chunks(): Generator<string> {
    for (const { text, state } of this.snapshot()) yield sampleLine(this.name, text, state.value);
    for (const { labels, value } of collectSafely(this.#collect)) {
      yield sampleLine(this.name, labelPairs(this.identify(labels).labels), value);
    }
  }
}

/** A value that goes up and down, set directly or read from `collect` at render time. */
export class Gauge extends MetricFamily<{ value: number }> implements Metric {
  /** Always `"gauge"`. */
  readonly type = "gauge" as const;
  readonly #collect?: () => Collected;

  /** A gauge; `collect`, when given, supplies current values each time it is rendered. */
  constructor(
    name: string,
    help: string,
    labelNames: string[] = [],
    collect?: () => Collected,
  ) {
    super(name, help, labelNames);
    this.#collect = collect;
  }

  /** Sets the series of `labels` to `value`. */
  set(labels: Labels, value: number): void {
    this.get(labels, () => ({ value: 0 })).value = value;
  }

  /**
   * The sample lines: values set, then those collected (replacing set ones with the same
   * labels). Collected series are not kept, so one that stops being reported disappears.
   */
  samples(): string {
    return joined(this.chunks());
  }

  /** {@linkcode samples}, one line at a time (the values are read before the first). */
  *chunks(): Generator<string> {
    const current = new Map<string, { text: string; value: number }>();
    for (const [key, { text, state }] of this.series) current.set(key, { text, ...state });
    for (const { labels, value } of collectSafely(this.#collect)) {
      const id = this.identify(labels);
      current.set(id.key, { text: labelPairs(id.labels), value });
    }
    for (const { text, value } of current.values()) yield sampleLine(this.name, text, value);
  }
}

/** The state of one histogram series. */
export interface HistogramState {
  /** Observations per bucket, not cumulative; the last slot is +Inf. */
  counts: number[];
  /** The sum of observed values. */
  sum: number;
  /** The number of observations. */
  count: number;
}

/** Observations counted into cumulative `le` buckets, with `_sum` and `_count`. */
export class Histogram extends MetricFamily<HistogramState> implements Metric {
  /** Always `"histogram"`. */
  readonly type = "histogram" as const;
  /** Upper bounds, ascending, without +Inf (always added). */
  readonly buckets: readonly number[];
  /** The `le` value of each bucket as written, ending with `+Inf`. */
  readonly #le: readonly string[];

  /** A histogram over `buckets` (finite, strictly ascending upper bounds). */
  constructor(name: string, help: string, labelNames: string[], buckets: number[]) {
    super(name, help, labelNames, ["le"]);
    if (
      buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || b <= buckets[i - 1])
    ) {
      throw new RangeError(`${name}: buckets must be finite and strictly ascending`);
    }
    this.buckets = [...buckets];
    this.#le = [...buckets.map(formatValue), "+Inf"];
    if (labelNames.length === 0) this.get({}, () => this.#empty());
  }

  /** Records one observation (seconds, for latency) in the series of `labels`. */
  observe(labels: Labels, value: number): void {
    if (Number.isNaN(value)) throw new RangeError(`${this.name}: cannot observe NaN`);
    const state = this.get(labels, () => this.#empty());
    let i = this.buckets.findIndex((bound) => value <= bound);
    if (i === -1) i = this.buckets.length;
    state.counts[i]++;
    state.sum += value;
    state.count++;
  }

  /** The sample lines: `_bucket` per bound (cumulative, ending with +Inf), `_sum`, `_count`. */
  samples(): string {
    return joined(this.chunks());
  }

  /** {@linkcode samples}, one series (all its lines) at a time. */
  *chunks(): Generator<string> {
    const last = this.buckets.length;
    for (const { text, state } of this.snapshot()) {
      // The label pairs and the bounds are written once each: this is most of the page.
      const bucket = `${this.name}_bucket{${text ? `${text},` : ""}le="`;
      let out = "";
      let cumulative = 0;
      for (let i = 0; i < last; i++) {
        cumulative += state.counts[i];
        out += `${bucket}${this.#le[i]}"} ${formatValue(cumulative)}\n`;
      }
      out += `${bucket}${this.#le[last]}"} ${formatValue(state.count)}\n`;
      out += sampleLine(`${this.name}_sum`, text, state.sum);
      out += sampleLine(`${this.name}_count`, text, state.count);
      yield out;
    }
  }

  #empty(): HistogramState {
    return { counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
}

/** A set of metrics rendered together, in registration order. */
export class Registry {
  readonly #metrics = new Map<string, Metric>();

  /** Adds `metric` and returns it. @throws TypeError if its name is taken */
  register<T extends Metric>(metric: T): T {
    if (this.#metrics.has(metric.name)) {
      throw new TypeError(`metric ${metric.name} is already registered`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /**
   * Drops, in every registered metric that carries `label`, the series whose value fails
   * `keep` (see {@linkcode MetricFamily.retainSeries}); collected series are not kept, so
   * they need none. Every family is covered, so a metric added later with the same label
   * cannot keep series of values that have left their set. O(series).
   *
   * @returns how many series were dropped
   */
  retainSeries(label: string, keep: (value: string) => boolean): number {
    let dropped = 0;
    for (const metric of this.#metrics.values()) {
      if (metric instanceof MetricFamily) dropped += metric.retainSeries(label, keep);
    }
    return dropped;
  }

  /**
   * Every metric in the Prometheus text format 0.0.4 (`text/plain; version=0.0.4`), in one
   * go: for tests and small registries. A page served to clients is made with
   * {@linkcode renderSliced}, which does not hold the event loop.
   */
  render(): string {
    let out = "";
    for (const metric of this.#metrics.values()) out += header(metric) + joined(metric.chunks());
    return out;
  }

  /**
   * The text of {@linkcode render}, made in slices of about `sliceMs` of work with a
   * macrotask turn (`setTimeout(0)`) given to the event loop after each: the page grows with
   * tenants × catalogued tools (2 tenants × 300 tools: about 1 MB, which with its UTF-8
   * encoding took 30–37 ms of work before label pairs were escaped once per series, and about
   * 3 ms since), and the loop is every tenant's. Each
   * series is written whole in one slice; values read in different slices may be from
   * different moments, as with any scrape. A metric registered meanwhile is left for the next
   * render.
   *
   * @param sliceMs longest stretch of work between turns, in ms (default
   *   {@linkcode RENDER_SLICE_MS})
   * @returns the text, and the ms spent working on it (the turns given away not counted)
   */
  async renderSliced(sliceMs = RENDER_SLICE_MS): Promise<{ text: string; busyMs: number }> {
    let out = "";
    let busyMs = 0;
    let sliceStart = performance.now();
    for (const metric of [...this.#metrics.values()]) {
      out += header(metric);
      for (const chunk of metric.chunks()) {
        out += chunk;
        const now = performance.now();
        if (now - sliceStart > sliceMs) {
          busyMs += now - sliceStart;
          await new Promise((resolve) => setTimeout(resolve, 0));
          sliceStart = performance.now();
        }
      }
    }
    return { text: out, busyMs: busyMs + performance.now() - sliceStart };
  }
}

/** The longest stretch of {@linkcode Registry.renderSliced}'s work between turns, in ms. */
export const RENDER_SLICE_MS = 4;

/** The content type of {@linkcode Registry.render}'s output. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Execution latency buckets in seconds: 5 ms … 30 s. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Tool-call latency buckets in seconds: local tool calls can take well under 5 ms. */
export const TOOL_CALL_BUCKETS = [0.001, 0.0025, ...LATENCY_BUCKETS];

/** Where the gateway's gauges read their current values. */
export interface GatewayMetricSources {
  /** Executions waiting for a sandbox slot. */
  queueDepth: () => number;
  /** Executions running now. */
  activeExecutions: () => number;
  /** Warm sandbox processes ready to take code. */
  poolReady: () => number;
  /** The warm pool's current target size. */
  poolSize: () => number;
  /** The pool's and the sandbox's counters ({@linkcode PoolMetricStats}). */
  pool?: () => PoolMetricStats;
  /** The audit write-behind queue. */
  audit?: () => WriteBehindStats | undefined;
  /** Upstream MCP servers and whether each is connected. */
  upstreams: () => Array<{ server: string; up: boolean }>;
  /** What each tenant holds in the PII vault store. */
  vaults?: () => VaultStoreStats;
}

/** Airlock's metrics; see {@linkcode createGatewayMetrics}. */
export interface GatewayMetrics {
  /** Everything below. */
  registry: Registry;
  /** The registry's page for `GET /metrics`: rendered in slices, shared and briefly reused. */
  page: MetricsPage;
  /** `airlock_executions_total{tenant,outcome}`: outcome is `ok` or the error kind. */
  executions: Counter;
  /** `airlock_execution_duration_seconds{tenant}`: the whole pipeline. */
  executionSeconds: Histogram;
  /**
   * `airlock_tool_calls_total{tenant,tool,outcome}`: outcome is `ok`, `error`, `refused` or
   * `cancelled`; `tool` is a catalogue id or `(unknown)`. A tool's series are dropped when it
   * leaves its ready server's list ({@linkcode dropToolSeries}).
   */
  toolCalls: Counter;
  /** `airlock_tool_call_duration_seconds{tenant,tool}`; dropped like `toolCalls`. */
  toolCallSeconds: Histogram;
  /** `airlock_redactions_total{type}`. */
  redactions: Counter;
  /** `airlock_http_requests_total{route,status}`: `route` is the route pattern, not the URL. */
  httpRequests: Counter;
  /** `airlock_rejected_total{tenant,kind}`: requests refused before the sandbox (401/403/429/503). */
  rejected: Counter;
  /**
   * `airlock_tool_searches_total{tenant}`: tool searches the gateway ranked, from the code
   * (`tools.search`), `GET /v1/tools/search` and MCP `search_tools`.
   */
  toolSearches: Counter;
}

/** Creates Airlock's metrics, once per gateway; gauges read `sources` at each render. */
export function createGatewayMetrics(sources: GatewayMetricSources): GatewayMetrics {
  const registry = new Registry();
  const scalar = (name: string, help: string, read: () => number) =>
    registry.register(new Gauge(name, help, [], () => [{ labels: {}, value: read() }]));
  const metrics: GatewayMetrics = {
    registry,
    page: new MetricsPage(registry),
    executions: registry.register(
      new Counter("airlock_executions_total", "Executions that ran, by outcome.", [
        "tenant",
        "outcome",
      ]),
    ),
    executionSeconds: registry.register(
      new Histogram(
        "airlock_execution_duration_seconds",
        "Execution latency through the whole pipeline.",
        ["tenant"],
        LATENCY_BUCKETS,
      ),
    ),
    toolCalls: registry.register(
      new Counter("airlock_tool_calls_total", "Tool calls made from the sandbox, by outcome.", [
        "tenant",
        "tool",
        "outcome",
      ]),
    ),
    toolCallSeconds: registry.register(
      new Histogram(
        "airlock_tool_call_duration_seconds",
        "Tool call latency as seen by the sandbox bridge.",
        ["tenant", "tool"],
        TOOL_CALL_BUCKETS,
      ),
    ),
    redactions: registry.register(
      new Counter("airlock_redactions_total", "Values redacted, by PII type.", ["type"]),
    ),
    httpRequests: registry.register(
      new Counter("airlock_http_requests_total", "HTTP requests, by route and status.", [
        "route",
        "status",
      ]),
    ),
    rejected: registry.register(
      new Counter("airlock_rejected_total", "Requests refused before reaching the sandbox.", [
        "tenant",
        "kind",
      ]),
    ),
    toolSearches: registry.register(
      new Counter("airlock_tool_searches_total", "Tool searches the gateway ranked.", ["tenant"]),
    ),
  };
  scalar("airlock_queue_depth", "Executions waiting for a sandbox slot.", sources.queueDepth);
  scalar("airlock_active_executions", "Executions running now.", sources.activeExecutions);
  scalar("airlock_pool_ready", "Warm sandbox processes ready.", sources.poolReady);
  scalar(
    "airlock_pool_size",
    "Warm pool target size (grows up to sandbox.poolMax under load, shrinks when idle).",
    sources.poolSize,
  );
  if (sources.pool) addPoolMetrics(registry, sources.pool);
  if (sources.audit) addAuditQueueMetrics(registry, sources.audit);
  registry.register(
    new Gauge(
      "airlock_upstream_up",
      "Whether an upstream MCP server is connected (1) or not (0).",
      ["server"],
      () =>
        sources.upstreams().map(({ server, up }) => ({ labels: { server }, value: up ? 1 : 0 })),
    ),
  );
  if (sources.vaults) addVaultMetrics(registry, sources.vaults);
  return metrics;
}

/**
 * `airlock_vault_sessions{tenant}`, `airlock_vault_entries{tenant}`,
 * `airlock_vault_bytes{tenant}` (UTF-8 bytes of stored values) and
 * `airlock_vault_evictions_total{tenant,cause}` (cause: `tenant_cap`, `global_cap`,
 * `session_cap` for mappings, `oversized` for values masked instead of stored).
 */
function addVaultMetrics(registry: Registry, read: () => VaultStoreStats): void {
  const perTenant = (pick: (t: VaultStoreStats["tenants"][number]) => number) => () =>
    read().tenants.map((t) => ({ labels: { tenant: t.tenant }, value: pick(t) }));
  registry.register(
    new Gauge(
      "airlock_vault_sessions",
      "Live PII vault sessions.",
      ["tenant"],
      perTenant((t) => t.sessions),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_vault_entries",
      "Live PII vault mappings.",
      ["tenant"],
      perTenant((t) => t.entries),
    ),
  );
  registry.register(
    new Gauge(
      "airlock_vault_bytes",
      "UTF-8 bytes held by PII vault mappings.",
      ["tenant"],
      perTenant((t) => t.bytes),
    ),
  );
  registry.register(
    new Counter(
      "airlock_vault_evictions_total",
      "PII vault sessions and mappings dropped for room, and values too large to keep.",
      ["tenant", "cause"],
      () =>
        read().tenants.flatMap((t) => [
          { labels: { tenant: t.tenant, cause: "tenant_cap" }, value: t.evictedSessions.tenant },
          { labels: { tenant: t.tenant, cause: "global_cap" }, value: t.evictedSessions.global },
          { labels: { tenant: t.tenant, cause: "session_cap" }, value: t.evictedEntries },
          { labels: { tenant: t.tenant, cause: "oversized" }, value: t.oversizedValues },
        ]),
    ),
  );
}

/**
 * Registers `airlock_mcp_sessions{tenant}` and
 * `airlock_mcp_session_closures_total{tenant,cause}` (cause: `tenant_cap`, `global_cap`,
 * `idle`) read from an MCP endpoint. Registering a second endpoint's metrics on the same
 * registry is a no-op (the first one is reported).
 */
export function addMcpSessionMetrics(
  metrics: GatewayMetrics,
  read: () => {
    servers?: number;
    replies?: Array<{ tenant: string; outcome: string; count: number }>;
    tenants: Array<
      {
        tenant: string;
        sessions: number;
        evicted: { tenant: number; global: number };
        expired: number;
      }
    >;
  },
): void {
  try {
    metrics.registry.register(
      new Gauge(
        "airlock_mcp_sessions",
        "Open MCP Streamable HTTP sessions.",
        ["tenant"],
        () => read().tenants.map((t) => ({ labels: { tenant: t.tenant }, value: t.sessions })),
      ),
    );
    // Servers built for requests are counted apart from sessions: one that outlived its
    // request without opening a session shows here and nowhere else.
    metrics.registry.register(
      new Gauge(
        "airlock_mcp_servers",
        "MCP servers of the Streamable HTTP endpoint not yet closed (open sessions and ones being built).",
        [],
        () => [{ labels: {}, value: read().servers ?? 0 }],
      ),
    );
    metrics.registry.register(
      new Counter(
        "airlock_mcp_session_closures_total",
        "MCP sessions closed by the gateway, by cause.",
        ["tenant", "cause"],
        () =>
          read().tenants.flatMap((t) => [
            { labels: { tenant: t.tenant, cause: "tenant_cap" }, value: t.evicted.tenant },
            { labels: { tenant: t.tenant, cause: "global_cap" }, value: t.evicted.global },
            { labels: { tenant: t.tenant, cause: "idle" }, value: t.expired },
          ]),
      ),
    );
    // Replies that reached this replica for requests another one sent (round-robin balancing):
    // approvals' answers given to the holder, and the ones that were not.
    metrics.registry.register(
      new Counter(
        "airlock_mcp_foreign_replies_total",
        "MCP client replies for requests another replica sent, by outcome (delivered, " +
          "unconfirmed, ended, unknown, failed, busy).",
        ["tenant", "outcome"],
        () =>
          (read().replies ?? []).map((r) => ({
            labels: { tenant: r.tenant, outcome: r.outcome },
            value: r.count,
          })),
      ),
    );
  } catch {
    // Already registered by another endpoint of this gateway.
  }
}

/** The `tool` label of calls to ids that are not in the catalogue. */
export const UNKNOWN_TOOL_LABEL = "(unknown)";

/**
 * Counts one audited execution: outcome, latency, each tool call and redactions. The
 * same record goes to the audit log, so the two always agree.
 */
export function observeExecution(
  metrics: GatewayMetrics,
  entry: AuditRecord,
  isCatalogued: (toolId: string) => boolean = () => true,
): void {
  const { tenant } = entry;
  metrics.executions.inc({ tenant, outcome: entry.ok ? "ok" : entry.errorKind ?? "error" });
  metrics.executionSeconds.observe({ tenant }, entry.durationMs / 1000);
  for (const call of entry.calls) {
    // Every label value comes from a bounded set: an id outside the catalogue (made up by
    // the code) would otherwise be a new series, kept forever, on a page that needs no key.
    const tool = isCatalogued(call.tool) ? call.tool : UNKNOWN_TOOL_LABEL;
    const outcome = call.outcome ?? (call.ok ? "ok" : "error");
    metrics.toolCalls.inc({ tenant, tool, outcome });
    metrics.toolCallSeconds.observe({ tenant, tool }, call.ms / 1000);
  }
  for (const [type, count] of Object.entries(entry.redactions)) {
    if (count > 0) metrics.redactions.inc({ type }, count);
  }
}

/**
 * Drops the `tool`-labelled series (in every metric: `airlock_tool_calls_total`,
 * `airlock_tool_call_duration_seconds`, and any added later) of `server`'s tools that are not
 * in `current`, its tool list now. Call it when a ready server's list changes, so the series
 * stay bounded by the catalogue: a server that adds, calls and removes tools at run time
 * would otherwise leave series behind for every id it ever had. Other servers' series and
 * `(unknown)` are kept. O(series).
 *
 * @param server the server's config key (tool ids are `server.tool`)
 * @param current the ids of the server's tools now
 * @returns how many series were dropped
 */
export function dropToolSeries(
  metrics: GatewayMetrics,
  server: string,
  current: ReadonlySet<string>,
): number {
  const prefix = `${server}.`;
  return metrics.registry.retainSeries(
    "tool",
    (tool) => !tool.startsWith(prefix) || current.has(tool),
  );
}

/** `# HELP` and `# TYPE` of `metric`. */
function header(metric: Metric): string {
  return `# HELP ${metric.name} ${escapeHelp(metric.help)}\n# TYPE ${metric.name} ${metric.type}\n`;
}

function joined(chunks: Iterable<string>): string {
  let out = "";
  for (const chunk of chunks) out += chunk;
  return out;
}

/** The label pairs of a series as written between braces: `k="v",…` (empty without labels). */
function labelPairs(labels: Labels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
}

/** One sample line; `pairs` from {@linkcode labelPairs}. */
function sampleLine(name: string, pairs: string, value: number): string {
  return `${name}${pairs ? `{${pairs}}` : ""} ${formatValue(value)}\n`;
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Bounds of the approval wait histogram, in seconds: people take seconds to minutes. */
export const APPROVAL_WAIT_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The approval metrics a gateway updates. */
export interface ApprovalMetrics {
  /** `airlock_approval_decisions_total{tenant,outcome}`. */
  decisions: Counter;
  /** `airlock_approval_wait_seconds{tenant}`: from asking to the decision. */
  waitSeconds: Histogram;
}

/**
 * Registers `airlock_approvals_pending{tenant}` (read from `pending` at render time),
 * `airlock_approval_decisions_total{tenant,outcome}` (outcome: `approved`, `denied`,
 * `timeout`, `withdrawn`, `unavailable`, `over_capacity`) and
 * `airlock_approval_wait_seconds{tenant}`.
 */
export function addApprovalMetrics(
  metrics: GatewayMetrics,
  pending: () => Array<{ tenant: string; count: number }>,
): ApprovalMetrics {
  const registry = metrics.registry;
  registry.register(
    new Gauge(
      "airlock_approvals_pending",
      "Tool calls waiting for a person's approval.",
      ["tenant"],
      () => pending().map((p) => ({ labels: { tenant: p.tenant }, value: p.count })),
    ),
  );
  return {
    decisions: registry.register(
      new Counter(
        "airlock_approval_decisions_total",
        "Approval requests by how they ended.",
        ["tenant", "outcome"],
      ),
    ),
    waitSeconds: registry.register(
      new Histogram(
        "airlock_approval_wait_seconds",
        "Time a tool call waited for a decision.",
        ["tenant"],
        APPROVAL_WAIT_BUCKETS,
      ),
    ),
  };
}

/**
 * The gateway: owns the sandbox, the upstream connections, the tool index, tenants,
 * rate limits and PII vaults, and serves executions and tool searches to the HTTP and
 * MCP layers.
 *
 * @module
 */

import { findPii, redactRenderedText, Vault, VaultStore } from "../pii/mod.ts";
import { hasSetpriv, launcherPossible, Sandbox, usersProblem } from "../sandbox/mod.ts";
import { UpstreamManager } from "../upstream/mod.ts";
import type { ToolInfo } from "../upstream/mod.ts";
import {
  buildNameMap,
  createEmbedder,
  type Embedder,
  type NameMap,
  ToolIndex,
  type ToolIndexStatus,
  toolSignature,
} from "../wrappers/mod.ts";
import type { ToolSearchHit } from "./bridge.ts";
import type { Config } from "./config.ts";
import { GatewayError, safeErrorMessage } from "./errors.ts";
import { type Caller, executeCode, ExecutionFailure, redactionOptions } from "./execute.ts";
import {
  type ActedStatus,
  type ApprovalAnswer,
  ApprovalBroker,
  type ApprovalEvent,
  type ApprovalRequest,
  type ApprovalStatus,
} from "./approval/mod.ts";
import {
  addApprovalMetrics,
  addTypeCheckMetrics,
  type ApprovalMetrics,
  AuditLog,
  type AuditRecord,
  type AuditSink,
  CodeHasher,
  codeHasherFor,
  createGatewayMetrics,
  dropToolSeries,
  ExecutionJournal,
  type GatewayMetrics,
  observeExecution,
  PostgresAuditLog,
  type TypeCheckMetrics,
} from "../observability/mod.ts";
import { codeCost, RateLimiter } from "./rate_limit.ts";
import {
  createState,
  parseVaultKey,
  RedisApprovalStore,
  RedisReadCache,
  RedisState,
  RedisVaultStore,
  SharedMcpSessions,
  type SharedState,
  type StateHealth,
} from "../state/mod.ts";
import { SessionVaults } from "./session_vaults.ts";
import { type CloseReport, unsettledAfter } from "./shutdown.ts";
import { ConfigError } from "./config.ts";
import { type ExecuteRequest, executeRequestSchema, type ExecuteResponse } from "./schemas.ts";
import { formatIssues } from "./config.ts";
import { type Tenant, TenantDirectory } from "./tenants.ts";
import {
  addSpeculationMetrics,
  CACHE_LIMITS,
  Speculation,
  type UnusedPrefetch,
} from "./speculation/mod.ts";
import { CheckDeclarations } from "./type_check.ts";
import { typeFile, type TypeNamespace, typeNamespaces } from "./type_files.ts";
import { toolForCaller } from "./tool_listing.ts";
import { TypeChecker } from "../typecheck/mod.ts";

/**
 * The most processes the warm pool may grow to: `sandbox.poolMax` (default 8), never below the
 * pool size; 0 when there is no pool. An overridden pool size (tests, `exec`) is a fixed pool
 * unless the configuration names `poolMax`.
 */
function poolMax(override: number | undefined, size: number, configured?: number): number {
  const min = override ?? size;
  if (min === 0) return 0;
  return Math.max(min, configured ?? (override !== undefined ? override : 8));
}

/** Options that are not part of the configuration file. */
export interface GatewayOptions {
  /** Override the warm pool size (tests, `exec`): a fixed pool unless `sandbox.poolMax` is set. */
  poolSize?: number;
  /** The PII vault key with shared state (default: `AIRLOCK_VAULT_KEY`). */
  vaultKey?: string;
  /** Structured log sink; JSON lines on stderr by default. */
  logger?: (event: Record<string, unknown>) => void;
}

/** The running gateway. */
export class Gateway {
  /** The validated configuration. */
  readonly config: Config;
  /** The code runner. */
  readonly sandbox: Sandbox;
  /** Connections to the upstream MCP servers. */
  readonly upstream: UpstreamManager;
  /** The tool search index. */
  readonly index: ToolIndex;
  /** API keys and per-tenant policy. */
  readonly tenants: TenantDirectory;
  /** Where rate limits and in-flight leases live (memory, or Redis for several replicas). */
  readonly state: SharedState;
  /** Per-tenant rate and in-flight limits. */
  readonly limiter: RateLimiter;
  /** PII vaults of sessions (tokenize mode) in this process's memory. */
  readonly vaults: VaultStore;
  /** Session vaults as executions use them: {@link vaults}, or Redis with shared state. */
  sessionVaults: SessionVaults;
  /** Prometheus metrics. */
  readonly metrics: GatewayMetrics;
  /** Speculation: prefetches, the session read cache, prediction. */
  readonly speculation: Speculation;
  /** Where audit records go: SQLite or PostgreSQL (open after {@link start}). */
  auditSink: AuditSink | undefined;
  /** The SQLite audit log, when that is the sink (open after {@link start}). */
  audit: AuditLog | undefined;
  /** Tool calls waiting for a person's approval (see `gateway/approval/`). */
  readonly approvals: ApprovalBroker;
  readonly #approvalMetrics: ApprovalMetrics;
  readonly #log: (event: Record<string, unknown>) => void;
  #names: NameMap | undefined;
  #started: Promise<void> | undefined;
  #draining = false;
  #closing: Promise<CloseReport> | undefined;
  /** Audit records given up since {@link close} began (write failed, log closed, store down). */
  #auditLost = 0;
  /** Replaced at start by the audit's own (see observability/code_hash.ts). */
  #codeHasher = CodeHasher.ephemeral();
  #embedder: Promise<Embedder>;
  #inFlight = new Set<Promise<unknown>>();
  /**
   * What each tenant is shown of each tool in search results (its redacted description and
   * signature), made once per tenant, tool and naming of the catalogue: rendering them for
   * every hit of every search cost the shared event loop milliseconds per search. Held
   * weakly: a reloaded tenant or a refreshed catalogue leaves its entries to the collector.
   */
  #shownTools = new WeakMap<
    Tenant,
    WeakMap<ToolInfo, { names: NameMap; description: string; signature: string }>
  >();
  /**
   * Each tenant's redacted view of each tool (its listing), and its declaration files for the
   * current naming of the catalogue: redacting every tool and generating a namespace's
   * declarations cost 5–9 ms of the shared event loop per read of a 300-tool namespace, and a
   * batch of 100 MCP `resources/read` held it for 0.6–0.9 s (red team, 2026-11-30). Held weakly
   * by tenant and tool; files are kept only for names that exist (at most one per namespace,
   * plus `tools.d.ts`), so unknown names cannot grow it.
   */
  #callerViews = new WeakMap<Tenant, WeakMap<ToolInfo, ToolInfo>>();
  #typeFiles = new WeakMap<Tenant, { names: NameMap; files: Map<string, string> }>();
  #sharedVault: Promise<RedisVaultStore> | undefined;
  /** The vault master key with shared state (seals MCP session records too). */
  #masterKey: string | undefined;
  #typeChecker: TypeChecker | undefined;
  #checkDeclarations = new CheckDeclarations();
  #typeCheckMetrics: TypeCheckMetrics | undefined;

  constructor(config: Config, options: GatewayOptions = {}) {
    this.config = config;
    // Redis must never hold a personal value in clear: with shared state, no start without
    // the vault key (checked before anything is started).
    const masterKey = config.state
      ? options.vaultKey ?? Deno.env.get("AIRLOCK_VAULT_KEY")
      : undefined;
    if (config.state) {
      if (!masterKey) {
        throw new ConfigError(
          "state.url is set: AIRLOCK_VAULT_KEY must hold the PII vault key (32 bytes as 64 hex " +
            "digits or base64, the same on every replica; e.g. `openssl rand -hex 32`)",
        );
      }
      try {
        parseVaultKey(masterKey);
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
    }
    this.#log = options.logger ??
      ((event) => console.error(JSON.stringify({ time: new Date().toISOString(), ...event })));
    const s = config.sandbox;
    const maxPool = poolMax(options.poolSize, s.poolSize, s.poolMax);
    const uidRange = s.uidRange && { first: s.uidRange[0], last: s.uidRange[1] };
    if (uidRange) {
      const problem = usersProblem({
        range: uidRange,
        processes: s.concurrency + maxPool,
        deno: Deno.execPath(),
        allowRead: s.allowRead,
        setpriv: hasSetpriv(),
        launcher: launcherPossible(),
      });
      if (problem) throw new ConfigError(problem);
    }
    this.sandbox = new Sandbox({
      timeoutMs: s.timeoutMs,
      memoryMb: s.memoryMb,
      maxOutputBytes: s.maxOutputBytes,
      maxLogBytes: s.maxLogBytes,
      concurrency: s.concurrency,
      queue: s.queue,
      poolSize: options.poolSize ?? s.poolSize,
      poolMax: maxPool,
      poolIdleMs: s.poolIdleMs,
      maxWaitMs: s.maxWaitMs,
      allowNet: s.allowNet,
      allowRead: s.allowRead,
      memoryGuard: s.memoryGuard,
      uidRange,
    });
    this.upstream = new UpstreamManager(config.servers, {
      callTimeoutMs: s.toolTimeoutMs,
      // A tool name is part of every tool id: in responses, the audit, metric labels and
      // generated declarations. One that holds personal data is not used at all.
      rejectToolName: (name) =>
        findPii(name.replace(/[_-]/g, " ")).length > 0 || findPii(name).length > 0
          ? "holds personal data or a secret"
          : undefined,
      logger: (event) => this.#log({ level: "info", ...event }),
      // Calls a tenant's ended executions (or timeouts) left at a server that ignores
      // cancellation count against the same per-server bound as one execution's calls.
      maxAbandonedCallsPerOwner: s.maxConcurrentCallsPerServer,
      // A crashed server's last stderr line (its callers' data, perhaps) reaches the log only
      // masked, and nothing else at all.
      redactLog: (text) => redactRenderedText(text, { mode: "mask" }).text,
    });
    const sel = config.selection;
    const embedder = createEmbedder({
      embedder: sel.embedder,
      model: sel.model,
      modelDir: sel.modelDir ?? Deno.env.get("AIRLOCK_MODEL_DIR") ?? null,
    });
    this.#embedder = embedder;
    this.index = new ToolIndex({ embedder, cacheDir: sel.cacheDir });
    this.tenants = new TenantDirectory(config);
    this.state = createState(
      config.state && {
        ...config.state,
        onChange: (health) =>
          this.#log({
            level: health.up ? "info" : "error",
            msg: health.up ? "shared state is up" : "shared state is down",
            error: health.error,
          }),
      },
    );
    this.limiter = new RateLimiter(this.state);
    this.vaults = new VaultStore({ ttlMs: config.pii.ttlSeconds * 1000 });
    this.sessionVaults = new SessionVaults(this.vaults, undefined, config.pii.ttlSeconds * 1000);
    if (this.state instanceof RedisState && masterKey !== undefined) {
      this.#masterKey = masterKey;
      this.#sharedVault = RedisVaultStore.create(this.state.connection, {
        keyPrefix: this.state.keyPrefix,
        masterKey,
        ttlMs: config.pii.ttlSeconds * 1000,
        maxBytesPerTenant: config.state?.vaultBytesPerTenant,
      });
    }
    this.metrics = createGatewayMetrics({
      queueDepth: () => this.sandbox.stats().queued,
      activeExecutions: () => this.sandbox.stats().active,
      poolReady: () => this.sandbox.stats().poolReady,
      poolSize: () => this.sandbox.stats().poolSize,
      pool: () => this.sandbox.stats(),
      // Whichever log is configured: a PostgreSQL replica counts its refused records too.
      audit: () => this.auditSink?.queueStats(),
      upstreams: () =>
        this.upstream.status().map((u) => ({ server: u.name, up: u.state === "ready" })),
      vaults: () => this.vaults.stats(),
    });
    // A write its server did not answer may still land: see speculation.unsettledSeconds.
    this.speculation = new Speculation({
      unsettledMs: Math.max(s.toolTimeoutMs, config.speculation.unsettledSeconds * 1000),
      readOnly: config.speculation.readOnly,
      isolatedServers: config.speculation.isolatedServers,
      sharedState: config.state?.url !== undefined,
      log: (event) => this.#log(event),
    });
    addSpeculationMetrics(this.metrics.registry, () => this.speculation.stats());
    this.approvals = new ApprovalBroker({
      onSettled: (event) => this.#recordApproval(event),
      // With shared state, a request pending here can be answered through any replica.
      store: this.state instanceof RedisState && masterKey !== undefined
        ? new RedisApprovalStore<ApprovalRequest, ApprovalStatus, ApprovalAnswer, ActedStatus>(
          this.state.connection,
          {
            keyPrefix: this.state.keyPrefix,
            masterKey,
            onError: (error) =>
              this.#log({ level: "error", msg: "approval store", error: String(error) }),
          },
        )
        : undefined,
    });
    this.#approvalMetrics = addApprovalMetrics(this.metrics, () => this.approvals.pending());
    this.upstream.onCatalogueChange((server) => {
      // Restarted, failed or changed: what it returned before is served no more.
      this.speculation.resetServer(server);
      this.#names = undefined;
      const tools = this.upstream.catalogue().filter((t) => t.server === server);
      this.index.updateServer(server, tools);
      // Series of tools that left a ready server's list are dropped, so /metrics stays bounded
      // by the catalogue however often a server changes its tools. A failed server's series
      // are kept (it has no list to compare with): a restart does not reset its counters.
      if (this.upstream.status().some((s) => s.name === server && s.state === "ready")) {
        dropToolSeries(this.metrics, server, new Set(tools.map((t) => t.id)));
      }
    });
  }

  /**
   * Starts the warm pool and connects the upstream servers (all at once). Resolves
   * when every server is ready or has failed once; a failed server is retried in the
   * background and never stops the gateway.
   */
  start(): Promise<void> {
    this.#started ??= (async () => {
      const audit = this.config.audit;
      if (audit.url) {
        this.auditSink = await PostgresAuditLog.open(audit.url, {
          retentionDays: audit.retentionDays,
          replica: audit.replica,
          onError: (message, lost) => {
            this.#auditLost += lost ?? 0;
            this.#log({ level: "error", msg: message, ...(lost ? { lost } : {}) });
          },
        });
      } else {
        this.audit = AuditLog.open(audit.path, {
          retentionDays: audit.retentionDays,
          onWriteError: (error, count) => {
            this.#auditLost += count;
            this.#log({ level: "error", msg: "audit write failed", count, error: String(error) });
          },
        });
        this.auditSink = this.audit;
      }
      this.auditSink.startRetention();
      this.#codeHasher = codeHasherFor({
        key: audit.codeHashKey,
        sqlitePath: audit.url ? undefined : audit.path,
      });
      if (this.#codeHasher.source === "process") {
        this.#log({
          level: "warn",
          msg: "audit code hashes use a key of this process only: set audit.codeHashKey (or " +
            "AIRLOCK_AUDIT_HASH_KEY) to compare them across restarts and replicas",
        });
      }
      await this.#learnHistory();
      // The literal-call scan's Worker loads the parser while the rest starts.
      const scanner = this.tenants.list().some((t) => t.speculation.enabled)
        ? this.speculation.scanner.warm()
        : undefined;
      if (this.state instanceof RedisState && this.#masterKey !== undefined) {
        // The session read cache in Redis, sealed under the vault key (issue 15).
        this.speculation.share(
          await RedisReadCache.create(this.state.connection, {
            keyPrefix: this.state.keyPrefix,
            masterKey: this.#masterKey,
            maxEntries: CACHE_LIMITS.maxEntriesPerTenant,
            maxBytes: CACHE_LIMITS.maxCharsPerTenant,
          }),
        );
      }
      if (this.#sharedVault) {
        this.sessionVaults = new SessionVaults(
          this.vaults,
          await this.#sharedVault,
          this.config.pii.ttlSeconds * 1000,
        );
      }
      await this.sandbox.start();
      await this.upstream.start();
      await scanner;
      this.#names = undefined;
      this.index.setCatalogue(this.upstream.catalogue());
      // Tenants that check by default get a warm checker before their first request.
      if (this.tenants.list().some((t) => t.check)) this.typeChecker().warm().catch(() => {});
      this.index.ready().then(() => {
        const status = this.index.status();
        this.#log({
          level: "info",
          msg: "tool index ready",
          embedder: status.embedder.active,
          model: status.embedder.model,
          reason: status.embedder.reason,
          tools: status.tools,
        });
      }).catch(() => {});
    })();
    return this.#started;
  }

  /** Seeds prediction with each tenant's audited call sequences (newest 1,000 executions). */
  async #learnHistory(): Promise<void> {
    for (const tenant of this.tenants.list()) {
      if (!tenant.speculation.enabled || !this.auditSink) continue;
      try {
        const recent = (await this.auditSink.recentAsync({ tenant: tenant.id, limit: 1000 }))
          .reverse();
        this.speculation.learnHistory(tenant.id, recent.map((r) => r.calls));
      } catch (error) {
        this.#log({ level: "warn", msg: "speculation history unreadable", error: String(error) });
      }
    }
  }

  /** The type checker (`check: true`), started on first use. */
  typeChecker(): TypeChecker {
    if (!this.#typeChecker) {
      const t = this.config.typecheck;
      this.#typeChecker = new TypeChecker({
        timeoutMs: t.timeoutMs,
        memoryMb: t.memoryMb,
        maxVersions: t.maxVersions,
        maxVersionsPerTenant: t.maxVersionsPerTenant,
        maxPendingPerTenant: t.maxPendingPerTenant,
        maxDiagnostics: t.maxDiagnostics,
        maxMessageChars: t.maxMessageChars,
      });
      const checker = this.#typeChecker;
      this.#typeCheckMetrics = addTypeCheckMetrics(this.metrics.registry, () => checker.stats());
    }
    return this.#typeChecker;
  }

  /**
   * Writes one structured event to the gateway's log (the `logger` option; JSON lines on stderr
   * by default), for the interfaces over it (`api/`). Never throws; carries no payloads.
   */
  log(event: Record<string, unknown>): void {
    try {
      this.#log(event);
    } catch { /* logging never fails a request */ }
  }

  /** The naming of the current catalogue (rebuilt when it changes). */
  names(): NameMap {
    this.#names ??= buildNameMap(this.upstream.catalogue(), Object.keys(this.config.servers));
    return this.#names;
  }

  /** Tools a tenant may use. */
  listTools(tenant: Tenant): ToolInfo[] {
    return this.upstream.catalogue().filter((t) => this.tenants.allows(tenant, t.id));
  }

  /**
   * Tools a tenant may use, as shown to it: descriptions, schemas (values and property
   * names) and annotations come from upstream servers and are redacted like any output
   * (placeholders scoped to each tool; see `tool_listing.ts`).
   */
  listToolsForCaller(tenant: Tenant): ToolInfo[] {
    let views = this.#callerViews.get(tenant);
    if (!views) this.#callerViews.set(tenant, views = new WeakMap());
    let redaction: ReturnType<typeof redactionOptions> | undefined;
    return this.listTools(tenant).map((t) => {
      let view = views.get(t);
      if (!view) views.set(t, view = toolForCaller(t, redaction ??= redactionOptions(tenant)));
      return view;
    });
  }

  /** The namespaces whose declarations a tenant may read (see `type_files.ts`). */
  typeNamespaces(tenant: Tenant): TypeNamespace[] {
    return typeNamespaces(this.listTools(tenant), this.names());
  }

  /**
   * One declaration file for a tenant (`<namespace>.d.ts` or `tools.d.ts`), from its redacted
   * tool listing; `undefined` when the tenant has no such file.
   */
  typeFile(tenant: Tenant, file: string): string | undefined {
    const names = this.names();
    let cached = this.#typeFiles.get(tenant);
    if (cached?.names !== names) this.#typeFiles.set(tenant, cached = { names, files: new Map() });
    const known = cached.files.get(file);
    if (known !== undefined) return known;
    const text = typeFile(this.listToolsForCaller(tenant), names, file);
    if (text !== undefined) cached.files.set(file, text);
    return text;
  }

  /** Calls `listener` when the catalogue (and so the declarations) changes; returns an unsubscribe. */
  onTypesChange(listener: () => void): () => void {
    return this.upstream.onCatalogueChange(() => listener());
  }

  /** Ranked tools for a natural-language query, with their TypeScript signatures. */
  async searchTools(
    tenant: Tenant,
    query: string,
    k: number,
    allowed?: (id: string) => boolean,
  ): Promise<ToolSearchHit[]> {
    const names = this.names();
    this.metrics.toolSearches.inc({ tenant: tenant.id });
    const hits = await this.index.search(
      query,
      k,
      (t) => this.tenants.allows(tenant, t.id) && (allowed?.(t.id) ?? true),
      { scope: tenant.id },
    );
    let shown = this.#shownTools.get(tenant);
    if (!shown) this.#shownTools.set(tenant, shown = new WeakMap());
    return hits.map(({ tool, score }) => {
      let view = shown.get(tool);
      if (!view || view.names !== names) {
        // Tool descriptions come from upstream servers: they are redacted like any output.
        // Signatures render schema literals with escapes: redacted as rendered text.
        const redaction = redactionOptions(tenant);
        const clean = (text: string) => redactRenderedText(text, redaction).text;
        view = {
          names,
          description: clean(tool.description),
          signature: clean(toolSignature(toolForCaller(tool, redaction), names)),
        };
        shown.set(tool, view);
      }
      return {
        id: tool.id,
        score: Math.round(score * 1000) / 1000,
        description: view.description,
        signature: view.signature,
      };
    });
  }

  /** Runs one execution through the whole pipeline. */
  execute(request: ExecuteRequest, caller: Caller): Promise<ExecuteResponse> {
    const startedAt = new Date();
    if (this.#draining) {
      return Promise.reject(new GatewayError("unavailable", "the gateway is shutting down"));
    }
    // Every interface gets the same bounds (code, intent, tools), whatever its own schema
    // checked: tool selection scans `intent` on the event loop every tenant shares.
    const checked = executeRequestSchema.safeParse(request);
    if (!checked.success) {
      return Promise.reject(
        new GatewayError("invalid_request", formatIssues(checked.error.issues)),
      );
    }
    // One id for the execution's audit row and its approval requests: the row is stored
    // once per id, and approvals are matched to it by id (a client may reuse request ids).
    const execution = { ...caller, executionId: crypto.randomUUID() };
    // The interface took one request of the tenant's budget; code above 64 Ki characters
    // pays for the rest of its scans on the shared event loop (see `codeCost`).
    const charged = this.limiter.charge(caller.tenant, codeCost(request.code.length));
    const running = charged.then(() => this.limiter.enter(caller.tenant)).then((leave) =>
      this.#run(request, execution, startedAt).finally(leave)
    );
    this.#inFlight.add(running);
    running.catch(() => {}).finally(() => this.#inFlight.delete(running));
    return running;
  }

  #run(request: ExecuteRequest, caller: Caller, startedAt: Date): Promise<ExecuteResponse> {
    let unused: UnusedPrefetch[] = [];
    let codeHash: string | undefined;
    const hash = () => codeHash ??= this.#codeHasher.hash(request.code);
    const journal = this.#journal(caller, startedAt, hash);
    const record = (response: ExecuteResponse, errorKind?: string) => {
      // The final record replaces what was written ahead: nothing more is.
      journal?.finish();
      return this.#record(startedAt, caller, hash(), response, errorKind, unused);
    };
    return executeCode(
      {
        config: this.config,
        sandbox: this.sandbox,
        upstream: this.upstream,
        index: this.index,
        names: () => this.names(),
        allows: (tenant, id) => this.tenants.allows(tenant, id),
        vaultFor: (sessionId) =>
          // Only tokenize mode keeps mappings; the others need no round trip to Redis.
          this.sessionVaults.shared && caller.tenant.pii.mode !== "tokenize"
            ? Promise.resolve({
              vault: new Vault(),
              commit: () => Promise.resolve(new Map()),
              release: () => {},
            })
            : this.sessionVaults.open({
              tenant: caller.tenant.id,
              keyId: caller.keyId ?? "",
              session: sessionId,
            }),
        search: (tenant, query, k, allowed) => this.searchTools(tenant, query, k, allowed),
        speculation: this.speculation,
        // The same key as the session's PII vault: another API key gets another cache. With
        // shared state the cache lives in Redis (`speculation.share`), voided by any replica.
        sessionKey: JSON.stringify([caller.tenant.id, caller.keyId ?? "", caller.sessionId]),
        onUnusedPrefetches: (list) => unused = list,
        approvals: this.approvals,
        journal,
        typeCheck: {
          checker: () => this.typeChecker(),
          declarations: this.#checkDeclarations,
          timeoutMs: this.config.typecheck.timeoutMs,
          observe: (tenant, outcome, ms) => {
            this.#typeCheckMetrics?.checks.inc({ tenant, outcome });
            if (ms > 0) this.#typeCheckMetrics?.seconds.observe({}, ms / 1000);
          },
        },
      },
      request,
      caller,
    ).then(async (response) => {
      // Queued, not written here: only a full audit queue makes the response wait.
      await record(response);
      return response;
    }, async (error) => {
      if (error instanceof ExecutionFailure || unused.length > 0 || (journal?.sends ?? 0) > 0) {
        // The execution failed inside the gateway after its tool calls (or prefetches) reached
        // upstream servers: they are audited and counted even though the caller gets an error.
        // Without the bridge's records, the journal's are the calls (its prefetches not used
        // are in `unused`), and their row must not stay `running`.
        const cause = error instanceof ExecutionFailure ? error.cause : error;
        this.#log({ level: "error", msg: "execution failed", error: String(cause) });
        const calls = error instanceof ExecutionFailure
          ? error.calls
          : (journal?.calls() ?? []).filter((c) => c.speculation !== "unused").map((c) => ({
            tool: c.tool,
            ms: c.ms,
            ok: c.ok,
            // Still unanswered: the bridge has ended it at its server (`cancelled`).
            outcome: c.outcome === "sent" ? "cancelled" as const : c.outcome,
            ...(c.speculation === "prefetched" ? { prefetched: true as const } : {}),
          }));
        await record(
          {
            ok: false,
            logs: [],
            error: { kind: "runtime", message: "internal" },
            tools: { injected: [], calls },
            redactions: error instanceof ExecutionFailure ? error.redactions : {},
            stats: { durationMs: Date.now() - startedAt.getTime(), sandboxMs: 0, warm: false },
          },
          (cause as { kind?: string } | undefined)?.kind ?? "internal",
        );
        throw error instanceof ExecutionFailure ? error.cause : error;
      }
      throw error;
    });
  }

  /**
   * Audits and measures one finished execution; never fails the execution. The audit row
   * is queued and written in a batch off the response path; the returned promise waits only
   * when the audit queue is full (backpressure: a record is never dropped for room).
   */
  #record(
    time: Date,
    caller: Caller,
    codeHash: string,
    response: ExecuteResponse,
    errorKind?: string,
    unused: UnusedPrefetch[] = [],
  ): Promise<void> | undefined {
    const record: AuditRecord = {
      executionId: caller.executionId,
      time: time.toISOString(),
      tenant: caller.tenant.id,
      requestId: caller.requestId,
      transport: caller.transport ?? "http",
      codeHash,
      ok: response.ok,
      durationMs: response.stats.durationMs,
      sandboxMs: response.stats.sandboxMs,
      toolsInjected: response.tools.injected,
      // Every call that reached an upstream server is on the record: served ones are
      // marked, and prefetches the code never used follow the code's own calls.
      calls: [
        ...response.tools.calls.map((c) => ({
          ...c,
          speculation: c.prefetched ? "prefetched" : c.cached ? "cached" : undefined,
        })),
        ...unused.map((u) => ({
          tool: u.tool,
          ms: u.ms,
          ok: u.ok,
          outcome: u.outcome,
          speculation: "unused",
        })),
      ],
      redactions: response.redactions,
    };
    if (response.error) record.errorKind = errorKind ?? response.error.kind;
    // Tool label values come only from the catalogue: an id the code made up is "(unknown)".
    observeExecution(this.metrics, record, (id) => this.names().functions.has(id));
    let queued: Promise<void> | undefined;
    try {
      // SQLite is written behind the response, in batches; PostgreSQL queues by itself.
      if (this.audit) queued = this.audit.enqueue(record);
      else if (this.auditSink instanceof PostgresAuditLog) queued = this.auditSink.enqueue(record);
      else this.auditSink?.record(record);
    } catch (error) {
      this.#auditLost++;
      this.#log({ level: "error", msg: "audit write failed", count: 1, error: String(error) });
    }
    this.#log({
      level: "info",
      msg: "execution",
      requestId: caller.requestId,
      tenant: caller.tenant.id,
      transport: record.transport,
      ok: record.ok,
      errorKind: record.errorKind,
      ms: record.durationMs,
      calls: record.calls.length,
    });
    return queued;
  }

  /**
   * The write-ahead journal of one execution (see `observability/execution_journal.ts`), or
   * undefined when the audit takes no progress: each upstream send is queued to the audit as
   * it is made, so a replica killed before the execution ends leaves it on the record.
   */
  #journal(caller: Caller, time: Date, codeHash: () => string): ExecutionJournal | undefined {
    const sink = this.auditSink;
    if (!sink?.enqueueProgress || caller.executionId === undefined) return undefined;
    return new ExecutionJournal({
      executionId: caller.executionId,
      time: time.toISOString(),
      tenant: caller.tenant.id,
      requestId: caller.requestId,
      transport: caller.transport ?? "http",
      codeHash,
    }, (source) => {
      try {
        sink.enqueueProgress!(source);
      } catch (error) {
        // Closed: the final record (written at the drain, or lost and counted) says it all.
        this.#log({ level: "error", msg: "audit progress not queued", error: String(error) });
      }
    });
  }

  /** Audits and counts one settled approval request; never fails the call. */
  #recordApproval({ request, outcome }: ApprovalEvent): void {
    const labels = { tenant: request.tenant };
    this.#approvalMetrics.decisions.inc({ ...labels, outcome: outcome.status });
    if (outcome.status !== "unavailable" && outcome.status !== "over_capacity") {
      this.#approvalMetrics.waitSeconds.observe(
        labels,
        Math.max(0, outcome.decidedAt - request.requestedAt) / 1000,
      );
    }
    const answer = outcome.answer;
    try {
      this.auditSink?.recordApproval?.({
        id: request.id,
        tenant: request.tenant,
        executionId: request.executionId,
        requestId: request.requestId,
        tool: request.tool,
        arguments: request.arguments,
        requestedAt: new Date(request.requestedAt).toISOString(),
        decidedAt: new Date(outcome.decidedAt).toISOString(),
        decision: outcome.status,
        decidedBy: answer?.decidedBy,
        scope: answer?.scope,
        // The approver's own words may hold personal data: masked like error messages.
        reason: answer?.reason === undefined ? undefined : safeErrorMessage(answer.reason),
      });
    } catch (error) {
      this.#auditLost++;
      this.#log({ level: "error", msg: "audit write failed", count: 1, error: String(error) });
    }
    this.#log({
      level: "info",
      msg: "approval",
      requestId: request.requestId,
      tenant: request.tenant,
      tool: request.tool,
      decision: outcome.status,
      decidedBy: answer?.decidedBy,
      scope: answer?.scope,
    });
  }

  /**
   * MCP session records shared by replicas (Redis), or undefined with memory state.
   * @param options life after last use (ms) and most sessions per tenant
   */
  sharedMcpSessions(
    options: { ttlMs: number; maxPerTenant: number },
  ): SharedMcpSessions | undefined {
    if (!(this.state instanceof RedisState) || this.#masterKey === undefined) return undefined;
    return new SharedMcpSessions(this.state.connection, {
      keyPrefix: this.state.keyPrefix,
      masterKey: this.#masterKey,
      ...options,
    });
  }

  /**
   * Readiness of each part, for `/readyz`. Shared state is pinged (within
   * `state.commandTimeoutMs`): a Redis that holds the socket open but answers nothing is not
   * ready.
   */
  async readiness(): Promise<{
    ready: boolean;
    upstreams: ReturnType<UpstreamManager["status"]>;
    index: ToolIndexStatus;
    sandbox: ReturnType<Sandbox["stats"]>;
    state: StateHealth;
  }> {
    const state = await this.state.probe();
    const upstreams = this.upstream.status();
    const sandbox = this.sandbox.stats();
    return {
      ready: !this.#draining && upstreams.every((u) => u.state === "ready") &&
        (sandbox.poolSize === 0 || sandbox.poolReady > 0) && state.up,
      upstreams,
      index: this.index.status(),
      sandbox,
      state,
    };
  }

  /**
   * Stops taking executions, waits for running ones (up to `drainMs`, or until
   * `options.signal` aborts: a second shutdown signal), ends those still running, waits for
   * their audit records, then writes the audit queue and stops all. Idempotent: a second call
   * returns the first one's promise (its arguments are ignored). Never rejects.
   * @param drainMs how long running executions may still finish, in ms (default 10,000)
   * @returns what the shutdown could not do: see {@linkcode CloseReport}
   */
  close(drainMs = 10_000, options: { signal?: AbortSignal } = {}): Promise<CloseReport> {
    this.#closing ??= this.#close(drainMs, options.signal);
    return this.#closing;
  }

  async #close(drainMs: number, signal: AbortSignal | undefined): Promise<CloseReport> {
    this.#draining = true;
    // Losses are counted from here on: the shutdown reports its own, not the process's past.
    this.#auditLost = 0;
    // Nobody will answer now: waiting calls are withdrawn so their executions can finish.
    await this.#step("approvals", () => this.approvals.close());
    const running = this.#inFlight.size;
    const cut = await unsettledAfter([...this.#inFlight], drainMs, signal);
    await this.#step("type checker", () => this.#typeChecker?.close());
    await this.#step("sandbox", () => this.sandbox.close());
    await this.#step("upstream", () => this.upstream.close());
    // Executions ended just now settle and queue their records (tool calls that reached
    // upstream are recorded even for a failed execution): the audit must not close first.
    const unrecorded = await unsettledAfter([...this.#inFlight], RECORD_WAIT_MS);
    this.speculation.close();
    await this.#step("state", () => this.state.close());
    await this.#step("audit", () => this.auditSink?.close());
    // The offline encoder runs in a Worker, which would keep the process alive.
    (await this.#embedder.catch(() => undefined))?.close?.();
    return { running, cut, unrecorded, auditLost: this.#auditLost };
  }

  /** One step of {@link close}: a failure is logged and the shutdown goes on. */
  async #step(name: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#log({ level: "error", msg: `shutdown: closing ${name} failed`, error: String(error) });
    }
  }
}

/** How long executions ended by the shutdown may take to settle and queue their records, in ms. */
const RECORD_WAIT_MS = 5000;

/**
 * The speculation of the whole gateway: the write epochs of the upstream servers, the
 * session read cache, the predictor, per-tenant counters, and a {@linkcode SpeculationRun}
 * for each execution.
 *
 * @module
 */

import { globToRegExp } from "../tenants.ts";
import { CACHE_LIMITS, type CacheLimits, type CacheTenantStats, SessionCache } from "./cache.ts";
import { WriteEpochs } from "./epochs.ts";
import type { SpeculationPolicy } from "./policy.ts";
import { Predictor, type PredictorStats } from "./predictor.ts";
import { MAX_SCANNED_CODE_CHARS, type RunContext, SpeculationRun } from "./run.ts";
import type { CandidateCall } from "./scan.ts";
import { Scanner } from "./scanner.ts";
import { type SharedCacheBackend, SharedReadCache } from "./shared_cache.ts";

/** Options of {@linkcode Speculation}. */
export interface SpeculationOptions {
  /** Cache bounds (default {@linkcode CACHE_LIMITS}). */
  cacheLimits?: CacheLimits;
  /**
   * How long after a write its server did not answer (cancelled, timed out) nothing of that
   * server is served or kept, in ms (default 30,000; the gateway passes its tool timeout).
   */
  unsettledMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  /**
   * The top-level `speculation.readOnly` globs: with the tools' annotations, what makes a call
   * read-only for invalidation (a tenant's own globs may only narrow what it speculates).
   */
  readOnly?: readonly string[];
  /** Servers that share no state with any other: their own write epoch (default none). */
  isolatedServers?: readonly string[];
  /**
   * State is shared between replicas (`state.url`): the session cache is off until
   * {@linkcode Speculation.share} gives it the shared store (another replica's writes would
   * not be seen by a cache of this process alone).
   */
  sharedState?: boolean;
  /** Log sink (the shared cache's failures). */
  log?: (event: Record<string, unknown>) => void;
}

/** Prefetch counters of one tenant. */
export interface PrefetchStats {
  tenant: string;
  literal: { used: number; unused: number };
  predicted: { used: number; unused: number };
}

/** Everything `/metrics` shows about speculation. */
export interface SpeculationStats {
  prefetches: PrefetchStats[];
  cache: CacheTenantStats[];
  prediction: PredictorStats[];
  /** Failed operations of the shared cache (each went upstream instead); 0 without one. */
  cacheFailures: number;
}

/** One call of an audited execution, for learning. */
export interface HistoryCall {
  tool: string;
  ok: boolean;
  /** `unused` prefetches are skipped: the code never made them. */
  speculation?: string;
}

/** What {@linkcode Speculation.begin} needs besides the tenant's policy. */
export type BeginContext = Omit<RunContext, "readOnlyGlobs" | "sharedReadOnly" | "policy">;

/** The gateway's speculation state. */
export class Speculation {
  /** Write epochs of every upstream server. */
  readonly epochs: WriteEpochs;
  /** The session read cache. */
  readonly cache: SessionCache;
  /** The transition graphs. */
  readonly predictor: Predictor;
  #counts = new Map<string, PrefetchStats>();
  #globs = new WeakMap<readonly string[], RegExp[]>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  readonly #limits: CacheLimits;
  readonly #sharedReadOnly: readonly string[];
  readonly #sharedState: boolean;
  readonly #unsettledMs: number;
  readonly #log: (event: Record<string, unknown>) => void;
  /** The session cache shared by replicas, once {@linkcode share}d. */
  #shared: SharedReadCache | undefined;
  /** The literal-call scan, in a Worker. */
  readonly scanner = new Scanner();

  constructor(options: SpeculationOptions = {}) {
    this.epochs = new WriteEpochs(options.unsettledMs, options.now, options.isolatedServers);
    this.#limits = options.cacheLimits ?? CACHE_LIMITS;
    this.#sharedReadOnly = options.readOnly ?? [];
    this.#sharedState = options.sharedState ?? false;
    this.#unsettledMs = options.unsettledMs ?? 30_000;
    this.#log = options.log ?? (() => {});
    this.cache = new SessionCache(this.epochs, this.#limits, options.now);
    this.predictor = new Predictor(options.now);
    // Expired entries would otherwise stay until their session writes again.
    this.#sweep = setInterval(() => this.cache.sweep(), 30_000);
    Deno.unrefTimer(this.#sweep as unknown as number);
  }

  /**
   * Keeps the session cache in `store` (Redis, shared by replicas) from now on, with its
   * writes voiding every replica's reads. Called once shared state is set up.
   */
  share(store: SharedCacheBackend): void {
    this.#shared = new SharedReadCache(store, this.epochs, {
      limits: this.#limits,
      unsettledMs: this.#unsettledMs,
      log: this.#log,
    });
  }

  /** `server` restarted, failed or changed: what it returned before is void, everywhere. */
  resetServer(server: string): void {
    this.epochs.reset(server);
    this.#shared?.reset(server);
  }

  /** The speculation of one execution under `policy`. */
  begin(policy: SpeculationPolicy, ctx: BeginContext): SpeculationRun {
    // With replicas and no shared store yet, another replica's write would not void what
    // this one keeps.
    if (this.#sharedState && !this.#shared && policy.ttlSeconds > 0) {
      policy = { ...policy, ttlSeconds: 0 };
    }
    return new SpeculationRun({
      ...ctx,
      policy,
      readOnlyGlobs: this.#compiled(policy.readOnly),
      sharedReadOnly: this.#compiled(this.#sharedReadOnly),
    }, {
      epochs: this.epochs,
      cache: this.cache,
      shared: this.#shared,
      limits: this.#limits,
      scan: (code, tenant) => this.scanner.scan(code, tenant),
      predictor: this.predictor,
      count: (tenant, source, used) => {
        let c = this.#counts.get(tenant);
        if (!c) {
          c = { tenant, literal: { used: 0, unused: 0 }, predicted: { used: 0, unused: 0 } };
          this.#counts.set(tenant, c);
        }
        c[source][used ? "used" : "unused"]++;
        if (source === "predicted") this.predictor.judge(tenant, used);
      },
    });
  }

  /**
   * Starts the literal-call scan of `code` early (it sends nothing upstream): pass the result
   * to {@linkcode begin} as `scan`. Undefined when the tenant gets no literal prefetch.
   */
  scan(
    code: string,
    tenant: string,
    policy: SpeculationPolicy,
  ): Promise<CandidateCall[]> | undefined {
    if (!policy.enabled || policy.maxPrefetchPerExecution <= 0) return undefined;
    if (code.length > MAX_SCANNED_CODE_CHARS) return undefined;
    return this.scanner.scan(code, tenant);
  }

  /** Compiled globs, the same array for the same list (identity tells "not overridden"). */
  #compiled(list: readonly string[]): RegExp[] {
    let globs = this.#globs.get(list);
    if (!globs) {
      globs = list.map(globToRegExp);
      this.#globs.set(list, globs);
    }
    return globs;
  }

  /**
   * Counts the transitions of past executions of `tenant` (oldest first), as the audit keeps
   * them: consecutive successful calls the code made.
   */
  learnHistory(tenant: string, executions: Iterable<readonly HistoryCall[]>): void {
    for (const calls of executions) {
      let previous: string | undefined;
      for (const call of calls) {
        if (call.speculation === "unused" || !call.ok) continue;
        if (previous !== undefined) this.predictor.count(tenant, previous, call.tool);
        previous = call.tool;
      }
    }
  }

  /** Figures for `/metrics`. */
  stats(): SpeculationStats {
    return {
      prefetches: [...this.#counts.values()],
      cache: mergeShared(this.cache.stats(), this.#shared?.counts() ?? []),
      prediction: this.predictor.stats(),
      cacheFailures: this.#shared?.failures ?? 0,
    };
  }

  /** Stops the sweep timer and the scan's Worker. */
  close(): void {
    clearInterval(this.#sweep);
    this.scanner.close();
    this.#shared?.close();
  }
}

/** Adds the shared cache's hits, misses and evictions to this process's per-tenant figures. */
function mergeShared(
  local: CacheTenantStats[],
  shared: ReturnType<SharedReadCache["counts"]>,
): CacheTenantStats[] {
  const byTenant = new Map(local.map((s) => [s.tenant, { ...s }]));
  for (const c of shared) {
    const s = byTenant.get(c.tenant) ?? {
      tenant: c.tenant,
      sessions: 0,
      entries: 0,
      chars: 0,
      held: 0,
      hits: 0,
      misses: 0,
      evictions: 0,
    };
    s.hits += c.hits;
    s.misses += c.misses;
    s.evictions += c.evictions;
    byTenant.set(c.tenant, s);
  }
  return [...byTenant.values()];
}

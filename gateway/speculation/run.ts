/**
 * The speculation of one execution: starts the literal prefetches found by the static scan,
 * serves the code's calls from them or from the session cache, keeps fresh reads for the
 * session, starts predicted calls, and tells writes apart so that nothing fetched before a
 * write is served after it. The bridge calls {@linkcode SpeculationRun.start} for every call
 * that passed its checks (allowed, arguments valid, placeholders restored) and nothing else:
 * what a prefetch or the cache returns is a raw upstream result that then goes through the
 * bridge's own conversion and re-tokenizing, exactly like a fresh one.
 *
 * @module
 */

import type { CallToolResult, ToolInfo } from "../../upstream/mod.ts";
import type { NameMap } from "../../wrappers/mod.ts";
import { compileOutputSchema } from "../../upstream/mod.ts";
import { canonicalJson } from "./canonical.ts";
import { type CacheLimits, resultChars, type SessionCache } from "./cache.ts";
import type { WriteEpochs } from "./epochs.ts";
import type { SharedReadCache } from "./shared_cache.ts";
import { carriesPersonalData } from "./personal.ts";
import { isReadOnly, type SpeculationPolicy } from "./policy.ts";
import type { ObservedCall, Predictor } from "./predictor.ts";
import { type CandidateCall, resolveCandidates } from "./scan.ts";

/**
 * Longest code the static scan parses, in UTF-16 units; longer code gets no literal prefetch.
 * The parse runs in the scan's Worker (`scanner.ts`), never on the shared event loop.
 */
export const MAX_SCANNED_CODE_CHARS = 64 * 1024;

/**
 * How long a read-only call of the code waits for a scan still running in the Worker (it then
 * finds its prefetch, started at once), in ms. The worker usually answers in a few ms; the
 * bound keeps a slow scan (another tenant's, a loaded machine) from delaying a call by more.
 */
export const SCAN_WAIT_MS = 100;

/** Where a served result came from. */
export type ServedFrom = "prefetched" | "cached";

/** A result served without a new upstream call. */
export interface ServedResult {
  result: CallToolResult;
  from: ServedFrom;
}

/** The speculation side of one tool call (see {@linkcode SpeculationRun.start}). */
export interface SpeculativeCall {
  /** A prefetched or cached result for this call, or `undefined`: then call upstream. Never rejects. */
  served(): Promise<ServedResult | undefined>;
  /**
   * The upstream answered this call (not served), whatever the answer: a read's result may be
   * kept for the session; a write is known to have reached its server.
   */
  fetched(result: CallToolResult): void;
  /** The call is over; `value` is what the code got when it succeeded. Idempotent. */
  end(ok: boolean, value?: unknown): void;
}

/** The hook the tool bridge calls. */
export interface CallSpeculation {
  /**
   * A call to `tool` passed the bridge's checks: `args` as the code sent them, `upstreamArgs`
   * as they go upstream (placeholders restored).
   */
  start(
    tool: ToolInfo,
    args: Record<string, unknown>,
    upstreamArgs: Record<string, unknown>,
  ): SpeculativeCall;
}

/** A prefetch that reached (or was on its way to) an upstream server but was not used. */
export interface UnusedPrefetch {
  tool: string;
  ms: number;
  ok: boolean;
  outcome: "ok" | "error" | "cancelled";
  source: "literal" | "predicted";
}

/** What a run needs. */
export interface RunContext {
  tenant: string;
  /**
   * The caller's API key as the config stores it (`""` without auth): what the predictor
   * learned of argument values is kept and used per key, never across keys.
   */
  key: string;
  policy: SpeculationPolicy;
  /** Compiled `policy.readOnly` (the tenant's globs: they may only narrow `sharedReadOnly`). */
  readOnlyGlobs: readonly RegExp[];
  /**
   * Compiled top-level `speculation.readOnly`: with the annotations, what decides whether a
   * call is a write (voids everyone's reads). A tenant's own globs never decide that.
   */
  sharedReadOnly: readonly RegExp[];
  /** The session cache key (tenant, API key, session), when the execution has a session. */
  session?: string;
  code: string;
  names: NameMap;
  tool(id: string): ToolInfo | undefined;
  /** Whether this execution may call the tool (tenant policy narrowed by the request). */
  allowed(id: string): boolean;
  /** Whether the tool waits for a human's approval for this tenant (never prefetched). */
  needsApproval(id: string): boolean;
  callTool(
    server: string,
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<CallToolResult>;
  restorePii?(args: Record<string, unknown>, used: Map<string, string>): Record<string, unknown>;
  /** The scan of `code` when already started ({@linkcode SpeculationRun} starts it otherwise). */
  scan?: Promise<CandidateCall[]>;
  /**
   * Takes one call of the execution's budget (`sandbox.maxToolCalls`) for a prefetch; false
   * when none is left (then nothing is prefetched). Absent: no budget.
   */
  budget?(): boolean;
}

/** Shared state a run uses. */
export interface RunShared {
  epochs: WriteEpochs;
  cache: SessionCache;
  /**
   * With shared state: the session cache and write epochs in Redis, shared by replicas (then
   * `cache` keeps no entries, only the held prefetches' accounting).
   */
  shared?: SharedReadCache;
  /** The cache's bounds: a held prefetch is bounded like an entry and a session. */
  limits: CacheLimits;
  predictor: Predictor;
  /** The syntax scan of `code`, off the event loop; never rejects (none: no candidates). */
  scan(code: string, tenant: string): Promise<CandidateCall[]>;
  /** Counts a finished prefetch (metrics). */
  count(tenant: string, source: "literal" | "predicted", used: boolean): void;
}

interface Prefetch {
  tool: ToolInfo;
  source: "literal" | "predicted";
  started: number;
  epoch: number;
  /** The shared epoch it was fetched under (shared state), undefined: not servable. */
  sharedEpoch?: number;
  /**
   * Shared state only: `cached` when the shared cache had the result (no upstream call),
   * `skipped` when nothing was sent (a write in flight, Redis failed, no budget left). Neither
   * is a prefetch on the record.
   */
  local?: "cached" | "skipped";
  promise: Promise<CallToolResult | undefined>;
  settled?: { ms: number; outcome: "ok" | "error" };
  /** UTF-16 units held for its result (released when served or dropped). */
  held: number;
}

/** The speculation of one execution. */
export class SpeculationRun implements CallSpeculation {
  readonly #ctx: RunContext;
  readonly #shared: RunShared;
  #prefetches = new Map<string, Prefetch>();
  #unused: Prefetch[] = [];
  #made = 0;
  #abort = new AbortController();
  #closed = false;
  #previous: ObservedCall | undefined;
  /** UTF-16 units of prefetched results this execution holds. */
  #held = 0;
  /** The scan of the code, started with the run (it sends nothing upstream). */
  #scan: Promise<CandidateCall[]> | undefined;
  /** The literal prefetches, once started (pending while the scan runs). */
  #launched: Promise<void> | undefined;
  #launchPending = false;
  /** Keys of the calls the code has made: a prefetch that would come late is not started. */
  #called = new Set<string>();

  constructor(ctx: RunContext, shared: RunShared) {
    this.#ctx = ctx;
    this.#shared = shared;
    const { policy, code } = ctx;
    if (
      policy.enabled && policy.maxPrefetchPerExecution > 0 && code.length <= MAX_SCANNED_CODE_CHARS
    ) {
      this.#scan = ctx.scan ?? shared.scan(code, ctx.tenant);
    }
  }

  /** Whether anything is speculated for this execution (writes are tracked either way). */
  get active(): boolean {
    return this.#ctx.policy.enabled;
  }

  /**
   * Starts the prefetches of the literal read-only calls in the code. Call it once the
   * execution is admitted (has its sandbox slot): an execution refused or abandoned before
   * that has made no upstream call.
   */
  launch(): Promise<void> {
    const { policy, names } = this.#ctx;
    if (!this.#scan || this.#launched) return this.#launched ?? Promise.resolve();
    this.#launchPending = true;
    this.#launched = this.#scan.then((candidates) => {
      this.#launchPending = false;
      if (this.#closed) return;
      // Generous: calls that are not read-only or not allowed are dropped by #prefetch.
      const calls = resolveCandidates(candidates, names, policy.maxPrefetchPerExecution * 4);
      for (const call of calls) this.#prefetch(call.tool, call.args, "literal");
    }, () => {
      this.#launchPending = false;
    });
    return this.#launched;
  }

  /** Waits (at most {@linkcode SCAN_WAIT_MS}) for literal prefetches still being found. */
  async #scanned(): Promise<void> {
    if (!this.#launchPending || !this.#launched) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#launched,
      new Promise<void>((resolve) => timer = setTimeout(resolve, SCAN_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }

  /** See {@linkcode CallSpeculation.start}. */
  start(
    tool: ToolInfo,
    args: Record<string, unknown>,
    upstreamArgs: Record<string, unknown>,
  ): SpeculativeCall {
    const ctx = this.#ctx;
    const { epochs, cache, shared } = this.#shared;
    if (!isReadOnly(tool, ctx.sharedReadOnly)) {
      // Whether or not this tenant speculates: every cached or prefetched read of this server,
      // and of every server that may share its state, anyone's, is void from now on.
      const endWrite = epochs.beginWrite(tool.server);
      if (ctx.session) cache.clearServer(ctx.tenant, ctx.session, tool.server);
      // Every replica's too: the write goes upstream only once the shared epoch is bumped.
      const endShared = shared?.beginWrite(tool.server);
      let answered = false;
      return {
        served: async () => {
          await endShared;
          return undefined;
        },
        fetched: () => answered = true,
        end: (ok) => {
          endWrite(answered);
          endShared?.then((end) => end(answered));
          if (ok) this.#learn({ tool: tool.id, args });
        },
      };
    }
    if (!this.#speculable(tool)) {
      // Read-only, but this tenant's own `readOnly` leaves it out: a plain call.
      return {
        served: () => Promise.resolve(undefined),
        fetched: () => {},
        end: () => {},
      };
    }
    const epoch = epochs.of(tool.server);
    /** The shared epoch seen by the look-up (shared state): what a fresh result is kept under. */
    let sharedEpoch: number | undefined;
    const json = canonicalJson(upstreamArgs);
    // A call that waits for a person is neither served from nor kept in the cache.
    const key = json === undefined || ctx.needsApproval(tool.id)
      ? undefined
      : `${tool.id}\0${json}`;
    // Calls known to follow this one whatever it returns start now, beside it.
    this.#chain({ tool: tool.id, args });
    let ended = false;
    return {
      served: async () => {
        if (!ctx.policy.enabled || key === undefined || this.#closed) return undefined;
        await this.#scanned();
        // From here on a prefetch of this call would come too late: none is started.
        this.#called.add(key);
        const prefetch = this.#prefetches.get(key);
        if (prefetch) {
          // A prefetch serves one call; a stale or failed one is left unused.
          this.#prefetches.delete(key);
          const result = await prefetch.promise;
          // The result goes to the call (or is dropped): this execution holds it no more.
          this.#release(prefetch);
          if (
            result && !result.isError && epochs.current(tool.server, prefetch.epoch) &&
            (!shared || await shared.current(tool.server, prefetch.sharedEpoch))
          ) {
            if (prefetch.local === "cached") return { result, from: "cached" };
            this.#shared.count(ctx.tenant, prefetch.source, true);
            if (ctx.session) {
              this.#keep(key, tool.server, result, prefetch.epoch, prefetch.sharedEpoch);
            }
            return { result, from: "prefetched" };
          }
          if (!prefetch.local) this.#unused.push(prefetch);
        }
        if (shared && ctx.session && ctx.policy.ttlSeconds > 0) {
          // The entry and the shared epoch in one round trip; a miss (or a failure) goes upstream.
          const found = await shared.lookup(ctx.tenant, ctx.session, key, tool.server);
          sharedEpoch = found.epoch;
          if (found.result && epochs.current(tool.server, epoch)) {
            return { result: found.result, from: "cached" };
          }
          return undefined;
        }
        if (ctx.session && ctx.policy.ttlSeconds > 0) {
          const result = cache.get(ctx.tenant, ctx.session, key);
          if (result) return { result, from: "cached" };
        }
        return undefined;
      },
      fetched: (result) => {
        if (ctx.policy.enabled && ctx.session && key !== undefined) {
          this.#keep(key, tool.server, result, epoch, sharedEpoch);
        }
      },
      end: (ok, value) => {
        if (ended) return;
        ended = true;
        if (ok) this.#learn({ tool: tool.id, args, value });
      },
    };
  }

  /**
   * Ends the run: prefetches still in flight are cancelled at their servers, predictions are
   * judged, and the prefetches that were never used are returned for the record.
   */
  close(): UnusedPrefetch[] {
    if (this.#closed) return [];
    this.#closed = true;
    this.#abort.abort(new Error("the execution ended"));
    const now = performance.now();
    const all = [...this.#unused, ...this.#prefetches.values()];
    this.#prefetches.clear();
    for (const p of all) this.#release(p);
    // A result the shared cache had, or a prefetch never sent, made no upstream call.
    const unused = all.filter((p) => !p.local);
    return unused.map((p) => {
      this.#shared.count(this.#ctx.tenant, p.source, false);
      return {
        tool: p.tool.id,
        ms: round(p.settled?.ms ?? now - p.started),
        ok: p.settled?.outcome === "ok",
        outcome: p.settled?.outcome ?? "cancelled",
        source: p.source,
      };
    });
  }

  /** Whether this tenant speculates on a tool that is read-only for everyone. */
  #speculable(tool: ToolInfo): boolean {
    const ctx = this.#ctx;
    if (ctx.readOnlyGlobs === ctx.sharedReadOnly) return true;
    return isReadOnly(tool, ctx.readOnlyGlobs);
  }

  #release(prefetch: Prefetch): void {
    if (prefetch.held === 0) return;
    this.#shared.cache.release(this.#ctx.tenant, prefetch.held);
    this.#held -= prefetch.held;
    prefetch.held = 0;
  }

  /**
   * Whether a prefetched result of `chars` UTF-16 units may be held until the code asks for
   * it: at most one cache entry's size, at most a session's worth per execution, and within
   * the tenant's room in the cache's accounting.
   */
  #hold(prefetch: Prefetch, chars: number): boolean {
    const { limits, cache } = this.#shared;
    if (this.#closed || chars > limits.maxCharsPerEntry) return false;
    if (this.#held + chars > limits.maxCharsPerSession) return false;
    if (!cache.hold(this.#ctx.tenant, chars)) return false;
    this.#held += chars;
    prefetch.held = chars;
    return true;
  }

  #keep(
    key: string,
    server: string,
    result: CallToolResult,
    epoch: number,
    sharedEpoch: number | undefined,
  ): void {
    const ctx = this.#ctx;
    const { shared, epochs } = this.#shared;
    if (shared) {
      // Kept in Redis only if no write (through any replica) came since `sharedEpoch`.
      if (!epochs.current(server, epoch)) return;
      shared.put(
        ctx.tenant,
        ctx.session!,
        key,
        server,
        result,
        sharedEpoch,
        ctx.policy.ttlSeconds * 1000,
      );
      return;
    }
    this.#shared.cache.put(
      ctx.tenant,
      ctx.session!,
      key,
      server,
      result,
      epoch,
      ctx.policy.ttlSeconds * 1000,
    );
  }

  /** Learns the step from the previous call to `call`, then starts what is predicted next. */
  #learn(call: ObservedCall): void {
    const ctx = this.#ctx;
    if (!ctx.policy.enabled) return;
    const { predictor } = this.#shared;
    if (this.#previous) {
      predictor.observe(ctx.tenant, this.#previous, call, ctx.key);
      predictor.observeCall(ctx.tenant, this.#previous, call, ctx.key);
    }
    this.#previous = call;
    if (this.#closed) return;
    for (const p of predictor.predict(ctx.tenant, call, ctx.policy.minConfidence, ctx.key)) {
      this.#prefetch(p.tool, p.args, "predicted");
    }
  }

  /** Starts the chain of exact calls predicted to follow `call`. */
  #chain(call: ObservedCall): void {
    const ctx = this.#ctx;
    if (!ctx.policy.enabled || this.#closed) return;
    const left = ctx.policy.maxPrefetchPerExecution - this.#made;
    if (left <= 0) return;
    const chain = this.#shared.predictor.chain(
      ctx.tenant,
      call,
      ctx.policy.minConfidence,
      left,
      ctx.key,
    );
    for (const p of chain) {
      // A write ahead would void whatever follows it: the chain stops there.
      const next = ctx.tool(p.tool);
      if (!next || !isReadOnly(next, ctx.sharedReadOnly)) break;
      this.#prefetch(p.tool, p.args, "predicted");
    }
  }

  #prefetch(id: string, args: Record<string, unknown>, source: "literal" | "predicted"): void {
    const ctx = this.#ctx;
    const { epochs, cache, shared } = this.#shared;
    if (this.#closed || this.#made >= ctx.policy.maxPrefetchPerExecution) return;
    const tool = ctx.tool(id);
    // Exactly the checks of a real call, and only tools that cannot change anything.
    if (!tool || !ctx.allowed(id) || ctx.needsApproval(id)) return;
    if (!isReadOnly(tool, ctx.sharedReadOnly) || !this.#speculable(tool)) return;
    const compiled = compileOutputSchema(tool.inputSchema);
    if (typeof compiled === "function" && !compiled(args)) return;
    // Arguments with a placeholder or personal data are left to the code's own call: a
    // prefetch never sends a value the code did not send.
    const codeJson = canonicalJson(args);
    if (codeJson === undefined || carriesPersonalData(codeJson)) return;
    let upstreamArgs = args;
    try {
      upstreamArgs = ctx.restorePii?.(args, new Map()) ?? args;
    } catch {
      return;
    }
    const json = canonicalJson(upstreamArgs);
    if (json === undefined) return;
    const key = `${id}\0${json}`;
    if (this.#prefetches.has(key) || this.#called.has(key)) return;
    // Already kept for the session: the call will be served from there.
    if (
      !shared && ctx.session && ctx.policy.ttlSeconds > 0 &&
      cache.has(ctx.tenant, ctx.session, key)
    ) {
      return;
    }
    const epoch = epochs.of(tool.server);
    if (!epochs.current(tool.server, epoch)) return; // a write is in flight
    // A prefetch is a call of the execution: it takes one from `maxToolCalls` (with shared
    // state once the shared cache missed: a hit sends nothing).
    if (!shared && ctx.budget && !ctx.budget()) return;
    this.#made++;
    const started = performance.now();
    const prefetch: Prefetch = {
      tool,
      source,
      started,
      epoch,
      promise: Promise.resolve(undefined),
      held: 0,
    };
    // With shared state the shared cache (or epoch) is read first, in one round trip: a hit
    // is the result; a write through another replica after it voids the prefetch; a write in
    // flight or a failure sends nothing (the code's call goes upstream).
    const found = !shared
      ? Promise.resolve(undefined)
      : ctx.session && ctx.policy.ttlSeconds > 0
      ? shared.lookup(ctx.tenant, ctx.session, key, tool.server)
      : shared.epoch(tool.server).then((e) => ({ epoch: e, result: undefined }));
    prefetch.promise = found.then((found) => {
      if (!found) return ctx.callTool(tool.server, tool.name, upstreamArgs, this.#abort.signal);
      prefetch.sharedEpoch = found.epoch;
      if (found.result) {
        prefetch.local = "cached";
        return found.result;
      }
      if (found.epoch === undefined || this.#closed || (ctx.budget && !ctx.budget())) {
        prefetch.local = "skipped";
        throw new Error("not sent");
      }
      return ctx.callTool(tool.server, tool.name, upstreamArgs, this.#abort.signal);
    })
      .then((result) => {
        prefetch.settled = {
          ms: performance.now() - started,
          outcome: result.isError ? "error" : "ok",
        };
        // Too big to hold (or no room): on the record as unused, the code's call goes upstream.
        if (!this.#hold(prefetch, resultChars(result, this.#shared.limits.maxCharsPerEntry))) {
          return undefined;
        }
        return result;
      }, () => {
        prefetch.settled = { ms: performance.now() - started, outcome: "error" };
        return undefined;
      });
    this.#prefetches.set(key, prefetch);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

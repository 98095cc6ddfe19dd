/**
 * The pipeline of one execution: limits → tool selection → typed prelude → sandbox
 * (tool calls through the bridge) → redaction → response.
 *
 * @module
 */

import {
  detokenizeValue,
  JudgedValues,
  mergeCounts,
  redactKeyedText,
  redactLogLine,
  redactRenderedText,
  redactValueAsync,
  retokenizeValueAsync,
  Vault,
} from "../pii/mod.ts";
import type { OriginOf, PiiType, RedactionCounts, RedactionOptions } from "../pii/mod.ts";
import type { LogEntry, RunResult, Sandbox, SandboxLimits } from "../sandbox/mod.ts";
import type { ToolInfo, UpstreamManager } from "../upstream/mod.ts";
import { generatePrelude, type NameMap, selectTools, type ToolIndex } from "../wrappers/mod.ts";
import { ToolBridge, type ToolCallRecord, type ToolSearchHit } from "./bridge.ts";
import { type ApprovalBroker, type ApprovalChannel, approvalGate } from "./approval/mod.ts";
import { type CallJournal, journaledSend, journaledSpeculation } from "./call_journal.ts";
import { runPrepared } from "./code_prep.ts";
import type { Config } from "./config.ts";
import { GatewayError } from "./errors.ts";
import type { ExecuteRequest, ExecuteResponse } from "./schemas.ts";
import type { Tenant } from "./tenants.ts";
import type { Speculation, UnusedPrefetch } from "./speculation/mod.ts";
import { type OpenVault, renamePlaceholders } from "./session_vaults.ts";
import { originInCode } from "./value_origin.ts";
import { hideJudgedValues } from "./judged_response.ts";
import {
  type CheckDeclarations,
  type CheckOutcome,
  refusalResponse,
  typeCheck,
} from "./type_check.ts";
import type { TypeChecker } from "../typecheck/mod.ts";

/**
 * The most that restoring PII placeholders may add to one tool call's arguments, in UTF-16
 * units (1 Mi). Past it the call is refused and never reaches the server.
 */
export const MAX_RESTORED_CHARS = 1024 * 1024;

/** Who is asking, as established by the HTTP or MCP layer. */
export interface Caller {
  /** The caller's tenant. */
  tenant: Tenant;
  /** A request id for logs and audit. */
  requestId: string;
  /**
   * The execution's id, a random UUID the gateway draws in `Gateway.execute`: its audit row
   * and its approval requests (and their SSE events) carry it.
   */
  executionId?: string;
  /** Stable PII placeholders across executions of this session, when given. */
  sessionId?: string;
  /**
   * `sha256:` hash of the caller's API key as the config stores it; `""` without auth. A
   * session's PII vault belongs to that key: another key of the tenant that knows the
   * session id gets a different, empty vault.
   */
  keyId?: string;
  /** Cancels the execution. */
  signal?: AbortSignal;
  /** Which interface the request came through. */
  transport?: "http" | "mcp" | "cli";
  /** Receives console lines as they are written (MCP progress). */
  onLog?: (entry: LogEntry) => void;
  /**
   * How this caller reaches a person when a call needs approval (an SSE stream, an MCP
   * client with elicitation, a plain HTTP request answered over `/v1/approvals`); absent:
   * nobody can be asked, and the policy's `onUnavailable` decides.
   */
  approvals?: ApprovalChannel;
}

/** The maxima a caller's request limits are checked against. */
export type LimitMaxima = Pick<SandboxLimits, "timeoutMs" | "memoryMb" | "maxOutputBytes">;

/**
 * Merges a request's limits with the defaults, refusing any above the maxima.
 * @throws GatewayError `invalid_request` naming the field
 */
export function resolveLimits(
  requested: ExecuteRequest["limits"],
  defaults: SandboxLimits,
  maxima: LimitMaxima,
): SandboxLimits {
  const limits = { ...defaults };
  for (const key of ["timeoutMs", "memoryMb", "maxOutputBytes"] as const) {
    const value = requested?.[key];
    if (value === undefined) {
      limits[key] = Math.min(limits[key], maxima[key]);
      continue;
    }
    if (value > maxima[key]) {
      throw new GatewayError(
        "invalid_request",
        `limits.${key}: ${value} is above this tenant's maximum of ${maxima[key]}`,
      );
    }
    limits[key] = value;
  }
  return limits;
}

/** What the pipeline needs from the gateway. */
export interface PipelineDeps {
  config: Config;
  sandbox: Sandbox;
  upstream: UpstreamManager;
  index: ToolIndex;
  /** The naming of the current catalogue. */
  names(): NameMap;
  /** Whether the tenant may use a tool at all. */
  allows(tenant: Tenant, id: string): boolean;
  /** Opens the vault of a session (tokenize mode) for this execution. */
  vaultFor(sessionId: string): Promise<OpenVault>;
  /** Searches the tools a tenant may use, narrowed further by `allowed` when given. */
  search(
    tenant: Tenant,
    query: string,
    k: number,
    allowed?: (id: string) => boolean,
  ): Promise<ToolSearchHit[]>;
  /** Speculation (prefetch, session cache, prediction); none: every call goes upstream. */
  speculation?: Speculation;
  /** The session cache key of the caller's session (tenant, API key, session id). */
  sessionKey?: string;
  /** Receives the prefetches the code never used (they reached upstream: for the audit). */
  onUnusedPrefetches?: (unused: UnusedPrefetch[]) => void;
  /** Holds calls that wait for a person (see `gateway/approval/`). */
  approvals?: ApprovalBroker;
  /**
   * The execution's write-ahead journal: told of every upstream send (the code's calls and
   * prefetches) as it is made, so the audit holds it even if the process dies before the
   * execution ends. None: only the final record is written.
   */
  journal?: CallJournal;
  /** The type checker for `check: true` (without it, checks are skipped). */
  typeCheck?: {
    checker(): TypeChecker;
    declarations: CheckDeclarations;
    timeoutMs: number;
    /** Counts each check (metrics). */
    observe?: (tenant: string, outcome: CheckOutcome, ms: number) => void;
  };
}

/**
 * The redaction settings for a tenant, with the vault to use and where the values that get
 * placeholders came from (see `value_origin.ts`; default `upstream`).
 */
export function redactionOptions(
  tenant: Tenant,
  vault?: Vault,
  origin?: OriginOf,
): RedactionOptions {
  return {
    mode: tenant.pii.mode,
    types: tenant.pii.types as PiiType[],
    allow: tenant.pii.allow,
    vault,
    origin,
  };
}

/**
 * Checks the request's `tools` list against the catalogue and the tenant's policy.
 * @throws GatewayError `forbidden` (not allowed) or `invalid_request` (unknown)
 */
function checkRequestedTools(deps: PipelineDeps, request: ExecuteRequest, tenant: Tenant) {
  for (const id of request.tools ?? []) {
    if (!deps.allows(tenant, id)) {
      throw new GatewayError("forbidden", `tool ${id} is not allowed for tenant ${tenant.id}`);
    }
    if (!deps.upstream.tool(id)) {
      throw new GatewayError(
        "invalid_request",
        `tools: unknown tool ${id} (or its server is not available now)`,
      );
    }
  }
}

/**
 * Runs one request through the pipeline and shapes the response. With a session, its vault
 * is opened first and the mappings the execution added are committed before the response
 * goes out (with shared state, a placeholder another replica took meanwhile is renamed in the
 * response).
 * @throws GatewayError `state_unavailable` when the session's shared vault cannot be read;
 *   ExecutionFailure (cause `state_unavailable`) when it cannot be written after the run
 */
export async function executeCode(
  deps: PipelineDeps,
  request: ExecuteRequest,
  caller: Caller,
): Promise<ExecuteResponse> {
  const session = caller.sessionId ? await deps.vaultFor(caller.sessionId) : undefined;
  try {
    let response = await executeWith(deps, request, caller, session?.vault ?? new Vault());
    if (session) {
      let renames: Map<string, string | undefined>;
      try {
        renames = await session.commit();
      } catch (error) {
        throw new ExecutionFailure(
          vaultNotSaved(error, response.tools.calls.length),
          response.tools.calls,
          response.redactions,
        );
      }
      if (renames.size > 0) response = renamePlaceholders(response, renames) as ExecuteResponse;
    }
    return response;
  } finally {
    session?.release();
  }
}

async function executeWith(
  deps: PipelineDeps,
  request: ExecuteRequest,
  caller: Caller,
  vault: Vault,
): Promise<ExecuteResponse> {
  const started = performance.now();
  const tenant = caller.tenant;
  const limits = resolveLimits(request.limits, deps.sandbox.limits, tenant.maxima);
  checkRequestedTools(deps, request, tenant);

  // Values that get a placeholder in this execution are the agent's when its code has them
  // (the approval view may show them), upstream otherwise (it never does).
  const origin = originInCode(request.code);
  const narrowed = request.tools ? new Set(request.tools) : undefined;
  const allowed = (id: string) => deps.allows(tenant, id) && (!narrowed || narrowed.has(id));
  const catalogue = deps.upstream.catalogue();
  // Every tool the caller may use is listed on its namespace (`Object.keys(filesystem)`).
  const available = catalogue.filter((t) => allowed(t.id));
  const servers = [...new Set(available.map((t) => t.server))];
  // The literal-call scan runs in a Worker meanwhile (it sends nothing upstream). With no
  // tool the caller may use there is nothing to prefetch: no scan (an empty one).
  const scan = available.length > 0
    ? deps.speculation?.scan(request.code, tenant.id, tenant.speculation)
    : Promise.resolve([]);
  const selected: ToolInfo[] = await selectTools(deps.index, {
    code: request.code,
    intent: request.intent,
    explicit: request.tools,
    maxTools: deps.config.selection.maxTools,
    minScore: deps.config.selection.minScore,
    allowed,
    embeddingBudgetMs: deps.config.selection.embeddingBudgetMs ?? undefined,
    scope: tenant.id,
  });
  const names = deps.names();
  const prelude = generatePrelude({ selected, available, servers, catalogue, names });

  // `check: true`: type errors (or a check that overruns its budget) and nothing runs.
  if ((request.check ?? tenant.check) && deps.typeCheck) {
    const refusal = await typeCheck({
      checker: deps.typeCheck.checker(),
      tenant: tenant.id,
      // The tools as the caller is shown them (redacted): never raw upstream text.
      declarations: deps.typeCheck.declarations.for(
        names,
        available,
        servers,
        tenant.id,
        redactionOptions(tenant),
      ),
      code: request.code,
      signal: caller.signal,
      timeoutMs: deps.typeCheck.timeoutMs,
      observe: (outcome, ms) => deps.typeCheck?.observe?.(tenant.id, outcome, ms),
    });
    if (refusal) {
      const injected = selected.map((t) => t.id);
      return refusalResponse(
        refusal,
        injected,
        redactionOptions(tenant, vault, origin),
        performance.now() - started,
      );
    }
  }

  // Without a session the placeholders are scoped to this one execution.
  const restorePii = (args: Record<string, unknown>, used: Map<string, string>) =>
    detokenizeValue(args, vault, used, {
      limit: MAX_RESTORED_CHARS,
      remaining: MAX_RESTORED_CHARS,
    }) as Record<string, unknown>;
  // Every upstream send of the execution passes here, journaled as it is made.
  const send = (
    server: string,
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    prefetch: boolean,
  ) =>
    journaledSend(
      deps.journal,
      server,
      name,
      prefetch,
      () =>
        deps.upstream.callTool(server, name, args, {
          timeoutMs: deps.config.sandbox.toolTimeoutMs,
          signal,
          owner: tenant.id,
        }),
    );
  const callTool = (
    server: string,
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ) => send(server, name, args, signal, false);
  const gate = approvalGate(
    deps.approvals,
    caller,
    (text, key, place) =>
      redactKeyedText(text, key, redactionOptions(tenant, vault, origin), place).text,
    {
      lookup: (placeholder) => vault.lookup(placeholder),
      originOf: (placeholder) => vault.originOf(placeholder),
      // A value this execution's code writes is the agent's, whatever the vault recorded.
      valuesOf: (which) => {
        const values = vault.valuesOf(which);
        if (which === "upstream") {
          for (const value of values.keys()) if (origin(value) === "agent") values.delete(value);
        }
        return values;
      },
    },
  );
  // A prefetch takes a call of the budget and a slot of its server, like the code's calls.
  const late: { bridge?: ToolBridge } = {};
  const speculation = deps.speculation?.begin(tenant.speculation, {
    tenant: tenant.id,
    key: caller.keyId ?? "",
    scan,
    session: caller.sessionId === undefined ? undefined : deps.sessionKey,
    code: request.code,
    names,
    tool: (id) => deps.upstream.tool(id),
    allowed,
    // A call that waits for a person is never prefetched or served from the cache.
    needsApproval: (id) => {
      const tool = gate && deps.upstream.tool(id);
      return tool ? gate!.needsApproval(tool) : false;
    },
    callTool: (server, name, args, signal) =>
      late.bridge!.withSlot(server, signal, () => send(server, name, args, signal, true)),
    budget: () => late.bridge!.takePrefetch(),
    restorePii,
  });
  const bridge = new ToolBridge({
    tool: (id) => deps.upstream.tool(id),
    names,
    allowed,
    serverDown: (server) => {
      const status = deps.upstream.status().find((s) => s.name === server);
      if (!status || status.state === "ready") return undefined;
      return `server ${server} is ${status.state}${status.error ? ` (${status.error})` : ""}`;
    },
    callTool,
    // With no tool to use there is nothing to find: no query is ranked or embedded.
    search: available.length > 0
      ? (query, k, allowed) => deps.search(tenant, query, k, allowed)
      : undefined,
    restorePii,
    retokenize: retokenizeValueAsync,
    // A call served from a prefetch is the code's call: its journaled row says so.
    speculation: journaledSpeculation(speculation, deps.journal),
    approve: gate && ((tool, args, context) => gate.check(tool, args, context)),
    maxCalls: deps.config.sandbox.maxToolCalls,
    maxConcurrentPerServer: deps.config.sandbox.maxConcurrentCallsPerServer,
  });
  late.bridge = bridge;

  let run: RunResult;
  try {
    // Top-level import/export statements are rewritten or refused (compile) first.
    run = await runPrepared(deps.sandbox, {
      code: request.code,
      prelude,
      limits,
      onRpc: bridge.handle,
      signal: caller.signal,
      onLog: caller.onLog,
      grants: { allowNet: tenant.allowNet, allowRead: deps.config.sandbox.allowRead },
      queueKey: tenant.id,
      // Literal read-only calls start once the execution has its slot, beside the sandbox's
      // start (not before a wait in the queue, which would only make their results older).
      onAdmitted: () => speculation?.launch(),
    });
  } catch (error) {
    // The sandbox failed after tool calls may have reached upstream servers: they stay on
    // the record even though there is no response to put them in.
    bridge.close();
    if (bridge.calls.length > 0) {
      throw new ExecutionFailure(
        error,
        recordedCalls(bridge, deps, redactionOptions(tenant, vault, origin)),
      );
    }
    throw error;
  } finally {
    bridge.close();
    const unused = speculation?.close() ?? [];
    if (unused.length > 0) deps.onUnusedPrefetches?.(unused);
    gate?.close();
  }

  // Every value judged anywhere in the response is remembered, and hidden wherever else it
  // appears in it once all is redacted (red team n1: a password hidden in the result was raw
  // in a log line; `hideJudgedValues`).
  const judged = new JudgedValues();
  const redaction = { ...redactionOptions(tenant, vault, origin), judged };
  let counts: RedactionCounts = {};
  // Log lines and error texts may render values (an inspected object, JSON in a message):
  // escapes there would hide a value from the detectors.
  const redact = (text: string) => {
    const out = redactRenderedText(text, redaction);
    counts = mergeCounts(counts, out.counts);
    return out.text;
  };
  // A console line is judged with the objects it renders, as the result would be.
  const redactLog = (entry: LogEntry) => {
    const out = redactLogLine(entry.text, entry.values, redaction);
    counts = mergeCounts(counts, out.counts);
    return out.text;
  };
  const response: ExecuteResponse = {
    ok: run.ok,
    logs: run.logs.map((l) => ({ level: l.level, text: redactLog(l) })),
    tools: {
      injected: selected.map((t) => t.id),
      calls: recordedCalls(bridge, deps, redaction, (c) => counts = mergeCounts(counts, c)),
    },
    redactions: {},
    stats: {
      durationMs: 0,
      sandboxMs: round(run.sandboxMs),
      warm: run.warm,
    },
  };
  if (run.result !== undefined) {
    // A value can be up to maxOutputBytes (1 MiB by default): detection runs in a worker
    // for big values so the shared event loop stays free for every other tenant.
    const out = await redactValueAsync(run.result, redaction);
    counts = mergeCounts(counts, out.counts);
    response.result = out.value;
  }
  if (run.error) {
    response.error = { ...run.error, message: redact(run.error.message) };
    if (run.error.stack) response.error.stack = redact(run.error.stack);
  }
  counts = mergeCounts(counts, hideJudgedValues(response, judged, redaction));
  response.redactions = counts as Record<string, number>;
  response.stats.durationMs = round(performance.now() - started);
  return response;
}

/**
 * Thrown when an execution failed inside the gateway after tool calls were made: `calls`
 * (redacted) lets the gateway audit them; `cause` is the original error.
 */
export class ExecutionFailure extends Error {
  /** The calls the execution made, as recorded and redacted. */
  readonly calls: ToolCallRecord[];
  /** Values redacted by the run, per type (for the audit). */
  readonly redactions: RedactionCounts;
  constructor(cause: unknown, calls: ToolCallRecord[], redactions: RedactionCounts = {}) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "ExecutionFailure";
    this.calls = calls;
    this.redactions = redactions;
  }
}

/**
 * The error for a session vault that could not be saved after the run: not `state_unavailable`
 * (whose `Retry-After` invites a retry that would repeat the tool calls' side effects) but
 * `vault_not_saved`, saying what happened.
 */
function vaultNotSaved(error: unknown, calls: number): GatewayError {
  const why = error instanceof Error ? error.message : String(error);
  return new GatewayError(
    "vault_not_saved",
    `the code ran (${calls} tool call${calls === 1 ? "" : "s"} reached upstream servers) but ` +
      `the session's PII vault could not be saved (${why}); the result is withheld because ` +
      "its placeholders would not resolve later. Retrying runs the code, and its side " +
      "effects, again: check their state first",
  );
}

/**
 * The bridge's call records as they may be shown and stored: error texts redacted, and a
 * tool id that is not in the catalogue (the code made it up, it may hold personal data)
 * redacted too. Catalogue ids are the operator's and stay as they are.
 */
function recordedCalls(
  bridge: ToolBridge,
  deps: PipelineDeps,
  redaction: RedactionOptions,
  onCounts: (counts: RedactionCounts) => void = () => {},
): ToolCallRecord[] {
  const redact = (text: string) => {
    const out = redactRenderedText(text, redaction);
    onCounts(out.counts);
    return out.text;
  };
  return bridge.calls.map((c) => {
    const out = { ...c };
    if (!deps.upstream.tool(c.tool) && !deps.names().functions.has(c.tool)) {
      out.tool = redact(c.tool);
    }
    if (c.error) out.error = redact(c.error);
    if (c.warning) out.warning = redact(c.warning);
    return out;
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * The type-check step of the pipeline (`check: true`): the caller's code, as the sandbox
 * would run it (after the import/export rewrite, as the body of the same async function), is
 * checked against declarations of exactly the tools it could call (every tool the caller may
 * use, each typed, no lazy index signature; `tools.call` typed by literal id). The
 * declarations are made from the tools as the caller is shown them (`tool_listing.ts`:
 * redacted, property names included), so the checker never holds a value `/v1/types` would
 * not serve: type-level code cannot spell one out in a diagnostic. With errors, or when the
 * check does not finish in time or hits a limit of the checker, nothing runs.
 *
 * @module
 */

import {
  mergeCounts,
  type RedactionCounts,
  type RedactionOptions,
  redactRenderedText,
} from "../pii/mod.ts";
import { CheckerBusy, CheckerError, type Diagnostic, type TypeChecker } from "../typecheck/mod.ts";
import type { ToolInfo } from "../upstream/mod.ts";
import { declarationsFor, type NameMap } from "../wrappers/mod.ts";
import { prepareCodeAsync } from "./code_prep.ts";
import { toolForCaller } from "./tool_listing.ts";
import { GatewayError } from "./errors.ts";
import type { ExecuteResponse } from "./schemas.ts";

/** How a check ended: passed, type errors, over budget, a checker limit (memory, depth), refused (busy), checker failure. */
export type CheckOutcome = "ok" | "type" | "timeout" | "limit" | "busy" | "failed";

/** Why the code must not run: the error of the response. */
export interface CheckRefusal {
  kind: "type" | "check_timeout" | "check_limit";
  message: string;
  line?: number;
  diagnostics?: Diagnostic[];
}

/** Declaration texts cached per name map (one catalogue version), at most this many each. */
const MAX_CACHED_PER_CATALOGUE = 32;

/**
 * The declarations checked code sees, cached per catalogue version (its {@link NameMap}: a
 * new catalogue builds a new map, so stale texts are never used), tenant (its redaction) and
 * set of callable tools.
 */
export class CheckDeclarations {
  #byNames = new WeakMap<NameMap, Map<string, string>>();

  /**
   * The declarations for `available` (every tool the caller may use now) and `servers` (each
   * gets a namespace, tools or not), made from the tools as `tenant` is shown them: redacted
   * with `redaction` (values and property names), like `/v1/types`.
   */
  for(
    names: NameMap,
    available: readonly ToolInfo[],
    servers: readonly string[],
    tenant: string,
    redaction: RedactionOptions,
  ): string {
    let cache = this.#byNames.get(names);
    if (!cache) {
      cache = new Map();
      this.#byNames.set(names, cache);
    }
    const key = JSON.stringify(tenant) + "\n" + [...servers].sort().join(",") + "\n" +
      available.map((t) => t.id).sort().join("\n");
    let text = cache.get(key);
    if (text === undefined) {
      const shown = available.map((t) => toolForCaller(t, { ...redaction, vault: undefined }));
      text = declarationsFor(shown, { names, servers, lazy: false, typedCall: true });
      if (cache.size >= MAX_CACHED_PER_CATALOGUE) cache.delete(cache.keys().next().value!);
    } else cache.delete(key);
    cache.set(key, text);
    return text;
  }
}

/** Input of {@link typeCheck}. */
export interface TypeCheckInput {
  checker: TypeChecker;
  /** The tenant (fairness and caps are per tenant). */
  tenant: string;
  /** The declarations (from {@link CheckDeclarations}). */
  declarations: string;
  /** The caller's code as sent. */
  code: string;
  /** Cancels a waiting check. */
  signal?: AbortSignal;
  /** The check's time budget, for the message (ms). */
  timeoutMs: number;
  /** Told each check's outcome and the checker's time (ms; 0 when it never ran). */
  observe?: (outcome: CheckOutcome, ms: number) => void;
}

/**
 * Type-checks the caller's code; `undefined` when it may run (no errors, or code the
 * import/export rewrite refuses: the run reports that as `compile`).
 *
 * @throws GatewayError `queue_full` (503) when the tenant has too many checks pending,
 *   `invalid_request` for code the checker will not take, `unavailable` when the checker
 *   failed (the code did not run)
 */
export async function typeCheck(input: TypeCheckInput): Promise<CheckRefusal | undefined> {
  // In slices that yield the event loop every tenant shares (the pipeline has rewritten this
  // code once already; the checker wants the rewrite too).
  const prepared = await prepareCodeAsync(input.code);
  if (!prepared.ok) return undefined;
  const observe = input.observe ?? (() => {});
  let result;
  try {
    result = await input.checker.check({
      tenant: input.tenant,
      declarations: input.declarations,
      code: prepared.code,
      signal: input.signal,
    });
  } catch (error) {
    if (error instanceof CheckerBusy) {
      observe("busy", 0);
      throw new GatewayError("queue_full", `type check refused: ${error.message}`, {
        retryAfter: 1,
      });
    }
    if (error instanceof CheckerError) {
      observe("failed", 0);
      throw new GatewayError(
        error.kind === "too_large" ? "invalid_request" : "unavailable",
        `type check: ${error.message}`,
        error.kind === "too_large" ? {} : { retryAfter: 1 },
      );
    }
    throw error;
  }
  observe(
    result.timedOut ? "timeout" : "limit" in result ? "limit" : result.ok ? "ok" : "type",
    result.ms,
  );
  if (result.timedOut) {
    return {
      kind: "check_timeout",
      message: `the type check did not finish within ${input.timeoutMs} ms, so nothing ran; ` +
        "simplify the types or send check: false",
    };
  }
  if ("limit" in result) {
    return {
      kind: "check_limit",
      message: result.limit === "memory"
        ? "the type check ran out of the checker's memory, so nothing ran; simplify the types " +
          "or send check: false"
        : "the code or its types nest too deeply to type-check, so nothing ran; flatten them " +
          "or send check: false",
    };
  }
  if (result.ok) return undefined;
  const diagnostics = result.diagnostics.map((d) => ({
    ...d,
    column: originalColumn(input.code, prepared.code, d.line, d.column),
  }));
  const first = diagnostics[0];
  const count = `${result.total} type error${result.total === 1 ? "" : "s"}`;
  return {
    kind: "type",
    message: `${count}, nothing ran. Line ${first.line}: ${first.message}`,
    line: first.line,
    diagnostics,
  };
}

/** Line terminators as TypeScript counts them (CRLF is one). */
const LINE_BREAK = /\r\n|[\n\r\u2028\u2029]/;

/**
 * The column in the caller's `code` of a position at (`line`, `column`) of `prepared` (the
 * code after the import/export rewrite, which keeps lines but moves the text after an
 * `export default` right). On a line whose length changed, columns past the first difference
 * move back by the change, and columns inside the rewritten text go to where it starts.
 * Linear in the length of that line.
 */
export function originalColumn(
  code: string,
  prepared: string,
  line: number,
  column: number,
): number {
  if (code === prepared) return column;
  const before = nthLine(code, line);
  const after = nthLine(prepared, line);
  if (before === undefined || after === undefined || before.length === after.length) {
    return column;
  }
  let same = 0;
  while (same < before.length && same < after.length && before[same] === after[same]) same++;
  if (column <= same + 1) return column;
  const moved = column - (after.length - before.length);
  return Math.min(before.length + 1, Math.max(same + 1, moved));
}

/** The 1-based `line` of `text`, or `undefined` past its end. Linear in `text`'s length. */
function nthLine(text: string, line: number): string | undefined {
  const breaks = new RegExp(LINE_BREAK.source, "g");
  let start = 0;
  for (let at = 1; at < line; at++) {
    breaks.lastIndex = start;
    const found = breaks.exec(text);
    if (!found) return undefined;
    start = found.index + found[0].length;
  }
  breaks.lastIndex = start;
  const found = breaks.exec(text);
  return text.slice(start, found ? found.index : text.length);
}

/**
 * The response of an execution the check refused: `ok: false`, the refusal as `error` with
 * its message and every diagnostic message redacted like any text that goes back (they can
 * quote the code and the tools' schemas), no logs, no calls, `sandboxMs` 0. Also the response
 * of code whose `import`/`export` statements cannot be rewritten (`compile`, refused before
 * tool selection: see gateway/execute.ts).
 */
export function refusalResponse(
  refusal: CheckRefusal | { kind: "compile"; message: string; line: number; diagnostics?: never },
  injected: string[],
  redaction: RedactionOptions,
  durationMs: number,
): ExecuteResponse {
  let counts: RedactionCounts = {};
  // Diagnostics quote literals with escapes (`'"x\t4111…"'`): redacted as rendered text.
  const redact = (text: string) => {
    const out = redactRenderedText(text, redaction);
    counts = mergeCounts(counts, out.counts);
    return out.text;
  };
  const error: NonNullable<ExecuteResponse["error"]> = {
    kind: refusal.kind,
    message: redact(refusal.message),
  };
  if (refusal.line !== undefined) error.line = refusal.line;
  if (refusal.diagnostics) {
    error.diagnostics = refusal.diagnostics.map((d) => ({ ...d, message: redact(d.message) }));
  }
  return {
    ok: false,
    logs: [],
    error,
    tools: { injected, calls: [] },
    redactions: counts as Record<string, number>,
    stats: { durationMs: Math.round(durationMs * 10) / 10, sandboxMs: 0, warm: false },
  };
}

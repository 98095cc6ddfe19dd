/**
 * Vetting a server's `tools/list` one tool at a time: a tool the gateway cannot use is
 * skipped (or kept in a reduced form) with a warning, and never takes its server's other
 * tools down with it. The SDK's own `listTools()` rejects the whole list for one bad
 * entry; {@linkcode vetTools} is what the gateway does instead.
 *
 * @module
 */

import { compileOutputSchema, MAX_COMPILED_SCHEMA_CHARS } from "./output_schema.ts";
import type { JsonSchema, ToolInfo } from "./types.ts";

/** One problem with one listed tool, as `/readyz` and the log report it. */
export interface ToolWarning {
  /** The tool's name (cut to 128 characters), or `(entry N)` when it has no usable name. */
  tool: string;
  /** One line: what is wrong and what the gateway did about it (skipped, kept, cut). */
  problem: string;
}

/** Longest description kept, in UTF-8 bytes; longer ones are cut and marked. */
export const MAX_DESCRIPTION_BYTES = 8 * 1024;
/** Largest `inputSchema` or `outputSchema`, in UTF-8 bytes of its JSON. */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Time one listing may spend compiling output schemas to check them, in ms. */
export const LIST_COMPILE_BUDGET_MS = 50;
/** Longest tool name, in UTF-16 units (the MCP specification's 128 characters). */
export const MAX_TOOL_NAME_CHARS = 128;
/** Most warnings kept per listing; the last one then counts the rest. */
export const MAX_WARNINGS = 100;

/** Appended to a description cut at {@linkcode MAX_DESCRIPTION_BYTES}. */
export const DESCRIPTION_CUT_MARKER = " … [description cut at 8 KiB]";
const MARKER_BYTES = new TextEncoder().encode(DESCRIPTION_CUT_MARKER).length;

/** The result of {@linkcode vetTools}. */
export interface VettedTools {
  /** The usable tools, in the server's order, each name once. */
  tools: ToolInfo[];
  /** What was skipped, reduced or cut, in the server's order (at most {@linkcode MAX_WARNINGS}). */
  warnings: ToolWarning[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Whether `text` (JSON or a description) fits in `maxBytes` of UTF-8, and how many UTF-16
 * units of it do. Encodes at most `maxBytes + 1` bytes however long the text is, and never
 * splits a character.
 */
function fitUtf8(text: string, maxBytes: number): { fits: boolean; units: number } {
  if (text.length * 3 <= maxBytes) return { fits: true, units: text.length };
  const { read } = new TextEncoder().encodeInto(text, new Uint8Array(maxBytes));
  return { fits: read === text.length, units: read };
}

/** A schema's JSON text, and why it is too big to keep (or `undefined`). */
function measure(schema: JsonSchema): { json: string; oversized?: string } {
  const json = JSON.stringify(schema);
  if (fitUtf8(json, MAX_SCHEMA_BYTES).fits) return { json };
  const kib = Math.ceil(new TextEncoder().encode(json).length / 1024);
  return {
    json,
    oversized: `is ${kib} KiB of JSON, over the ${MAX_SCHEMA_BYTES / 1024} KiB limit`,
  };
}

/** The root `type` of a schema as a list, or `undefined` when it declares none. */
function rootTypes(schema: JsonSchema): unknown[] | undefined {
  if (!Object.hasOwn(schema, "type")) return undefined;
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** The type names of JSON Schema (draft 2020-12 and earlier); anything else is not shown. */
const JSON_SCHEMA_TYPES = new Set([
  "object",
  "array",
  "string",
  "number",
  "integer",
  "boolean",
  "null",
]);

/**
 * A schema's root `type` as a warning may show it: JSON Schema's own type names only. A
 * warning is shown to every client (`/readyz`) and logged, unredacted, and a server may
 * write anything there (red team, 2026-11-30: `has root type "ssn 078-05-1120 …"`).
 */
function shownType(types: unknown[]): string {
  return types.every((t) => typeof t === "string" && JSON_SCHEMA_TYPES.has(t))
    ? JSON.stringify(types.length === 1 ? types[0] : types)
    : "not a JSON Schema type name";
}

/**
 * How a warning names a tool. A name over {@linkcode MAX_TOOL_NAME_CHARS} is not shown at all:
 * names have no spaces, so any cut of one may leave part of a value that the personal-data
 * check no longer recognises (red team, 2026-11-30: 15 of a card's 16 digits in `/readyz`).
 */
function label(name: unknown, index: number): string {
  if (typeof name !== "string" || name === "") return `(entry ${index})`;
  return name.length > MAX_TOOL_NAME_CHARS
    ? `(entry ${index}, a name of ${name.length} characters)`
    : name;
}

/**
 * Turns the raw entries of a server's `tools/list` (every page) into catalogue entries,
 * checking each tool on its own:
 *
 * - skipped: an entry that is not an object; a name that is not a string of 1 to 128
 *   characters; a name listed before (the first definition is kept); an `inputSchema`
 *   that is not an object, declares a root `type` without `"object"`, or is over 64 KiB
 *   of JSON;
 * - kept as is, with a warning: an `inputSchema` without a root `type` (e.g. a root
 *   `oneOf`; the bridge still checks arguments against it), a missing `inputSchema`
 *   (any object is accepted);
 * - kept without the part: an `outputSchema` that is not an object, whose root `type`
 *   excludes `"object"` (structured content is always an object), that Ajv cannot
 *   compile, or that is over 64 KiB; `annotations` that are not an object; a description
 *   that is not a string;
 * - cut: a description over 8 KiB of UTF-8, cut at a character boundary and marked with
 *   {@linkcode DESCRIPTION_CUT_MARKER}.
 *
 * Runs in time linear in the size of the list (plus Ajv compiling each output schema).
 *
 * @param server the config key of the server
 * @param entries the `tools` arrays of every page, concatenated, unvalidated
 * @param instructions the server's `instructions` from its initialize result
 */
export function vetTools(
  server: string,
  entries: unknown[],
  instructions?: string,
  rejectName?: (name: string) => string | undefined,
): VettedTools {
  const tools: ToolInfo[] = [];
  const warnings: ToolWarning[] = [];
  let dropped = 0;
  const warn = (tool: string, problem: string) => {
    if (warnings.length < MAX_WARNINGS - 1) warnings.push({ tool, problem });
    else dropped++;
  };
  const seen = new Set<string>();
  const compileBudget = { spentMs: 0 };
  /**
   * How a warning names the tool: never by a name that is rejected (its shown part holds
   * personal data), which would carry it into the log and `/readyz` (red team, 2026-11-30).
   */
  const shown = (name: unknown, index: number): string => {
    const text = label(name, index);
    return typeof name === "string" && name !== "" && rejectName?.(text) ? `(tool ${index})` : text;
  };
  entries.forEach((entry, index) => {
    try {
      vetOne(entry, index);
    } catch (error) {
      // A schema nested deeper than the stack (JSON.stringify, Ajv): that tool only.
      // Its name only: the message of an error raised while reading the schema may quote it.
      const why = error instanceof Error ? error.name : typeof error;
      warn(
        shown(isPlainObject(entry) ? entry.name : undefined, index),
        `cannot be read (${why}); skipped`,
      );
    }
  });
  function vetOne(entry: unknown, index: number): void {
    if (!isPlainObject(entry)) {
      warn(label(undefined, index), "is not a tool object; skipped");
      return;
    }
    const name = entry.name;
    if (typeof name !== "string" || name === "") {
      warn(label(name, index), "has no name (a non-empty string); skipped");
      return;
    }
    // First: every later warning names the tool.
    const rejected = rejectName?.(label(name, index));
    if (rejected) {
      // The name itself is not repeated: it is what was rejected.
      warn(`(tool ${index})`, `is skipped: its name ${rejected}`);
      return;
    }
    const tool = label(name, index);
    if (name.length > MAX_TOOL_NAME_CHARS) {
      warn(tool, `has a name longer than ${MAX_TOOL_NAME_CHARS} characters; skipped`);
      return;
    }
    if (seen.has(name)) {
      warn(tool, "is listed more than once; the first definition is kept");
      return;
    }
    seen.add(name);

    let inputSchema: JsonSchema;
    if (entry.inputSchema === undefined) {
      inputSchema = { type: "object" };
      warn(tool, "has no inputSchema; kept, accepting any object");
    } else if (!isPlainObject(entry.inputSchema)) {
      warn(tool, "has an inputSchema that is not a JSON Schema object; skipped");
      return;
    } else {
      inputSchema = entry.inputSchema;
      const big = measure(inputSchema).oversized;
      if (big) {
        warn(tool, `has an inputSchema that ${big}; skipped`);
        return;
      }
      const types = rootTypes(inputSchema);
      if (types === undefined) {
        warn(
          tool,
          'has an inputSchema without a root "type": "object"; kept as is (arguments are checked against it)',
        );
      } else if (!types.includes("object")) {
        warn(
          tool,
          `has an inputSchema whose root type is ${shownType(types)}, not "object"; skipped`,
        );
        return;
      }
    }

    const info: ToolInfo = {
      id: `${server}.${name}`,
      server,
      name,
      description: description(entry.description, tool, warn),
      inputSchema,
    };
    const outputSchema = vetOutputSchema(entry.outputSchema, tool, warn, compileBudget);
    if (outputSchema) info.outputSchema = outputSchema;
    if (isPlainObject(entry.annotations)) {
      info.annotations = vetHints(entry.annotations, tool, warn);
    } else if (entry.annotations !== undefined) {
      warn(tool, "has annotations that are not an object; ignored");
    }
    if (instructions) info.serverInstructions = instructions;
    tools.push(info);
  }
  if (dropped > 0) {
    warnings.push({ tool: "(more)", problem: `${dropped} more problems not listed` });
  }
  return { tools, warnings };
}

/**
 * MCP's behaviour hints, each a boolean, with the value taken for one that is not: the
 * cautious reading (red team f3: `{ readOnlyHint: true, destructiveHint: "true" }` passed as
 * read-only, so its calls ran without approval and were prefetched from dead code). A hint
 * that is present but not a boolean is replaced by that value and warned about.
 */
const CAUTIOUS_HINTS: Readonly<Record<string, boolean>> = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

/** A copy of `annotations` with every hint a boolean ({@linkcode CAUTIOUS_HINTS}). */
function vetHints(
  annotations: Record<string, unknown>,
  tool: string,
  warn: (tool: string, problem: string) => void,
): Record<string, unknown> {
  const vetted = { ...annotations };
  for (const [hint, cautious] of Object.entries(CAUTIOUS_HINTS)) {
    if (!Object.hasOwn(vetted, hint) || typeof vetted[hint] === "boolean") continue;
    if (vetted[hint] === undefined) {
      delete vetted[hint];
      continue;
    }
    warn(tool, `has a ${hint} that is not a boolean; taken as ${cautious}`);
    vetted[hint] = cautious;
  }
  return vetted;
}

function description(
  value: unknown,
  tool: string,
  warn: (tool: string, problem: string) => void,
): string {
  if (value === undefined) return "";
  if (typeof value !== "string") {
    warn(tool, "has a description that is not a string; ignored");
    return "";
  }
  if (fitUtf8(value, MAX_DESCRIPTION_BYTES).fits) return value;
  const { units } = fitUtf8(value, MAX_DESCRIPTION_BYTES - MARKER_BYTES);
  warn(tool, `has a description over ${MAX_DESCRIPTION_BYTES / 1024} KiB; cut`);
  return value.slice(0, units) + DESCRIPTION_CUT_MARKER;
}

function vetOutputSchema(
  value: unknown,
  tool: string,
  warn: (tool: string, problem: string) => void,
  budget: { spentMs: number },
): JsonSchema | undefined {
  if (value === undefined) return undefined;
  const drop = (why: string) => {
    warn(tool, `has an outputSchema that ${why}; kept the tool without it`);
    return undefined;
  };
  if (!isPlainObject(value)) return drop("is not a JSON Schema object");
  const { json, oversized } = measure(value);
  if (oversized) return drop(oversized);
  const types = rootTypes(value);
  if (types !== undefined && !types.includes("object")) {
    return drop(
      `has root type ${shownType(types)} (structured content is an object)`,
    );
  }
  // Compiled here only while the listing's compile budget lasts: Ajv takes up to a second for
  // a large schema, on the event loop every tenant shares, and a server can change its list
  // at will. The rest are compiled the first time a result needs checking (at most
  // MAX_COMPILED_SCHEMA_CHARS, see output_schema.ts).
  if (json.length > MAX_COMPILED_SCHEMA_CHARS) {
    return drop(
      `is over ${MAX_COMPILED_SCHEMA_CHARS / 1024} Ki characters, the most the gateway compiles`,
    );
  }
  if (budget.spentMs < LIST_COMPILE_BUDGET_MS) {
    const started = performance.now();
    const compiled = compileOutputSchema(value, json);
    budget.spentMs += performance.now() - started;
    // Not Ajv's message: it quotes the schema (a pattern, a `$ref`), the server's text.
    if (typeof compiled !== "function") return drop("does not compile");
  }
  return value;
}

/**
 * `tools` with the operator's annotation corrections applied (a new object for each tool
 * that has one; the keys given replace the server's). A correction for a tool the server
 * does not list does nothing. Linear in the number of tools.
 *
 * The correction wins over what the server says about the same question, not only over the
 * same key. MCP's `destructiveHint` means something only when `readOnlyHint` is false, so
 * (red team c3, a `{ destructiveHint: true }` correction of a `readOnlyHint: true` tool did
 * nothing, the tool went unapproved and prefetched):
 * - `destructiveHint: true` without `readOnlyHint` makes the tool not read-only;
 * - a `readOnlyHint` that differs from the server's, without `destructiveHint`, drops the
 *   server's `destructiveHint` (it answered a question the server saw differently: a
 *   read-only tool's `destructiveHint: false` must not make the now writing tool harmless,
 *   and a tool the operator calls read-only is not destructive by the server's word).
 */
export function applyAnnotationOverrides(
  tools: ToolInfo[],
  overrides: Record<string, Record<string, unknown>> | undefined,
): ToolInfo[] {
  if (!overrides) return tools;
  return tools.map((tool) => {
    const override = Object.hasOwn(overrides, tool.name) ? overrides[tool.name] : undefined;
    return override ? { ...tool, annotations: mergeAnnotations(tool.annotations, override) } : tool;
  });
}

/** The server's `annotations` with the operator's `override` (see {@linkcode applyAnnotationOverrides}). */
function mergeAnnotations(
  server: Record<string, unknown> | undefined,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...server, ...override };
  const setsReadOnly = override.readOnlyHint !== undefined;
  const setsDestructive = override.destructiveHint !== undefined;
  if (override.destructiveHint === true && !setsReadOnly) merged.readOnlyHint = false;
  if (
    setsReadOnly && !setsDestructive && override.readOnlyHint !== server?.readOnlyHint
  ) delete merged.destructiveHint;
  return merged;
}

/**
 * Compiled `outputSchema` validators, shared by the tool list (which rejects schemas that
 * do not compile) and the gateway (which checks each result's `structuredContent`).
 *
 * @module
 */

import type { ValidateFunction } from "ajv";

import {
  linearAjv,
  MAX_SUBSCHEMAS,
  subschemaCount,
  withinBudget,
  withPatternBudget,
  withStepCounter,
} from "./schema_engine.ts";
import type { JsonSchema } from "./types.ts";

/**
 * One Ajv for every schema, input and output: its patterns and `uniqueItems` run in time
 * linear in the value checked (see schema_engine.ts).
 */
const ajv = linearAjv();

/** Compiled validators by schema object, for the calls: lists bring new objects, old ones go. */
const validators = new WeakMap<object, ValidateFunction>();

type Compiled = ValidateFunction | { error: string };

/**
 * Compiled validators (and compile failures) by the schema's JSON text, most recently
 * used last. Ajv takes 0.1 to 1 s of CPU for a schema of tens of KiB, so a server that
 * sends `tools/list_changed` over and over must not make the gateway compile its
 * unchanged schemas again each time.
 */
const byJson = new Map<string, Compiled>();
/**
 * Most entries of {@linkcode byJson}: more than a large catalogue's schemas, so a list read
 * again (every object new) finds each of them compiled. With 256, a 3,000-tool list that
 * changed nonstop was compiled anew in the background at every read, a whole core (red team,
 * 2026-11-30). The character bound below holds too.
 */
export const MAX_CACHED_SCHEMAS = 8192;
/** Most UTF-16 units of JSON text kept as keys of {@linkcode byJson} (about 8 MiB). */
const MAX_CACHED_JSON_UNITS = 4 * 1024 * 1024;

/**
 * Largest schema (UTF-16 units of its JSON) compiled into a validator. Ajv's compile time
 * grows with the schema (a 51 KiB one took 0.3–0.7 s, on the event loop every tenant
 * shares); a larger schema, or one of more than `MAX_SUBSCHEMAS` subschemas (what Ajv's code
 * grows with: see schema_engine.ts), is not checked by the gateway (the server validates
 * its own input, and a result whose schema is unchecked is passed on as the server sent
 * it). One compile is one synchronous call: these bounds are what keeps it short.
 */
export const MAX_COMPILED_SCHEMA_CHARS = 16 * 1024;
let cachedJsonUnits = 0;

function remember(json: string, compiled: Compiled): void {
  byJson.set(json, compiled);
  cachedJsonUnits += json.length;
  for (const key of byJson.keys()) {
    if (byJson.size <= MAX_CACHED_SCHEMAS && cachedJsonUnits <= MAX_CACHED_JSON_UNITS) break;
    byJson.delete(key);
    cachedJsonUnits -= key.length;
  }
}

/** Longest problem text, in UTF-16 units (Ajv messages can quote whole schema fragments). */
const MAX_PROBLEM_CHARS = 300;

function cut(text: string): string {
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
}

/**
 * The validator of an output schema, compiled once per schema object and shared by
 * schemas with the same JSON text (up to {@linkcode MAX_CACHED_SCHEMAS} of them and 4 Mi characters).
 *
 * @param schema the tool's `outputSchema`
 * @param json `JSON.stringify(schema)`, when the caller has it already
 * @returns the validator, or Ajv's reason (at most 300 characters) when it cannot compile
 */
export function compileOutputSchema(schema: JsonSchema, json?: string): Compiled {
  const known = validators.get(schema);
  if (known) return known;
  const key = json ?? JSON.stringify(schema);
  const cached = byJson.get(key);
  if (cached) {
    byJson.delete(key);
    byJson.set(key, cached);
    if (typeof cached === "function") validators.set(schema, cached);
    return cached;
  }
  let compiled: Compiled;
  if (key.length > MAX_COMPILED_SCHEMA_CHARS) {
    compiled = {
      error: `the schema is ${key.length} characters, over the ${MAX_COMPILED_SCHEMA_CHARS} ` +
        "the gateway compiles",
    };
    remember(key, compiled);
    return compiled;
  }
  if (subschemaCount(schema) > MAX_SUBSCHEMAS) {
    compiled = {
      error: `the schema has more than ${MAX_SUBSCHEMAS} subschemas, over what the gateway ` +
        "compiles",
    };
    remember(key, compiled);
    return compiled;
  }
  try {
    compiled = ajvCompile(schema);
    validators.set(schema, compiled);
  } catch (error) {
    compiled = { error: cut(error instanceof Error ? error.message : String(error)) };
  }
  remember(key, compiled);
  return compiled;
}

/** Compiling done per turn of the event loop by {@linkcode compileInBackground}, in ms. */
export const BACKGROUND_SLICE_MS = 5;

/** A background compilation started by {@linkcode compileInBackground}. */
export interface BackgroundCompile {
  /** Resolves when every schema is compiled or the compilation was cancelled. */
  done: Promise<void>;
  /** Stops it; what is compiled stays compiled. */
  cancel(): void;
}

/**
 * Compiles `schemas` (a tool list's input and output schemas) on later turns of the event
 * loop, about {@linkcode BACKGROUND_SLICE_MS} of compiling per turn, so that no tool's first
 * call pays for its compilation.
 *
 * Why not on first call: validators are shared by every tenant, so a first call that compiles
 * is slower (1.2–7 ms against 0.3–0.7 ms) and tells a tenant timing its own call whether
 * another tenant has called that tool since the list was read (red team, 2026-11-30). Cost
 * here: about 0.4 ms per schema, 0.4 s of CPU and 5 MB of heap for 1,000 schemas, spread
 * over the turns after a listing.
 */
export function compileInBackground(schemas: JsonSchema[]): BackgroundCompile {
  // Past what the cache keeps, compiling ahead would evict what it compiled a moment ago;
  // the rest compile on first use.
  schemas = schemas.slice(0, MAX_CACHED_SCHEMAS);
  let index = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => finish = resolve);
  const step = () => {
    timer = undefined;
    const until = performance.now() + BACKGROUND_SLICE_MS;
    while (index < schemas.length && performance.now() < until) {
      const compiled = compileOutputSchema(schemas[index++]);
      // V8 compiles a function's body on its first call: make that call here too.
      if (typeof compiled === "function") compiled({});
    }
    if (index < schemas.length) timer = setTimeout(step, 0);
    else finish();
  };
  if (schemas.length === 0) finish();
  else timer = setTimeout(step, 0);
  return {
    done,
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      finish();
    },
  };
}

/** Whether `schema` (the object) has a compiled validator already. */
export function isCompiled(schema: JsonSchema): boolean {
  return validators.has(schema);
}

/**
 * Compiles with the shared Ajv (a copy of `schema` whose subschemas count their steps, run
 * within a budget: see schema_engine.ts), leaving nothing behind in Ajv's own cache.
 */
function ajvCompile(original: JsonSchema): ValidateFunction {
  const schema = withStepCounter(original) as JsonSchema;
  try {
    return withinBudget(withPatternBudget(() => ajv.compile(schema)));
  } finally {
    // The compiled function stands alone. Removing the schema from Ajv's own cache keeps
    // old tool lists from piling up in it, and lets two tools declare the same `$id`.
    try {
      ajv.removeSchema(schema);
    } catch {
      // Never added (compilation failed early).
    }
  }
}

/**
 * Why `structuredContent` does not satisfy a tool's `outputSchema`, or `undefined` when it
 * does (or when the schema cannot be compiled: the tool list has already dropped such
 * schemas). The text names the failing keyword by its place in the *schema*
 * (`#/properties/unit/enum`), never by the value's own keys or contents, which may be
 * personal data.
 *
 * @param schema the tool's `outputSchema`
 * @param value the result's `structuredContent`
 * @returns a sentence fragment of at most about 300 characters, or `undefined`
 */
export function structuredContentProblem(schema: JsonSchema, value: unknown): string | undefined {
  const validate = compileOutputSchema(schema);
  if (typeof validate !== "function") return undefined;
  if (validate(value)) return undefined;
  const error = validate.errors?.[0];
  if (!error) return "it does not match the tool's output schema";
  return cut(`at ${error.schemaPath}: ${error.message ?? "invalid"}`);
}

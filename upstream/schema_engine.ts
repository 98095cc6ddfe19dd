/**
 * The one Ajv that compiles every schema an upstream server declares (input schemas, checked
 * against a call's arguments by the bridge and the prefetch; output schemas, checked against
 * results), made so that checking a value costs time linear in the value whatever the schema
 * says (red team f3: `pattern: "^(a+)+$"` and 27 "a" and a "!" held the event loop of every
 * tenant 6.8 s, each further character doubling it):
 *
 * - every schema regular expression (`pattern`, `patternProperties`, and so the patterns
 *   under `propertyNames`) runs on RE2 (`re2js`), linear in the string. A pattern RE2
 *   cannot compile (lookaround, backreferences) is not checked by the gateway: that keyword
 *   accepts every string, the rest of the schema is still checked, and the server still
 *   validates its own input. Never the backtracking engine on a value the code chose.
 * - `uniqueItems` compares each item's identity number (equal JSON values get equal numbers,
 *   computed once per value) in a `Set`: linear, where Ajv's own check of untyped items
 *   compared every pair (50,000 items: about 17 s).
 * - `format` is not checked (`validateFormats: false`, no ajv-formats): no format regex runs.
 * - applying subschemas is counted: at most {@linkcode BASE_STEPS} plus
 *   {@linkcode STEPS_PER_VALUE} for each value checked. `$ref`, `allOf`, `anyOf`, `oneOf`
 *   can make one value be checked against exponentially many subschemas (32 levels of
 *   `allOf: [{ $ref: next }, { $ref: next }]`, a 2 KiB schema, checked `{}` against 4
 *   billion); past the count the value is taken as not checked by the gateway, as a schema
 *   too large to compile is.
 * - `enum` and `const` compare with Ajv's deep equality, which stops at the smaller of the
 *   two values: each comparison costs at most the schema's own size (at most 16 Ki
 *   characters compiled, see output_schema.ts), and each is one counted step.
 *
 * @module
 */

import { Ajv, type Options, type ValidateFunction } from "ajv";
import { RE2JS } from "re2js";

/**
 * A schema pattern as RE2 runs it. Ajv asks for `u` (JSON Schema patterns are ECMA-262
 * with Unicode): RE2 matches by code point always, and `translateRegExp` takes the
 * JavaScript spellings RE2 lacks (`\/`, `(?<name>`, `\u{…}`).
 */
type RegExpEngine = NonNullable<NonNullable<Options["code"]>["regExp"]>;

const linearRegExp: RegExpEngine = Object.assign((pattern: string) => {
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch {
    // Lookaround, backreferences, or a repetition past RE2's bounds: not checked here.
    return { test: () => true, toString: () => `unchecked ${pattern}` };
  }
  // `toString` is Ajv's key for sharing one compiled pattern within a schema.
  return { test: (text: string) => re.test(text), toString: () => `re2 ${pattern}` };
}, { code: "linearRegExp" }); // `code`: only for Ajv's standalone output, never used here

/** Equal JSON values' shared number, by their shape (see {@linkcode identityOf}). */
let shapes = new Map<string, number>();
/** Each object's or array's number, computed once per synchronous validation. */
let numbered = new WeakMap<object, number>();
let resetQueued = false;

/**
 * A number that two values share exactly when they are equal as JSON (keys in any order,
 * as Ajv's own deep equality). Each object or array is numbered once from its children's
 * numbers, so numbering a whole value costs its size (plus sorting each object's keys), and
 * the items of nested `uniqueItems` arrays are not walked again at each level. The tables
 * are dropped once the current synchronous validation is over: a value may change between
 * two validations.
 *
 * @throws RangeError for a value nested deeper than the stack (the caller decides)
 */
function identityOf(value: unknown): number {
  if (!resetQueued) {
    resetQueued = true;
    queueMicrotask(() => {
      shapes = new Map();
      numbered = new WeakMap();
      resetQueued = false;
    });
  }
  let shape: string;
  if (typeof value !== "object" || value === null) {
    shape = typeof value === "string" ? `s${value}` : `p${JSON.stringify(value)}`;
  } else {
    const known = numbered.get(value);
    if (known !== undefined) return known;
    if (Array.isArray(value)) {
      shape = `a${value.map(identityOf).join(",")}`;
    } else {
      const record = value as Record<string, unknown>;
      shape = `o${
        Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${identityOf(record[key])}`)
          .join(",")
      }`;
    }
  }
  let id = shapes.get(shape);
  if (id === undefined) {
    id = shapes.size;
    shapes.set(shape, id);
  }
  if (typeof value === "object" && value !== null) numbered.set(value, id);
  return id;
}

/** `uniqueItems` in linear time: see {@linkcode identityOf}. */
function itemsUnique(schema: boolean, data: unknown[]): boolean {
  if (!schema || data.length < 2) return true;
  const seen = new Set<number>();
  try {
    for (const item of data) {
      const id = identityOf(item);
      if (seen.has(id)) return false;
      seen.add(id);
    }
  } catch {
    // Nested deeper than the stack: not checked here (the server checks its own input).
    return true;
  }
  return true;
}

/**
 * Subschema applications every check may make, whatever the value (see the module's
 * documentation). An ordinary schema applies a few subschemas to each value; a union of
 * object variants a few dozen.
 */
export const BASE_STEPS = 100_000;
/** Subschema applications allowed for each value (object, array or scalar) checked. */
export const STEPS_PER_VALUE = 256;
/** Most values counted: past this, a value gets the budget of this many. */
const MAX_COUNTED_VALUES = 1_000_000;

/** The keyword counting steps, added to every subschema by {@linkcode withStepCounter}. */
const STEP_KEYWORD = "airlock:step";

/** Thrown by the step keyword when a check is over its budget; caught by the wrapper. */
class OverBudget extends Error {
  readonly kind = "schema_over_budget";
}

/**
 * The current check's steps, budget and data (checks are synchronous and never nested).
 * The data's values are counted only when a check takes more than {@linkcode BASE_STEPS}
 * steps: most checks never pay for counting.
 */
const budget = { steps: 0, max: Infinity, data: undefined as unknown, counted: false };

/** UTF-16 units of a string that cost one step beyond its first (see {@linkcode stepWeight}). */
const UNITS_PER_STEP = 64;

/**
 * The steps one application of a subschema to `data` costs: one, plus one per
 * {@linkcode UNITS_PER_STEP} units of a string and one per item of an array or key of an
 * object. A leaf keyword scans the value it is applied to (`pattern`, `minLength`,
 * `uniqueItems`, `patternProperties`), so counting applications alone let a schema that
 * applies its leaf 65,536 times (16 levels of `allOf` of two `$ref`s, 1.1 KiB) scan a 100 KB
 * string 65,536 times: 42 s of the gateway's event loop (red team i1). Charged by size, a
 * check's whole work is bounded by its budget.
 */
function stepWeight(data: unknown): number {
  if (typeof data === "string") return 1 + Math.floor(data.length / UNITS_PER_STEP);
  if (Array.isArray(data)) return 1 + data.length;
  if (typeof data === "object" && data !== null) {
    let keys = 0;
    for (const _ in data) keys++;
    return 1 + keys;
  }
  return 1;
}

function countStep(_schema: unknown, data?: unknown): boolean {
  budget.steps += stepWeight(data);
  if (budget.steps <= budget.max) return true;
  if (!budget.counted) {
    budget.counted = true;
    budget.max += STEPS_PER_VALUE * countValues(budget.data, MAX_COUNTED_VALUES);
    if (budget.steps <= budget.max) return true;
  }
  throw new OverBudget("schema check over its step budget");
}

/** How many values `value` holds (itself included), counting at most `limit`. */
function countValues(value: unknown, limit: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && count < limit) {
    const next = stack.pop();
    count++;
    if (typeof next === "object" && next !== null) {
      for (const child of Array.isArray(next) ? next : Object.values(next)) stack.push(child);
    }
  }
  return count;
}

/** Keywords whose value is a map of name to subschema (the map itself is not a schema). */
const SCHEMA_MAPS = new Set([
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "dependentSchemas",
  "dependencies",
]);
/** Keywords whose value is data, not schemas. */
const DATA_KEYWORDS = new Set(["enum", "const", "default", "examples"]);

/**
 * A copy of `schema` with {@linkcode STEP_KEYWORD} in every object that may be a subschema
 * (any object but data and name maps: a `$ref` may point anywhere), so each application of
 * a subschema counts one step. Linear in the schema.
 *
 * @throws RangeError for a schema nested deeper than the stack
 */
export function withStepCounter(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withStepCounter);
  if (typeof schema !== "object" || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DATA_KEYWORDS.has(key)) copy[key] = value;
    else if (SCHEMA_MAPS.has(key) && typeof value === "object" && value !== null) {
      copy[key] = Array.isArray(value) ? withStepCounter(value) : Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, withStepCounter(sub)]),
      );
    } else copy[key] = withStepCounter(value);
  }
  copy[STEP_KEYWORD] = true;
  return copy;
}

/**
 * `validate` run within a step budget: {@linkcode BASE_STEPS} plus
 * {@linkcode STEPS_PER_VALUE} per value of the data. A check over its budget answers
 * `true` with no errors: the value is not checked by the gateway (the server validates its
 * own input; a result is passed on as the server sent it).
 */
export function withinBudget(validate: ValidateFunction): ValidateFunction {
  const bounded = ((data: unknown) => {
    budget.steps = 0;
    budget.max = BASE_STEPS;
    budget.data = data;
    budget.counted = false;
    try {
      const valid = validate(data);
      bounded.errors = validate.errors;
      return valid;
    } catch (error) {
      if (!(error instanceof OverBudget)) throw error;
      bounded.errors = null;
      return true;
    } finally {
      budget.max = Infinity;
      budget.data = undefined;
    }
  }) as ValidateFunction;
  bounded.schema = validate.schema;
  bounded.schemaEnv = validate.schemaEnv;
  return bounded;
}

/**
 * A new Ajv with the linear pattern engine, the linear `uniqueItems` and the step keyword.
 * Compile a schema with `withStepCounter(schema)` and wrap the result with
 * {@linkcode withinBudget}. `validateSchema:
 * false` because servers declare `$schema` dialects Ajv does not know (2020-12); what it
 * cannot compile is reported by `compile`'s exception.
 */
export function linearAjv(): Ajv {
  const ajv = new Ajv({
    strict: false,
    validateSchema: false,
    validateFormats: false,
    allErrors: false,
    code: { regExp: linearRegExp },
  });
  ajv.addKeyword({
    keyword: STEP_KEYWORD,
    schemaType: "boolean",
    errors: false,
    validate: countStep,
  });
  ajv.removeKeyword("uniqueItems");
  ajv.addKeyword({
    keyword: "uniqueItems",
    type: "array",
    schemaType: "boolean",
    errors: false,
    validate: itemsUnique,
  });
  return ajv;
}

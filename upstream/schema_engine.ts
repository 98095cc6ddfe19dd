/**
 * The one Ajv that compiles every schema an upstream server declares (input schemas, checked
 * against a call's arguments by the bridge and the prefetch; output schemas, checked against
 * results), made so that checking a value costs time linear in the value whatever the schema
 * says (red team f3: `pattern: "^(a+)+$"` and 27 "a" and a "!" held the event loop of every
 * tenant 6.8 s, each further character doubling it):
 *
 * - every schema regular expression (`pattern`, `patternProperties`, and so the patterns
 *   under `propertyNames`) runs on RE2 (`re2js`), linear in the string. A pattern RE2
 *   cannot compile (lookaround, backreferences), or whose program is too large to start
 *   cheaply ({@linkcode MAX_PATTERN_PROGRAM}, {@linkcode MAX_SCHEMA_PROGRAM}), is not checked
 *   by the gateway: that keyword
 *   accepts every string, the rest of the schema is still checked, and the server still
 *   validates its own input. Never the backtracking engine on a value the code chose.
 * - `uniqueItems` compares each item's identity number (equal JSON values get equal numbers,
 *   computed once per value) in a `Set`: linear, where Ajv's own check of untyped items
 *   compared every pair (50,000 items: about 17 s).
 * - `format` is not checked (`validateFormats: false`, no ajv-formats): no format regex runs.
 * - applying a subschema is charged, before its keywords run, by what they read: the
 *   application itself, the subschema's own entries, and the characters of the value they
 *   scan (a string's length, times more under `pattern`; every key's length times the
 *   `patternProperties` patterns; the whole size of an array under `uniqueItems`): see
 *   {@linkcode chargeOf}. A check may spend {@linkcode BASE_UNITS} plus
 *   {@linkcode UNITS_PER_SIZE} per unit of the value's size, and never more than
 *   {@linkcode MAX_UNITS} (about 0.1–0.25 s), however the value is made: `$ref`, `allOf`,
 *   `anyOf`, `oneOf` can make one value be checked against exponentially many subschemas
 *   (32 levels of `allOf: [{ $ref: next }, { $ref: next }]`, a 2 KiB schema, checked `{}`
 *   against 4 billion), and red team j2 spent the allowance of 99,990 zeros on one
 *   string. Past its budget the value is taken as not checked by the gateway, as a schema
 *   too large to compile is.
 * - `enum` and `const` compare with Ajv's deep equality, which stops at the smaller of the
 *   two values: each application is charged what the comparisons can read of the entries
 *   (every value and key of them, and their characters), counted when the schema is compiled,
 *   not one unit per entry (red team l2: a `const` of 3,000 nested arrays under 30 levels of
 *   `allOf: [{ $ref }, { $ref }]` held the loop 35–43 s). Each name of `required` and
 *   `dependencies` lists (a lookup in the value) is charged too. `default` and `examples` are
 *   not read (no `useDefaults`).
 * - compiling costs time in proportion to the schema: a `$ref` is a call (`inlineRefs:
 *   false`), never a copy of what it points to, and a schema of more than
 *   {@linkcode MAX_SUBSCHEMAS} subschemas is not compiled (see output_schema.ts).
 *
 * @module
 */

import { _, Ajv, type KeywordCxt, type Options, type ValidateFunction } from "ajv";
import { RE2JS } from "re2js";

/**
 * A schema pattern as RE2 runs it. Ajv asks for `u` (JSON Schema patterns are ECMA-262
 * with Unicode): RE2 matches by code point always, and `translateRegExp` takes the
 * JavaScript spellings RE2 lacks (`\/`, `(?<name>`, `\u{…}`).
 */
type RegExpEngine = NonNullable<NonNullable<Options["code"]>["regExp"]>;

/**
 * Largest RE2 program of one schema pattern, in instructions (`programSize`). RE2 builds its
 * matcher for a program on first use, in time that grows faster than the program: 202
 * instructions (`[a-z]{1,100}[0-9]`) about 11 ms, 602 about 25 ms, 1,802
 * (`[a-z]{1,900}[0-9]`, 17 characters of schema) about 160 ms, whatever the string (measured
 * 2026-11-30, re2js 2.10.0; fix-schema2's report). A larger pattern is not checked.
 */
export const MAX_PATTERN_PROGRAM = 512;

/**
 * Instructions all the distinct patterns of one schema may have together; patterns past it
 * are not checked. Bounds the first uses of one schema's patterns to about 0.2 s, where
 * 1,024 subschemas of 500-instruction patterns were about 20 s.
 */
export const MAX_SCHEMA_PROGRAM = 4096;

/** What the schema being compiled may still spend ({@linkcode withPatternBudget}). */
let programBudget = MAX_SCHEMA_PROGRAM;
/**
 * A schema pattern compiled for Ajv, with what matching it costs: `units` per character of
 * the string (see {@linkcode patternUnits}; 0 for a pattern not checked, which reads nothing).
 */
interface LinearPattern {
  test: (text: string) => boolean;
  toString: () => string;
  units: number;
}

/** The patterns compiled for that schema (Ajv asks again for each use of one). */
let compiled = new Map<string, LinearPattern>();

/**
 * Runs `compile` (one `ajv.compile`) with a fresh {@linkcode MAX_SCHEMA_PROGRAM} for its
 * patterns: Ajv compiles each pattern, synchronously, while it generates a schema's code.
 */
export function withPatternBudget<T>(compile: () => T): T {
  const saved = [programBudget, compiled] as const;
  programBudget = MAX_SCHEMA_PROGRAM;
  compiled = new Map();
  try {
    return compile();
  } finally {
    [programBudget, compiled] = saved;
  }
}

/**
 * Units per character of matching a string against a pattern whose RE2 program has `size`
 * instructions, at the worst (a pattern whose DFA fits RE2's cache is charged less: see
 * {@linkcode fitsDfaCache}). When a pattern has too many states for the cache
 * (`^[ab]*a[ab]{490}$` on random "a"/"b"), RE2's DFA builds a state per character, each
 * costing a fixed part and the program's threads, until it drops the cache and falls back
 * to the NFA: measured (2026-11-30, re2js 2.10.0, 2 shared cores, load 6–10) on such strings,
 * from a fresh matcher, 22 instructions 1.2–8.4 µs a character, 57 about 6–13 µs, 107 9–25
 * µs, 207 11–35 µs, 497 13–79 µs (after the cache is dropped, the lower figure); about
 * 5 µs plus 150 ns an instruction at the worst. A flat 65 units a character let a
 * 1 M-character string under a 497-instruction pattern be checked for 3.9 s (red team m3).
 */
export function patternUnits(size: number): number {
  return PATTERN_STATE_UNITS + PATTERN_UNITS * size;
}

/** Units per character for the fixed part of building a DFA state (about 5 µs). */
const PATTERN_STATE_UNITS = 2048;

/** re2js 2.10.0's compiled program and DFA, read by {@linkcode fitsDfaCache}. */
interface Re2Internals {
  re2Input: {
    prog: { numInst(): number; getInst(pc: number): { op: number } };
    dfa: { numClasses: number; maxMem: number; failed: boolean };
  };
}

/** re2js's opcodes of the instructions that read a character (`Inst.RUNE` … `RUNE_ANY_NOT_NL`). */
const RUNE_OPS = { first: 8, last: 11 };

/**
 * Whether every state RE2's DFA could build for `re` fits its cache at once, so that the
 * cache is never dropped and matching never falls back to the NFA: then a character costs a
 * table lookup, or once per state and character class a new transition, and the pattern is
 * charged {@linkcode PATTERN_UNITS} a character whatever its size. A DFA state is the set of
 * character-reading instructions a step matched, plus the start (at most 2^(n+1)), times at
 * most 8 flag sets (after a newline, a match, after a word character); each takes 150 bytes,
 * 8 per instruction, 48 for its match list and two tables of 48 + 8 per character class
 * (re2js's own accounting against its 8 MiB). Reads re2js internals (pinned 2.10.0): when
 * they are not as expected, false (charged by size, the safe side).
 */
function fitsDfaCache(re: RE2JS): boolean {
  try {
    const { prog, dfa } = (re as unknown as Re2Internals).re2Input;
    if (dfa.failed || !(dfa.maxMem > 0) || !(dfa.numClasses > 0)) return false;
    const size = prog.numInst();
    let reading = 0;
    for (let pc = 0; pc < size && reading <= 20; pc++) {
      const op = prog.getInst(pc).op;
      if (op >= RUNE_OPS.first && op <= RUNE_OPS.last) reading++;
    }
    if (reading > 20) return false;
    const states = 2 ** (reading + 1) * 8 + 8;
    const bytes = 150 + 8 * size + 48 + 2 * (48 + 8 * (dfa.numClasses + 1));
    return states * bytes <= dfa.maxMem;
  } catch {
    return false;
  }
}

/** `pattern` compiled on RE2 for the schema being compiled, once (see linearRegExp). */
function compilePattern(pattern: string): LinearPattern {
  const known = compiled.get(pattern);
  if (known) return known;
  const unchecked = { test: () => true, toString: () => `unchecked ${pattern}`, units: 0 };
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch {
    // Lookaround, backreferences, or a repetition past RE2's bounds: not checked here.
    compiled.set(pattern, unchecked);
    return unchecked;
  }
  const size = re.programSize();
  if (size > MAX_PATTERN_PROGRAM || size > programBudget) {
    // Too costly to start (see MAX_PATTERN_PROGRAM): not checked, like lookaround.
    compiled.set(pattern, unchecked);
    return unchecked;
  }
  programBudget -= size;
  // `toString` is Ajv's key for sharing one compiled pattern within a schema.
  const checked = {
    test: (text: string) => re.test(text),
    toString: () => `re2 ${pattern}`,
    units: fitsDfaCache(re) ? PATTERN_UNITS : patternUnits(size),
  };
  compiled.set(pattern, checked);
  return checked;
}

/** Ajv's engine for schema patterns: {@linkcode compilePattern}. */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string) => compilePattern(pattern),
  { code: "linearRegExp" }, // `code`: only for Ajv's standalone output, never used here
);

/** Equal JSON values' shared number, by their shape (see {@linkcode identityOf}). */
let shapes = new Map<string, number>();
/** Long shapes' numbers, by their length and hash (see {@linkcode numberOfShape}). */
let longShapes = new Map<string, Array<{ shape: string; id: number }>>();
/** Each object's or array's number, computed once per synchronous validation. */
let numbered = new WeakMap<object, number>();
let resetQueued = false;

/**
 * Longest shape keyed by itself in a `Map`. V8 hashes only a string's length past 16,383
 * characters, so longer shapes of one length would all collide and each lookup would
 * compare against every one of them (quadratic): those are keyed by a hash of their own.
 */
const MAX_NATIVE_SHAPE = 16_000;

/** Seeds of the long-shape hash, new in each process (a value cannot aim at collisions). */
const SEEDS = crypto.getRandomValues(new Uint32Array(2));

/** Two 32-bit multiplicative hashes of `text`, seeded: linear in it. */
function hashOf(text: string): string {
  let a = SEEDS[0];
  let b = SEEDS[1];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x9e3779b1);
    b = Math.imul(b ^ unit, 0x85ebca77) ^ (b >>> 15);
  }
  return `${text.length}:${a >>> 0}:${b >>> 0}`;
}

/**
 * The number of a shape (`kind` "v") or of a string's text (`kind` "s", kept apart from
 * shapes): a new one for what this validation has not seen.
 */
function numberOfShape(shape: string, kind: "s" | "v"): number {
  if (shape.length <= MAX_NATIVE_SHAPE) {
    if (kind === "s") shape = `s${shape}`;
    let id = shapes.get(shape);
    if (id === undefined) {
      id = shapes.size + longCount;
      shapes.set(shape, id);
    }
    return id;
  }
  const key = `${kind}${hashOf(shape)}`;
  let bucket = longShapes.get(key);
  if (bucket === undefined) longShapes.set(key, bucket = []);
  // Only equal shapes share a bucket, but for a collision of both hashes.
  for (const entry of bucket) if (entry.shape === shape) return entry.id;
  const id = shapes.size + longCount++;
  bucket.push({ shape, id });
  return id;
}
let longCount = 0;

/**
 * A number that two values share exactly when they are equal as JSON (keys in any order,
 * as Ajv's own deep equality). Each object or array is numbered once from its children's
 * numbers, so numbering a whole value costs its size (plus sorting each object's keys), and
 * the items of nested `uniqueItems` arrays are not walked again at each level; a string is
 * read once per numbering, and each numbering is charged by its size (see
 * {@linkcode chargeOf}). The tables are dropped once the current synchronous validation is
 * over: a value may change between two validations.
 *
 * @throws RangeError for a value nested deeper than the stack (the caller decides)
 */
function identityOf(value: unknown): number {
  if (!resetQueued) {
    resetQueued = true;
    queueMicrotask(() => {
      shapes = new Map();
      longShapes = new Map();
      longCount = 0;
      numbered = new WeakMap();
      resetQueued = false;
    });
  }
  let shape: string;
  // A string is hashed as it is (not copied into a shape): one read of its characters.
  if (typeof value === "string") return numberOfShape(value, "s");
  if (typeof value !== "object" || value === null) {
    shape = `p${JSON.stringify(value)}`;
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
  const id = numberOfShape(shape, "v");
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
 * Work units every check may spend, whatever the value (see {@linkcode chargeOf} for what
 * a unit is): about 2–5 ms of the event loop. An ordinary check of an ordinary value spends
 * a few thousand.
 */
export const BASE_UNITS = 1 << 20;
/** Work units allowed for each unit of the value's size (see {@linkcode sizeOf}). */
export const UNITS_PER_SIZE = 128;
/**
 * Most work units any one check spends, however large the value: the bound that no
 * pooling of a value's allowance can pass (red team j2 spent the allowance of 99,990
 * zeros on scanning one 3.5 M-character string: 7 s). About 0.1–0.25 s of the event loop
 * at the worst (see the README's measurements).
 */
export const MAX_UNITS = 1 << 26;

/** Units charged for applying a subschema, before what it reads. */
const APPLICATION_UNITS = 16;
/**
 * Units per character, and per instruction of its RE2 program, that a schema regular
 * expression reads: see {@linkcode patternUnits}.
 */
const PATTERN_UNITS = 64;
/** Units per unit of size `uniqueItems` numbers (its strings hashed in JavaScript: 3–5 ns). */
const UNIQUE_UNITS = 2;

/** The keyword charging work, added to every subschema by {@linkcode withStepCounter}. */
const STEP_KEYWORD = "airlock:step";

/**
 * What one application of a subschema reads, computed from the subschema when it is
 * compiled (the value of {@linkcode STEP_KEYWORD}).
 */
interface StepCost {
  /** Units of the subschema's own work (entries of `properties`, `required`, `enum`, …). */
  own: number;
  /** The `pattern` a string is matched against, if any. */
  pattern?: string;
  /** The patterns every key of an object is matched against (`patternProperties`, each
   * twice with `additionalProperties`). */
  keyPatterns: string[];
  /** Units per character of a string under `pattern`, set when the subschema is compiled
   * ({@linkcode resolvePatterns}); until then the largest a checked pattern may cost. */
  patternUnits: number;
  /** Units per character of a key, for all of `keyPatterns` together (as `patternUnits`). */
  keyPatternUnits: number;
  /** Whether `uniqueItems` numbers every item (reading all of it). */
  unique: boolean;
  /** Units of comparing a value with every `const` and `enum` entry, read in full (see
   * {@linkcode equalityUnits}). */
  equal: number;
  /** How many `const` and `enum` entries a value is compared with. */
  equalEntries: number;
  /** The entries with a plain object in them: deep equality lists the keys of the value's
   * object at each such place (see {@linkcode valueKeyUnits}). */
  objectEntries: unknown[];
}

/** Thrown by the step keyword when a check is over its budget; caught by the wrapper. */
class OverBudget extends Error {
  readonly kind = "schema_over_budget";
}

/**
 * The current check's units spent, budget and data (checks are synchronous and never
 * nested). The data's size is measured only when a check spends more than
 * {@linkcode BASE_UNITS}: most checks never pay for measuring.
 */
const budget = { spent: 0, max: Infinity, data: undefined as unknown, sized: false };

/**
 * The units one application of a subschema to `data` costs, charged before the
 * subschema's keywords read anything (the step keyword runs first, before `const`, `enum`,
 * `$ref`, `allOf` and the rest): the application and the subschema's own entries, plus what
 * the keywords read in the value, in characters:
 *
 * - a string: its length (`minLength` counts code points), and under `pattern` its length
 *   times what the pattern costs a character (`patternUnits` of its {@linkcode StepCost},
 *   from its RE2 program: red team m3, a 497-instruction pattern charged 65 a character,
 *   held the loop 3.9 s);
 * - an object: two per key, and under `patternProperties` every key's length times what each
 *   pattern costs a character (red team j2: 300 patterns on two 1.9 M-character keys, charged
 *   as two keys, held the loop 12 s);
 * - an array: two per item, and under `uniqueItems` {@linkcode UNIQUE_UNITS} per unit of its
 *   size (each item is numbered, its strings hashed: red team j2, two 1.9 M-character items
 *   charged as two items, 65,536 times, held the loop 9 s);
 * - under `const` or `enum`: what deep equality can read of the entries, whatever the value
 *   (see {@linkcode equalityCharge}; red team l2: a `const` of 3,000 nested arrays, charged
 *   as one entry, compared 2^30 times, held the loop 35–43 s).
 *
 * One unit is about 1–3 ns of work (a character scanned, a property looked up).
 */
function chargeOf(cost: StepCost, data: unknown): number {
  let units = APPLICATION_UNITS + cost.own;
  if (cost.equalEntries > 0) units += equalityCharge(cost, data);
  if (typeof data === "string") {
    // RE2 costs about a microsecond to start, whatever the string: one more character.
    units += cost.pattern === undefined ? data.length : (data.length + 1) * (1 + cost.patternUnits);
  } else if (Array.isArray(data)) {
    units += 2 * data.length;
    if (cost.unique && data.length > 1) units += UNIQUE_UNITS * sizeOf(data, MAX_UNITS);
  } else if (typeof data === "object" && data !== null) {
    const { keys, keyChars } = measureOf(data);
    // Each key starts RE2 once per pattern: one more character, as for a string.
    if (cost.keyPatterns.length > 0) units += (keyChars + keys) * cost.keyPatternUnits;
    units += 2 * keys;
  }
  return units;
}

/** Each object's own keys and their characters, measured once per check. */
interface KeyMeasure {
  keys: number;
  keyChars: number;
}

/** Objects measured in the current check (reset by {@linkcode withinBudget}). */
let measured = new WeakMap<object, KeyMeasure>();

/**
 * How many own keys `value` has and their characters: listed once per check and charged
 * two units a key then; after, a lookup. Measuring at every application cost as much as the
 * keys charged (an object of 100,000 keys under a chain of `allOf`: 1–4 s at the cap).
 */
function measureOf(value: object): KeyMeasure {
  let measure = measured.get(value);
  if (measure === undefined) {
    let keys = 0;
    let keyChars = 0;
    for (const key of Object.keys(value)) {
      keys++;
      keyChars += key.length;
    }
    measure = { keys, keyChars };
    measured.set(value, measure);
    budget.spent += 2 * keys;
  }
  return measure;
}

/**
 * Charges one application (see {@linkcode chargeOf}).
 *
 * @throws OverBudget past the check's budget
 */
function countStep(cost: StepCost, data?: unknown): void {
  // Apart: `chargeOf` may charge counting an object's keys itself.
  const units = chargeOf(cost, data);
  budget.spent += units;
  if (budget.spent <= budget.max) return;
  if (!budget.sized) {
    budget.sized = true;
    budget.max = Math.min(
      MAX_UNITS,
      BASE_UNITS + UNITS_PER_SIZE * sizeOf(budget.data, Math.ceil(MAX_UNITS / UNITS_PER_SIZE)),
    );
    if (budget.spent <= budget.max) return;
  }
  throw new OverBudget("schema check over its budget");
}

/**
 * The size of `value`: one per value (itself included) and per key, plus the characters of
 * its strings and keys, measured up to `limit` (a value larger is measured as `limit`).
 * Linear in the values visited (a string's length is read, not its characters).
 */
function sizeOf(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size < limit) {
    const next = stack.pop();
    size++;
    if (typeof next === "string") size += next.length;
    else if (Array.isArray(next)) {
      for (const item of next) stack.push(item);
    } else if (typeof next === "object" && next !== null) {
      for (const [key, item] of Object.entries(next)) {
        size += 1 + key.length;
        stack.push(item);
      }
    }
  }
  return Math.min(size, limit);
}

/** The units a subschema's own work costs, per entry of its keywords' arrays and maps. */
const ENTRY_UNITS = 2;

/**
 * Units per value Ajv's deep equality (`fast-deep-equal`) visits: a call and type tests.
 * Measured at the cap (2 shared cores, load 10): 3,000 nested arrays compared over and over,
 * 0.09–0.13 s.
 */
const EQUAL_NODE_UNITS = 32;
/**
 * Units per key of an object deep equality visits, on each side: `Object.keys` of both, a
 * lookup in each, then the values. Past {@linkcode SMALL_OBJECT_KEYS} keys an object is a
 * hash table whose keys are listed in order, far slower: measured at the cap, an object of
 * 1,500 keys compared over and over took 0.75–0.93 s at 32 units a key and 0.09–0.21 s at
 * 256 (on each side).
 */
function keyUnits(keys: number): number {
  return keys * (keys > SMALL_OBJECT_KEYS ? 256 : 32);
}
/** Most keys of an object counted as small by {@linkcode keyUnits}. */
const SMALL_OBJECT_KEYS = 32;

/**
 * The units of comparing a value with `entry` by deep equality when the comparison reads all
 * of `entry` (it stops at the smaller side, and at the first difference): {@linkcode
 * EQUAL_NODE_UNITS} per value, {@linkcode keyUnits} for an object's keys, one per character
 * of its strings (compared as a block). Counted once, when the schema is compiled; linear in
 * `entry`.
 */
function equalityUnits(entry: unknown): number {
  let units = 0;
  const stack: unknown[] = [entry];
  while (stack.length > 0) {
    const next = stack.pop();
    units += EQUAL_NODE_UNITS;
    if (typeof next === "string") units += next.length;
    else if (Array.isArray(next)) {
      for (const item of next) stack.push(item);
    } else if (typeof next === "object" && next !== null) {
      const items = Object.values(next);
      units += keyUnits(items.length);
      for (const item of items) stack.push(item);
    }
  }
  return units;
}

/**
 * What one application's `const` and `enum` comparisons can read: every entry in full, or,
 * for a string, number, boolean or null (compared in one step per entry, strings as a block
 * of at most their own length), no more than that value's size per entry. An object or an
 * array is charged the entries in full (measuring it would cost as much).
 */
function equalityCharge(cost: StepCost, data: unknown): number {
  if (typeof data === "object" && data !== null) {
    let units = cost.equal;
    for (const entry of cost.objectEntries) units += valueKeyUnits(entry, data);
    return units;
  }
  const own = EQUAL_NODE_UNITS + (typeof data === "string" ? data.length : 0);
  return Math.min(cost.equal, cost.equalEntries * own);
}

/**
 * What deep equality reads of the value's own keys when comparing `data` with `entry`: where
 * both have a plain object, it lists all the value's keys and looks each up in the entry
 * (`Object.keys(data)` first), however few the entry has ({@linkcode keyUnits}:
 * `const: {}` compared with an object of 100,000 keys reads 100,000). Walks only the entry's
 * own nodes (charged by {@linkcode equalityUnits}); each object's key count is counted once
 * per check ({@linkcode measureOf}).
 */
function valueKeyUnits(entry: unknown, data: unknown): number {
  let units = 0;
  const stack: unknown[] = [entry, data];
  while (stack.length > 0) {
    const value = stack.pop();
    const expected = stack.pop();
    if (typeof expected !== "object" || expected === null) continue;
    if (typeof value !== "object" || value === null) continue;
    if (Array.isArray(expected)) {
      // Arrays of different lengths are unequal at once; equal ones are compared item by item.
      if (!Array.isArray(value) || value.length !== expected.length) continue;
      for (let i = 0; i < expected.length; i++) stack.push(expected[i], value[i]);
    } else if (!Array.isArray(value)) {
      units += keyUnits(measureOf(value).keys);
      const record = value as Record<string, unknown>;
      for (const [key, item] of Object.entries(expected)) {
        if (Object.hasOwn(record, key)) stack.push(item, record[key]);
      }
    }
  }
  return units;
}

/** Whether `value` has a plain object (not an array) in it. Linear in `value`. */
function hasObject(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (Array.isArray(next)) {
      for (const item of next) stack.push(item);
    } else if (typeof next === "object" && next !== null) return true;
  }
  return false;
}

/**
 * Keywords whose value is a map of names to lists of property names, each name looked up in
 * the value (`dependencies` maps to a subschema too, charged when applied).
 */
const NAME_LIST_MAPS = new Set(["dependentRequired", "dependencies"]);

/** The {@linkcode StepCost} of one subschema (an object that may be one). */
function costOf(schema: Record<string, unknown>): StepCost {
  let entries = 0;
  let equal = 0;
  const compared: unknown[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === "const") compared.push(value);
    else if (key === "enum" && Array.isArray(value)) compared.push(...value);
    if (Array.isArray(value)) entries += value.length;
    else if (typeof value === "object" && value !== null) {
      for (const item of Object.values(value)) {
        // Each name of `dependentRequired: { a: [names…] }` is a lookup, not the list one.
        entries += NAME_LIST_MAPS.has(key) && Array.isArray(item) ? item.length : 1;
      }
    } else entries++;
  }
  for (const entry of compared) equal += equalityUnits(entry);
  const patterns = schema.patternProperties;
  const keyPatterns = typeof patterns === "object" && patterns !== null
    ? Object.keys(patterns)
    : [];
  if (schema.additionalProperties !== undefined) keyPatterns.push(...keyPatterns);
  const pattern = typeof schema.pattern === "string" ? schema.pattern : undefined;
  return {
    own: ENTRY_UNITS * entries,
    pattern,
    keyPatterns,
    patternUnits: patternUnits(MAX_PATTERN_PROGRAM),
    keyPatternUnits: keyPatterns.length * patternUnits(MAX_PATTERN_PROGRAM),
    unique: schema.uniqueItems === true,
    equal,
    equalEntries: compared.length,
    objectEntries: compared.filter(hasObject),
  };
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
 * Most subschemas (objects that may be one, as {@linkcode withStepCounter} marks them) in a
 * schema compiled. Ajv's code, and so its compile time, grow with them: about 200–300
 * characters of code each (1,023 empty properties: 0.3 MB of code, 0.14–0.22 s of
 * compiling on a loaded machine). Under the 16 Ki-character cap a schema has at most about
 * 1,500; an ordinary large schema a few hundred.
 */
export const MAX_SUBSCHEMAS = 1024;

/**
 * How many objects of `schema` may be subschemas (counted as {@linkcode withStepCounter}
 * marks them), counting at most `limit`. Linear in the schema.
 */
export function subschemaCount(schema: unknown, limit = MAX_SUBSCHEMAS + 1): number {
  let count = 0;
  const stack: unknown[] = [schema];
  while (stack.length > 0 && count < limit) {
    const next = stack.pop();
    if (Array.isArray(next)) {
      for (const item of next) stack.push(item);
      continue;
    }
    if (typeof next !== "object" || next === null) continue;
    count++;
    for (const [key, value] of Object.entries(next)) {
      if (DATA_KEYWORDS.has(key)) continue;
      if (
        SCHEMA_MAPS.has(key) && typeof value === "object" && value !== null && !Array.isArray(value)
      ) {
        for (const sub of Object.values(value)) stack.push(sub);
      } else stack.push(value);
    }
  }
  return Math.min(count, limit);
}

/**
 * A copy of `schema` with {@linkcode STEP_KEYWORD} in every object that may be a subschema
 * (any object but data and name maps: a `$ref` may point anywhere), its value what an
 * application of that subschema costs (see {@linkcode chargeOf}), so each application is
 * charged. Linear in the schema.
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
  copy[STEP_KEYWORD] = costOf(schema as Record<string, unknown>);
  return copy;
}

/**
 * `validate` run within a budget of work units (see {@linkcode chargeOf}):
 * {@linkcode BASE_UNITS} plus {@linkcode UNITS_PER_SIZE} per unit of the data's size, at
 * most {@linkcode MAX_UNITS}. A check over its budget answers `true` with no errors: the
 * value is not checked by the gateway (the server validates its own input; a result is
 * passed on as the server sent it).
 */
export function withinBudget(validate: ValidateFunction): ValidateFunction {
  const bounded = ((data: unknown) => {
    budget.spent = 0;
    budget.max = BASE_UNITS;
    measured = new WeakMap();
    budget.data = data;
    budget.sized = false;
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
 * Sets what `cost`'s patterns cost per character from their RE2 programs, compiling them for
 * the schema being compiled (Ajv, compiling the subschema's `pattern` and
 * `patternProperties` after this keyword, gets the same ones): once per subschema, when
 * Ajv generates its code, never while checking.
 */
function resolvePatterns(cost: StepCost): void {
  const units = (pattern: string) => compilePattern(pattern).units;
  if (cost.pattern !== undefined) cost.patternUnits = units(cost.pattern);
  cost.keyPatternUnits = cost.keyPatterns.reduce((sum, pattern) => sum + units(pattern), 0);
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
    // Ajv copies a `$ref`-free subschema into the code at every `$ref` to it by default, so
    // its code grew as refs × subschema: 300 properties referenced 50 times, an 8.5 KB
    // schema, took 18.6 s to compile, 100 times 53 s (red team j2). Every `$ref` is a call
    // instead: the generated code, and the compile time, grow with the schema's own size.
    inlineRefs: false,
    // Ajv's optimising passes over the code took 3–8 times as long as generating it (1,300
    // subschemas: 1.0–1.4 s against 0.1–0.16 s, a loaded machine); the code runs as fast.
    code: { regExp: linearRegExp, optimize: false },
  });
  ajv.addKeyword({
    keyword: STEP_KEYWORD,
    schemaType: "object",
    // First of the untyped keywords (Ajv's first is `$comment`): added last, it ran after
    // `const`, `enum`, `$ref`, `not`, `anyOf`, `oneOf`, `allOf` and `if`, so a comparison that
    // failed, or a subschema's whole work, ended the application before it was charged.
    before: "$comment",
    // One call and nothing else: Ajv's code for a `validate` keyword (its error handling,
    // the data's context) was about 500 characters per subschema, so a 16 KiB schema of
    // 1,300 empty properties made 0.8 MB of code and took 2–4 s to compile.
    code(cxt: KeywordCxt) {
      resolvePatterns(cxt.schema as StepCost);
      const charge = cxt.gen.scopeValue("func", { ref: countStep });
      cxt.gen.code(_`${charge}(${cxt.schemaValue}, ${cxt.data})`);
    },
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

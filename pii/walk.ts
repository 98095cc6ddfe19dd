// Iterative structural map over JSON-like values: arrays and objects are copied with an
// explicit stack (no recursion, so 100k levels of nesting cannot overflow the call
// stack), object keys are kept, and every other value goes through `leaf`. Leaves are
// visited in document order, so placeholders are numbered as a reader would expect.
//
// Each leaf comes with its key: the name of the object property that holds it, or, for an
// item of an array, the array's own key (nested arrays too: `{"phones": [["415…"]]}`), since
// redaction judges a value as the detectors judge `key: value` in text (keyed.ts). A leaf at
// the root or in an array under no key has none. A container reached again (a shared or
// cyclic reference) is not walked again, so its items keep the key of its first visit; a
// parsed JSON value, what the gateway redacts, has no shared references. Where a value's own
// key says nothing about it, pairs.ts gives the key it is judged under instead: the value
// field of a name/value pair (`{"name": "DB_PASSWORD", "value": …}`) has the name's text, a
// generic field (`{"db_password": {"value": …}}`) its object's key, a cookie's value a token
// word, the second item of a pair tuple (`[["x-api-key", "…"]]`) the first item, and a key
// that says nothing (`{"passwords": {"prod": …}}`) the nearest key above that gives context
// (each container carries that `Context`, so a leaf costs one remembered verdict on its key).
//
// Object keys are data too (`Object.fromEntries(rows.map((r) => [r.email, r.n]))`): a walk
// may map them (`name`), each with the key of the object it is in (by its own name or a pair's,
// not a context taken from above: there a key is a name), in document order (a key
// before its value). Two keys of one object never become one: a key mapped onto a name the
// object already has, or gets, becomes `<name> (2)`, `<name> (3)`… (see `distinctName`).
//
// An array that is a command's argument list (`{"command": ["sshpass", "-p", …]}`,
// command_arrays.ts) carries its `CommandLine`: each of its leaves comes with its place in it
// (`LinePlace`), so a redaction can hide what the joined line finds inside the item.

import { type Context, contextBelow, fieldKey, judgedKeys, tupleKey } from "./pairs.ts";
import { type CommandLine, commandLineOf } from "./command_arrays.ts";

/** The key of a leaf: its property's name, an array's inherited key, or none. */
export type LeafKey = string | undefined;

/**
 * Where a leaf is when its array is read as a command line (command_arrays.ts: `{"command":
 * ["sshpass", "-p", …]}`): the line, the array and the leaf's index in it. Given to a walk's
 * leaf callback as its third argument; `undefined` for every other leaf.
 */
export interface LinePlace {
  line: CommandLine;
  items: readonly unknown[];
  index: number;
}

/** The callback a walk calls on a leaf: its value, its key and, in a command line, its place. */
export type LeafFn<T> = (v: unknown, key: LeafKey, place?: LinePlace) => T;

/**
 * Maps an object key: `name` is the key, `under` the key of the object holding it (as a leaf
 * in that object's place would have it). Returns the key to write (itself when unchanged).
 */
export type MapName = (name: string, under: LeafKey) => string;

interface Frame {
  source: object;
  target: Record<string, unknown>;
  keys: string[] | null; // null for arrays
  index: number;
  /** The key the container is under (for an array, inherited): its items' key, its keys' `under`. */
  key: LeafKey;
  /** For an object: fields judged under another key than their own, field -> that key (pairs.ts). */
  pairs: Map<string, string> | undefined;
  /** For an array that is a pair tuple: the key its second item is judged under (pairs.ts). */
  tuple: string | undefined;
  /** The context its fields that say nothing take (pairs.ts; for an array, its items'). */
  context: Context | undefined;
  /** For an array read as a command line (command_arrays.ts), that line. */
  line: CommandLine | undefined;
  /**
   * For an object, the key its own keys are judged under: the key it is under by its own name
   * and pairs.ts's pairs, not a context taken from above (there a key is a name, `DB_PASS`,
   * far more often than a value). For an array, its items'.
   */
  names: LeafKey;
  /** For an object whose keys are mapped: the next suffix tried per colliding name. */
  suffixes?: Map<string, number>;
}

/**
 * Returns a copy of `value` in which every non-container value `v` is replaced by
 * `leaf(v, key)` (`key`: see {@linkcode LeafKey} and the module comment). Arrays stay
 * arrays, objects become plain objects with the same keys in the same order (each key
 * through `name` when given, just before its value; colliding results made distinct, see the
 * module comment, or with `collision`, that error thrown); shared and cyclic references are
 * preserved. Dates are passed to `leaf` as
 * their ISO string (what JSON would carry).
 */
export function mapLeaves(
  value: unknown,
  leaf: LeafFn<unknown>,
  name?: MapName,
  collision?: (name: string) => Error,
): unknown {
  if (!isContainer(value)) return leaf(toLeaf(value), undefined);
  const copies = new Map<object, object>();
  const root = emptyLike(value);
  copies.set(value, root);
  const stack: Frame[] = [frame(value, root, undefined, undefined, undefined)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const length = top.keys === null ? (top.source as unknown[]).length : top.keys.length;
    if (top.index >= length) {
      stack.pop();
      continue;
    }
    const key = top.keys === null ? top.index : top.keys[top.index];
    top.index++;
    const v = (top.source as Record<string | number, unknown>)[key];
    const under = underOf(top, key);
    const out = name === undefined || top.keys === null
      ? key
      : distinctName(top, key as string, name(key as string, top.names), collision);
    if (!isContainer(v)) {
      assign(top.target, out, leaf(toLeaf(v), under, placeOf(top, key)));
      continue;
    }
    const seen = copies.get(v);
    if (seen !== undefined) {
      assign(top.target, out, seen);
      continue;
    }
    const copy = emptyLike(v);
    copies.set(v, copy);
    assign(top.target, out, copy);
    stack.push(frame(v, copy, under, below(top, key, under), namesBelow(top, key)));
  }
  return root;
}

/** Where the leaf at `key` of `top` is in a command line, if `top` is one. */
function placeOf(top: Frame, key: string | number): LinePlace | undefined {
  if (top.line === undefined) return undefined;
  return { line: top.line, items: top.source as unknown[], index: key as number };
}

/** The key a value at `key` of `top` is under: see {@linkcode LeafKey} and pairs.ts. */
function underOf(top: Frame, key: string | number): LeafKey {
  if (top.keys === null) return key === 1 && top.tuple !== undefined ? top.tuple : top.key;
  return fieldKey(key as string, top.pairs, top.context);
}

/** The key a container at `key` of `top` judges its own keys under (see {@linkcode Frame}). */
function namesBelow(top: Frame, key: string | number): LeafKey {
  if (top.keys === null) return top.names;
  return top.pairs?.get(key as string) ?? key as string;
}

/** The context a container at `key` of `top`, under `under` ({@linkcode underOf}), gives. */
function below(top: Frame, key: string | number, under: LeafKey): Context | undefined {
  if (top.keys === null) return top.context;
  const object = top.source as Record<string, unknown>;
  return contextBelow(object, key as string, under as string, top.pairs, top.context);
}

/**
 * The key written for `key` of `top` mapped to `mapped`: itself when unchanged (the source's
 * keys are distinct); else `mapped`, or when the object has that key or it was written
 * already, the first free `mapped (n)`, n from 2 (or, with `collision`, its error thrown).
 * Amortized constant: the next n is kept per name.
 */
function distinctName(
  top: Frame,
  key: string,
  mapped: string,
  collision?: (name: string) => Error,
): string {
  if (mapped === key) return key;
  const source = top.source as Record<string, unknown>;
  const taken = (n: string) => Object.hasOwn(source, n) || Object.hasOwn(top.target, n);
  if (!taken(mapped)) return mapped;
  if (collision !== undefined) throw collision(mapped);
  top.suffixes ??= new Map();
  let n = top.suffixes.get(mapped) ?? 2;
  while (taken(`${mapped} (${n})`)) n++;
  top.suffixes.set(mapped, n + 1);
  return `${mapped} (${n})`;
}

/**
 * Whether `test` holds for some non-container value of `value` (or `testName`, when given,
 * for some object key), found without copying
 * anything: an explicit stack, each container visited once (shared and cyclic references
 * too), stopping at the first hit. Dates are tested as their ISO string, as in
 * {@link mapLeaves}.
 */
export function someLeaf(
  value: unknown,
  test: (v: unknown) => boolean,
  testName?: (name: string) => boolean,
): boolean {
  if (!isContainer(value)) return test(toLeaf(value));
  const seen = new Set<object>([value]);
  const stack: object[] = [value];
  while (stack.length > 0) {
    const container = stack.pop()!;
    if (testName !== undefined && !Array.isArray(container)) {
      for (const name of Object.keys(container)) if (testName(name)) return true;
    }
    const items = Array.isArray(container)
      ? container
      : Object.values(container as Record<string, unknown>);
    for (let i = 0; i < items.length; i++) {
      const v = items[i];
      if (!isContainer(v)) {
        if (test(toLeaf(v))) return true;
      } else if (!seen.has(v)) {
        seen.add(v);
        stack.push(v);
      }
    }
  }
  return false;
}

/** Sets an own property; `__proto__` (legal in JSON) must not become the prototype. */
function assign(target: Record<string | number, unknown>, key: string | number, v: unknown) {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = v;
  }
}

/**
 * A frame for `source` under `key` with `context` and `names` (see {@linkcode Frame}); `judged` false for
 * a pass that needs no keys (a copy by ordinals).
 */
function frame(
  source: object,
  target: object,
  key: LeafKey,
  context: Context | undefined,
  names: LeafKey,
  judged = true,
): Frame {
  const keys = Array.isArray(source) ? null : Object.keys(source);
  return {
    source,
    target: target as Record<string, unknown>,
    keys,
    index: 0,
    key,
    pairs: keys === null || !judged
      ? undefined
      : judgedKeys(source as Record<string, unknown>, keys, key),
    tuple: keys === null && judged ? tupleKey(source as unknown[]) : undefined,
    context: judged ? context : undefined,
    line: keys === null && judged ? commandLineOf(source as unknown[], key) : undefined,
    names,
  };
}

function isContainer(v: unknown): v is object {
  return typeof v === "object" && v !== null && !(v instanceof Date);
}

function toLeaf(v: unknown): unknown {
  return v instanceof Date ? (isNaN(v.getTime()) ? null : v.toISOString()) : v;
}

function emptyLike(v: object): object {
  return Array.isArray(v) ? new Array(v.length) : {};
}

/** Longest stretch of a cooperative walk before it yields the event loop, in ms. */
export const WALK_SLICE_MS = 4;
/** Values visited between two looks at the clock (reading it costs more than a value). */
const VALUES_PER_CHECK = 1024;

/**
 * A clock for cooperative loops: `tick()` resolves at once (synchronously, with no promise)
 * until `sliceMs` ms have passed since the last yield, then yields one macrotask turn
 * (`setTimeout(0)`, so timers and I/O of other requests run) and throws `signal`'s reason
 * if it was aborted meanwhile.
 */
function slicer(sliceMs: number, signal?: AbortSignal): () => Promise<void> | undefined {
  let started = performance.now();
  let count = 0;
  return () => {
    if (++count < VALUES_PER_CHECK) return undefined;
    count = 0;
    if (performance.now() - started <= sliceMs) return undefined;
    return new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
      signal?.throwIfAborted();
      started = performance.now();
    });
  };
}

/** Options of the cooperative walks. */
export interface WalkOptions {
  /** Longest stretch without yielding the event loop, in ms (default {@link WALK_SLICE_MS}). */
  sliceMs?: number;
  /** Stops the walk: it rejects with the signal's reason at its next yield. */
  signal?: AbortSignal;
}

/**
 * {@link someLeaf}'s order and rules ({@link mapLeaves}'s document order, each container once,
 * Dates as ISO strings) without copying anything, calling `visit` on every non-container
 * value with its key (as {@link mapLeaves} gives it), `visitName` (when given) on every key of
 * a visited object just before its value, with the object's key, and yielding the event loop every
 * `sliceMs` ms: a result of 350,000 empty objects is walked in slices of a few ms instead of
 * one stretch of hundreds. `value` must not change while the walk runs (callers own a freshly
 * parsed value). Rejects with `signal`'s reason when it is aborted.
 */
export async function forEachLeafAsync(
  value: unknown,
  visit: LeafFn<void>,
  options: WalkOptions = {},
  visitName?: (name: string, under: LeafKey) => void,
): Promise<void> {
  if (!isContainer(value)) return visit(toLeaf(value), undefined);
  const tick = slicer(options.sliceMs ?? WALK_SLICE_MS, options.signal);
  const seen = new Set<object>([value]);
  const stack: Frame[] = [frame(value, value, undefined, undefined, undefined)];
  while (stack.length > 0) {
    const pause = tick();
    if (pause) await pause;
    const top = stack[stack.length - 1];
    const length = top.keys === null ? (top.source as unknown[]).length : top.keys.length;
    if (top.index >= length) {
      stack.pop();
      continue;
    }
    const key = top.keys === null ? top.index : top.keys[top.index];
    top.index++;
    const v = (top.source as Record<string | number, unknown>)[key];
    const under = underOf(top, key);
    if (visitName !== undefined && top.keys !== null) visitName(key as string, top.names);
    if (!isContainer(v)) visit(toLeaf(v), under, placeOf(top, key));
    else if (!seen.has(v)) {
      seen.add(v);
      stack.push(frame(v, v, under, below(top, key, under), namesBelow(top, key)));
    }
  }
}

/**
 * {@link mapLeaves} that yields the event loop every `sliceMs` ms and copies nothing when
 * nothing changes: `leaf` is called once per non-container value with its key (as
 * {@link mapLeaves} gives it), and `name` once per object key (just before its value), in
 * document order; when
 * it returns every value as it got it (`Object.is`), the result is `value` itself, not a
 * copy (so the caller must not modify the result unless it owns `value`). Otherwise the
 * result is a copy as {@link mapLeaves} makes it (shared and cyclic references preserved),
 * built in a second cooperative pass. A Date, which `leaf` gets as its ISO string, counts as
 * unchanged when `leaf` returns that string. `value` must not change while the walk runs.
 * Rejects with `signal`'s reason when it is aborted.
 */
export async function mapLeavesAsync(
  value: unknown,
  leaf: LeafFn<unknown>,
  options: WalkOptions = {},
  name?: MapName,
): Promise<unknown> {
  if (!isContainer(value)) return leaf(toLeaf(value), undefined);
  // First pass: every leaf (and key, with `name`) mapped, keeping only what changed, by
  // ordinal in document order.
  const changed = new Map<number, unknown>();
  let ordinal = 0;
  await forEachLeafAsync(
    value,
    (v, key, place) => {
      const out = leaf(v, key, place);
      if (!Object.is(out, v)) changed.set(ordinal, out);
      ordinal++;
    },
    options,
    name === undefined ? undefined : (k, under) => {
      const out = name(k, under);
      if (out !== k) changed.set(ordinal, out);
      ordinal++;
    },
  );
  if (changed.size === 0) return value;
  // Second pass: the copy, in the same order (so the same ordinals).
  const tick = slicer(options.sliceMs ?? WALK_SLICE_MS, options.signal);
  ordinal = 0;
  const next = (v: unknown) => {
    const i = ordinal++;
    return changed.has(i) ? changed.get(i) : toLeaf(v);
  };
  const copies = new Map<object, object>();
  const root = emptyLike(value);
  copies.set(value, root);
  const stack: Frame[] = [frame(value, root, undefined, undefined, undefined, false)];
  while (stack.length > 0) {
    const pause = tick();
    if (pause) await pause;
    const top = stack[stack.length - 1];
    const length = top.keys === null ? (top.source as unknown[]).length : top.keys.length;
    if (top.index >= length) {
      stack.pop();
      continue;
    }
    const key = top.keys === null ? top.index : top.keys[top.index];
    top.index++;
    const v = (top.source as Record<string | number, unknown>)[key];
    let out: string | number = key;
    if (name !== undefined && top.keys !== null) {
      const i = ordinal++;
      if (changed.has(i)) out = distinctName(top, key as string, changed.get(i) as string);
    }
    if (!isContainer(v)) {
      assign(top.target, out, next(v));
      continue;
    }
    const seen = copies.get(v);
    if (seen !== undefined) {
      assign(top.target, out, seen);
      continue;
    }
    const copy = emptyLike(v);
    copies.set(v, copy);
    assign(top.target, out, copy);
    stack.push(frame(v, copy, undefined, undefined, undefined, false));
  }
  return root;
}

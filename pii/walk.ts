// Iterative structural map over JSON-like values: arrays and objects are copied with an
// explicit work list (no recursion, so 100k levels of nesting cannot overflow the stack),
// object keys are kept, and every other value goes through `leaf`.

/**
 * Returns a copy of `value` in which every non-container value `v` is replaced by
 * `leaf(v)`. Arrays stay arrays, objects become plain objects with the same keys in the
 * same order; shared and cyclic references are preserved. Dates are passed to `leaf` as
 * their ISO string (what JSON would carry).
 */
export function mapLeaves(value: unknown, leaf: (v: unknown) => unknown): unknown {
  if (!isContainer(value)) return leaf(toLeaf(value));
  const copies = new Map<object, object>();
  const root = emptyLike(value);
  copies.set(value, root);
  const work: Array<[object, Record<string, unknown>]> = [[value, root as Record<string, unknown>]];
  while (work.length > 0) {
    const [source, target] = work.pop()!;
    if (Array.isArray(source)) {
      for (let i = 0; i < source.length; i++) {
        target[i] = child(source[i], copies, work, leaf);
      }
    } else {
      for (const key of Object.keys(source)) {
        target[key] = child((source as Record<string, unknown>)[key], copies, work, leaf);
      }
    }
  }
  return root;
}

function child(
  v: unknown,
  copies: Map<object, object>,
  work: Array<[object, Record<string, unknown>]>,
  leaf: (v: unknown) => unknown,
): unknown {
  if (!isContainer(v)) return leaf(toLeaf(v));
  const seen = copies.get(v);
  if (seen !== undefined) return seen;
  const copy = emptyLike(v);
  copies.set(v, copy);
  work.push([v, copy as Record<string, unknown>]);
  return copy;
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

// Iterative structural map over JSON-like values: arrays and objects are copied with an
// explicit stack (no recursion, so 100k levels of nesting cannot overflow the call
// stack), object keys are kept, and every other value goes through `leaf`. Leaves are
// visited in document order, so placeholders are numbered as a reader would expect.

interface Frame {
  source: object;
  target: Record<string, unknown>;
  keys: string[] | null; // null for arrays
  index: number;
}

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
  const stack: Frame[] = [frame(value, root)];
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
    if (!isContainer(v)) {
      assign(top.target, key, leaf(toLeaf(v)));
      continue;
    }
    const seen = copies.get(v);
    if (seen !== undefined) {
      assign(top.target, key, seen);
      continue;
    }
    const copy = emptyLike(v);
    copies.set(v, copy);
    assign(top.target, key, copy);
    stack.push(frame(v, copy));
  }
  return root;
}

/**
 * Whether `test` holds for some non-container value of `value`, found without copying
 * anything: an explicit stack, each container visited once (shared and cyclic references
 * too), stopping at the first hit. Dates are tested as their ISO string, as in
 * {@link mapLeaves}.
 */
export function someLeaf(value: unknown, test: (v: unknown) => boolean): boolean {
  if (!isContainer(value)) return test(toLeaf(value));
  const seen = new Set<object>([value]);
  const stack: object[] = [value];
  while (stack.length > 0) {
    const container = stack.pop()!;
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

function frame(source: object, target: object): Frame {
  return {
    source,
    target: target as Record<string, unknown>,
    keys: Array.isArray(source) ? null : Object.keys(source),
    index: 0,
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

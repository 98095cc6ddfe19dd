/**
 * Canonical JSON: the key under which a call's arguments are compared (prefetch table, session
 * cache, predicted arguments). Object keys are sorted (UTF-16 code unit order), so `{a, b}` and
 * `{b, a}` are the same call; arrays keep their order.
 *
 * @module
 */

/**
 * Longest canonical text made by default, in UTF-16 units (1 Mi): a call whose arguments are
 * longer is never matched, and is not written out whole first (a 4 MiB array took the shared
 * event loop 400 ms to write).
 */
export const MAX_CANONICAL_CHARS = 1024 * 1024;

/**
 * The canonical JSON text of a JSON value: like `JSON.stringify` with every object's keys
 * sorted. `undefined` members are dropped as `JSON.stringify` drops them. Returns `undefined`
 * for a value that is not JSON (a function, a bigint, a cycle, or deeper than 64 levels), so
 * such a call is never matched, and for one whose text would pass `maxChars` (UTF-16 units),
 * found out before more than about twice `maxChars` of it is written.
 */
export function canonicalJson(value: unknown, maxChars = MAX_CANONICAL_CHARS): string | undefined {
  try {
    // The budget counts every value once more than its text: twice the limit is never
    // reached by a text within it, and the exact length is checked at the end.
    const text = write(value, 0, { left: 2 * maxChars + 64 });
    return text.length <= maxChars ? text : undefined;
  } catch {
    return undefined;
  }
}

function write(value: unknown, depth: number, budget: { left: number }): string {
  if (depth > 64) throw new RangeError("too deep");
  if (--budget.left < 0) throw new RangeError("too long");
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
    case "number": {
      // NaN and ±Infinity become null, as JSON.stringify does.
      const text = JSON.stringify(value);
      budget.left -= text.length;
      if (budget.left < 0) throw new RangeError("too long");
      return text;
    }
    case "object": {
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (const v of value) items.push(v === undefined ? "null" : write(v, depth + 1, budget));
        return `[${items.join(",")}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError("not plain");
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        if (record[key] === undefined) continue;
        const name = JSON.stringify(key);
        budget.left -= name.length + 1;
        parts.push(`${name}:${write(record[key], depth + 1, budget)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      throw new TypeError("not JSON");
  }
}

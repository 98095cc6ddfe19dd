/**
 * Canonical JSON: the key under which a call's arguments are compared (prefetch table, session
 * cache, predicted arguments). Object keys are sorted (UTF-16 code unit order), so `{a, b}` and
 * `{b, a}` are the same call; arrays keep their order.
 *
 * @module
 */

/**
 * The canonical JSON text of a JSON value: like `JSON.stringify` with every object's keys
 * sorted. `undefined` members are dropped as `JSON.stringify` drops them. Returns `undefined`
 * for a value that is not JSON (a function, a bigint, a cycle, or deeper than 64 levels), so
 * such a call is never matched.
 */
export function canonicalJson(value: unknown): string | undefined {
  try {
    return write(value, 0);
  } catch {
    return undefined;
  }
}

function write(value: unknown, depth: number): string {
  if (depth > 64) throw new RangeError("too deep");
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      return JSON.stringify(value); // NaN and ±Infinity become null, as JSON.stringify does
    case "object": {
      if (Array.isArray(value)) {
        return `[${value.map((v) => (v === undefined ? "null" : write(v, depth + 1))).join(",")}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError("not plain");
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        if (record[key] === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${write(record[key], depth + 1)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      throw new TypeError("not JSON");
  }
}

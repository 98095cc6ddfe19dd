// Name/value pairs: many formats store a setting as an object holding its name in one field
// and its value in another (Kubernetes `env: [{"name": "DB_PASSWORD", "value": …}]`, AWS SSM
// `{"Name": "/prod/db/password", "Value": …}`, AWS tags `{"Key": …, "Value": …}`, HAR headers
// `{"name": "X-Api-Key", "value": …}`, CloudFormation `ParameterKey`/`ParameterValue`). The
// value's own key (`value`) says nothing about it; the name beside it is what a config file
// would write before it (`DB_PASSWORD=…`), so that name is the key it is judged under (red
// team d2: every such secret came back raw).

/** Longest field name looked at for a pair, in UTF-16 code units (`parametervalue` is 14). */
const MAX_FIELD_UNITS = 32;

/**
 * The value fields of `object` that stand beside a name field, each with that name's text:
 * a field called `value` (any case) beside a string field called `name` or `key` (any case),
 * or `<prefix>value` / `<prefix>_value` beside `<prefix>name` / `<prefix>key` (same prefix,
 * `_` or `-` optional: `ParameterKey`/`ParameterValue`). `name` wins over `key`. An empty
 * name gives nothing. `undefined` when there is no such pair (nearly always: each key is
 * looked at by its last letter first). Linear in the number of keys (each read up to
 * {@linkcode MAX_FIELD_UNITS} units).
 */
export function pairedNames(
  object: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): Map<string, string> | undefined {
  let values: [string, string][] | undefined; // [field, prefix]
  let names: Map<string, string> | undefined; // prefix + "\u0000name" or "\u0000key" -> text
  for (const field of keys) {
    if (field.length < 3 || field.length > MAX_FIELD_UNITS) continue;
    const last = field.charCodeAt(field.length - 1) | 32;
    if (last !== 101 && last !== 121) continue; // "e" (name, value) or "y" (key)
    const lower = field.toLowerCase();
    const word = lower.endsWith("value")
      ? "value"
      : lower.endsWith("name")
      ? "name"
      : lower.endsWith("key")
      ? "key"
      : undefined;
    if (word === undefined) continue;
    const prefix = lower.slice(0, -word.length).replace(/[_-]$/, "");
    if (word === "value") {
      (values ??= []).push([field, prefix]);
      continue;
    }
    const text = object[field];
    if (typeof text !== "string" || text.length === 0) continue;
    const slot = prefix + "\u0000" + word;
    names ??= new Map();
    if (!names.has(slot)) names.set(slot, text);
  }
  if (values === undefined || names === undefined) return undefined;
  let out: Map<string, string> | undefined;
  for (const [field, prefix] of values) {
    const name = names.get(prefix + "\u0000name") ?? names.get(prefix + "\u0000key");
    if (name !== undefined) (out ??= new Map()).set(field, name);
  }
  return out;
}

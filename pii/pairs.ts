// The key a value is judged under, when its own key says nothing about it. A value is judged
// with its object key as context (keyed.ts); these everyday shapes put the context beside the
// value, above it, or in the item before it:
//
// - Name/value pairs: many formats store a setting as an object holding its name in one field
//   and its value in another (Kubernetes `env: [{"name": "DB_PASSWORD", "value": …}]`, AWS SSM
//   `{"Name": "/prod/db/password", "Value": …}`, AWS tags `{"Key": …, "Value": …}`, HAR headers
//   `{"name": "X-Api-Key", "value": …}`, CloudFormation `ParameterKey`/`ParameterValue`, 1Password
//   fields `{"id": "password", "label": "password", "value": …}`, Azure storage keys
//   `{"keyName": "key1", "value": …}`). The value's own key (`value`) says nothing about it; the
//   name beside it is what a config file would write before it (`DB_PASSWORD=…`), so that name
//   is the key it is judged under (red team d2, and round 4 f1 for `label`, `id`, `keyName`).
// - A generic value word under a named object: `terraform output -json`
//   (`{"db_password": {"sensitive": true, "value": …}}`), Pulumi (`{"app:dbPassword":
//   {"secret": true, "value": …}}`), `{"phone": {"number": …}}`, `{"ssn": {"value": …}}`. A field
//   called `value`, `number`, `data`… (`GENERIC_FIELDS`) is judged under its object's key (red
//   team f1: all of these came back raw).
// - Cookies (`{"name": "session", "value": …, "domain": …}`: cookie jars, HAR, Playwright
//   `context.cookies()`): a session cookie's value is what the server reads as its bearer's
//   session, so a cookie whose name says nothing to the detectors but names a session, a login
//   or an id (`session`, `laravel_session`, `visitor_id`), or whose value looks random, has its
//   value judged as a token's (`COOKIE_CONTEXT`). Any other cookie's value is judged alone:
//   `theme=solarized-dark-2024`, `cart=sku-12345,sku-67890` are preferences, as they are in a
//   `Set-Cookie:` line (red team round 5, g1: they became secrets).
// - Pair tuples (`Object.entries(env)`, `[...headers]`: `[["x-api-key", "q8Zr…"]]`): an array
//   of exactly two items, a short name and a primitive, has its second item judged under the
//   first when the first gives context.
// - Keys that say nothing below a key that does (`{"passwords": {"prod": …}}`,
//   `{"api_keys": {"stripe": …}}`, `{"ssn": {"primary": …}}`, `{"phones": [{"home": …}]}`,
//   Terraform's `{"db_password": {"value": {"primary": …}}}`):
//   a value whose own key gives no context and says nothing of what it is (`prod`, `home`;
//   keyed.ts `takesContext`: not `type`, `name`, `phone_count`, `hosts`, `commandLine`) is
//   judged under the nearest key above it that gives context, up to `MAX_CONTEXT_LEVELS`
//   objects down (red team round 5, g1: arrays under such keys were redacted, objects not),
//   unless it says what it is itself (an ARN, a URL, a command line, a host name:
//   plain_values.ts; red team j1: an approver saw `[SECRET_1_…]` for them). A field that says
//   what it holds (`role`, `project`, `on_start`) keeps that meaning only for a value that fits
//   it: one that looks like a secret takes the context above (red team l1). An object under a
//   key that keeps its own meaning still takes the context (`{"passwords": {"hosts": {"db1":
//   …}}}` holds passwords by host). A bare `key` passes nothing down: a composite key's parts
//   (`{"Key": {"pk": {"S": …}}}`) are names, not credentials; a Kubernetes Secret's `data`
//   and `stringData` pass a password's context down
//   (`SECRET_DATA_CONTEXT`). Each container carries its `Context`, so a value costs one
//   remembered verdict on its key; object keys stay judged under their object's own key.
//
// Each rule only adds a candidate key, and the first candidate that gives context (keyed.ts's
// own probes) is taken: a value is never judged under a key that says less than its own.
// The work per object is constant beyond one look at each of its keys.

import { contextTypes, givesContext, takesContext } from "./keyed.ts";
import { GENERIC_FIELDS, MAX_GENERIC_UNITS } from "./generic_fields.ts";
import { looksRandom, namesSession } from "./cookie_values.ts";
import { isPlainValue } from "./plain_values.ts";
import { COOKIE_CONTEXT, looksSecretValue } from "./value_parts.ts";
import { markedSecret, namesSecretContainer } from "./secret_markers.ts";

export { COOKIE_CONTEXT, GENERIC_FIELDS };

/**
 * The context a Kubernetes Secret's `data` (base64) and `stringData` (only a Secret has it)
 * give the values in them whose keys say nothing (`{"stringData": {"prod": …}}`): every one
 * is a credential by its author's word, judged as a password is (the most lenient thresholds:
 * a human-chosen `Tr0ub4dor&3` is found, a dictionary word is not). Their keys are names
 * (`DB_PASS`), judged under `data` or `stringData` as any object's keys are under its own.
 */
export const SECRET_DATA_CONTEXT = "password";

/** Longest field name looked at for a pair, in UTF-16 code units (`parametervalue` is 14). */
const MAX_FIELD_UNITS = 32;

/**
 * Bare fields that name the `value` beside them, most telling first (`name` wins over `key`,
 * as before `label`, `field` and `id` were read).
 */
const NAME_FIELDS = ["name", "key", "label", "field", "id"] as const;

/**
 * Fields whose presence beside `name` and `value` makes an object a cookie (Playwright, CDP,
 * HAR, Netscape jars as JSON, browser extensions), lower case.
 */
const COOKIE_FIELDS: ReadonlySet<string> = new Set([
  "domain",
  "path",
  "httponly",
  "secure",
  "samesite",
  "expires",
  "expiry",
  "expirationdate",
  "hostonly",
]);
/** Last words of a key whose items are cookies (`cookies`, `Set-Cookie`, `cookie_jar`…). */
const COOKIE_KEY = /cookies?(?:[^a-z0-9]*jar)?$/i;

/**
 * The value fields of `object` that stand beside a name field, each with that name's text:
 * a field called `value` (any case) beside a string field called `name`, `key`, `label`,
 * `field` or `id` (any case; the first of these that gives context, else the first there),
 * or `<prefix>value` / `<prefix>_value` beside `<prefix>name` / `<prefix>key` (same prefix,
 * `_` or `-` optional: `ParameterKey`/`ParameterValue`; `name` wins over `key`). A bare `value`
 * with no bare name beside it takes a `<thing>name` / `<thing>key` instead (Azure's
 * `keyName`), and when that name's text gives no context, `<thing>` itself when it does (the
 * value of a key named `key1` is a key). An empty name gives nothing. `undefined` when there
 * is no such pair (nearly always: each key is looked at by its last letter first). Linear in
 * the number of keys (each read up to {@linkcode MAX_FIELD_UNITS} units).
 */
export function pairedNames(
  object: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): Map<string, string> | undefined {
  let values: [string, string][] | undefined; // [field, prefix]
  let names: Map<string, string> | undefined; // prefix + "\u0000name" or "\u0000key" -> text
  let bare: (string | undefined)[] | undefined; // NAME_FIELDS' texts, by index
  let other: [string, string] | undefined; // the first `<thing>name`/`<thing>key`: [thing, text]
  for (const field of keys) {
    if (field.length < 2 || field.length > MAX_FIELD_UNITS) continue;
    const last = field.charCodeAt(field.length - 1) | 32;
    // "e" (name, value), "y" (key), "l" (label), "d" (field, id)
    if (last !== 101 && last !== 121 && last !== 108 && last !== 100) continue;
    const lower = field.toLowerCase();
    const word = lower.endsWith("value")
      ? "value"
      : lower.endsWith("name")
      ? "name"
      : lower.endsWith("key")
      ? "key"
      : lower === "label" || lower === "field" || lower === "id"
      ? lower
      : undefined;
    if (word === undefined) continue;
    const prefix = lower.slice(0, -word.length).replace(/[_-]$/, "");
    if (word === "value") {
      (values ??= []).push([field, prefix]);
      continue;
    }
    const text = object[field];
    if (typeof text !== "string" || text.length === 0) continue;
    if (prefix === "") {
      const at = NAME_FIELDS.indexOf(word as typeof NAME_FIELDS[number]);
      bare ??= [];
      if (bare[at] === undefined) bare[at] = text;
    } else if (other === undefined && (word === "name" || word === "key")) {
      other = [prefix, text];
    }
    if (word !== "name" && word !== "key") continue;
    const slot = prefix + "\u0000" + word;
    names ??= new Map();
    if (!names.has(slot)) names.set(slot, text);
  }
  if (values === undefined || (names === undefined && bare === undefined)) return undefined;
  let out: Map<string, string> | undefined;
  for (const [field, prefix] of values) {
    const name = prefix === ""
      ? bareName(bare, other)
      : names?.get(prefix + "\u0000name") ?? names?.get(prefix + "\u0000key");
    if (name !== undefined) (out ??= new Map()).set(field, name);
  }
  return out;
}

/**
 * The name a bare `value` is judged under: of the bare name fields (in
 * {@linkcode NAME_FIELDS} order) the first that gives context, else the first there; with
 * none, a `<thing>name` field's text, or `<thing>` when only that gives context.
 */
function bareName(
  bare: readonly (string | undefined)[] | undefined,
  other: readonly [string, string] | undefined,
): string | undefined {
  let first: string | undefined;
  if (bare !== undefined) {
    for (const text of bare) {
      if (text === undefined) continue;
      if (givesContext(text)) return text;
      first ??= text;
    }
    if (first !== undefined) return first;
  }
  if (other === undefined) return undefined;
  const [thing, text] = other;
  return !givesContext(text) && givesContext(thing) ? thing : text;
}

/**
 * The keys the fields of `object` (its own `keys`, in order) are judged under when that is
 * not the field's own name (see the module comment); `under` is the key `object` itself is
 * under. The value of a pair ({@linkcode pairedNames}) takes its name, or, when the name gives
 * no context, for a cookie (a `name`/`value` object with a cookie field, or one under a key
 * ending in `cookie`/`cookies`) {@linkcode COOKIE_CONTEXT} when its name names a session or an
 * id or its value looks random, else its own name; for anything else `under` when that gives
 * context. A field named one of {@linkcode GENERIC_FIELDS} (any case) takes `under`. A string
 * field that would take a key from above (a generic one, or one that takes its container's
 * context: keyed.ts `takesContext`) whose value says what it is (an ARN, a URL, a command
 * line, a host name: plain_values.ts `isPlainValue`; for an array, each of its items) keeps
 * its own name, which says nothing. A string field (or an array of strings) that keeps its own
 * meaning by its name and gives no secret's context, whose value looks like a secret
 * (value_parts.ts `looksSecretValue`; not a UUID under an id field) and says nothing else, gets
 * {@linkcode TAKES_CONTEXT}: it takes its container's context after all.
 * (Fields that take their container's context, {@linkcode fieldKey}, are not in it
 * otherwise.) `undefined` when every field keeps its own name. Linear in the number of keys; at most a few
 * {@linkcode givesContext} asks per object (each remembered per key).
 */
export function judgedKeys(
  object: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  under: string | undefined,
): Map<string, string> | undefined {
  let out = pairedNames(object, keys);
  // A value its own object marks secret (`"Type": "SecureString"`, a `totp` seed:
  // secret_markers.ts) is judged as a Secret's data is, whatever its name.
  const marked = markedSecret(object, keys, under, SECRET_DATA_CONTEXT);
  if (marked !== undefined) {
    out ??= new Map();
    for (const [field, key] of marked) out.set(field, key);
  }
  if (out !== undefined) {
    // Asked once per object, not once per pair: it reads every key (red team j2: 16,000 pairs
    // beside a `name` field held the event loop 48 s).
    let cookie: boolean | undefined;
    for (const [field, name] of out) {
      if (givesContext(name)) continue;
      cookie ??= isCookie(object, keys, under);
      if (cookie) {
        // A cookie that names no session and holds nothing random is judged alone.
        const session = namesSession(name) || looksRandom(object[field]);
        out.set(field, session ? COOKIE_CONTEXT : field);
      } else if (under !== undefined && givesContext(under)) out.set(field, under);
    }
  }
  if (under === undefined || under.length === 0) return out;
  for (const field of keys) {
    if (out?.has(field)) continue;
    const generic = field.length <= MAX_GENERIC_UNITS && GENERIC_FIELDS.has(field.toLowerCase());
    const v = object[field];
    if (typeof v !== "string" && !Array.isArray(v)) {
      if (generic) (out ??= new Map()).set(field, under);
      continue;
    }
    if (generic || takesContext(field)) {
      // A value that says what it is (an ARN, a host name, a command line: plain_values.ts)
      // takes no key from above: it is judged under its own, which says nothing (red team j1).
      if (saysWhatItIs(v)) (out ??= new Map()).set(field, field);
      else if (generic) (out ??= new Map()).set(field, under);
    } else if (
      !namesItsId(field, v) && looksSecretValue(v) && !contextTypes(field).includes("secret") &&
      !saysWhatItIs(v)
    ) {
      // A field that says what it holds (`role`, `project`, `on_start`, `entrypoint`), or gives
      // a context other than a secret's (`callback_url`: a phone's), keeps that meaning only for
      // a value that fits it: one that looks like a secret takes the context
      // above like any other field (red team l1: `{"passwords": {"admin_role": …}}`,
      // `{"api_keys": {"billing_project": …}}` came back raw). A name alone never takes a
      // secret out of a credential's context.
      (out ??= new Map()).set(field, TAKES_CONTEXT);
    }
  }
  return out;
}

/**
 * What {@linkcode judgedKeys} gives a field that keeps its own meaning by its name but whose
 * value looks like a secret: {@linkcode fieldKey} reads it as the context's key, when there is
 * a context, and as the field's own name otherwise. (A NUL in it: no detector's word.)
 */
export const TAKES_CONTEXT = "\u0000takes context";

/** A UUID: what a field named for an id (`id`, `instanceId`, `tenant_uuid`) holds. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A key whose last word names an id (`id`, `ids`, `instanceId`, `tenant_uuid`, `GUID`). */
const ID_FIELD =
  /(?:^|[^A-Za-z])(?:[iI][dD]|[uUgG][uU][iI][dD])[sS]?$|[a-z](?:Id|ID|Uuid|UUID|Guid|GUID)s?$/;

/** Whether `v` is a UUID under a field named for an id (the value fits the name). */
function namesItsId(field: string, v: unknown): boolean {
  return typeof v === "string" && v.length === 36 && UUID.test(v) &&
    ID_FIELD.test(field.slice(-32));
}

/** Longest array whose items {@linkcode saysWhatItIs} reads; a longer one does not say. */
const MAX_PLAIN_ITEMS = 64;

/**
 * Whether `v` says what it is: a string {@linkcode isPlainValue} finds, or a non-empty array
 * of at most {@linkcode MAX_PLAIN_ITEMS} items, all such strings (read up to the first other).
 */
function saysWhatItIs(v: unknown): boolean {
  if (typeof v === "string") return isPlainValue(v);
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_PLAIN_ITEMS) return false;
  for (const item of v) if (typeof item !== "string" || !isPlainValue(item)) return false;
  return true;
}

/** Whether `object` (a name/value pair) is a cookie: see {@linkcode judgedKeys}. */
function isCookie(
  object: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  under: string | undefined,
): boolean {
  if (typeof object.name !== "string") return false;
  if (under !== undefined && COOKIE_KEY.test(under.slice(-MAX_FIELD_UNITS))) return true;
  for (const field of keys) {
    if (field.length <= 14 && COOKIE_FIELDS.has(field.toLowerCase())) return true;
  }
  return false;
}

/** Object levels below a key that gives context through which it reaches (see the module comment). */
export const MAX_CONTEXT_LEVELS = 4;

/**
 * The context a container gives the fields below it whose own keys say nothing: the key they
 * are judged under, and how many object levels below that key the container is.
 */
export interface Context {
  /** The key those fields are judged under. */
  readonly key: string;
  /** Object levels between the key and the container: 0 for the key's own value. */
  readonly levels: number;
}

/**
 * The context a container under `key` (as {@linkcode fieldKey} gives it) gives its fields,
 * when `key` gives context and is no bare `key` (see the module comment); `undefined`
 * otherwise. One remembered verdict (keyed.ts).
 */
export function contextOf(key: string | undefined): Context | undefined {
  if (key === undefined || !givesContext(key)) return undefined;
  if (key.length === 3 && key.toLowerCase() === "key") return undefined;
  return { key, levels: 0 };
}

/**
 * The key field `field` of an object is judged under: the key {@linkcode judgedKeys} gives it
 * (`pairs`; for {@linkcode TAKES_CONTEXT} the context's key, or itself without a context), else, when its object has a `context` and `field` takes one (keyed.ts
 * `takesContext`: it gives none and says nothing of its value), the context's key, else
 * itself. One remembered verdict per field, asked only under a context.
 */
export function fieldKey(
  field: string,
  pairs: ReadonlyMap<string, string> | undefined,
  context: Context | undefined,
): string {
  const paired = pairs?.get(field);
  if (paired === TAKES_CONTEXT) return context?.key ?? field;
  if (paired !== undefined) return paired;
  return context !== undefined && takesContext(field) ? context.key : field;
}

/**
 * The context a container at field `field` of `object` gives its own fields, `under` being
 * {@linkcode fieldKey}'s answer for it (`pairs` and `context` as given there): a Kubernetes
 * Secret's {@linkcode SECRET_DATA_CONTEXT} for its `data` and `stringData`; {@linkcode contextOf}
 * `under` when it is a pair's or a generic field's, or when its own key gives context; else,
 * under a context (whether it took that context or keeps its own meaning), its object's
 * context one level further down (none past {@linkcode MAX_CONTEXT_LEVELS}). An array's items
 * share the array's context.
 */
export function contextBelow(
  object: Readonly<Record<string, unknown>>,
  field: string,
  under: string,
  pairs: ReadonlyMap<string, string> | undefined,
  context: Context | undefined,
): Context | undefined {
  if (
    field === "stringData" || (field === "data" && object.kind === "Secret") ||
    namesSecretContainer(field)
  ) {
    return { key: SECRET_DATA_CONTEXT, levels: 0 };
  }
  if (context === undefined || pairs?.has(field)) return contextOf(under);
  // A field that gives context passes its own down. One that keeps its own meaning (`hosts`,
  // `user`: keyed.ts `takesContext`) says what a value under it is, not what an object under
  // it holds: `{"passwords": {"hosts": {"db1": …}}}` holds passwords by host, and passes the
  // context on as a field that says nothing does.
  if (under === field && givesContext(under)) return contextOf(under);
  const levels = context.levels + 1;
  return levels < MAX_CONTEXT_LEVELS ? { key: context.key, levels } : undefined;
}

/** Longest first item of a pair tuple read as its second's key, in UTF-16 code units. */
export const MAX_TUPLE_NAME_UNITS = 64;

/**
 * What a tuple's first item must look like to be asked about: a field, header or variable
 * name (`x-api-key`, `DB_PASSWORD`, `app:dbPassword`). Asking the detectors costs three short
 * scans per distinct name, and `Object.entries` of a map by e-mail, id or date would pay
 * them for every row: such items (an `@`, a space, a leading digit) are not names.
 */
const TUPLE_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/**
 * The key the second item of `array` is judged under when `array` is a pair tuple
 * (`Object.entries(…)`, `[...headers]`): exactly two items, the first a name
 * ({@linkcode TUPLE_NAME}) of at most {@linkcode MAX_TUPLE_NAME_UNITS} units that gives
 * context ({@linkcode givesContext}), the second not an object or array (a Date counts as a
 * primitive). `undefined` otherwise (then the item keeps the array's key:
 * `{"phones": ["Ann", "4155550134"]}` stays a phone). Constant work: at most three probe
 * scans of about 90 units for a name not asked about before (remembered per name).
 */
export function tupleKey(array: readonly unknown[]): string | undefined {
  if (array.length !== 2) return undefined;
  const [name, v] = array;
  if (
    typeof name !== "string" || name.length > MAX_TUPLE_NAME_UNITS || !TUPLE_NAME.test(name)
  ) {
    return undefined;
  }
  if (typeof v === "object" && v !== null && !(v instanceof Date)) return undefined;
  return givesContext(name) ? name : undefined;
}

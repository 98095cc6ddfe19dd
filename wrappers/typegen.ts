/**
 * JSON Schema → TypeScript type expressions.
 *
 * MCP servers describe tool inputs and outputs with JSON Schema of any draft, often
 * generated, sometimes wrong. This converter covers what tool schemas use (objects, arrays,
 * tuples, enums, const, unions, intersections, local `$ref`s, nullability, index
 * signatures) and turns everything else, including malformed input, into `unknown`. It
 * never throws, never loops on recursive references and bounds its work and output.
 *
 * @module
 */
import { isIdentifierName, toIdentifier } from "./names.ts";

/** Options of {@link schemaToType}. */
export interface TypeGenOptions {
  /**
   * Multi-line output with a JSDoc comment (description, default) above each property.
   * When false (the default) the type is one line without comments.
   */
  docs?: boolean;
  /** Indentation of the line the type starts on, used for multi-line output. */
  indent?: string;
  /**
   * When set, a recursive `$ref` becomes a named type alias `<aliasPrefix><Name>` listed in
   * the result's `aliases`; when unset, the recursive occurrence degrades to `unknown`.
   */
  aliasPrefix?: string;
  /** Alias names already used elsewhere in the same output; new aliases avoid and join it. */
  usedAliasNames?: Set<string>;
  /** Levels of nested schemas rendered (the root is one); deeper ones become `unknown`. Default 32. */
  maxDepth?: number;
  /** Most schema nodes visited; the rest become `unknown`. Default 5000. */
  maxNodes?: number;
  /** Longest type text (characters); a longer result degrades to `unknown`. Default 50000. */
  maxLength?: number;
}

/** A type alias produced for a recursive `$ref`. */
export interface TypeAlias {
  /** The alias name (an identifier). */
  name: string;
  /** Its body, a type expression rendered at indentation zero. */
  type: string;
}

/** The result of {@link schemaToType}. */
export interface GeneratedType {
  /** A TypeScript type expression. */
  type: string;
  /** Aliases the type refers to (only with `aliasPrefix`). */
  aliases: TypeAlias[];
  /** True when some part of the schema was unsupported, malformed or over a limit. */
  degraded: boolean;
}

/** Operator precedence of a rendered type, so it is parenthesised only where needed. */
const Prec = { Atom: 0, Intersection: 1, Union: 2 } as const;
type Prec = typeof Prec[keyof typeof Prec];

interface Rendered {
  t: string;
  p: Prec;
}

/** Most members of an `enum`, `anyOf`/`oneOf` or `allOf` listed one by one. */
const MAX_MEMBERS = 500;
/** Most tuple positions typed one by one. */
const MAX_TUPLE = 64;

const UNKNOWN: Rendered = { t: "unknown", p: Prec.Atom };
const NEVER: Rendered = { t: "never", p: Prec.Atom };

interface RefState {
  /** Alias name once the ref turned out to be recursive. */
  alias?: string;
  /** How many frames are expanding this ref right now. */
  active: number;
}

interface Ctx {
  root: unknown;
  docs: boolean;
  aliasPrefix?: string;
  usedAliasNames: Set<string>;
  maxDepth: number;
  maxNodes: number;
  nodes: number;
  refs: Map<string, RefState>;
  aliases: TypeAlias[];
  degraded: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads an own property only: schemas are untrusted data, never prototype members. */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Text safe inside a JSDoc block: no comment terminator, no stray control characters. */
export function jsdocText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g, " ")
    .replace(/\*\//g, "*\\/")
    .trim();
}

/** A JSDoc block for `lines` at `indent` (one line when short), or `""` for nothing. */
export function jsdoc(lines: string[], indent: string): string {
  const body = lines.flatMap((l) => jsdocText(l).split("\n")).map((l) => l.trimEnd());
  while (body.length > 0 && body[body.length - 1] === "") body.pop();
  while (body.length > 0 && body[0] === "") body.shift();
  if (body.length === 0) return "";
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`;
  return `${indent}/**\n${
    body.map((l) => `${indent} *${l ? " " + l : ""}`).join("\n")
  }\n${indent} */\n`;
}

/** A property key as written in a type literal: bare when an identifier, else quoted. */
export function propertyKey(name: string): string {
  return isIdentifierName(name) || /^(0|[1-9][0-9]{0,14})$/.test(name)
    ? name
    : JSON.stringify(name);
}

/** A TypeScript literal type for a JSON value, or `undefined` when there is none. */
function literal(value: unknown): string | undefined {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function wrap(r: Rendered, max: Prec): string {
  return r.p > max ? `(${r.t})` : r.t;
}

/** Union of members: `unknown` absorbs everything, `never` disappears, duplicates merge. */
function union(members: Rendered[]): Rendered {
  const parts: string[] = [];
  for (const m of members) {
    if (m.t === "unknown") return UNKNOWN;
    if (m.t === "never") continue;
    const text = wrap(m, Prec.Union);
    if (!parts.includes(text)) parts.push(text);
  }
  if (parts.length === 0) return NEVER;
  if (parts.length === 1) {
    const only = members.find((m) => m.t !== "never")!;
    return only;
  }
  return { t: parts.join(" | "), p: Prec.Union };
}

/** Intersection of members: `unknown` disappears, `never` absorbs, duplicates merge. */
function intersection(members: Rendered[]): Rendered {
  const parts: Rendered[] = [];
  for (const m of members) {
    if (m.t === "never") return NEVER;
    if (m.t === "unknown") continue;
    if (!parts.some((p) => p.t === m.t)) parts.push(m);
  }
  if (parts.length === 0) return UNKNOWN;
  if (parts.length === 1) return parts[0];
  // `{ a: string } & Record<string, unknown>` says nothing more than `{ a: string }`; this
  // is what `anyOf: [{ required: [...] }, …]` beside `properties` produces.
  const narrowed = parts.filter((p) => p.t !== "Record<string, unknown>");
  if (narrowed.length === 1) return narrowed[0];
  if (narrowed.length > 1) parts.splice(0, parts.length, ...narrowed);
  return { t: parts.map((p) => wrap(p, Prec.Intersection)).join(" & "), p: Prec.Intersection };
}

/** Resolves a local JSON pointer (`#`, `#/$defs/X`, `#/definitions/X`, …) against the root. */
function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  let fragment: string;
  try {
    fragment = decodeURIComponent(ref.slice(1));
  } catch {
    return undefined;
  }
  if (fragment === "") return root;
  if (!fragment.startsWith("/")) return undefined; // anchors ($anchor, $id) are not supported
  let node: unknown = root;
  for (const raw of fragment.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(key)) node = node[Number(key)];
    else if (isRecord(node)) node = own(node, key);
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** A fresh alias name for a ref, unique within the output. */
function aliasName(ctx: Ctx, ref: string): string {
  const last = ref.split("/").filter((s) => s !== "" && s !== "#").pop() ?? "Root";
  const word = toIdentifier(last.replace(/~1/g, "/").replace(/~0/g, "~"), "Root");
  const base = `${ctx.aliasPrefix}${word[0] === "_" ? word : word[0].toUpperCase() + word.slice(1)}`
    .replace(/^[0-9]/, "_$&");
  let name = base;
  for (let n = 2; ctx.usedAliasNames.has(name); n++) name = `${base}${n}`;
  ctx.usedAliasNames.add(name);
  return name;
}

function renderRef(ref: string, ctx: Ctx, depth: number, indent: string): Rendered {
  const target = resolvePointer(ctx.root, ref);
  if (target === undefined) {
    ctx.degraded = true;
    return UNKNOWN;
  }
  let state = ctx.refs.get(ref);
  if (!state) ctx.refs.set(ref, state = { active: 0 });
  if (state.alias) return { t: state.alias, p: Prec.Atom };
  if (state.active > 0) {
    // A cycle: name it when aliases are allowed, otherwise cut it here.
    if (ctx.aliasPrefix === undefined) {
      ctx.degraded = true;
      return UNKNOWN;
    }
    state.alias = aliasName(ctx, ref);
    return { t: state.alias, p: Prec.Atom };
  }
  state.active++;
  let body = render(target, ctx, depth + 1, indent);
  state.active--;
  if (state.alias) {
    // The ref is recursive: its body goes into an alias, rendered at indentation zero.
    if (indent !== "") {
      state.active++;
      body = render(target, ctx, depth + 1, "");
      state.active--;
    }
    ctx.aliases.push({ name: state.alias, type: body.t });
    return { t: state.alias, p: Prec.Atom };
  }
  return body;
}

function renderObject(
  s: Record<string, unknown>,
  ctx: Ctx,
  depth: number,
  indent: string,
): Rendered {
  const props = own(s, "properties");
  const requiredRaw = own(s, "required");
  const required = new Set(
    Array.isArray(requiredRaw) ? requiredRaw.filter((r) => typeof r === "string") : [],
  );
  const inner = indent + "  ";
  const lead = ctx.docs ? inner : "";
  const members: string[] = [];
  const memberTypes: Rendered[] = [];
  if (isRecord(props)) {
    for (const key of Object.keys(props)) {
      const sub = props[key];
      if (sub === false) continue; // the property is forbidden
      const type = render(sub, ctx, depth + 1, inner);
      const optional = !required.has(key);
      memberTypes.push(type);
      if (optional) memberTypes.push({ t: "undefined", p: Prec.Atom });
      const doc = ctx.docs ? propertyDoc(sub, inner) : "";
      members.push(`${doc}${lead}${propertyKey(key)}${optional ? "?" : ""}: ${type.t};`);
    }
  } else if (props !== undefined) {
    ctx.degraded = true;
  }

  // additionalProperties / patternProperties decide the index signature. Absent or `true`
  // means "anything else goes": no signature beside named properties (TS object types are
  // open), `Record<string, unknown>` without them.
  const additional = own(s, "additionalProperties");
  const patterns = own(s, "patternProperties");
  const open = additional === undefined || additional === true;
  const indexTypes: Rendered[] = [];
  if (isRecord(additional)) indexTypes.push(render(additional, ctx, depth + 1, inner));
  else if (!open && additional !== false) ctx.degraded = true;
  if (isRecord(patterns)) {
    for (const key of Object.keys(patterns)) {
      indexTypes.push(render(patterns[key], ctx, depth + 1, inner));
    }
  }

  if (members.length === 0) {
    if (open) return { t: "Record<string, unknown>", p: Prec.Atom };
    if (indexTypes.length === 0) return { t: "Record<string, never>", p: Prec.Atom };
    return { t: `Record<string, ${union(indexTypes).t}>`, p: Prec.Atom };
  }
  if (!open && indexTypes.length > 0) {
    // An index signature must admit the named properties' types as well.
    const index = union([...indexTypes, ...memberTypes]);
    members.push(`${lead}[key: string]: ${index.t};`);
  }
  if (ctx.docs) return { t: `{\n${members.join("\n")}\n${indent}}`, p: Prec.Atom };
  return { t: `{ ${members.join(" ").replace(/;$/, "")} }`, p: Prec.Atom };
}

function propertyDoc(sub: unknown, indent: string): string {
  if (!isRecord(sub)) return "";
  const lines: string[] = [];
  const description = own(sub, "description");
  const title = own(sub, "title");
  if (typeof description === "string" && description.trim()) lines.push(description);
  else if (typeof title === "string" && title.trim()) lines.push(title);
  const format = own(sub, "format");
  if (typeof format === "string" && format) lines.push(`@format ${format}`);
  if (Object.hasOwn(sub, "default")) {
    let text: string | undefined;
    try {
      text = JSON.stringify(sub.default);
    } catch {
      text = undefined;
    }
    if (text !== undefined && text.length <= 200) lines.push(`@default ${text}`);
  }
  return jsdoc(lines, indent);
}

function renderArray(
  s: Record<string, unknown>,
  ctx: Ctx,
  depth: number,
  indent: string,
): Rendered {
  const prefix = own(s, "prefixItems");
  const items = own(s, "items");
  let tuple: unknown[] | undefined;
  let rest: unknown;
  if (Array.isArray(prefix)) {
    tuple = prefix;
    rest = items; // draft 2020-12: `items` is the schema of the rest
  } else if (Array.isArray(items)) {
    tuple = items;
    rest = own(s, "additionalItems"); // draft 4–2019-09 tuples
  }
  if (tuple) {
    const minRaw = own(s, "minItems");
    const min = typeof minRaw === "number" && minRaw >= 0 ? minRaw : 0;
    // A very long tuple keeps its first MAX_TUPLE positions and opens up after them.
    const truncated = tuple.length > MAX_TUPLE;
    if (truncated) {
      ctx.degraded = true;
      rest = true;
    }
    const parts = tuple.slice(0, MAX_TUPLE).map((item, i) => {
      const r = render(item, ctx, depth + 1, indent);
      return i < min ? wrap(r, Prec.Union) : `${wrap(r, Prec.Atom)}?`;
    });
    if (rest !== false) {
      const r = rest === undefined || rest === true
        ? UNKNOWN
        : render(rest, ctx, depth + 1, indent);
      parts.push(`...${wrap(r, Prec.Atom)}[]`);
    }
    return { t: `[${parts.join(", ")}]`, p: Prec.Atom };
  }
  if (items === undefined || items === true) return { t: "unknown[]", p: Prec.Atom };
  const r = render(items, ctx, depth + 1, indent);
  return { t: `${wrap(r, Prec.Atom)}[]`, p: Prec.Atom };
}

const SIMPLE_TYPES: Record<string, string> = {
  string: "string",
  number: "number",
  integer: "number",
  boolean: "boolean",
  null: "null",
};

function renderTyped(
  type: string,
  s: Record<string, unknown>,
  ctx: Ctx,
  depth: number,
  indent: string,
): Rendered {
  if (Object.hasOwn(SIMPLE_TYPES, type)) return { t: SIMPLE_TYPES[type], p: Prec.Atom };
  if (type === "object") return renderObject(s, ctx, depth, indent);
  if (type === "array") return renderArray(s, ctx, depth, indent);
  ctx.degraded = true;
  return UNKNOWN;
}

/** Keywords that imply a type when `type` is absent. */
function impliedType(s: Record<string, unknown>): string | undefined {
  if (
    ["properties", "additionalProperties", "patternProperties", "required"].some((k) =>
      Object.hasOwn(s, k)
    )
  ) {
    return "object";
  }
  if (["items", "prefixItems", "additionalItems"].some((k) => Object.hasOwn(s, k))) return "array";
  return undefined;
}

function render(schema: unknown, ctx: Ctx, depth: number, indent: string): Rendered {
  if (schema === true) return UNKNOWN;
  if (schema === false) return NEVER;
  if (!isRecord(schema)) {
    ctx.degraded = true;
    return UNKNOWN;
  }
  if (depth >= ctx.maxDepth || ++ctx.nodes > ctx.maxNodes) {
    ctx.degraded = true;
    return UNKNOWN;
  }
  const s = schema;
  const nullable = own(s, "nullable") === true; // OpenAPI 3.0
  const ref = own(s, "$ref");
  if (typeof ref === "string") {
    const target = renderRef(ref, ctx, depth, indent);
    return nullable && target.t !== "unknown"
      ? union([target, { t: "null", p: Prec.Atom }])
      : target;
  }
  if (ref !== undefined) {
    ctx.degraded = true;
    return UNKNOWN;
  }
  // `not: {}` matches nothing (zod emits it for impossible branches).
  const not = own(s, "not");
  if (not === true || (isRecord(not) && Object.keys(not).length === 0)) return NEVER;

  const parts: Rendered[] = [];
  let base: Rendered | undefined;
  if (Object.hasOwn(s, "const")) {
    const lit = literal(s.const);
    if (lit === undefined) ctx.degraded = true;
    base = lit === undefined ? UNKNOWN : { t: lit, p: Prec.Atom };
  } else if (Object.hasOwn(s, "enum")) {
    const values = s.enum;
    if (Array.isArray(values)) {
      if (values.length > MAX_MEMBERS) {
        // Too many literals to list: widen (never narrow) to their primitive type.
        ctx.degraded = true;
        const kinds = new Set(values.map((v) => (v === null ? "null" : typeof v)));
        const kind = kinds.size === 1 ? [...kinds][0] : "";
        base = kind === "string" || kind === "number" || kind === "boolean"
          ? { t: kind, p: Prec.Atom }
          : UNKNOWN;
      } else {
        const lits = values.map(literal);
        if (lits.some((l) => l === undefined)) ctx.degraded = true;
        base = union(lits.map((l) => (l === undefined ? UNKNOWN : { t: l, p: Prec.Atom })));
      }
    } else {
      ctx.degraded = true;
      base = UNKNOWN;
    }
  } else {
    const type = own(s, "type");
    if (typeof type === "string") base = renderTyped(type, s, ctx, depth, indent);
    else if (Array.isArray(type)) {
      const names = [...new Set(type.filter((t): t is string => typeof t === "string"))];
      base = names.length === 0
        ? UNKNOWN
        : union(names.map((t) => renderTyped(t, s, ctx, depth, indent)));
      if (names.length !== type.length) ctx.degraded = true;
    } else if (type !== undefined) {
      ctx.degraded = true;
      base = UNKNOWN;
    } else {
      const implied = impliedType(s);
      if (implied) base = renderTyped(implied, s, ctx, depth, indent);
    }
  }
  if (base) parts.push(base);

  for (const key of ["anyOf", "oneOf"]) {
    const list = own(s, key);
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) {
      ctx.degraded = true;
      continue;
    }
    if (list.length > MAX_MEMBERS) {
      ctx.degraded = true; // dropping members would narrow the union: widen instead
      continue;
    }
    parts.push(union(list.map((m) => render(m, ctx, depth + 1, indent))));
  }
  const all = own(s, "allOf");
  if (Array.isArray(all)) {
    // Dropping members of an intersection only widens it, so a cap is safe here.
    if (all.length > MAX_MEMBERS) ctx.degraded = true;
    for (const m of all.slice(0, MAX_MEMBERS)) parts.push(render(m, ctx, depth + 1, indent));
  } else if (all !== undefined) ctx.degraded = true;

  let result = intersection(parts);
  if (nullable && result.t !== "unknown") {
    result = union([result, { t: "null", p: Prec.Atom }]);
  }
  return result;
}

/**
 * Converts a JSON Schema into a TypeScript type expression.
 *
 * Never throws: anything unsupported or malformed becomes `unknown` (and sets `degraded`).
 * `$ref` resolves local JSON pointers only (`#`, `#/$defs/…`, `#/definitions/…`, any
 * pointer into the same document); a reference cycle becomes a named alias (with
 * `aliasPrefix`) or `unknown`.
 *
 * @example
 * ```ts
 * schemaToType({ type: "object", properties: { path: { type: "string" } }, required: ["path"] }).type
 * // → "{ path: string }"
 * ```
 */
export function schemaToType(
  schema: unknown,
  options: TypeGenOptions = {},
): GeneratedType {
  const ctx: Ctx = {
    root: schema,
    docs: options.docs ?? false,
    aliasPrefix: options.aliasPrefix,
    usedAliasNames: options.usedAliasNames ?? new Set(),
    maxDepth: options.maxDepth ?? 32,
    maxNodes: options.maxNodes ?? 5000,
    nodes: 0,
    refs: new Map(),
    aliases: [],
    degraded: false,
  };
  const maxLength = options.maxLength ?? 50_000;
  let rendered: Rendered;
  try {
    rendered = render(schema, ctx, 0, options.indent ?? "");
  } catch {
    // Defence in depth (e.g. a getter-laden object that is not plain JSON): degrade, never crash.
    return { type: "unknown", aliases: [], degraded: true };
  }
  const total = rendered.t.length + ctx.aliases.reduce((n, a) => n + a.type.length, 0);
  if (total > maxLength) return { type: "unknown", aliases: [], degraded: true };
  return { type: rendered.t, aliases: ctx.aliases, degraded: ctx.degraded };
}

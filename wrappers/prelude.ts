/**
 * The runtime prelude: plain JavaScript evaluated in the sandbox before the caller's code.
 *
 * It defines one global namespace object per allowed server and the `tools` object, all
 * talking to the harness through `__airlock.rpc`. The prelude is data plus a fixed
 * runtime: every name and id is embedded as JSON, so nothing a tool or server calls itself
 * can inject code.
 *
 * Contract with the harness (defined before the prelude runs):
 * - `__airlock.rpc(method, params): Promise<unknown>` with methods
 *   `"tools/call"` `{ tool, args }`, `"tools/callByName"` `{ server, namespace, name, args }`
 *   (resolved by the gateway with {@link NameMap.toolIdByServer}) and
 *   `"tools/search"` `{ query, k }`;
 * - a global class `ToolError` (the prelude only refers to it in declarations).
 *
 * @module
 */
import type { ToolInfo } from "../upstream/mod.ts";
import { buildNameMap, type NameMap, NAMESPACE_RESERVED_KEYS } from "./names.ts";

/** Input of {@link generatePrelude}. */
export interface PreludeInput {
  /** Tools that get explicit wrappers (tools of servers not in `servers` are ignored). */
  selected: readonly ToolInfo[];
  /**
   * Every tool the caller may call (tools of servers not in `servers` are ignored). Each one,
   * like each selected tool, is an enumerable property of its namespace, so `Object.keys`,
   * `for…in`, `in` and `JSON.stringify` list it. Defaults to `selected`; without it a
   * namespace lists only its selected tools (others still bind lazily when named).
   */
  available?: readonly ToolInfo[];
  /** Servers the code may use: each gets a namespace, wrappers or not. */
  servers: readonly string[];
  /** The whole catalogue, so names match the gateway's {@link NameMap}. */
  catalogue: readonly ToolInfo[];
  /** A name map already built from the same catalogue and servers (saves rebuilding it). */
  names?: NameMap;
}

/** One namespace as embedded in the prelude. */
interface NamespaceEntry {
  /** Global identifier. */
  namespace: string;
  /** Server config key (sent with lazy calls). */
  server: string;
  /** `[functionName, toolId]`, sorted by function name. */
  tools: [string, string][];
}

function byKey<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * The runtime, fixed text, run after `MANIFEST` and `RESERVED` are defined. The data is
 * spliced in as JSON whose object keys are all ours (`namespace`, `server`, `tools`), so no
 * name from a server or tool can become a key like `__proto__` in an object literal.
 */
const RUNTIME = String.raw`const airlock = globalThis.__airlock;
if (airlock === null || typeof airlock !== "object" || typeof airlock.rpc !== "function") {
  throw new Error("Airlock prelude: the harness did not define __airlock.rpc");
}
const rpc = airlock.rpc.bind(airlock);
const reservedKeys = new Set(RESERVED);
const inspectSymbol = Symbol.for("Deno.customInspect");

function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : "a " + typeof value;
}

function toArgs(label, args) {
  if (args === undefined) return {};
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new TypeError(label + " takes one object argument ({ ... }), got " + describe(args));
  }
  return args;
}

function named(name, fn) {
  Object.defineProperty(fn, "name", { value: name });
  return Object.freeze(fn);
}

function makeNamespace(entry) {
  const { namespace, server } = entry;
  const target = Object.create(null);
  for (const [fn, id] of entry.tools) {
    const label = namespace + "." + fn;
    target[fn] = named(fn, async function (args) {
      return await rpc("tools/call", { tool: id, args: toArgs(label, args) });
    });
  }
  const described = "[namespace " + namespace + "]";
  const lazy = new Map();
  const lazyFunction = (name) => {
    let fn = lazy.get(name);
    if (fn === undefined) {
      const label = namespace + "." + name;
      fn = named(name, async function (args) {
        return await rpc("tools/callByName", { server, namespace, name, args: toArgs(label, args) });
      });
      lazy.set(name, fn);
    }
    return fn;
  };
  // JSON.stringify(ns): the listed functions and the tool ids they call (plain data, no call).
  const listing = Object.freeze(Object.fromEntries(entry.tools));
  const special = {
    toString: named("toString", () => described),
    toLocaleString: named("toLocaleString", () => described),
    toJSON: named("toJSON", () => listing),
  };
  // console.log(ns) shows the target (Deno inspects a proxy's target): describe it, with at
  // most SHOWN names (a server may have hundreds of tools).
  const SHOWN = 50;
  const fns = Object.keys(target);
  const shown = fns.slice(0, SHOWN).map((fn) => fn + "()")
    .concat(fns.length > SHOWN ? ["…" + (fns.length - SHOWN) + " more"] : [])
    .concat(["…any other tool by name"]);
  Object.defineProperty(target, inspectSymbol, {
    value: named("inspect", () => described + " { " + shown.join(", ") + " }"),
  });
  Object.freeze(target);
  return new Proxy(target, {
    get(t, key) {
      if (typeof key === "symbol") {
        if (key === Symbol.toStringTag) return "AirlockNamespace";
        return Object.hasOwn(t, key) ? t[key] : undefined;
      }
      if (Object.hasOwn(t, key)) return t[key];
      if (Object.hasOwn(special, key)) return special[key];
      // then/toJSON/constructor/...: undefined, so await, JSON and inspection stay inert.
      if (reservedKeys.has(key)) return undefined;
      return lazyFunction(key);
    },
    has(t, key) {
      return Object.hasOwn(t, key);
    },
    set() {
      return false;
    },
    defineProperty() {
      return false;
    },
    deleteProperty() {
      return false;
    },
    setPrototypeOf() {
      return false;
    },
  });
}

for (const entry of MANIFEST) {
  Object.defineProperty(globalThis, entry.namespace, {
    value: makeNamespace(entry),
    writable: false,
    enumerable: false,
    configurable: true,
  });
}

const tools = Object.freeze({
  call: named("call", async function (id, args) {
    if (typeof id !== "string" || id === "") {
      throw new TypeError("tools.call takes a tool id string (\"server.tool_name\"), got " + describe(id));
    }
    return await rpc("tools/call", { tool: id, args: toArgs("tools.call(" + JSON.stringify(id) + ")", args) });
  }),
  search: named("search", async function (query, k = 10) {
    if (typeof query !== "string") {
      throw new TypeError("tools.search takes a query string, got " + describe(query));
    }
    if (typeof k !== "number" || !Number.isInteger(k) || k < 1) {
      throw new TypeError("tools.search: k must be a positive integer, got " + String(k));
    }
    return await rpc("tools/search", { query, k });
  }),
});
Object.defineProperty(globalThis, "tools", {
  value: tools,
  writable: false,
  enumerable: false,
  configurable: true,
});
`;

/**
 * Generates the prelude: plain JavaScript (no TypeScript, no imports, no top-level names),
 * valid both as a classic script and as a module (the harness evaluates it as a script), that
 * defines on `globalThis` one namespace object per allowed server, with an explicit
 * function per selected or available tool (enumerable: `Object.keys(ns)`, `for…in` and
 * `"name" in ns` list exactly these) and lazy binding (`tools/callByName`) for any other name,
 * plus `tools.call(id, args)` and `tools.search(query, k = 10)`.
 *
 * Namespace objects are frozen proxies: `then`, `constructor` and the other
 * {@link NAMESPACE_RESERVED_KEYS} read as `undefined` (so `await ns` calls nothing), except
 * `toJSON`, which returns the listing `{ functionName: toolId }` (so `JSON.stringify(ns)`
 * shows the tools and calls none), symbol keys read as `undefined` except
 * `Symbol.toStringTag` and Deno's inspect hook (`console.log(ns)` lists the wrapped
 * functions), and `String(ns)` is `[namespace ns]`.
 * Every function rejects with a `TypeError` unless its argument is an object or
 * `undefined` (which becomes `{}`).
 *
 * Deterministic: the same input gives the same text.
 */
export function generatePrelude(input: PreludeInput): string {
  const servers = [...new Set(input.servers)];
  const allowed = new Set(servers);
  const names = input.names ?? buildNameMap(input.catalogue, [
    ...servers,
    ...input.selected.map((t) => t.server),
  ]);
  const entries = new Map<string, NamespaceEntry>();
  for (const server of servers) {
    const namespace = names.namespaces.get(server) ??
      buildNameMap([], [server]).namespaces.get(server)!;
    entries.set(server, { namespace, server, tools: [] });
  }
  const seen = new Set<string>();
  for (const tool of [...input.selected, ...(input.available ?? [])]) {
    if (!allowed.has(tool.server) || seen.has(tool.id)) continue;
    seen.add(tool.id);
    const fn = names.functions.get(tool.id) ?? buildNameMap([tool]).functions.get(tool.id)!;
    entries.get(tool.server)!.tools.push([fn, tool.id]);
  }
  const manifest = [...entries.values()].sort(byKey((e) => e.namespace));
  for (const entry of manifest) entry.tools.sort(byKey(([fn]) => fn));

  // Everything runs inside one arrow function: the prelude declares no top-level names, so
  // it cannot clash with the caller's code even if a harness concatenates the two.
  return [
    "// Airlock prelude: generated, do not edit.",
    "(() => {",
    '"use strict";',
    `const MANIFEST = ${JSON.stringify(manifest)};`,
    `const RESERVED = ${JSON.stringify([...NAMESPACE_RESERVED_KEYS].sort())};`,
    RUNTIME + "})();",
    "",
  ].join("\n");
}

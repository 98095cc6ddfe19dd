/**
 * Names of namespaces and functions inside the sandbox.
 *
 * Every upstream server becomes a global namespace object and every tool a function on it.
 * Server keys and tool names come from configuration and from MCP servers, so they may be
 * anything; this module turns them into valid, non-colliding JavaScript identifiers, the
 * same way every time, and answers the reverse question the gateway asks when sandbox code
 * calls a tool by the name it wrote.
 *
 * @module
 */
import type { ToolInfo } from "../upstream/mod.ts";

/** Words that cannot name a binding in strict-mode module code (plus a few that should not). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  "arguments",
  "await",
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "debugger",
  "default",
  "delete",
  "do",
  "else",
  "enum",
  "eval",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "implements",
  "import",
  "in",
  "instanceof",
  "interface",
  "let",
  "new",
  "null",
  "package",
  "private",
  "protected",
  "public",
  "return",
  "static",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "var",
  "void",
  "while",
  "with",
  "yield",
  // Not reserved, but binding them (the global values are read-only) is an error or a trap.
  "undefined",
  "NaN",
  "Infinity",
]);

/**
 * Globals of the sandbox that a namespace must never shadow: Airlock's own (`tools`,
 * `ToolError`, `__airlock`) and every global a plain `deno run` defines (checked against
 * the real runtime by a test), plus a few that other runtimes define.
 */
export const SANDBOX_GLOBALS: ReadonlySet<string> = new Set([
  // Airlock
  "tools",
  "ToolError",
  "__airlock",
  // Object.prototype members reachable as globals through globalThis' prototype chain
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "toString",
  "valueOf",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  // ECMAScript
  ..."AggregateError Array ArrayBuffer AsyncDisposableStack Atomics BigInt BigInt64Array BigUint64Array Boolean DataView Date DisposableStack Error EvalError FinalizationRegistry Float16Array Float32Array Float64Array Function Infinity Int16Array Int32Array Int8Array Intl Iterator JSON Map Math NaN Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set SharedArrayBuffer String SuppressedError Symbol SyntaxError Temporal TypeError URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakRef WeakSet WebAssembly decodeURI decodeURIComponent encodeURI encodeURIComponent escape eval globalThis isFinite isNaN parseFloat parseInt undefined unescape"
    .split(" "),
  // WebGPU
  ..."GPU GPUAdapter GPUAdapterInfo GPUBindGroup GPUBindGroupLayout GPUBuffer GPUBufferUsage GPUCanvasContext GPUColorWrite GPUCommandBuffer GPUCommandEncoder GPUCompilationInfo GPUCompilationMessage GPUComputePassEncoder GPUComputePipeline GPUDevice GPUDeviceLostInfo GPUError GPUInternalError GPUMapMode GPUOutOfMemoryError GPUPipelineError GPUPipelineLayout GPUQuerySet GPUQueue GPURenderBundle GPURenderBundleEncoder GPURenderPassEncoder GPURenderPipeline GPUSampler GPUShaderModule GPUShaderStage GPUSupportedFeatures GPUSupportedLimits GPUTexture GPUTextureUsage GPUTextureView GPUUncapturedErrorEvent GPUValidationError"
    .split(" "),
  // Web platform and Deno (lower-case ones matter most: generated identifiers start lower-case)
  ..."AbortController AbortSignal Blob BroadcastChannel Buffer ByteLengthQueuingStrategy Cache CacheStorage CloseEvent CompressionStream CountQueuingStrategy Crypto CryptoKey CustomEvent DOMException DOMMatrix DOMMatrixReadOnly DOMPoint DOMPointReadOnly DOMQuad DOMRect DOMRectReadOnly DecompressionStream Deno ErrorEvent Event EventSource EventTarget File FileReader FormData Headers ImageBitmap ImageBitmapRenderingContext ImageData Location Lock LockManager MessageChannel MessageEvent MessagePort Navigator NavigatorUAData OffscreenCanvas Performance PerformanceEntry PerformanceMark PerformanceMeasure PerformanceObserver PerformanceObserverEntryList ProgressEvent PromiseRejectionEvent QuotaExceededError ReadableByteStreamController ReadableStream ReadableStreamBYOBReader ReadableStreamBYOBRequest ReadableStreamDefaultController ReadableStreamDefaultReader Request Response Storage SubtleCrypto TextDecoder TextDecoderStream TextEncoder TextEncoderStream TransformStream TransformStreamDefaultController URL URLPattern URLSearchParams WebSocket Window Worker WritableStream WritableStreamDefaultController WritableStreamDefaultWriter XMLHttpRequest addEventListener alert atob btoa caches clearImmediate clearInterval clearTimeout close closed confirm console createImageBitmap crypto dispatchEvent document fetch global localStorage location name navigator onbeforeunload onerror onload onunhandledrejection onunload performance process prompt queueMicrotask removeEventListener reportError require self sessionStorage setImmediate setInterval setTimeout structuredClone window"
    .split(" "),
]);

/**
 * Property names a namespace object answers itself, so no tool function may take them:
 * `then` must stay undefined (so `await ns` is harmless), and the others are probed by
 * `JSON.stringify`, string conversion, inspection and prototype machinery.
 */
export const NAMESPACE_RESERVED_KEYS: ReadonlySet<string> = new Set([
  "then",
  "catch",
  "finally",
  "constructor",
  "toJSON",
  "toString",
  "toLocaleString",
  "valueOf",
  "inspect",
  "__proto__",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

/** Matches a plain ASCII identifier (server keys kept verbatim must be one; generated names may be Unicode). */
const ASCII_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** True when `name` is an ASCII JavaScript identifier that is not a reserved word. */
export function isIdentifier(name: string): boolean {
  return ASCII_IDENTIFIER.test(name) && !RESERVED_WORDS.has(name);
}

/**
 * True when `name` may follow a dot or stand unquoted as a property key: an ASCII
 * identifier name, reserved words included (`memory.delete` is valid JavaScript).
 */
export function isIdentifierName(name: string): boolean {
  return ASCII_IDENTIFIER.test(name);
}

/** Upper-case letters (any script), and lower-case ones. */
const UPPER_RUN = /^\p{Lu}+/u;
const LOWER = /\p{Ll}/u;

/**
 * Lower-cases the leading run of capitals of a word the way camelCase expects:
 * `ReadFile` → `readFile`, `HTTPServer` → `httpServer`, `URL` → `url`, `Ñandú` → `ñandú`.
 * Works on code points, so astral letters are never split.
 */
function lowerLead(word: string): string {
  const run = [...(UPPER_RUN.exec(word)?.[0] ?? "")];
  if (run.length === 0) return word;
  const rest = word.slice(run.join("").length);
  if (rest.length === 0 || run.length === 1) return run.join("").toLowerCase() + rest;
  // Keep the last capital when a lower-case letter follows it: `HTTPServer` → `http` + `Server`.
  const keep = LOWER.test(String.fromCodePoint(rest.codePointAt(0)!)) ? 1 : 0;
  return run.slice(0, run.length - keep).join("").toLowerCase() +
    run.slice(run.length - keep).join("") + rest;
}

/** Upper-cases the first code point of a word (`ñandú` → `Ñandú`). */
function upperFirst(word: string): string {
  const first = String.fromCodePoint(word.codePointAt(0)!);
  return first.toUpperCase() + word.slice(first.length);
}

/**
 * What separates words: anything that cannot continue an identifier
 * (`\p{ID_Continue}`, Unicode's identifier rule that ECMAScript follows), and `_`.
 */
const WORD_SEPARATORS = /[^\p{ID_Continue}]+|_+/u;

/**
 * camelCase of an arbitrary string (`read_file` → `readFile`, `get-user.info` →
 * `getUserInfo`, `ñandú` → `ñandú`, `Bücher_suchen` → `bücherSuchen`). Letters and digits of
 * every script are kept (Unicode `\p{ID_Continue}`, after NFC normalization so the composed
 * and decomposed spellings of a name agree); every other character, and `_`, separates
 * words. Case mapping is locale-independent, so the result is the same on every host. May
 * return `""` or a string that cannot start an identifier (a digit, a combining mark);
 * {@link toIdentifier} makes those valid.
 */
export function camelCase(name: string): string {
  name = name.normalize("NFC");
  // SHOUTING_SNAKE_CASE carries no case information: treat it as lower case.
  if (!LOWER.test(name)) name = name.toLowerCase();
  const words = name.split(WORD_SEPARATORS).filter((w) => w.length > 0);
  return words.map((w, i) => i === 0 ? lowerLead(w) : upperFirst(w)).join("");
}

/** Whether an identifier may start with the first code point of `id` (`\p{ID_Start}`). */
const ID_START = /^\p{ID_Start}/u;
/** A whole identifier by Unicode's rule (`$` and `_` are ours to add, never kept from names). */
const UNICODE_IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;

/**
 * A valid identifier for `name`, deterministic: camelCase, `_` before a first character that
 * cannot start an identifier (a digit, a combining mark), `fallback` when nothing is left,
 * and `_` after a word in `avoid` (reserved words always). Non-ASCII letters are kept
 * (`ñandú` stays `ñandú`).
 */
export function toIdentifier(
  name: string,
  fallback = "tool",
  avoid: ReadonlySet<string> = RESERVED_WORDS,
): string {
  let id = camelCase(name);
  if (id === "") id = fallback;
  if (!ID_START.test(id)) id = "_" + id;
  // Case mapping can in principle leave a character no identifier may hold; never emit one.
  if (!UNICODE_IDENTIFIER.test(id)) id = fallback;
  while (RESERVED_WORDS.has(id) || avoid.has(id)) id += "_";
  return id;
}

/**
 * The namespace identifier of a server key: the key itself when it is a usable identifier
 * (the design says the namespace *is* the config key), otherwise its camelCase form.
 */
function namespaceBase(server: string): string {
  const avoid = SANDBOX_GLOBALS;
  if (isIdentifier(server) && !avoid.has(server)) return server;
  if (isIdentifier(server)) return server + "_";
  return toIdentifier(server, "server", new Set([...RESERVED_WORDS, ...avoid]));
}

/** Tool function identifier before collision handling. */
function functionBase(toolName: string): string {
  return toIdentifier(toolName, "tool", NAMESPACE_RESERVED_KEYS);
}

/**
 * Assigns identifiers to `originals` without collisions. Originals that are already their
 * own identifier go first (a tool named `readFile` keeps `readFile`), then the rest, each
 * group in code-unit order of the original; the first holder of a base name keeps it and
 * later ones get `_2`, `_3`, … (skipping anything taken, forbidden or another's base).
 */
function assignUnique(
  originals: readonly string[],
  base: (original: string) => string,
  forbidden: ReadonlySet<string>,
): Map<string, string> {
  const unique = [...new Set(originals)];
  const baseOf = new Map(unique.map((o) => [o, base(o)]));
  const rank = (o: string) => (baseOf.get(o) === o ? 0 : 1);
  const sorted = unique.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const bases = sorted.map((o) => baseOf.get(o)!);
  const baseSet = new Set(bases);
  const taken = new Set<string>();
  const out = new Map<string, string>();
  sorted.forEach((original, i) => {
    let id = bases[i];
    if (taken.has(id) || forbidden.has(id)) {
      // A suffixed name must not take a name that is taken, forbidden or another's base.
      let n = 2;
      const free = (c: string) => !taken.has(c) && !forbidden.has(c) && !baseSet.has(c);
      while (!free(`${bases[i]}_${n}`)) n++;
      id = `${bases[i]}_${n}`;
    }
    taken.add(id);
    out.set(original, id);
  });
  return out;
}

/** The deterministic naming of one catalogue: servers to namespaces, tools to functions. */
export interface NameMap {
  /** Server config key → namespace identifier. */
  readonly namespaces: ReadonlyMap<string, string>;
  /** Tool id (`server.tool_name`) → function name on its namespace. */
  readonly functions: ReadonlyMap<string, string>;
  /** Namespace identifier → server config key, or `undefined`. */
  serverOf(namespace: string): string | undefined;
  /**
   * The tool id that `namespace.fnName(...)` means, or `undefined`. Tried in order: the
   * generated function name; the tool's original MCP name (`filesystem.read_file`); the
   * camelCase form of `fnName` (`read-file`, `READ_FILE`); a case-insensitive match of
   * that form, only when exactly one function matches (`readfile`).
   */
  toolIdOf(namespace: string, fnName: string): string | undefined;
  /** Like {@link NameMap.toolIdOf} but keyed by the server config key. */
  toolIdByServer(server: string, fnName: string): string | undefined;
}

/**
 * Names every server and tool of a catalogue.
 *
 * The result depends only on the set of servers and, per server, the set of its tool
 * names, never on their order. Tool function names depend only on the tools of their own
 * server, so two name maps built from catalogues that agree on one server agree on its
 * functions.
 *
 * @param catalogue every tool the naming must cover (duplicates by id are ignored)
 * @param servers extra server keys that need a namespace even without tools
 */
export function buildNameMap(
  catalogue: readonly ToolInfo[],
  servers: readonly string[] = [],
): NameMap {
  const serverKeys = [...servers, ...catalogue.map((t) => t.server)];
  const namespaces = assignUnique(serverKeys, namespaceBase, SANDBOX_GLOBALS);
  const serverByNamespace = new Map<string, string>();
  for (const [server, ns] of namespaces) serverByNamespace.set(ns, server);

  const toolsByServer = new Map<string, Map<string, string>>(); // server → name → id
  for (const tool of catalogue) {
    let byName = toolsByServer.get(tool.server);
    if (!byName) toolsByServer.set(tool.server, byName = new Map());
    if (!byName.has(tool.name)) byName.set(tool.name, tool.id);
  }

  const functions = new Map<string, string>();
  const lookup = new Map<string, Map<string, string>>(); // server → fnName|name → id
  const folded = new Map<string, Map<string, string | null>>(); // server → lower fn → id|null
  for (const [server, byName] of toolsByServer) {
    const fnByName = assignUnique([...byName.keys()], functionBase, NAMESPACE_RESERVED_KEYS);
    const table = new Map<string, string>();
    const byLower = new Map<string, string | null>();
    for (const [name, fn] of fnByName) {
      const id = byName.get(name)!;
      functions.set(id, fn);
      table.set(fn, id);
      const lower = fn.toLowerCase();
      byLower.set(lower, byLower.has(lower) ? null : id); // null: ambiguous
    }
    folded.set(server, byLower);
    // Original MCP names resolve too, unless a generated name already claims the string.
    for (const [name, id] of byName) if (!table.has(name)) table.set(name, id);
    lookup.set(server, table);
  }

  const toolIdByServer = (server: string, fnName: string): string | undefined => {
    const table = lookup.get(server);
    if (!table || typeof fnName !== "string") return undefined;
    const exact = table.get(fnName);
    if (exact !== undefined) return exact;
    const camel = camelCase(fnName);
    return table.get(camel) ?? folded.get(server)!.get(camel.toLowerCase()) ?? undefined;
  };
  return {
    namespaces,
    functions,
    serverOf: (namespace) => serverByNamespace.get(namespace),
    toolIdOf: (namespace, fnName) => {
      const server = serverByNamespace.get(namespace);
      return server === undefined ? undefined : toolIdByServer(server, fnName);
    },
    toolIdByServer,
  };
}

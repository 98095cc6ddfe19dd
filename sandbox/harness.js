// The trusted runner: the entry module of every sandbox process.
//
// It runs with no permissions at all. It reads one `run` frame from stdin, imports the
// prelude and the caller's code from `data:` URLs (so every import they make is
// permission-checked, unlike the entry module's own static imports), runs the code,
// and writes NDJSON frames to stdout. It is plain JavaScript so that a fresh process
// needs no TypeScript transpilation before it is ready.
//
// Frames out (stdout): ready | log | rpc | result | error | over_limit.
// Frames in (stdin):   run | reply.

// Nothing of Node's is imported here: Node compatibility costs a process about 20 ms of
// CPU to initialise, so its objects are hardened only when the code first reaches them
// (see `hardenNode` below and sandbox/node_shims.ts).

/**
 * The runner itself. This file is not the entry module: the gateway writes an entry
 * module that imports it from a `data:` URL made of its source (sandbox/runtime_dir.ts),
 * so every stack frame the code can see (`new Error().stack`, `Error.prepareStackTrace`
 * call sites, errors thrown inside `__airlock.rpc`) names a `data:` module, never a path
 * in the host's runtime directory. The URL is made once per generation, not by every
 * process (that cost each one about 5 ms of CPU).
 */
function runner() {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  // Captured before any untrusted code runs. `Deno.stdout`, `Deno.stderr`, `process.stdout`
  // and `process.stderr` are replaced below by streams that become log lines, so the code
  // cannot reach the frame channel through them; what it still writes there by other means
  // (node:fs on fd 1) the gateway treats as garbage, never as authority.
  const realStdout = Deno.stdout;
  const writeStdout = realStdout.writeSync.bind(realStdout);
  // Frames carry the key the gateway sent with the code, and the gateway obeys only frames
  // that do: the code can reach fd 1 (node:fs needs no permission for it) but cannot learn
  // the key. Everything `send` touches is captured here, before the code can patch it
  // (`JSON.stringify`, `Object.prototype.toJSON`, `Uint8Array.prototype.subarray`, the
  // typed-array `length` getter would each see the key in the frame text).
  const stringify = JSON.stringify;
  const assign = Object.assign;
  const create = Object.create;
  const ownKeys = Object.keys;
  const ownDescriptor = Object.getOwnPropertyDescriptor;
  const isArray = Array.isArray;
  const encode = encoder.encode.bind(encoder);
  const callBound = Function.prototype.call.bind(Function.prototype.call);
  const subarrayOf = Uint8Array.prototype.subarray;
  const lengthOf = Object.getOwnPropertyDescriptor(
    Object.getPrototypeOf(Uint8Array.prototype),
    "length",
  ).get;
  let frameKey;
  const stdin = Deno.stdin;
  const inspect = Deno.inspect;
  // The code is wrapped on its own first line, so line N of the module is line N of the code.
  const WRAPPER = "export default async function __airlock_main() {";

  /** Writes one frame as a line of JSON. */
  function send(frame) {
    // A null-prototype copy: an inherited `toJSON` or setter the code planted cannot see it.
    const sealed = assign(create(null), frame);
    if (frameKey !== undefined) sealed.k = frameKey;
    const bytes = encode(stringify(sealed) + "\n");
    const length = callBound(lengthOf, bytes);
    let offset = 0;
    while (offset < length) offset += writeStdout(callBound(subarrayOf, bytes, offset));
  }

  /** UTF-8 length of `text` in bytes (a lone surrogate counts as U+FFFD, 3 bytes). */
  function utf8Length(text) {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit < 0x80) bytes += 1;
      else if (unit < 0x800) bytes += 2;
      else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
        bytes += 4;
        i++;
      } else bytes += 3;
    }
    return bytes;
  }

  /**
   * A cut prefix without what the cut may have left of a value: a copy of `dropPartialToken`
   * in json_text.ts (the runner imports nothing; tests/security/cut_values_test.ts runs the
   * same cases through both): its last token, the groups of a value written with spaces
   * before it, an unterminated PEM block. A value cut in half is no longer recognised by
   * redaction, yet leaks.
   */
  const TOKEN_END =
    /[\s"'`<>{}[\],;|\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Extended_Pictographic}]/u;
  const VALUE_GROUP = /^(?:[0-9A-Za-z+()\-./]*[0-9][0-9A-Za-z+()\-./]*|[A-Z]{1,4})$/;
  const REFERENCE_BODY =
    /^(?:amp;){0,3}(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6})$/;
  const UNSEEN = /[\0\p{Default_Ignorable_Code_Point}]/u;
  const UNSEEN_ALL = /[\0\p{Default_Ignorable_Code_Point}]/gu;
  function dropPartialToken(text) {
    const begin = text.lastIndexOf("-----BEGIN ", text.length - 1);
    if (begin >= 0 && text.length - begin <= 8192 && text.indexOf("-----END ", begin) < 0) {
      text = text.slice(0, begin);
    }
    let i = text.length;
    while (i > 0 && !endsToken(text, i)) {
      // A character outside the BMP (a pictograph) is stepped over whole, not as half a pair.
      const pair = i >= 2 && (text.charCodeAt(i - 1) & 0xfc00) === 0xdc00 &&
        (text.charCodeAt(i - 2) & 0xfc00) === 0xd800;
      i -= pair ? 2 : 1;
    }
    // NULs between the characters (UTF-16 read as bytes), or characters nobody sees: groups
    // up to twice as long.
    const wide = UNSEEN.test(text.slice(Math.max(0, i - 128), i)) ? 2 : 1;
    const floor = Math.max(0, i - wide * 64);
    let kept = i;
    let at = i;
    while (at > floor) {
      let end = at;
      while (end > floor && /\s/.test(text[end - 1])) end--;
      let start = end;
      while (start > floor && end - start <= wide * 40 && !endsToken(text, start)) start--;
      const whole = start === 0 || endsToken(text, start);
      if (end === start || !whole || end - start > wide * 40) break;
      const raw = text.slice(start, end);
      const token = wide === 2 ? raw.replace(UNSEEN_ALL, "") : raw;
      if (token.length > 40) break;
      if (token.length <= 8 && VALUE_GROUP.test(token)) {
        kept = start;
        at = start;
        continue;
      }
      const label = Math.max(raw.lastIndexOf("="), raw.lastIndexOf(":"));
      const group = raw.slice(label + 1);
      const bare = wide === 2 ? group.replace(UNSEEN_ALL, "") : group;
      if (label >= 0 && bare.length > 0 && bare.length <= 8 && VALUE_GROUP.test(bare)) {
        kept = start + label + 1;
      }
      break;
    }
    return text.slice(0, kept);
  }

  /** Whether the character before `i` ends a token; an HTML reference's `;` does not. */
  function endsToken(text, i) {
    const pair = i >= 2 && (text.charCodeAt(i - 1) & 0xfc00) === 0xdc00 &&
      (text.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    if (!TOKEN_END.test(pair ? text.slice(i - 2, i) : text[i - 1])) return false;
    if (text.charCodeAt(i - 1) !== 0x3b) return true;
    for (let amp = i - 2; amp >= 0 && i - 1 - amp <= 45; amp--) {
      if (text.charCodeAt(amp) === 0x26) return !REFERENCE_BODY.test(text.slice(amp + 1, i - 1));
    }
    return true;
  }

  function isLowSurrogate(unit) {
    return unit >= 0xdc00 && unit <= 0xdfff;
  }

  /** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes, whole characters only. */
  function utf8Prefix(text, maxBytes) {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      const pair = unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1));
      const width = unit < 0x80 ? 1 : unit < 0x800 ? 2 : pair ? 4 : 3;
      if (bytes + width > maxBytes) return text.slice(0, i);
      bytes += width;
      if (pair) i++;
    }
    return text;
  }

  /** The gateway's caps on error text, in UTF-8 bytes; it cuts longer text the same way. */
  const MAX_MESSAGE_BYTES = 8 * 1024;
  const MAX_STACK_BYTES = 16 * 1024;
  const TRUNCATED = "… [truncated]";

  function capText(text, maxBytes) {
    if (text.length * 3 <= maxBytes || utf8Length(text) <= maxBytes) return text;
    return dropPartialToken(utf8Prefix(text, maxBytes - utf8Length(TRUNCATED))) + TRUNCATED;
  }

  // ---------------------------------------------------------------- stdin frames

  const pendingReplies = new Map();
  let runFrameResolve;
  const runFrame = new Promise((resolve) => runFrameResolve = resolve);

  async function readFrames() {
    const buffer = new Uint8Array(1 << 20);
    // Pieces of the current line: only new text is searched for a newline, so a frame of
    // any size (a large tool result) costs linear time.
    const pieces = [];
    while (true) {
      let n;
      try {
        n = await stdin.read(buffer);
      } catch {
        n = null;
      }
      if (n === null) break;
      let text = decoder.decode(buffer.subarray(0, n), { stream: true });
      let newline;
      while ((newline = text.indexOf("\n")) >= 0) {
        pieces.push(text.slice(0, newline));
        const line = pieces.join("");
        pieces.length = 0;
        text = text.slice(newline + 1);
        if (line.length > 0) handleFrame(JSON.parse(line));
      }
      if (text.length > 0) pieces.push(text);
    }
    // The gateway closed our stdin: nothing more can arrive, so pending calls fail.
    for (const [, pending] of pendingReplies) {
      pending.reject(new ToolError("the gateway closed the tool channel"));
    }
    pendingReplies.clear();
  }

  function handleFrame(frame) {
    if (frame.t === "run") {
      runFrameResolve(frame);
    } else if (frame.t === "reply") {
      const pending = pendingReplies.get(frame.id);
      if (!pending) return;
      pendingReplies.delete(frame.id);
      if (frame.ok) pending.resolve(frame.value);
      else {
        const error = frame.error ?? {};
        pending.reject(new ToolError(String(error.message ?? "tool call failed"), error));
      }
    }
  }

  // ---------------------------------------------------------------- the sandbox API

  /** Thrown inside the code when a tool call fails. */
  class ToolError extends Error {
    constructor(message, details = {}) {
      super(message);
      this.name = "ToolError";
      this.tool = details.tool;
      this.kind = details.kind ?? "tool";
      this.details = details.details;
    }
  }

  let nextRpcId = 1;
  function rpc(method, params) {
    const id = nextRpcId++;
    return new Promise((resolve, reject) => {
      pendingReplies.set(id, { resolve, reject });
      send({ t: "rpc", id, method, params });
    });
  }

  // The runner's and the runtime's locations are host details the code has no use for.
  Object.defineProperty(Deno, "execPath", { value: () => "deno", writable: false });
  Object.defineProperty(Deno, "mainModule", {
    get: () => "file:///airlock/runner.js",
    configurable: false,
  });

  // ---------------------------------------------------------------- the runtime's own surface
  //
  // Deleting a global is not a boundary when the runtime's internals can rebuild it, so
  // the internals are closed first and for good (non-configurable, non-writable), then
  // what they could reach is removed.

  const NONE = { value: undefined, writable: false, enumerable: false, configurable: false };
  const NotCapable = Deno.errors.NotCapable;

  // `Deno[Deno.internal]` holds the runtime's core (raw ops, `evalContext`, promise and
  // exception hooks) and webidl (`createBranded` builds any web class without its
  // constructor's checks). Nothing of ours uses it, and the runtime's own modules hold
  // their references already.
  //
  // Closing the name is not enough: modules the runtime loads lazily, on the code's first
  // use of a global (`ReadableStream`, `fetch`, `Request`, …) or of a Node built-in
  // (`node:cluster`), assign new properties on the internals object
  // (`internals.resourceForReadableStream = …`), and an assignment of a property the object
  // lacks consults its prototype chain: a setter the code planted on `Object.prototype`
  // was handed the object itself (red team). Without a prototype, such an assignment only
  // ever creates the property. The same for `core`, which the runtime extends the same way.
  // And `core.ops`: a runtime's first lazy load assigns its raw op functions there (already
  // done here, during Node's start-up, but not something to rely on).
  const internals = Deno[Deno.internal];
  if (internals !== null && typeof internals === "object") {
    const core = internals.core;
    if (core !== null && typeof core === "object") {
      if (core.ops !== null && typeof core.ops === "object") Object.setPrototypeOf(core.ops, null);
      Object.setPrototypeOf(core, null);
    }
    Object.setPrototypeOf(internals, null);
  }
  Object.defineProperty(Deno, Deno.internal, NONE);

  // The runtime's async op stubs call the raw op through `originalOp.call(this, …)`, with
  // whatever `Function.prototype.call` is at that moment: a replacement was handed every raw
  // op and its arguments, the frame channel's read buffer among them (red team). `call`,
  // `apply` and `bind` stay what they are.
  for (const name of ["call", "apply", "bind"]) {
    Object.defineProperty(Function.prototype, name, { writable: false, configurable: false });
  }

  // The Cache API writes to disk with no permission and no quota (localStorage at least has a
  // 10 MB one); sandboxed code has no use for it. Without webidl its classes cannot be
  // instantiated, and they go too.
  for (const name of ["caches", "CacheStorage", "Cache"]) {
    Object.defineProperty(globalThis, name, NONE);
  }

  // A worker is a fresh runtime with its own, open `Deno[Deno.internal]` and its own
  // `caches`, out of reach of this harness: no workers at all. The web Worker is a global;
  // node:worker_threads' Worker is refused in `hardenNode`.
  function refuseWorker() {
    throw new NotCapable("Workers are not available in the sandbox");
  }
  Object.defineProperty(globalThis, "Worker", { ...NONE, value: refuseWorker });

  // Host paths: the working directory is the runtime directory, argv names the runner.
  const NEUTRAL_CWD = "/airlock";
  Object.defineProperty(Deno, "cwd", { ...NONE, value: () => NEUTRAL_CWD });

  Object.defineProperty(globalThis, "ToolError", { value: ToolError, writable: false });
  Object.defineProperty(globalThis, "__airlock", {
    value: Object.freeze({ rpc }),
    writable: false,
    enumerable: false,
  });

  // ---------------------------------------------------------------- console capture

  let logBudget = 65536;
  let droppedLines = 0;

  function formatArgs(args) {
    return args.map((a) => typeof a === "string" ? a : inspect(a, { depth: 4, colors: false }))
      .join(" ");
  }

  /**
   * Sends a log line within the budget (UTF-8 bytes): the line that reaches it is cut to
   * what is left and marked with "…", later lines are only counted. The gateway applies
   * the same rule to the frames it receives, so lines the code writes itself gain nothing.
   */
  function emitLog(level, args) {
    // A partial stream line stays buffered until its newline: flushing it here would split a
    // value written in two pieces around a console call, and redaction sees lines whole.
    emitText(level, args, logValues(args));
  }

  // The object arguments of a console call, as JSON text beside the line: the gateway judges
  // each value under its key as in a returned value (red team n1: `console.log({ credentials:
  // { prod: "…" } })` leaked what returning the object redacts) and hides it in the line. Only
  // for redaction, never shown. At most LOG_VALUES_DEPTH levels (inspect shows four below
  // the argument), LOG_VALUES_NODES containers and values, 100 items of an array (inspect's
  // limit), LOG_VALUES_BYTES per line and logValuesBudget in all; own data properties only
  // (inspect calls no getter either).
  const LOG_VALUES_DEPTH = 6;
  const LOG_VALUES_NODES = 2000;
  const LOG_VALUES_BYTES = 16384;
  let logValuesBudget = 65536;

  function logValues(args) {
    if (logValuesBudget <= 0 || logBudget <= 0) return undefined;
    const objects = [];
    for (const a of args) if (a !== null && typeof a === "object") objects.push(a);
    if (objects.length === 0) return undefined;
    try {
      const budget = { nodes: LOG_VALUES_NODES };
      const json = stringify(objects.map((a) => snapshot(a, 0, budget)));
      const size = utf8Length(json);
      if (size > LOG_VALUES_BYTES || size > logValuesBudget) return undefined;
      logValuesBudget -= size;
      return json;
    } catch {
      return undefined; // a proxy's trap or a `toJSON` threw: the line is judged as text
    }
  }

  function snapshot(value, depth, budget) {
    const v = normalise(value);
    if (v === null || typeof v !== "object") return v;
    if (depth >= LOG_VALUES_DEPTH || --budget.nodes < 0) return null;
    const plain = v instanceof Map ? mapToPlain(v) : v instanceof Set ? [...v] : v;
    if (isArray(plain)) {
      const items = [];
      for (let i = 0; i < plain.length && i < 100; i++) {
        const item = snapshot(plain[i], depth + 1, budget);
        items.push(item === undefined ? null : item);
      }
      return items;
    }
    const out = create(null);
    for (const key of ownKeys(plain)) {
      const d = ownDescriptor(plain, key);
      if (d === undefined || !("value" in d)) continue;
      const item = snapshot(d.value, depth + 1, budget);
      if (item !== undefined && typeof item !== "function" && typeof item !== "symbol") {
        out[key] = item;
      }
    }
    return out;
  }

  function emitText(level, args, values) {
    if (logBudget <= 0) {
      droppedLines++;
      return;
    }
    let text = formatArgs(args);
    const size = utf8Length(text);
    if (size > logBudget) {
      text = dropPartialToken(utf8Prefix(text, logBudget)) + "…";
      logBudget = 0;
    } else logBudget -= Math.max(1, size); // an empty line costs a frame too
    send(values === undefined ? { t: "log", level, text } : { t: "log", level, text, values });
  }

  const counters = new Map();
  const timers = new Map();
  const captured = {
    log: (...a) => emitLog("log", a),
    info: (...a) => emitLog("info", a),
    warn: (...a) => emitLog("warn", a),
    error: (...a) => emitLog("error", a),
    debug: (...a) => emitLog("debug", a),
    trace: (...a) => emitLog("debug", a),
    dir: (a) => emitLog("log", [a]),
    dirxml: (...a) => emitLog("log", a),
    table: (a) => emitLog("log", [a]),
    group: (...a) => a.length && emitLog("log", a),
    groupCollapsed: (...a) => a.length && emitLog("log", a),
    groupEnd: () => {},
    assert: (ok, ...a) => ok || emitLog("error", ["Assertion failed", ...a]),
    count: (label = "default") => {
      const n = (counters.get(label) ?? 0) + 1;
      counters.set(label, n);
      emitLog("log", [`${label}: ${n}`]);
    },
    countReset: (label = "default") => counters.delete(label),
    time: (label = "default") => timers.set(label, performance.now()),
    timeLog: (label = "default", ...a) =>
      emitLog("log", [
        `${label}: ${(performance.now() - (timers.get(label) ?? 0)).toFixed(1)}ms`,
        ...a,
      ]),
    timeEnd: (label = "default") => {
      emitLog("log", [`${label}: ${(performance.now() - (timers.get(label) ?? 0)).toFixed(1)}ms`]);
      timers.delete(label);
    },
    clear: () => {},
  };
  globalThis.console = captured;

  // ---------------------------------------------------------------- stdout and stderr capture
  //
  // Bytes the code writes to stdout or stderr become log lines (`log` and `error`) under the
  // same budget as `console.*`: decoded as UTF-8 across writes, joined until a newline (so a
  // line written in pieces is one entry, and the gateway redacts it whole), and flushed at
  // the end of the execution. A line longer than what is left of the budget is cut when it
  // passes it; later lines are only counted. Bytes past a flood cap (the gateway's own:
  // for stdout its output budget, for stderr 64 MiB) end the execution as output_limit, as
  // the same flood on the real pipes did.

  const STDERR_FLOOD_BYTES = 64 * 1024 * 1024;
  let stdoutFloodBytes = 2 * (1048576 + 65536) + 1024 * 1024;

  function lineCapture(level, floodBytes) {
    const utf8 = new TextDecoder();
    const pieces = [];
    let pendingLength = 0;
    // After a line was cut at the budget, the rest of it up to its newline is dropped.
    let discarding = false;
    // Bytes of a line past the budget were seen: it counts as dropped when it ends.
    let droppedPartial = false;
    let written = 0;
    const flush = () => {
      const tail = utf8.decode();
      if (tail) pieces.push(tail);
      if (pieces.length > 0 && !discarding) emitText(level, [pieces.join("")]);
      else if (droppedPartial) droppedLines++;
      droppedPartial = false;
      pieces.length = 0;
      pendingLength = 0;
      discarding = false;
    };
    const take = (bytes) => {
      if (finished) return;
      written += bytes.byteLength;
      if (written > floodBytes()) {
        finish({ t: "over_limit", limit: "bytes" });
        return;
      }
      if (logBudget <= 0 && pieces.length === 0) {
        // Nothing more can be shown: count lines without decoding them.
        let last = -1;
        for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) {
          if (discarding) discarding = false;
          else droppedLines++;
          droppedPartial = false;
          last = at;
        }
        if (last < bytes.byteLength - 1 && !discarding) droppedPartial = true;
        return;
      }
      let text = utf8.decode(bytes, { stream: true });
      let newline;
      while ((newline = text.indexOf("\n")) >= 0) {
        let line = text.slice(0, newline);
        text = text.slice(newline + 1);
        if (discarding) {
          discarding = false;
          continue;
        }
        pieces.push(line);
        line = pieces.join("");
        pieces.length = 0;
        pendingLength = 0;
        emitText(level, [line.endsWith("\r") ? line.slice(0, -1) : line]);
      }
      if (text.length === 0 || discarding) return;
      pieces.push(text);
      pendingLength += text.length;
      // A UTF-16 length over the budget is surely over it in UTF-8: cut the line now rather
      // than hold an endless one in memory.
      if (pendingLength > logBudget) {
        emitText(level, [pieces.join("")]);
        pieces.length = 0;
        pendingLength = 0;
        discarding = true;
      }
    };
    return { take, flush };
  }

  const outLines = lineCapture("log", () => stdoutFloodBytes);
  const errLines = lineCapture("error", () => STDERR_FLOOD_BYTES);

  /** Emits the partial lines of both streams (before a console line, and at the end). */
  function flushStreams() {
    outLines.flush();
    errLines.flush();
  }

  function toBytes(chunk, encoding) {
    if (typeof chunk === "string") {
      return typeof encoding === "string" && encoding !== "utf8" && encoding !== "utf-8"
        ? new Uint8Array(Buffer.from(chunk, encoding))
        : encoder.encode(chunk);
    }
    if (ArrayBuffer.isView(chunk)) {
      return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
    throw new TypeError("expected a Uint8Array or a string");
  }

  /** A stand-in for `Deno.stdout` / `Deno.stderr`: writes become log lines. */
  function denoWriter(lines) {
    const writeSync = (p) => {
      if (!ArrayBuffer.isView(p)) throw new TypeError("expected a Uint8Array");
      const bytes = toBytes(p);
      lines.take(bytes);
      return bytes.byteLength;
    };
    const writer = {
      writeSync,
      write: (p) => {
        try {
          return Promise.resolve(writeSync(p));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      close() {},
      isTerminal: () => false,
      get writable() {
        return new WritableStream({ write: (chunk) => void writeSync(chunk) });
      },
    };
    return Object.freeze(writer);
  }

  /** A stand-in for `process.stdout` / `process.stderr`: a Node Writable into the log. */
  function nodeWriter(Writable, lines, fd) {
    const stream = new Writable({
      decodeStrings: false,
      write(chunk, encoding, callback) {
        try {
          lines.take(toBytes(chunk, encoding));
          callback();
        } catch (error) {
          callback(error);
        }
      },
    });
    stream.fd = fd;
    stream.isTTY = false;
    return stream;
  }

  // Exiting does not lose a partial line: it is flushed first, like at a normal end.
  const denoExit = Deno.exit;
  // A process may signal itself with no permission: SIGTRAP is what V8's fatal heap abort
  // raises, so the code could forge the gateway's `memory` verdict, and SIGSTOP would hold
  // its slot until the timeout. No signals at all (other pids need a permission the code
  // does not have anyway).
  Object.defineProperty(Deno, "kill", {
    ...NONE,
    enumerable: true,
    value: function kill() {
      throw new NotCapable("signals are not available in the sandbox");
    },
  });

  // Without `nameServer`, the runtime reads the host's /etc/resolv.conf on the code's behalf,
  // and the permission error then names the host's resolver (red team f3). The code names the
  // server it asks; the host's configuration is never read for it.
  const denoResolveDns = Deno.resolveDns;
  const applyResolveDns = Reflect.apply;
  Object.defineProperty(Deno, "resolveDns", {
    ...NONE,
    enumerable: true,
    value: function resolveDns(query, recordType, options) {
      if (options?.nameServer == null) {
        return Promise.reject(
          new NotCapable(
            "Deno.resolveDns needs options.nameServer in the sandbox (the host's resolver " +
              "configuration is not read)",
          ),
        );
      }
      return applyResolveDns(denoResolveDns, Deno, [query, recordType, options]);
    },
  });

  Object.defineProperty(Deno, "exit", {
    ...NONE,
    enumerable: true,
    value: function exit(code) {
      if (!finished) flushStreams();
      return denoExit(code);
    },
  });

  const NOT_OURS = { writable: false, enumerable: true, configurable: false };
  Object.defineProperty(Deno, "stdout", { ...NOT_OURS, value: denoWriter(outLines) });
  Object.defineProperty(Deno, "stderr", { ...NOT_OURS, value: denoWriter(errLines) });

  // ---------------------------------------------------------------- Node, hardened before the code
  //
  // `globalThis.process` is the runtime's own lazy accessor, which initialises Node
  // compatibility on first use. It is replaced by a non-configurable accessor that runs
  // the runtime's and then hardens Node's objects, and `main` reads it before the code
  // arrives, so the warm pool pays the initialisation (about 20 ms of CPU), not the caller.
  //
  // Hardening lazily, when the code first reached Node, was tried and broken: the
  // runtime's own initialisation reads and assigns properties of plain objects (its
  // internals object, module exports), so an accessor the code planted on
  // `Object.prototype` ran inside it and was handed `Deno[Deno.internal]` or the real
  // Worker class. Nothing of the caller's may run before Node is hardened. The captured
  // functions and prototype-less descriptors below still keep the hardening independent
  // of later changes to globals.

  const reflectApply = Reflect.apply;
  const definePropertyOf = Object.defineProperty;
  const setPrototypeOf = Object.setPrototypeOf;
  const preventExtensions = Object.preventExtensions;
  const freeze = Object.freeze;
  const keysOf = Object.keys;
  const startsWithOf = String.prototype.startsWith;

  /** `Object.defineProperty` with a prototype-less copy of `descriptor`. */
  function define(target, key, descriptor) {
    definePropertyOf(target, key, assign(create(null), descriptor));
  }

  const processAccessor = Object.getOwnPropertyDescriptor(globalThis, "process");
  const processGetter = processAccessor.get;
  let hardenedProcess;
  // "idle", "hardening" (the runtime's own modules may read the accessor while they
  // load) or "failed" (fail closed: never hand out an unhardened process).
  let nodeState = "idle";
  define(globalThis, "process", {
    get() {
      if (hardenedProcess !== undefined) return hardenedProcess;
      if (nodeState === "failed") throw new NotCapable("Node compatibility is unavailable");
      const nodeProcess = reflectApply(processGetter, globalThis, []);
      if (nodeState === "hardening") return nodeProcess;
      nodeState = "hardening";
      try {
        hardenNode(nodeProcess);
      } catch (error) {
        nodeState = "failed";
        throw error;
      }
      hardenedProcess = nodeProcess;
      return hardenedProcess;
    },
    enumerable: processAccessor.enumerable,
    configurable: false,
  });

  /**
   * Built-ins refused outright, by their default export (what `getBuiltinModule` and
   * `require` return; the import map gives their `import` a shim that re-exports it):
   * - node:v8's heap snapshots hold the frame key and the runtime directory's path;
   * - node:sqlite writes temporary files to any directory a pragma names, without a
   *   write permission and past the disk cap;
   * - node:module's hooks route imports around the import map.
   */
  const REFUSED_MEMBERS = {
    "node:v8": ["getHeapSnapshot", "writeHeapSnapshot", "setHeapSnapshotNearHeapLimit"],
    "node:sqlite": "all",
    // Module hooks resolve and load modules around the import map (and its shims).
    "node:module": ["register", "registerHooks"],
  };

  function refuseMembers(moduleObject, specifier, members) {
    const names = members === "all" ? keysOf(moduleObject) : members;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const refused = function () {
        throw new NotCapable(`${specifier} ${name} is not available in the sandbox`);
      };
      define(moduleObject, name, { ...NONE, enumerable: true, value: refused });
    }
    preventExtensions(moduleObject);
  }

  /** Hardens `process` and Node's built-ins (what the eager harness did at start-up). */
  function hardenNode(nodeProcess) {
    // Captured first: the code cannot have touched either before this runs.
    const getBuiltinModule = nodeProcess.getBuiltinModule;
    define(nodeProcess, "getBuiltinModule", { ...NONE, value: getBuiltinModule });
    const builtin = (specifier) => reflectApply(getBuiltinModule, nodeProcess, [specifier]);
    // node:worker_threads' class calls `super()`, which looks up its prototype at call
    // time, so a refusing prototype it cannot be given back (non-extensible) stops it
    // before it creates anything.
    const NodeWorker = builtin("node:worker_threads").Worker;
    setPrototypeOf(NodeWorker, refuseWorker);
    preventExtensions(NodeWorker);
    // `createRequire(import.meta.url)`, the usual Node idiom, gets a `data:` URL here (the
    // code is a `data:` module), which Node refuses: a neutral file URL stands in for it.
    const nodeModule = builtin("node:module");
    const createRequire = nodeModule.createRequire;
    define(nodeModule, "createRequire", {
      ...NONE,
      enumerable: true,
      value: function createRequireFrom(from) {
        const base = typeof from === "string" && from.startsWith("data:")
          ? "file:///airlock/code.js"
          : from;
        return reflectApply(createRequire, nodeModule, [base]);
      },
    });
    // Node's own internal modules (`internal/test/binding` hands out `internalBinding`, the
    // raw handle classes `process.binding` is refused for; `internal/child_process`, …) are
    // not `require`-able in Node without --expose-internals, and here neither: every
    // `require` (createRequire's, `Module.prototype.require`) goes through `Module._load`.
    const load = nodeModule._load;
    if (typeof load === "function") {
      define(nodeModule, "_load", {
        ...NONE,
        value: function _load(request, parent, isMain) {
          if (
            typeof request === "string" &&
            (reflectApply(startsWithOf, request, ["internal/"]) ||
              reflectApply(startsWithOf, request, ["node:internal/"]))
          ) {
            throw new NotCapable(`${request} is not available in the sandbox`);
          }
          return reflectApply(load, nodeModule, [request, parent, isMain]);
        },
      });
    }
    // Index loops: the code may have replaced the array iterator too.
    const refusedModules = keysOf(REFUSED_MEMBERS);
    for (let i = 0; i < refusedModules.length; i++) {
      const specifier = refusedModules[i];
      refuseMembers(builtin(specifier), specifier, REFUSED_MEMBERS[specifier]);
    }

    // `process.binding` hands out raw handle classes whose `open(fd)` adopts any inherited
    // file descriptor with no permission check; `nodeBootstrap` is the runtime's one-time
    // Node initialiser, left on globalThis. Signals (see `Deno.kill` above): a process may
    // signal itself with no permission.
    for (const name of ["binding", "_linkedBinding", "kill", "_kill", "_debugProcess"]) {
      define(nodeProcess, name, {
        ...NONE,
        value: () => {
          throw new NotCapable(`process.${name} is not available in the sandbox`);
        },
      });
    }
    if ("nodeBootstrap" in globalThis) define(globalThis, "nodeBootstrap", NONE);

    define(nodeProcess, "cwd", { ...NONE, value: () => NEUTRAL_CWD });
    define(nodeProcess, "argv", {
      ...NONE,
      value: freeze(["deno", "/airlock/runner.js"]),
      enumerable: true,
    });
    // An accessor Deno will not let go of; its setter stores the value shown, and
    // `process.title` shows it too. (Setting `title` itself would rewrite the process's
    // command line, which tools outside use to recognise sandbox processes.)
    nodeProcess.execPath = "deno";
    // `argv0` is an accessor too, but its setter does nothing: it shows the process's own
    // argv[0], which the launcher sets to `deno` (the fallback chain leaves the Deno
    // executable's path there; see the README).

    const nodeExit = nodeProcess.exit;
    define(nodeProcess, "exit", {
      ...NONE,
      enumerable: true,
      value: function exit(code) {
        if (!finished) flushStreams();
        return reflectApply(nodeExit, nodeProcess, [code]);
      },
    });
    const { Writable } = builtin("node:stream");
    define(nodeProcess, "stdout", { ...NOT_OURS, value: nodeWriter(Writable, outLines, 1) });
    define(nodeProcess, "stderr", { ...NOT_OURS, value: nodeWriter(Writable, errLines, 2) });
  }

  // ---------------------------------------------------------------- result encoding

  /** The encoder stopped: `limit` is "bytes" or "depth". Reported as an `over_limit` frame. */
  class OutputLimit extends Error {
    name = "OutputLimit";
    constructor(message, limit) {
      super(message);
      this.limit = limit;
    }
  }

  /**
   * Turns the code's return value into JSON text, iteratively (no recursion, so a deeply
   * nested value cannot overflow the stack), with predictable rules: Date → ISO string,
   * Map → object (string keys) or array of [key, value], Set → array, BigInt → decimal
   * string, undefined/functions/symbols → omitted in objects and null in arrays, cycles
   * → an error naming the path. Stops early once the output would pass `maxBytes` UTF-8
   * bytes (the gateway measures the same way) or `maxDepth` levels.
   */
  function encodeResult(root, maxBytes, maxDepth) {
    const out = [];
    let size = 0;
    const push = (s) => {
      size += utf8Length(s);
      if (size > maxBytes) {
        throw new OutputLimit(
          `the return value is larger than the ${maxBytes}-byte limit`,
          "bytes",
        );
      }
      out.push(s);
    };
    const onPath = new Set();
    // Work items: a value to write, or a closing action.
    const stack = [{ value: root, depth: 0, path: "$" }];
    while (stack.length > 0) {
      const item = stack.pop();
      if (item.text !== undefined) {
        push(item.text);
        if (item.leave) onPath.delete(item.leave);
        continue;
      }
      let value = normalise(item.value);
      if (value === undefined) {
        push("null");
        continue;
      }
      if (typeof value === "string" && value.length > maxBytes - size) {
        // Refuse before JSON.stringify doubles a huge string in memory (a string's UTF-16
        // length is never more than its UTF-8 length).
        throw new OutputLimit(
          `the return value is larger than the ${maxBytes}-byte limit`,
          "bytes",
        );
      }
      if (value === null || typeof value !== "object") {
        push(JSON.stringify(value));
        continue;
      }
      const identity = value;
      if (onPath.has(identity)) {
        throw new TypeError(`the return value contains a circular reference at ${item.path}`);
      }
      if (item.depth >= maxDepth) {
        throw new OutputLimit(`the return value is nested deeper than ${maxDepth} levels`, "depth");
      }
      if (value instanceof Map) value = mapToPlain(value);
      else if (value instanceof Set) value = [...value];
      onPath.add(identity);
      const childDepth = item.depth + 1;
      if (Array.isArray(value)) {
        push("[");
        stack.push({ text: "]", leave: identity });
        for (let i = value.length - 1; i >= 0; i--) {
          stack.push({ value: value[i], depth: childDepth, path: `${item.path}[${i}]` });
          if (i > 0) stack.push({ text: "," });
        }
      } else {
        push("{");
        stack.push({ text: "}", leave: identity });
        const entries = [];
        for (const key of Object.keys(value)) {
          const v = normalise(value[key]);
          if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
          entries.push([key, value[key]]);
        }
        for (let i = entries.length - 1; i >= 0; i--) {
          const [key, v] = entries[i];
          stack.push({ value: v, depth: childDepth, path: `${item.path}.${key}` });
          stack.push({ text: (i > 0 ? "," : "") + JSON.stringify(key) + ":" });
        }
      }
    }
    return out.join("");
  }

  function normalise(value) {
    if (value === null) return null;
    switch (typeof value) {
      case "bigint":
        return value.toString();
      case "function":
      case "symbol":
      case "undefined":
        return undefined;
      case "number":
        return Number.isFinite(value) ? value : null;
      case "object":
        if (value instanceof Date) return isNaN(value.getTime()) ? null : value.toISOString();
        if (typeof value.toJSON === "function" && !(value instanceof Map || value instanceof Set)) {
          return value.toJSON();
        }
        if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value);
        if (value instanceof Error) return { name: value.name, message: value.message };
        return value;
      default:
        return value;
    }
  }

  function mapToPlain(map) {
    for (const key of map.keys()) {
      if (typeof key !== "string") return [...map.entries()];
    }
    return Object.fromEntries(map);
  }

  // ---------------------------------------------------------------- errors

  function describeError(error) {
    const kind = classify(error);
    const message = scrub(
      error instanceof OutputLimit
        ? error.message
        : error instanceof Error
        ? `${error.name}: ${error.message}`
        : `Uncaught ${safeString(error)}`,
    );
    const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : "";
    return {
      kind,
      message: capText(message, MAX_MESSAGE_BYTES),
      line: lineIn(stack) ?? lineIn(String(error?.message ?? "")),
      stack: capText(codeFrames(stack), MAX_STACK_BYTES),
    };
  }

  // Only kinds the code can cause: the gateway reports `timeout`, `memory`, `cancelled` and
  // `output_limit` from its own measurements and reads any of them in an error frame as
  // `runtime`.
  function classify(error) {
    if (error instanceof ToolError) return "tool";
    const name = error?.name;
    if (name === "NotCapable" || name === "PermissionDenied") return "permission";
    if (/^Requires \w+ access/.test(String(error?.message ?? ""))) return "permission";
    return "runtime";
  }

  function safeString(value) {
    try {
      return typeof value === "string" ? value : inspect(value, { depth: 2 });
    } catch {
      return "a value that cannot be printed";
    }
  }

  // The caller's code is the only `application/typescript` data: module; Deno may
  // abbreviate long data: URLs in stack traces ("AAAA......ZZZZ"), so match the shape.
  const CODE_URL = /data:application\/typescript;base64,[A-Za-z0-9+/=.]+/g;
  const CODE_POSITION = /data:application\/typescript;base64,[A-Za-z0-9+/=.]+:(\d+):\d+/;

  /** The line, in the caller's code, of the first stack frame that is in the code. */
  function lineIn(text) {
    const match = CODE_POSITION.exec(text);
    return match ? Number(match[1]) : undefined;
  }

  /** Keeps only the stack frames in the caller's code, named `<code>`. */
  function codeFrames(stack) {
    const frames = stack.split("\n").filter((l) => CODE_POSITION.test(l) && /^\s*at /.test(l));
    return frames.map((l) => scrub(l.trim())).slice(0, 20).join("\n");
  }

  /** Removes our own URLs (data: modules, this runner's path) from text. */
  function scrub(text) {
    let out = text.replace(CODE_URL, "<code>");
    // Line 1 starts with the wrapper's text; report columns as the caller counts them.
    out = out.replace(
      /<code>:1:(\d+)/g,
      (_, col) => `<code>:1:${Math.max(1, col - WRAPPER.length)}`,
    );
    out = out.replace(/data:[a-z/+-]+;base64,[A-Za-z0-9+/=.]+/g, "<module>");
    out = out.replace(/file:\/\/\/[^\s)'"`]*/g, "<airlock>");
    out = out.replace(/(^|[\s(])\/(?:[\w.@-]+\/)+runner\.js[^\s)]*/g, "$1<airlock>");
    return out;
  }

  // ---------------------------------------------------------------- run

  let finished = false;

  /** Sends the one final frame, with the count of log lines dropped (the gateway says so). */
  function finish(frame) {
    if (finished) return;
    // A flood ending the execution does not print its own partial lines.
    if (frame.t !== "over_limit") flushStreams();
    finished = true;
    send({ ...frame, dropped: droppedLines });
  }

  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    const error = describeError(event.reason);
    error.message = `unhandled promise rejection: ${error.message}`;
    finish({ t: "error", error });
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    finish({ t: "error", error: describeError(event.error) });
  });

  function toDataUrl(source, mediaType) {
    const bytes = encoder.encode(source);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return `data:${mediaType};base64,${btoa(binary)}`;
  }

  /**
   * Runs the module loader and the TypeScript transpiler once before reporting ready, so
   * their one-time start-up (caches, compiler) is paid by the warm pool, not by the caller.
   */
  async function warmUp() {
    try {
      // A probe of its own for every process: one the template's cache already held would be
      // served from V8's code cache, and the caller's code (never cached) would then be the
      // first to compile, serialise and store a module's code cache in this process
      // (measured: 1.6 ms for the first import of new code after a cached probe, 1.0 after a
      // new one).
      const probe = "export default async function __airlock_main() {const n: number = " +
        `${Math.random()};\nreturn n;\n}\n`;
      // The code is always TypeScript: a JavaScript probe as well only cost CPU.
      await (await import(toDataUrl(probe, "application/typescript"))).default();
      encodeResult({ warm: [1, "x", null] }, 1024, 8);
      // The path every frame from the gateway takes (streaming UTF-8 decode, JSON.parse),
      // run once on a whole line, so the decoder is left holding no partial character: its
      // first use cost the run frame about 0.15 ms.
      JSON.parse(decoder.decode(encode('{"t":"warm","code":"return 1;"}'), { stream: true }));
    } catch {
      // A failed warm-up only costs time later.
    }
  }

  async function main() {
    readFrames();
    try {
      // Node initialised and hardened before any code of the caller's (see above).
      void globalThis.process;
    } catch {
      // Failed: Node stays unavailable to the code (the accessor fails closed).
    }
    await warmUp();
    send({ t: "ready" });
    const frame = await runFrame;
    frameKey = typeof frame.key === "string" ? frame.key : undefined;
    logBudget = frame.maxLogBytes ?? logBudget;
    const maxOutputBytes = frame.maxOutputBytes ?? 1048576;
    // The gateway's output budget for everything on the frame channel (sandbox/process.ts).
    stdoutFloodBytes = 2 * (maxOutputBytes + logBudget) + 1024 * 1024;

    if (frame.prelude) {
      try {
        // The prelude is a trusted classic script (an IIFE); evaluating it in global scope
        // costs a fraction of a module import.
        (0, eval)(frame.prelude);
      } catch (error) {
        finish({ t: "error", error: { kind: "runtime", message: `prelude failed: ${error}` } });
        return;
      }
    }

    // One line: the wrapper shares line 1 with the code, so line N of the module is
    // line N of the caller's code. Static imports inside it are a syntax error.
    const source = WRAPPER + frame.code + "\n}\n";
    const codeUrl = toDataUrl(source, "application/typescript");
    let main;
    try {
      main = (await import(codeUrl)).default;
    } catch (error) {
      const described = describeError(error);
      if (described.kind === "runtime") {
        described.kind = "compile";
        // Deno reports "TypeError: SyntaxError: …" followed by a code frame that shows our
        // one-line wrapper; the first line and the line number are what the caller needs.
        described.message = described.message.replace(/^TypeError: (?=SyntaxError)/, "")
          .split("\n")[0];
      }
      finish({ t: "error", error: described });
      return;
    }
    let value;
    try {
      value = await main();
    } catch (error) {
      finish({ t: "error", error: describeError(error) });
      return;
    }
    let json;
    try {
      json = value === undefined ? undefined : encodeResult(value, maxOutputBytes, 200);
    } catch (error) {
      // Too large or too deep is not an error kind the process may claim: it says which
      // limit its encoder hit and the gateway words the `output_limit` error.
      if (error instanceof OutputLimit) finish({ t: "over_limit", limit: error.limit });
      else finish({ t: "error", error: describeError(error) });
      return;
    }
    if (finished) return;
    // The value travels as JSON text inside the frame so the gateway can check its size
    // before parsing it.
    finish({ t: "result", json });
  }

  main();
}

runner();

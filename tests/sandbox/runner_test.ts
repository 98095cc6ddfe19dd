/**
 * What the code can do and what comes back: TypeScript, top-level await and return,
 * JSON encoding rules, console capture, errors with kinds and caller line numbers.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { Sandbox } from "../../sandbox/mod.ts";

const sandbox = new Sandbox({
  timeoutMs: 5000,
  memoryMb: 64,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 64 * 1024,
  concurrency: 2,
  queue: 16,
  poolSize: 0,
  allowNet: [],
  allowRead: [],
});

function run(code: string) {
  return sandbox.run({ code });
}

Deno.test("TypeScript syntax, top-level await and top-level return", async () => {
  const result = await run(`
interface Point { x: number; y: number }
type Pair = [Point, Point];
enum Colour { Red = "red" }
const pair: Pair = [{ x: 1, y: 2 }, { x: 3, y: 4 }];
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
await wait(5);
function sum(p: Pair): number { return p.reduce((a, b) => a + b.x + b.y, 0); }
return { total: sum(pair), colour: Colour.Red, generic: ((x: unknown) => x as string)("ok") };`);
  assertEquals(result.ok, true, JSON.stringify(result.error));
  assertEquals(result.result, { total: 10, colour: "red", generic: "ok" });
});

Deno.test("code that returns nothing has no result", async () => {
  const result = await run("const x = 1;");
  assertEquals(result.ok, true);
  assert(!("result" in result), "no result key");
});

Deno.test("return values are encoded predictably", async () => {
  const result = await run(`return {
    date: new Date("2024-01-02T03:04:05Z"),
    badDate: new Date("nope"),
    map: new Map([["a", 1], ["b", 2]]),
    mixedMap: new Map<unknown, number>([[1, 1], ["x", 2]]),
    set: new Set([1, 2, 2, 3]),
    big: 12345678901234567890n,
    undef: undefined,
    arr: [undefined, () => 1, Symbol("s"), NaN, Infinity],
    fn: () => 1,
    nested: { deeper: { deepest: [1, { x: null }] } },
    typed: new Uint8Array([1, 2, 3]),
    error: new RangeError("bad"),
    custom: { toJSON() { return "custom!"; } },
    shared: (() => { const s = { v: 1 }; return [s, s]; })(),
  };`);
  assertEquals(result.ok, true, JSON.stringify(result.error));
  assertEquals(result.result, {
    date: "2024-01-02T03:04:05.000Z",
    badDate: null,
    map: { a: 1, b: 2 },
    mixedMap: [[1, 1], ["x", 2]],
    set: [1, 2, 3],
    big: "12345678901234567890",
    arr: [null, null, null, null, null],
    nested: { deeper: { deepest: [1, { x: null }] } },
    typed: [1, 2, 3],
    error: { name: "RangeError", message: "bad" },
    custom: "custom!",
    shared: [{ v: 1 }, { v: 1 }],
  });
  assertEquals((await run("return 'plain'")).result, "plain");
  assertEquals((await run("return 12n")).result, "12");
  assertEquals((await run("return null")).result, null);
});

Deno.test("cycles give a clear error naming the path", async () => {
  const result = await run("const a: any = { list: [] }; a.list.push({ back: a }); return a;");
  assertEquals(result.error?.kind, "runtime");
  assertMatch(result.error!.message, /circular reference at \$\.list\[0\]\.back/);
});

Deno.test("console output is captured with levels", async () => {
  const result = await run(`console.log("a", 1, { b: [2] });
console.info("info"); console.warn("warn"); console.error("error");
console.debug("debug"); console.trace("trace");
console.assert(1 === 2, "asserted"); console.count(); console.count();
console.table([{ x: 1 }]); return "done";`);
  assertEquals(result.result, "done");
  assertEquals(result.logs.slice(0, 8), [
    // The object arguments travel beside the text, for redaction only (pii/log_lines.ts).
    { level: "log", text: "a 1 { b: [ 2 ] }", values: [{ b: [2] }] },
    { level: "info", text: "info" },
    { level: "warn", text: "warn" },
    { level: "error", text: "error" },
    { level: "debug", text: "debug" },
    { level: "debug", text: "trace" },
    { level: "error", text: "Assertion failed asserted" },
    { level: "log", text: "default: 1" },
  ]);
});

Deno.test("stdout and stderr writes become log lines (stdout: log, stderr: error)", async () => {
  const result = await run(`const enc = new TextEncoder();
Deno.stdout.writeSync(enc.encode("deno stdout sync\\n"));
await Deno.stdout.write(enc.encode("deno stdout async\\n"));
Deno.stderr.writeSync(enc.encode("deno stderr sync\\n"));
await Deno.stderr.write(enc.encode("deno stderr async\\n"));
process.stdout.write("node stdout\\n");
process.stderr.write("node stderr\\n");
const writer = Deno.stdout.writable.getWriter();
await writer.write(enc.encode("web stream\\r\\n"));
writer.releaseLock();
Deno.stdout.close();
console.log("console still works after close()");
return Deno.stdout.writeSync(enc.encode("é\\n"));`);
  assertEquals(result.ok, true, JSON.stringify(result.error));
  // writeSync reports every byte written, as the real one does for a pipe.
  assertEquals(result.result, 3);
  assertEquals(result.logs, [
    { level: "log", text: "deno stdout sync" },
    { level: "log", text: "deno stdout async" },
    { level: "error", text: "deno stderr sync" },
    { level: "error", text: "deno stderr async" },
    { level: "log", text: "node stdout" },
    { level: "error", text: "node stderr" },
    { level: "log", text: "web stream" },
    { level: "log", text: "console still works after close()" },
    { level: "log", text: "é" },
  ]);
});

Deno.test("stream writes are joined into lines across writes and flushed at the end", async () => {
  const result = await run(`const enc = new TextEncoder();
const bytes = enc.encode("snow ☃ man");
// A multi-byte character split across two writes, and a line in three pieces.
Deno.stdout.writeSync(bytes.subarray(0, 6));
Deno.stdout.writeSync(bytes.subarray(6));
process.stdout.write(" and more\\nsecond ");
process.stdout.write("line\\n\\nafter an empty line\\nno newline at the end");
Deno.stderr.writeSync(enc.encode("err without newline"));
return "done";`);
  assertEquals(result.result, "done");
  assertEquals(result.logs, [
    { level: "log", text: "snow ☃ man and more" },
    { level: "log", text: "second line" },
    { level: "log", text: "" },
    { level: "log", text: "after an empty line" },
    { level: "log", text: "no newline at the end" },
    { level: "error", text: "err without newline" },
  ]);

  // A console line does not split a partial stream line: the stream line stays whole (a value
  // written in two pieces around a console call is still redacted), and comes after.
  const ordered = await run(
    `process.stdout.write("part 4111 1111");\nconsole.debug("dbg");\nprocess.stdout.write(" 1111 1111\\n");`,
  );
  assertEquals(ordered.logs, [
    { level: "debug", text: "dbg" },
    { level: "log", text: "part 4111 1111 1111 1111" },
  ]);

  // And when the code exits the process.
  for (const exit of ["Deno.exit(0)", "process.exit(3)"]) {
    const exited = await run(`process.stdout.write("last words");\n${exit};`);
    assertEquals(exited.error?.kind, "runtime");
    assertEquals(exited.logs, [{ level: "log", text: "last words" }]);
  }

  // Partial lines are flushed when the code throws, too.
  const thrown = await run(`process.stdout.write("half a line");\nthrow new Error("x");`);
  assertEquals(thrown.logs, [{ level: "log", text: "half a line" }]);
});

Deno.test("stream output shares the log budget: cut at the cap, later lines counted", async () => {
  const result = await sandbox.run({
    code: `const line = new TextEncoder().encode("y".repeat(999) + "\\n");
for (let i = 0; i < 200; i++) Deno.stdout.writeSync(line);
// An endless line without a newline is cut, not held in memory.
for (let i = 0; i < 100; i++) process.stderr.write("z".repeat(10_000));
return "done";`,
    limits: { maxLogBytes: 10_000 },
  });
  assertEquals(result.result, "done");
  const total = result.logs.reduce((n, l) => n + l.text.length, 0);
  assert(total <= 10_000 + 200, `log text ${total} is over the cap`);
  assertEquals(result.logs.length, 12);
  assertEquals(result.logs[9].text, "y".repeat(999));
  // The cut falls inside a word: the partial word is dropped (it could be half a value).
  assertEquals(result.logs[10].text, "…");
  // 189 lines of stdout, and the endless stderr line.
  assertEquals(result.logs[11].text, "[airlock] 190 more log lines were dropped");
});

Deno.test("a stream flood ends the execution as output_limit, not as a timeout", async () => {
  const result = await sandbox.run({
    code: `const chunk = new TextEncoder().encode("flood ".repeat(10_000));
while (true) Deno.stdout.writeSync(chunk);`,
    limits: { timeoutMs: 30_000 },
  });
  assertEquals(result.error?.kind, "output_limit");
  assert(result.sandboxMs < 25_000, "ended by the flood cap, not the timeout");
});

Deno.test("logs written before a failure are kept", async () => {
  const result = await run(`console.log("before");\nthrow new Error("after");`);
  assertEquals(result.logs, [{ level: "log", text: "before" }]);
  assertEquals(result.error?.line, 2);
});

Deno.test("runtime errors carry the caller's line and only the caller's frames", async () => {
  const result = await run(`const a = 1;
function helper(n: number) {
  if (n > 0) throw new TypeError("bad input " + n);
}
helper(a);`);
  assertEquals(result.error?.kind, "runtime");
  assertEquals(result.error?.message, "TypeError: bad input 1");
  assertEquals(result.error?.line, 3);
  assertMatch(
    result.error!.stack!,
    /^at helper \(<code>:3:\d+\)\nat __airlock_main \(<code>:5:\d+\)$/,
  );
});

Deno.test("compile errors are kind compile with the caller's line and column", async () => {
  const result = await run(`const ok = 1;\nconst broken = ;\n`);
  assertEquals(result.error?.kind, "compile");
  assertEquals(result.error?.line, 2);
  assertMatch(result.error!.message, /^SyntaxError: /);
  const first = await run(`const = 1`);
  assertEquals(first.error?.kind, "compile");
  assertEquals(first.error?.stack, "at <code>:1:7");
});

Deno.test("permission errors are kind permission", async () => {
  const result = await run(`\n\nawait Deno.readTextFile("/etc/hostname");`);
  assertEquals(result.error?.kind, "permission");
  assertEquals(result.error?.line, 3);
});

Deno.test("calling tools without a tool handler fails as a ToolError", async () => {
  const result = await run(`return await __airlock.rpc("tools/call", { tool: "x.y", args: {} });`);
  assertEquals(result.error?.kind, "tool");
  assertMatch(result.error!.message, /ToolError: no tools are available/);
});

Deno.test("RPCs reach the handler and its answers come back", async () => {
  const seen: unknown[] = [];
  const result = await sandbox.run({
    code: `const a = await __airlock.rpc("echo", { n: 1 });
const [b, c] = await Promise.all([__airlock.rpc("echo", { n: 2 }), __airlock.rpc("echo", { n: 3 })]);
try { await __airlock.rpc("fail", {}); } catch (e) { return { a, b, c, err: e instanceof ToolError, msg: e.message }; }`,
    onRpc: (method, params) => {
      seen.push([method, params]);
      if (method === "fail") return Promise.reject(new Error("upstream said no"));
      return Promise.resolve({ echoed: params });
    },
  });
  assertEquals(result.result, {
    a: { echoed: { n: 1 } },
    b: { echoed: { n: 2 } },
    c: { echoed: { n: 3 } },
    err: true,
    msg: "upstream said no",
  });
  assertEquals(seen.length, 4);
});

Deno.test("aborting the signal cancels the execution", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const result = await sandbox.run({ code: "while (true) {}", signal: controller.signal });
  assertEquals(result.error?.kind, "cancelled");
});

Deno.test({
  name: "runner tests close their sandbox",
  fn: () => sandbox.close(),
});

Deno.test("a large tool result (30 MB) reaches the code intact", async () => {
  const big = "0123456789".repeat(3 * 1024 * 1024);
  const large = new Sandbox({
    // Generous: the point is that the bytes arrive intact, not how fast on a loaded host.
    timeoutMs: 15_000,
    memoryMb: 256,
    maxOutputBytes: 1024,
    maxLogBytes: 1024,
    concurrency: 1,
    queue: 0,
    poolSize: 0,
    allowNet: [],
    allowRead: [],
  });
  try {
    const result = await large.run({
      code: `const s = await __airlock.rpc("big", {});
             return { length: s.length, tail: s.slice(-12) };`,
      onRpc: () => Promise.resolve(big),
    });
    assertEquals(result.error, undefined);
    assertEquals(result.result, { length: big.length, tail: "890123456789" });
  } finally {
    await large.close();
  }
});

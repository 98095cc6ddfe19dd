/**
 * Node compatibility attacked through the runtime's own initialisation (a red-team
 * round): accessors planted on `Object.prototype` before the code first reaches Node ran
 * inside Deno's lazy Node start-up and were handed `Deno[Deno.internal]` and the real
 * Worker class; `process.binding` adopted inherited descriptors; `nodeBootstrap` was left
 * on globalThis. Each failed on the lazily hardened harness (7ed24c3); node:module's hooks
 * are in node_routes_test.ts.
 */

import { assert, assertEquals } from "../assert.ts";
import { runInTestSandbox } from "../helpers.ts";

/**
 * The trap: an accessor on Object.prototype for a property the runtime reads on its own
 * `internals` object while it initialises Node (`internals.__nodeProcessBootstrapped`
 * in node:process's `__bootstrapNodeProcess`). `internals` inherits from Object.prototype,
 * so the getter runs with `this === internals`, which is `Deno[Deno.internal]`.
 */
const CAPTURE_INTERNALS = `
  let internals: any = null;
  Object.defineProperty(Object.prototype, "__nodeProcessBootstrapped", {
    configurable: true,
    get() { if (this !== Object.prototype && internals === null) internals = this; return undefined; },
    set(v) {
      Reflect.defineProperty(this, "__nodeProcessBootstrapped",
        { __proto__: null, value: v, writable: true, enumerable: true, configurable: true } as any);
    },
  });
  (globalThis as any).process; // the first touch of Node: the runtime initialises it
  delete (Object.prototype as any).__nodeProcessBootstrapped;`;

Deno.test("node traps (prototypes): an Object.prototype accessor planted before Node is reached hands out Deno[Deno.internal]", async () => {
  const result = await runInTestSandbox(`${CAPTURE_INTERNALS}
    if (internals === null) return { internals: false };
    const core = internals.core;
    return {
      internals: true,
      keys: Reflect.ownKeys(internals).length,
      core: typeof core,
      ops: core ? Object.keys(core.ops).length : 0,
      evalContext: typeof core?.evalContext,
      setPromiseHooks: typeof core?.setPromiseHooks,
      setReportExceptionCallback: typeof core?.setReportExceptionCallback,
      createBranded: typeof internals.webidl?.createBranded,
    };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  // Observed: { internals: true, keys: 38, core: "object", ops: 376, evalContext: "function",
  // setPromiseHooks: "function", setReportExceptionCallback: "function",
  // createBranded: "function" }: the runtime's core and webidl, which the harness closes
  // (`Object.defineProperty(Deno, Deno.internal, NONE)`) because they can rebuild anything
  // it removes.
  assertEquals(result.result, { internals: false }, JSON.stringify(result.result));
});

Deno.test("node traps (prototypes): an Object.prototype setter for 'Worker' planted before Node is reached gets the real node:worker_threads Worker", async () => {
  // node:worker_threads builds its default export by assignment (`exports.Worker =
  // NodeWorker`), so a setter on Object.prototype receives the real class and stores a
  // decoy instead: the harness refuses the decoy (`setPrototypeOf(decoy, refuseWorker)`)
  // and the real class keeps working.
  const result = await runInTestSandbox(`
    let RealWorker: any = null;
    Object.defineProperty(Object.prototype, "Worker", {
      configurable: true,
      get() { return undefined; },
      set(v) {
        if (RealWorker === null && typeof v === "function" &&
            /NodeWorker/.test(Function.prototype.toString.call(v))) {
          RealWorker = v;
          v = class Decoy {};
        }
        Reflect.defineProperty(this, "Worker",
          { __proto__: null, value: v, writable: true, enumerable: true, configurable: true } as any);
      },
    });
    (globalThis as any).process; // the first touch of Node
    delete (Object.prototype as any).Worker;
    if (RealWorker === null) return { worker: "no class captured" };
    let worker: any;
    try {
      const w = new RealWorker(\`
        const d = globalThis.Deno;
        require("node:worker_threads").parentPort.postMessage({
          internalOpen: !!(d && d[d.internal]),
          caches: typeof caches,
          execPath: d.execPath(),
          heapLimitMb: Math.round(require("node:v8").getHeapStatistics().heap_size_limit / 1048576),
        });\`, { eval: true });
      worker = await new Promise((res) => {
        w.on("message", (m: any) => { w.terminate(); res(m); });
        w.on("error", (e: any) => res("worker error " + e));
        setTimeout(() => res("no message"), 5000);
      });
    } catch (e) { worker = String(e); }
    return { worker };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  const worker = (result.result as { worker: unknown }).worker;
  // Observed: { internalOpen: true, caches: "object", execPath:
  // "/usr/lib/node_modules/deno/deno", heapLimitMb: 224 }: a fresh runtime with the
  // internals open, the Cache API back, the Deno executable's path, and its own heap.
  assert(
    typeof worker === "string" && /not available in the sandbox|no class captured/.test(worker),
    `a Worker ran: ${JSON.stringify(worker)}`,
  );
});

Deno.test("node traps (prototypes): the runtime's initialisation runs no code of the caller's (process accessor re-entered)", async () => {
  // The harness's accessor assumes "no code of the caller's runs" while the runtime's own
  // getter initialises Node. An accessor on Object.prototype for "return" (read by every
  // iterator close inside the runtime's modules) or "listener" runs in the middle of it.
  const result = await runInTestSandbox(`
    const seen: string[] = [];
    for (const n of ["return", "listener"]) {
      Object.defineProperty(Object.prototype, n, {
        configurable: true,
        get() { if (seen.length < 50) seen.push(n); return undefined; },
        set(v) { Reflect.defineProperty(this, n, { __proto__: null, value: v, writable: true, enumerable: true, configurable: true } as any); },
      });
    }
    (globalThis as any).process;
    delete (Object.prototype as any).return; delete (Object.prototype as any).listener;
    return { ranDuringInit: seen.length };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  // Observed: ranDuringInit > 0 (both names, dozens of times).
  assertEquals(result.result, { ranDuringInit: 0 });
});

Deno.test("node traps (prototypes): process.binding('pipe_wrap') writes to a descriptor the gateway inherited", async () => {
  // A gateway started as `deno run -A main.ts serve … 9>>somefile` (a service script, a
  // supervisor, a CI runner: any descriptor without close-on-exec) passes it to every
  // sandbox process. Node's Pipe wrap adopts any OS descriptor Deno's fd table does not
  // track, with no permission check, and writes to it.
  const dir = await Deno.makeTempDir({ prefix: "airlock-rt-fd-" });
  try {
    const target = `${dir}/host-file.txt`;
    await Deno.writeTextFile(target, "");
    const codeFile = `${dir}/code.ts`;
    await Deno.writeTextFile(
      codeFile,
      `const { Pipe, constants } = (process as any).binding("pipe_wrap");
       const { WriteWrap } = (process as any).binding("stream_wrap");
       const pipe = new Pipe(constants.SOCKET);
       const opened = pipe.open(9);
       const req = new WriteWrap();
       req.handle = pipe;
       req.oncomplete = () => {};
       const wrote = pipe.writeUtf8String(req, "written by sandboxed code without any permission\\n");
       await new Promise((r) => setTimeout(r, 200));
       return { opened, wrote };`,
    );
    const fixture = new URL("../fixtures/sandbox_run_code.ts", import.meta.url).pathname;
    const child = await new Deno.Command("/bin/sh", {
      args: ["-c", `exec "${Deno.execPath()}" run -A "$0" "$1" 9>>"$2"`, fixture, codeFile, target],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const line = new TextDecoder().decode(child.stdout).trim().split("\n").pop() ?? "";
    const written = await Deno.readTextFile(target);
    // Observed: the outcome {"result":{"opened":0,"wrote":0}} and the host file holds
    // "written by sandboxed code without any permission".
    assertEquals(written, "", `the sandbox wrote to the inherited descriptor; outcome ${line}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("node traps (prototypes): the runtime's nodeBootstrap (Node's initialize) is not left on globalThis", async () => {
  const result = await runInTestSandbox(`
    (globalThis as any).process;
    const nb = (globalThis as any).nodeBootstrap;
    let ran = "absent";
    if (typeof nb === "function") {
      try { nb({ runningOnMainThread: true }); ran = "ran"; } catch (e) { ran = String(e); }
    }
    return { type: typeof nb, ran };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  // Observed: { type: "function", ran: "ran" }: the code runs Node's one-time initialize
  // itself, with arguments of its choosing (runningOnMainThread, workerId,
  // nodeClusterUniqueId, moduleSpecifier, usesLocalNodeModulesDir).
  assertEquals(result.result, { type: "undefined", ran: "absent" });
});

Deno.test("node traps (prototypes): ordinary Node-style code still works (control)", async () => {
  const result = await runInTestSandbox(`
    const { createHash } = await import("node:crypto");
    const fs = await import("fs");
    process.stdout.write("to stdout\\n");
    let fsError = "";
    try { fs.readFileSync("/etc/hostname"); } catch (e: any) { fsError = e.name; }
    // The usual idiom for require in an ES module; import.meta.url is a data: URL here.
    const { createRequire } = await import("node:module");
    const joined = createRequire(import.meta.url)("node:path").join("a", "b");
    const viaDefault = (await import("module")).default.createRequire(import.meta.url)("util").format("%s", "u");
    return { hash: createHash("sha256").update("x").digest("hex").slice(0, 8), b64: Buffer.from("hi").toString("base64"), fsError, joined, viaDefault };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  assertEquals(result.result, {
    hash: "2d711642",
    b64: "aGk=",
    fsError: "NotCapable",
    joined: "a/b",
    viaDefault: "u",
  });
  assert(result.logs.some((l) => l.text === "to stdout"));
});

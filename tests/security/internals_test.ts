/**
 * The runtime's own surface, used the way an attacker would: Deno's internals (raw ops,
 * webidl) to rebuild the removed Cache API, workers (fresh runtimes whose internals are
 * open again), and the host paths the runtime would otherwise show. Every probe runs in
 * a real sandbox process and must be refused.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../assert.ts";
import { liveRuntimeDirs, Sandbox } from "../../sandbox/mod.ts";
import { testSandbox } from "../helpers.ts";

function makeSandbox(): Sandbox {
  return new Sandbox({
    timeoutMs: 10_000,
    memoryMb: 128,
    maxOutputBytes: 1024 * 1024,
    maxLogBytes: 64 * 1024,
    concurrency: 2,
    queue: 8,
    poolSize: 0,
    allowNet: [],
    allowRead: [],
  });
}

/**
 * Code that runs each probe and reports, per probe, "refused: <error>" when it threw or
 * "REACHED: <value>" when it returned.
 */
function probes(entries: Record<string, string>): string {
  const body = Object.entries(entries).map(([name, code]) =>
    `try { out[${JSON.stringify(name)}] = "REACHED: " + String(await (async () => { ${code} })()); }
     catch (e) { out[${JSON.stringify(name)}] = "refused: " + e; }`
  ).join("\n");
  return `const out: Record<string, string> = {};\nconst D = Deno as any;\n${body}\nreturn out;`;
}

function assertAllRefused(report: Record<string, string>) {
  const reached = Object.entries(report).filter(([, v]) => !v.startsWith("refused"));
  assertEquals(reached, [], "every probe must be refused");
}

Deno.test("internals: Deno[Deno.internal], core and webidl are out of reach", async () => {
  const sandbox = makeSandbox();
  try {
    const result = await sandbox.run({
      code: probes({
        // The published attack: webidl builds a CacheStorage without its constructor.
        "rebuild CacheStorage through webidl": `
          const cs = D[D.internal].webidl.createBranded(CacheStorage);
          const cache = await cs.open("x");
          await cache.put("http://a.invalid/", new Response("x".repeat(1 << 20)));
          return "wrote 1 MiB";`,
        "rebuild it with the class taken from a prototype": `
          const C = Object.getPrototypeOf(caches).constructor; return new C();`,
        "reach the raw ops": `const ops = D[D.internal].core.ops;
          return Object.keys(ops).find((k) => k.startsWith("op_"));`,
        "list the ops": `return D[D.internal].core.opNames().length;`,
        "evalContext": `return D[D.internal].core.evalContext("1 + 1", "file:///x.js")[0];`,
        "Symbol.for('Deno.internal')": `return D[Symbol.for("Deno.internal")].core.ops;`,
        "every symbol key of Deno": `
          for (const s of Object.getOwnPropertySymbols(Deno)) {
            const v = D[s]; if (v && typeof v === "object" && ("core" in v || "webidl" in v)) return s.toString();
          }
          throw new Error("none");`,
        "globalThis.__bootstrap": `return (globalThis as any).__bootstrap.core;`,
        "Deno.core": `return D.core.ops;`,
        "redefine the internals slot": `
          Object.defineProperty(Deno, D.internal, { value: 1 }); return D[D.internal];`,
        "delete the internals slot": `
          if (!Reflect.deleteProperty(Deno, D.internal)) throw new Error("not deletable");
          return "deleted";`,
        "the Cache API globals": `
          return [typeof caches, typeof CacheStorage, typeof Cache].join() === "undefined,undefined,undefined"
            ? Promise.reject(new Error("all gone")) : "present";`,
        "put the Cache API back":
          `(globalThis as any).caches = 1; return (globalThis as any).caches;`,
      }),
    });
    assertEquals(result.error, undefined, JSON.stringify(result.error));
    assertAllRefused(result.result as Record<string, string>);
  } finally {
    await sandbox.close();
  }
});

Deno.test("internals: no workers, so no fresh runtime with open internals", async () => {
  const sandbox = makeSandbox();
  try {
    const inWorker = `const i = Deno[Deno.internal];
      const cs = typeof caches !== "undefined" ? caches : i.webidl.createBranded(CacheStorage);
      const c = await cs.open("w"); await c.put("http://a.invalid/", new Response("y"));
      postMessage("wrote from a worker");`;
    const result = await sandbox.run({
      code: probes({
        "a web Worker": `return await new Promise((resolve, reject) => {
            const w = new Worker("data:application/javascript," + encodeURIComponent(${
          JSON.stringify(inWorker)
        }), { type: "module" });
            w.onmessage = (e) => resolve(e.data);
            w.onerror = (e) => { e.preventDefault(); reject(new Error(e.message)); };
          });`,
        "node:worker_threads": `const wt = await import("node:worker_threads");
          return await new Promise((resolve, reject) => {
            const w = new wt.Worker("const { parentPort } = require('node:worker_threads');" +
              "parentPort.postMessage(typeof Deno[Deno.internal] + ' ' + typeof caches)", { eval: true });
            w.on("message", resolve); w.on("error", reject);
          });`,
        "node worker through process.getBuiltinModule": `
          const wt = (process as any).getBuiltinModule("node:worker_threads");
          new wt.Worker("1", { eval: true }); return "started";`,
        "give node's Worker its prototype back": `
          const wt = await import("node:worker_threads");
          const { EventEmitter } = await import("node:events");
          Object.setPrototypeOf(wt.Worker, EventEmitter); return "restored";`,
        "replace the Worker global": `
          (globalThis as any).Worker = function () {}; return typeof (globalThis as any).Worker;`,
      }),
    });
    assertEquals(result.error, undefined, JSON.stringify(result.error));
    const report = result.result as Record<string, string>;
    assertAllRefused(report);
    assertMatch(report["a web Worker"], /NotCapable: Workers are not available/);
    assertMatch(report["node:worker_threads"], /NotCapable: Workers are not available/);
  } finally {
    await sandbox.close();
  }
});

Deno.test("internals: the runtime shows no host paths", async () => {
  const sandbox = makeSandbox();
  try {
    const result = await sandbox.run({
      code: `const path = await import("node:path");
        const nodeProcess = (await import("node:process")).default;
        Error.prepareStackTrace = (_e, sites) => sites.map((s: any) => String(s.getFileName()));
        const files = (new Error() as any).stack;
        delete (Error as any).prepareStackTrace;
        let rpcStack = "";
        try { await __airlock.rpc("x", { big: 1n }); } catch (e) { rpcStack = (e as Error).stack!; }
        await 0;
        return {
          cwd: Deno.cwd(),
          processCwd: process.cwd(),
          nodeCwd: nodeProcess.cwd(),
          resolved: path.resolve("file.txt"),
          argv: process.argv,
          execPath: process.execPath,
          title: process.title,
          stack: new Error("probe").stack,
          files,
          rpcStack,
        };`,
    });
    assertEquals(result.error, undefined, JSON.stringify(result.error));
    // deno-lint-ignore no-explicit-any
    const r = result.result as any;
    assertEquals(r.cwd, "/airlock");
    assertEquals(r.processCwd, "/airlock");
    assertEquals(r.nodeCwd, "/airlock");
    assertEquals(r.resolved, "/airlock/file.txt");
    assertEquals(r.argv, ["deno", "/airlock/runner.js"]);
    assertEquals([r.execPath, r.title], ["deno", "deno"]);
    assert(r.files.length >= 2 && r.files.every((f: string) => f.startsWith("data:")), r.files);
    assertMatch(r.rpcStack, /serialize a BigInt/);
    const text = JSON.stringify(result);
    assertNotMatch(text, /airlock-runner-|runner\.js:\d|file:\/\/|\/tmp\//);
    for (const dir of liveRuntimeDirs()) assert(!text.includes(dir), `${dir} leaked`);
    assert(!text.includes(Deno.cwd()), "the gateway's working directory leaked");
  } finally {
    await sandbox.close();
  }
});

Deno.test("internals: Function.prototype.call cannot be replaced to catch the runtime's raw ops", async () => {
  // A red-team round: the runtime's async op stubs call `originalOp.call(this, …)`, so a
  // replaced `call` was handed every raw op (op_fs_read_file_async, op_read, op_fetch_send,
  // …) with its arguments, op_read's being the harness's own frame buffer.
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const run = await sandbox.run({
      code: `const ops: string[] = [];
        let buffer = 0;
        const FP = Function.prototype as any;
        const original = FP.call;
        let replaced = true;
        for (const name of ["call", "apply", "bind"]) {
          try {
            FP[name] = function (this: any, ...args: any[]) {
              if (typeof this === "function" && String(this.name).startsWith("op_")) {
                ops.push(this.name);
                if (args[3] instanceof Uint8Array) buffer = args[3].length;
              }
              return Reflect.apply(this, args[0], args.slice(1));
            };
          } catch { replaced = false; }
        }
        await Deno.readFile("/etc/hostname").catch(() => {});
        await Deno.stat("/").catch(() => {});
        try { await (globalThis as any).__airlock.rpc("none.tool", {}); } catch { /* refused */ }
        return { ops, buffer, replaced, same: FP.call === original };`,
    });
    assertEquals(run.error, undefined, JSON.stringify(run.error));
    // Observed before: ops ["op_fs_read_file_async", "op_fs_stat_async", "op_read"], a
    // 1 MiB buffer starting with the reply frame.
    assertEquals(run.result, { ops: [], buffer: 0, replaced: false, same: true });
  } finally {
    await sandbox.close();
  }
});

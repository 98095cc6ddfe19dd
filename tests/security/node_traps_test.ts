/**
 * Node compatibility used the way an attacker would (a red-team round): globals replaced
 * before the code first reaches Node, so the lazy hardening would use the attacker's
 * functions; node:v8 heap snapshots (the frame key, host paths); node:sqlite temporary
 * files in any directory; the real working directory in Node's module paths and errors.
 * Each failed on the code before its fix.
 */

import { assert, assertEquals } from "../assert.ts";
import { runInTestSandbox } from "../helpers.ts";

/** Code run inside a node:worker_threads Worker, if the code manages to start one. */
const WORKER_BODY = `
  const d = globalThis.Deno;
  require("node:worker_threads").parentPort.postMessage({
    internalOpen: !!(d && d[d.internal]),
    caches: typeof caches,
    cwd: (() => { try { return d.cwd(); } catch (e) { return String(e); } })(),
  });`;

function startWorker(workerExpr: string): string {
  return `let worker: any = "refused";
    try {
      const w = new (${workerExpr})(${JSON.stringify(WORKER_BODY)}, { eval: true });
      worker = await new Promise((res) => {
        w.on("message", (m: any) => { w.terminate(); res(m); });
        w.on("error", (e: any) => res("worker error " + e));
      });
    } catch (e) { worker = String(e); }`;
}

Deno.test("node traps: Function.prototype.call planted before Node is first reached", async () => {
  // hardenNode calls `getBuiltinModule.call(nodeProcess, "node:worker_threads")` through
  // whatever Function.prototype.call is at that moment: the code gets the real Worker
  // class (and hands the harness a decoy to refuse) plus the unhardened process.
  const result = await runInTestSandbox(`
    const realCall = Function.prototype.call;
    let realWorker: any, leakedCwd = "";
    // Refused now (Function.prototype.call cannot be replaced); if it were not, the trap:
    try {
      Function.prototype.call = function (this: any, thisArg: any, ...args: any[]) {
        if (args[0] === "node:worker_threads" && thisArg && typeof thisArg.cwd === "function") {
          realWorker = Reflect.apply(this, thisArg, args).Worker;
          leakedCwd = thisArg.cwd();
          return { Worker: class Decoy {} };
        }
        return Reflect.apply(this, thisArg, args);
      };
    } catch { /* TypeError: read-only */ }
    (globalThis as any).process;
    try {
      Function.prototype.call = realCall;
    } catch { /* read-only */ }
    const Worker = (await import("node:worker_threads")).Worker;
    ${startWorker("Worker")}
    return { leakedCwd, worker };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  const r = result.result as { leakedCwd: string; worker: unknown };
  // Observed: leakedCwd "/tmp/airlock-runner-…/work", worker {internalOpen: true, caches:
  // "object", cwd: "/tmp/airlock-runner-…/work"}.
  assertEquals({
    hostCwdLeaked: r.leakedCwd.includes("airlock-runner") ? r.leakedCwd : false,
    workerStarted: String(r.worker).includes("Workers are not available") ? false : r.worker,
  }, { hostCwdLeaked: false, workerStarted: false });
});

Deno.test("node traps: globalThis.Object replaced before Node is first reached", async () => {
  // hardenNode looks up the global `Object` at call time: a stand-in whose
  // defineProperty / setPrototypeOf / preventExtensions do nothing skips every hardening
  // step (cwd, stdout into the log, the Worker refusal).
  const result = await runInTestSandbox(`
    const RealObject = Object;
    (globalThis as any).Object = new Proxy(RealObject, { get(t, k, r) {
      if (k === "defineProperty" || k === "setPrototypeOf" || k === "preventExtensions") return (o: any) => o;
      return Reflect.get(t, k, r);
    } });
    const p = (globalThis as any).process;
    (globalThis as any).Object = RealObject;
    p.stdout.write("through process.stdout\\n");
    const Worker = (await import("node:worker_threads")).Worker;
    ${startWorker("Worker")}
    return { cwd: p.cwd(), worker };
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  const r = result.result as { cwd: string; worker: unknown };
  // Observed: cwd "/tmp/airlock-runner-…/work"; no log line (the write went to the raw
  // fd 1 as garbage); the worker started with Deno[Deno.internal] open.
  assertEquals({
    cwd: r.cwd,
    stdoutInLog: result.logs.some((l) => l.text === "through process.stdout"),
    workerStarted: String(r.worker).includes("Workers are not available") ? false : r.worker,
  }, { cwd: "/airlock", stdoutInLog: true, workerStarted: false });
});

/** Ways to the same built-in: each must give the refused members. */
function routes(specifier: string, bare?: string): Record<string, string> {
  return {
    "named import": `const m: any = await import("${specifier}");`,
    "default import": `const m: any = (await import("${specifier}")).default;`,
    ...(bare ? { "bare import": `const m: any = (await import("${bare}")).default;` } : {}),
    "getBuiltinModule": `const m: any = (globalThis as any).process.getBuiltinModule("${
      bare ?? specifier
    }");`,
    "require":
      `const m: any = (await import("node:module")).createRequire("file:///x.js")("${specifier}");`,
  };
}

Deno.test("node traps: node:v8 heap snapshots (the frame key, host paths) are refused by every route", async () => {
  for (const [route, get] of Object.entries(routes("node:v8", "v8"))) {
    for (
      const call of [
        "m.getHeapSnapshot()",
        "m.writeHeapSnapshot()",
        "m.setHeapSnapshotNearHeapLimit(1)",
      ]
    ) {
      const result = await runInTestSandbox(`${get}\nreturn String(${call});`);
      assertEquals(result.error?.kind, "permission", `${route} ${call}: ${JSON.stringify(result)}`);
      assert(
        result.error!.message.includes("is not available in the sandbox"),
        `${route} ${call}: ${result.error!.message}`,
      );
    }
  }
  // The rest of node:v8 still works.
  const ok = await runInTestSandbox(`const v8: any = await import("node:v8");
    return typeof v8.getHeapStatistics().total_heap_size;`);
  assertEquals(ok.result, "number");
});

Deno.test("node traps: node:module's Module._nodeModulePaths shows no runtime directory", async () => {
  const result = await runInTestSandbox(`
    const m: any = await import("node:module");
    return m.Module._nodeModulePaths(".");
  `);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  // Observed: ["/tmp/airlock-runner-…/work/node_modules", "/tmp/airlock-runner-…/node_modules", …]
  const paths = result.result as string[];
  assert(!paths.some((p) => p.includes("airlock-runner")), JSON.stringify(paths));
});

Deno.test("node traps: node:v8 setHeapSnapshotNearHeapLimit's error names no runtime directory", async () => {
  // Not even caught: the harness's scrub() does not know this path.
  const result = await runInTestSandbox(
    `(await import("node:v8") as any).setHeapSnapshotNearHeapLimit(1);`,
  );
  // Observed: error.message 'NotCapable: Requires write access to "/tmp/airlock-runner-…/work", …'
  assert(
    !JSON.stringify(result).includes("airlock-runner"),
    `host path in the outcome: ${JSON.stringify(result.error)}`,
  );
});

Deno.test("node traps: node:sqlite (temporary files anywhere, past the disk cap) is refused by every route", async () => {
  for (const [route, get] of Object.entries(routes("node:sqlite"))) {
    const result = await runInTestSandbox(`${get}
      const db = new m.DatabaseSync(":memory:");
      db.exec("PRAGMA temp_store_directory = '/tmp'");
      return "opened";`);
    assertEquals(result.error?.kind, "permission", `${route}: ${JSON.stringify(result)}`);
    assert(
      result.error!.message.includes("node:sqlite DatabaseSync is not available"),
      `${route}: ${result.error!.message}`,
    );
  }
});

Deno.test("node traps: Node's internal modules (internalBinding, child_process internals) are not require-able by any route", async () => {
  // A red-team round: `require("internal/test/binding").internalBinding("pipe_wrap")` handed
  // out the raw handle classes `process.binding` is refused for (`Pipe#open(1)` adopted the
  // frame channel); `internal/child_process` and ~40 more `internal/*` modules loaded too.
  // Node itself refuses them without --expose-internals. Checked with the string and RegExp
  // methods the refusal could lean on replaced first.
  const result = await runInTestSandbox(`
    const m: any = await import("node:module");
    const require = m.createRequire("file:///x.js");
    const fs = typeof require("node:fs").readFileSync;
    // After Node is reached: what a refusal written with ordinary string or RegExp methods
    // would lean on (Node's own checks lean on some of them too, so only from here on).
    String.prototype.startsWith = () => false;
    RegExp.prototype.test = () => false;
    RegExp.prototype.exec = () => null;
    const routes: Record<string, () => unknown> = {
      "createRequire internal/test/binding": () => require("internal/test/binding").internalBinding("pipe_wrap"),
      "createRequire node:internal/test/binding": () => require("node:internal/test/binding"),
      "createRequire internal/child_process": () => require("internal/child_process"),
      "Module.prototype.require": () => new m.Module("x").require("internal/test/binding"),
      "Module._load": () => m._load("internal/test/binding", null, false),
    };
    const out: Record<string, string> = {};
    for (const [name, route] of Object.entries(routes)) {
      try { route(); out[name] = "LOADED"; } catch (e) { out[name] = String(e).slice(0, 60); }
    }
    return { out, fs };`);
  assertEquals(result.error, undefined, JSON.stringify(result.error));
  const { out, fs } = result.result as { out: Record<string, string>; fs: string };
  for (const [name, outcome] of Object.entries(out)) {
    assert(outcome.startsWith("NotCapable"), `${name}: ${outcome}`);
  }
  assertEquals(fs, "function", "ordinary require still works");
});

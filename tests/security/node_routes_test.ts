/**
 * Node's objects are hardened (sandbox/harness.js, sandbox/node_shims.ts): host paths
 * hidden, `process.stdout` into the log, node:worker_threads' Worker refused. These probes
 * reach Node first by every route there is, each in a fresh sandbox process, and check
 * that what they get is hardened.
 */

import { builtinModules } from "node:module";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { testSandbox } from "../helpers.ts";
import {
  defaultExportShimUrl,
  FROM_DEFAULT_EXPORT,
  nodeShimImportMap,
} from "../../sandbox/node_shims.ts";

/**
 * Code that gets Node's `process` and Worker class by `route` (the first Node access in
 * the process), then reports what they show.
 */
function probe(route: string): string {
  return `const got: any = await (async () => { ${route} })();
    const p = got.process, W = got.Worker;
    let worker = "no Worker";
    if (W) { try { new W("1", { eval: true }); worker = "STARTED"; } catch (e) { worker = String(e); } }
    let out = "no process";
    if (p) { p.stdout.write("written through the route\\n"); out = "written"; }
    return { cwd: p?.cwd(), argv: p?.argv, execPath: p?.execPath, worker, out };`;
}

const ROUTES: Record<string, string> = {
  "the process global": `return { process: globalThis.process };`,
  "import node:process": `return { process: (await import("node:process")).default };`,
  "import process (bare)": `return { process: (await import("process")).default };`,
  // Named exports are values the module took when it first ran: they must be the
  // hardened ones (the eager harness showed host paths here).
  "named import from node:process":
    `const { cwd, argv, execPath, stdout } = await import("node:process");
    return { process: { cwd, argv, execPath, stdout } };`,
  "require through node:module": `const { createRequire } = await import("node:module");
    const require = createRequire("file:///x.js");
    return { process: require("process"), Worker: require("worker_threads").Worker };`,
  "require through bare module": `const m: any = await import("module");
    const require = m.createRequire("file:///x.js");
    return { Worker: require("node:worker_threads").Worker, process: require("node:process") };`,
  "import node:worker_threads": `return { Worker: (await import("node:worker_threads")).Worker };`,
  "import worker_threads (bare)": `const wt: any = await import("worker_threads");
    return { Worker: wt.default.Worker };`,
  "getBuiltinModule": `const wt = (globalThis as any).process.getBuiltinModule("worker_threads");
    return { Worker: wt.Worker, process: globalThis.process };`,
  "through a blob module": `const url = URL.createObjectURL(new Blob(
      ['export const wt = await import("node:worker_threads"); export const p = (await import("node:process")).default;'],
      { type: "application/javascript" }));
    const m = await import(url);
    return { Worker: m.wt.Worker, process: m.p };`,
  "through eval": `const m = await (0, eval)('import("node:worker_threads")');
    return { Worker: m.Worker };`,
  // Deno 2.9.6 resolves a static import of node:worker_threads (and node:url, node:util,
  // node:zlib) without the import map: the real module, whose Worker must be hardened.
  "a static import in a data: module": `const m = await import("data:application/javascript," +
      encodeURIComponent("export { Worker } from 'node:worker_threads';"));
    return { Worker: m.Worker };`,
};

Deno.test("node routes: Node's objects are hardened whichever route reaches them first", async () => {
  const sandbox = testSandbox();
  try {
    const runs = Object.entries(ROUTES).map(async ([name, route]) => {
      const result = await sandbox.run({ code: probe(route) });
      assertEquals(result.error, undefined, `${name}: ${JSON.stringify(result.error)}`);
      return [name, result] as const;
    });
    for (const [name, result] of await Promise.all(runs)) {
      const report = result.result as Record<string, unknown>;
      if (report.out === "written") {
        assertEquals(report.cwd, "/airlock", name);
        assertEquals(report.argv, ["deno", "/airlock/runner.js"], name);
        assertEquals(report.execPath, "deno", name);
        assert(
          result.logs.some((l) => l.text === "written through the route"),
          `${name}: process.stdout reaches the log: ${JSON.stringify(result.logs)}`,
        );
      }
      if (report.worker !== "no Worker") {
        assertMatch(String(report.worker), /NotCapable: Workers are not available/, name);
      }
    }
  } finally {
    await sandbox.close();
  }
});

Deno.test("node routes: no built-in module hands out an unhardened process or Worker", async () => {
  const sandbox = testSandbox();
  try {
    // Each built-in is the first Node access of its own process; whatever process-like
    // object or Worker class it exports (one level deep) must already be hardened.
    const code = (name: string) =>
      `const m: any = await import(${JSON.stringify(name)});
      const found: string[] = [];
      for (const ns of [m, m.default]) {
        if (!ns || (typeof ns !== "object" && typeof ns !== "function")) continue;
        for (const key of Object.keys(ns)) {
          let v: any;
          try { v = ns[key]; } catch { continue; }
          if (v && typeof v.cwd === "function" && Array.isArray(v.argv)) {
            found.push(key + ":" + v.cwd());
          }
        }
        if (typeof ns.cwd === "function" && Array.isArray(ns.argv)) found.push("ns:" + ns.cwd());
        // node:cluster's Worker is a handle on a forked process (which needs permission to
        // start), not a thread: only worker_threads-like namespaces count.
        if (typeof ns.Worker === "function" && "isMainThread" in ns) {
          try { new ns.Worker("1", { eval: true }); found.push("Worker STARTED"); }
          catch (e) { if (!String(e).includes("Workers are not available")) found.push("Worker " + e); }
        }
      }
      return found;`;
    const names = builtinModules.flatMap((n) => n.startsWith("node:") ? [n] : [`node:${n}`, n]);
    const results = await Promise.all(names.map(async (name) => {
      const result = await sandbox.run({ code: code(name) });
      return { name, result };
    }));
    const leaks: string[] = [];
    for (const { name, result } of results) {
      if (result.error) {
        // A module may refuse to load without permissions; that is not a leak.
        assert(result.error.kind !== "timeout", `${name}: ${JSON.stringify(result.error)}`);
        continue;
      }
      for (const entry of result.result as string[]) {
        if (!entry.endsWith(":/airlock")) leaks.push(`${name} → ${entry}`);
      }
    }
    assertEquals(leaks, []);
    // The probes did load modules: most of them import with no permission at all.
    assert(results.filter((r) => !r.result.error).length > names.length / 2);
  } finally {
    await sandbox.close();
  }
});

Deno.test("node routes: the accessor cannot be replaced before Node is reached", async () => {
  const sandbox = testSandbox();
  try {
    const result = await sandbox.run({
      code: `const out: string[] = [];
        try { Object.defineProperty(globalThis, "process", { value: { fake: true } }); out.push("REDEFINED"); }
        catch (e) { out.push("refused"); }
        try { delete (globalThis as any).process; } catch { /* strict mode throws */ }
        const wt = await import("node:worker_threads");
        try { new wt.Worker("1", { eval: true }); out.push("STARTED"); } catch (e) { out.push(String(e)); }
        out.push((globalThis as any).process.cwd());
        return out;`,
    });
    assertEquals(result.error, undefined, JSON.stringify(result.error));
    const out = result.result as string[];
    assertEquals(out[0], "refused");
    assertMatch(out[1], /NotCapable: Workers are not available/);
    assertEquals(out[2], "/airlock");
  } finally {
    await sandbox.close();
  }
});

Deno.test("node routes: bare names resolve to built-ins, four built-ins to their hardened shims", () => {
  const map = nodeShimImportMap();
  for (const name of builtinModules) {
    const real = name.startsWith("node:") ? name : `node:${name}`;
    const shimmed = real in FROM_DEFAULT_EXPORT;
    assertEquals(map.imports[real], shimmed ? defaultExportShimUrl(real) : undefined, real);
    if (!name.startsWith("node:")) {
      assertEquals(map.imports[name], shimmed ? defaultExportShimUrl(real) : real, name);
    }
  }
  assertEquals(
    Object.keys(FROM_DEFAULT_EXPORT).sort(),
    ["node:module", "node:process", "node:sqlite", "node:v8"],
  );
});

Deno.test("node routes: node:module's hooks, which route imports around the map, are refused", async () => {
  const sandbox = testSandbox();
  try {
    for (
      const get of [
        `const m: any = await import("node:module");`,
        `const m: any = (await import("module")).default;`,
        `const m: any = (globalThis as any).process.getBuiltinModule("module");`,
      ]
    ) {
      for (
        const call of [
          "m.registerHooks({ resolve: (s: any, c: any, n: any) => n(s, c) })",
          "m.register('data:text/javascript,')",
        ]
      ) {
        const result = await sandbox.run({ code: `${get}\n${call};\nreturn "registered";` });
        assertEquals(result.error?.kind, "permission", `${get} ${call}: ${JSON.stringify(result)}`);
      }
    }
  } finally {
    await sandbox.close();
  }
});

Deno.test("node routes: a static import past the end of the code's wrapper gets a hardened Worker", async () => {
  // The code closes the function it is wrapped in and imports at the module's top level
  // (the gateway's code_prep refuses this; the sandbox must hold without it).
  const sandbox = testSandbox();
  try {
    const result = await sandbox.run({
      code: `}
        import { Worker } from "node:worker_threads";
        let outcome = "no Worker";
        try { new Worker("1", { eval: true }); outcome = "STARTED"; } catch (e) { outcome = String(e); }
        console.log(outcome);
        export function rest() {`,
    });
    assert(
      result.logs.some((l) => /Workers are not available/.test(l.text)),
      JSON.stringify(result),
    );
  } finally {
    await sandbox.close();
  }
});

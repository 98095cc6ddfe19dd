/**
 * Lean executions (sandbox/lean_mode.ts, harness.js): code that names no Node global and
 * neither `import`, `eval`, `Function` nor `constructor` runs in a process that never
 * starts Node. Reaching Node or generating code another way must be refused, and Deno's
 * own Node start-up must never run after such code: it would run over whatever the code
 * planted on `Object.prototype` (a red-team round got `Deno[Deno.internal]` that way,
 * node_prototype_traps_test.ts). Each probe plants accessors the runtime's Node start-up
 * reads (`__nodeProcessBootstrapped` on its internals object, iterator `return`, event
 * `listener`) and counts the reads.
 *
 * On the code before executions could run lean, each route here reached an initialised
 * Node (the pool started it for every process).
 */

import { builtinModules } from "node:module";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { testSandbox } from "../helpers.ts";
import { runsLean } from "../../sandbox/lean_mode.ts";

/** Accessors the runtime's Node start-up reads; `seen` counts the reads. */
const TRAPS = `let seen = 0;
  for (const n of ["__nodeProcessBootstrapped", "listener", "return"]) {
    Object.defineProperty(Object.prototype, n, {
      configurable: true,
      get() { seen++; return undefined; },
      set(v) { Reflect.defineProperty(this, n, { value: v, writable: true, configurable: true, enumerable: true }); },
    });
  }`;

/** Runs `reach` (an async arrow body returning a string) after the traps. */
function probe(reach: string): string {
  const code = `${TRAPS}
    let outcome: string;
    try { outcome = "REACHED " + await (async () => { ${reach} })(); }
    catch (e) { outcome = String(e); }
    return { outcome, seen };`;
  assert(runsLean(code), `the probe must run lean: ${reach}`);
  return code;
}

/** `eval`, reached by a computed name (the code may not name it and run lean). */
const EVAL = `(globalThis as any)["ev" + "al"]`;

/**
 * A dynamic import through generated code: the code names neither `import` nor the
 * specifier (base64, which may itself name a Node global).
 */
const hiddenImport = (specifier: string) =>
  `const m: any = await ${EVAL}("imp" + "ort(" + JSON.stringify(atob("${btoa(specifier)}")) + ")");
   return typeof m.default + " " + Object.keys(m).length;`;

const REFUSED =
  /NotCapable: (?:Node compatibility|code generation \(eval, new Function\)) is off for this execution/;

const GLOBAL_ROUTES: Record<string, string> = {
  "process by a computed name": `return typeof (globalThis as any)["pro" + "cess"].cwd;`,
  "Buffer by a computed name": `return (globalThis as any)["Buf" + "fer"].from("x").length;`,
  "setImmediate by a computed name": `return typeof (globalThis as any)["setImm" + "ediate"];`,
  "clearImmediate by a computed name": `return typeof (globalThis as any)["clearImm" + "ediate"];`,
  "process through its descriptor's getter":
    `const d = Object.getOwnPropertyDescriptor(globalThis, "pro" + "cess")!;
    return typeof d.get!.call(globalThis);`,
  "Buffer through its descriptor's setter":
    `const d = Object.getOwnPropertyDescriptor(globalThis, "Buf" + "fer")!;
    d.set!.call(globalThis, 1); return "set";`,
  "process through Reflect.get": `return typeof Reflect.get(globalThis, "pro" + "cess");`,
  "process by a unicode escape": `return typeof \\u0070rocess;`,
  "process redefined":
    `Object.defineProperty(globalThis, "pro" + "cess", { value: 1 }); return "redefined";`,
  "process through the Function constructor":
    `return typeof ((() => 0) as any)["con" + "structor"]("return pro" + "cess")();`,
  "code through the AsyncFunction constructor":
    `return typeof (Object.getPrototypeOf(async () => 0) as any)["con" + "structor"]("return 1");`,
  "code through the global Function":
    `return typeof (globalThis as any)["Func" + "tion"]("return 1");`,
  "code through eval": `return ${EVAL}("1 + 1");`,
  "a data: module that imports node:fs": hiddenImport(
    "data:application/javascript,import fs from 'node:fs'; export default fs;",
  ),
  "a data: module that imports fs (bare)": hiddenImport(
    "data:application/javascript,export * from 'fs';",
  ),
  "a data: module that names process": hiddenImport(
    "data:application/javascript,export default process.cwd();",
  ),
  "a blob: module that imports node:worker_threads":
    `(globalThis as any).u = URL.createObjectURL(new Blob(['export * from "node:worker_threads";'], { type: "application/javascript" }));
    const m: any = await ${EVAL}("imp" + "ort(globalThis.u)"); return typeof m.Worker;`,
  "node:fs with an upper-case scheme": hiddenImport("NODE:fs"),
  "node:fs with a tab inside": hiddenImport("node:\tfs"),
};

Deno.test("lean: every route to Node or to generated code is refused, and Deno's Node start-up never runs", async () => {
  const sandbox = testSandbox();
  try {
    const results = await Promise.all(
      Object.entries(GLOBAL_ROUTES).map(async ([name, reach]) => {
        const run = await sandbox.run({ code: probe(reach) });
        return { name, run };
      }),
    );
    for (const { name, run } of results) {
      if (name === "process by a unicode escape" || name === "process redefined") {
        // A refused read is a NotCapable; redefining a non-configurable accessor a TypeError.
        const outcome = (run.result as { outcome: string } | undefined)?.outcome ?? "";
        assert(!outcome.startsWith("REACHED"), `${name}: ${JSON.stringify(run)}`);
      } else {
        assertEquals(run.error, undefined, `${name}: ${JSON.stringify(run.error)}`);
        assertMatch(
          (run.result as { outcome: string }).outcome,
          REFUSED,
          `${name}: ${JSON.stringify(run.result)}`,
        );
      }
      assertEquals((run.result as { seen: number } | undefined)?.seen ?? 0, 0, name);
    }
  } finally {
    await sandbox.close();
  }
});

Deno.test("lean: no built-in module loads, under any of its names", async () => {
  const names = builtinModules.flatMap((n) => n.startsWith("node:") ? [n] : [`node:${n}`, n]);
  // All in one process: a refused import loads nothing, so each is as good as the first.
  const code = `${TRAPS}
    const loaded: string[] = [];
    for (const name of JSON.parse(atob("${btoa(JSON.stringify(names))}"))) {
      try {
        await ${EVAL}("imp" + "ort(" + JSON.stringify(name) + ")");
        loaded.push(name);
      } catch (e) {
        if (!String(e).includes("is off for this execution")) loaded.push(name + ": " + e);
      }
    }
    return { loaded, seen };`;
  assert(runsLean(code));
  const sandbox = testSandbox();
  try {
    const run = await sandbox.run({ code });
    assertEquals(run.error, undefined, JSON.stringify(run.error));
    assertEquals(run.result, { loaded: [], seen: 0 });
  } finally {
    await sandbox.close();
  }
});

Deno.test("lean: code that names Node gets it, hardened, from a warm pooled process", async () => {
  const sandbox = testSandbox({ poolSize: 1, concurrency: 1 });
  try {
    await sandbox.start();
    for (let i = 0; i < 50 && sandbox.stats().poolReady < 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const run = await sandbox.run({
      code: `const { createHash } = await import("node:crypto");
        return { cwd: process.cwd(), b64: Buffer.from("hi").toString("base64"),
          hash: createHash("sha256").update("x").digest("hex").slice(0, 8),
          immediate: await new Promise((r) => setImmediate(() => r("ran"))) };`,
    });
    assertEquals(run.error, undefined, JSON.stringify(run.error));
    assert(run.warm, "a pooled process ran it");
    assertEquals(run.result, { cwd: "/airlock", b64: "aGk=", hash: "2d711642", immediate: "ran" });
  } finally {
    await sandbox.close();
  }
});

Deno.test("lean: code without Node runs as before, and says why Node is missing when it tries", async () => {
  const sandbox = testSandbox();
  try {
    const plain = await sandbox.run({ code: `return [1, 2, 3].map((x) => x * 2);` });
    assertEquals(plain.result, [2, 4, 6]);
    const indirect = await sandbox.run({
      code: `return (globalThis as any)["pro" + "cess"].env.HOME;`,
    });
    assertEquals(indirect.error?.kind, "permission");
    assertMatch(indirect.error!.message, /switched on when the code names process, Buffer/);
  } finally {
    await sandbox.close();
  }
});

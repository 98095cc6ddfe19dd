import { assertEquals } from "../assert.ts";
import { runsLean } from "../../sandbox/lean_mode.ts";

Deno.test("runsLean: a Node global, import, eval, Function or constructor makes the execution full", () => {
  for (
    const code of [
      "return process.env.HOME",
      "const b = Buffer.from('x');",
      "setImmediate(() => {});",
      "clearImmediate(h)",
      "const fs = await import('node:fs');",
      "await import /* the module */ ('fs')",
      "} import { Worker } from 'node:worker_threads'; function f() {",
      "return import.meta.url",
      "return eval('1')",
      "return new Function('return 1')()",
      "class A { constructor() {} }",
      "typeof process === 'undefined'",
      "globalThis.process",
      "x = [process]",
      "// we process the rows\nreturn 1",
      "return 'eval'",
    ]
  ) {
    assertEquals(runsLean(code), false, code);
  }
});

Deno.test("runsLean: code that names none of them runs lean", () => {
  for (
    const code of [
      "return 1",
      "const processed = rows.map(processRow); return processed;",
      "const myBuffer = new ArrayBuffer(8);",
      "const important = 1; const evaluate = 2; const reimport = 3;",
      "const $process = 1; const process_ = 2; const processes = 3;",
      "return 'Process'",
      "setTimeout(() => {}, 1)",
      "const fn: AsyncFunction = x; const constructors = [];",
      "const files = await filesystem.list_directory({ path: '/data' }); return files.length;",
    ]
  ) {
    assertEquals(runsLean(code), true, code);
  }
});

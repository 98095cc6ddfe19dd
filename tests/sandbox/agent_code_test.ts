/**
 * The TypeScript agents actually write: top-level `import`/`export` statements
 * (`gateway/code_prep.ts`), run for real in a sandbox process after the rewrite.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { Sandbox } from "../../sandbox/mod.ts";
import { MAX_PREP_CHARS, prepareCode, runPrepared } from "../../gateway/code_prep.ts";
import { startTestGateway } from "../helpers.ts";

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
  return runPrepared(sandbox, { code });
}

/** Lines of `text`, the way V8 counts them. */
function lineCount(text: string): number {
  return text.split(/\r\n|[\n\r\u2028\u2029]/).length;
}

Deno.test("type-only imports are removed and the code runs", async () => {
  const result = await run(`import type { Point } from "./point.ts";
import type Default from "./default.ts";
import type * as Ns from "npm:some-types";
import { type A, type B as C } from "./types.ts";
import type { X } from "./x.json" with { type: "json" };
const p: Point = { x: 1 } as unknown as Point;
return { ok: true, line: new Error().stack!.match(/<code>:(\\d+)/)?.[1] ?? null };`);
  assertEquals(result.ok, true, JSON.stringify(result.error));
  assertEquals(result.result, { ok: true, line: null });
});

Deno.test("exports become plain declarations, with the caller's line numbers", async () => {
  const result = await run(`export const a = 1;
export let b = 2, c = 3;
export function double(n: number): number { return n * 2; }
export async function later() { return 4; }
export class Box { constructor(public v: number) {} }
export type Pair = [number, number];
export interface Thing { name: string }
export enum Colour { Red = "red" }
export { a as alsoA, b };
const pair: Pair = [a, b];
const thing: Thing = { name: "t" };
if (pair.length === 2) throw new Error("at line 12: " + [double(c), await later(), new Box(5).v, Colour.Red, thing.name].join());`);
  assertEquals(result.ok, false);
  assertEquals(result.error!.kind, "runtime");
  assertEquals(result.error!.message, "Error: at line 12: 6,4,5,red,t");
  assertEquals(result.error!.line, 12);
});

Deno.test("export default is the result unless the code returns", async () => {
  const value = await run(`const items = [1, 2, 3];\nexport default { total: items.length };`);
  assertEquals(value.ok, true, JSON.stringify(value.error));
  assertEquals(value.result, { total: 3 });

  const fn = await run(`export default function answer() { return 42; }\nconsole.log(answer());`);
  assertEquals(fn.ok, true, JSON.stringify(fn.error));
  assertEquals(fn.logs, [{ level: "log", text: "42" }]);
  // The function is returned, not called; like `return answer`, it encodes as null.
  assertEquals(fn.result, null);

  const renamed = await run(`const out = ["x"];\nexport { out as default };`);
  assertEquals(renamed.result, ["x"]);

  // An explicit return wins.
  const explicit = await run(`export default 1;\nreturn 2;`);
  assertEquals(explicit.result, 2);

  const twice = prepareCode(`export default 1;\nexport default 2;`);
  assertEquals(twice.ok, false);
  assertEquals(!twice.ok && twice.error.line, 2);
});

Deno.test("a value import is a compile error naming the line and what to use instead", async () => {
  for (
    const [code, line] of [
      [`const x = 1;\nimport { readFile } from "node:fs";\nreturn x;`, 2],
      [`\n\nimport x from "./x.ts";`, 3],
      [`import "./side-effect.ts";`, 1],
      [`import * as path from "node:path";`, 1],
      [`import fs, { type Stats } from "node:fs";`, 1],
      [`import { type A, b } from "./ab.ts";`, 1],
      [`import type from "./default-named-type.ts";`, 1],
      [`export { readFile } from "node:fs";`, 1],
      [`export * from "./all.ts";`, 1],
      [`import fs = require("fs");`, 1],
      ["const a = `${1}`;\r\nconst b = 2;\r\nimport { c } from './c.ts';", 3],
    ] as const
  ) {
    const result = await run(code);
    assertEquals(result.ok, false, code);
    assertEquals(result.error!.kind, "compile", code);
    assertEquals(result.error!.line, line, code);
    assertMatch(result.error!.message, new RegExp(`^line ${line}: `));
    assertMatch(result.error!.message, /tools\.call/);
  }
  const named = prepareCode(`import { readFile } from "node:fs";`);
  assert(!named.ok);
  assertMatch(named.error.message, /\("node:fs"\)/);
});

Deno.test("import and export inside strings, comments, templates, regexes and blocks are left alone", async () => {
  const code = `// import { readFile } from "node:fs";
/* export const hidden = 1;
   import x from "y"; */
const s1 = "import { a } from 'b'";
const s2 = 'export default 1';
const t = \`
import { c } from "d";
\${ "export const e = 1" } export { f }
\`;
const re = /import x from "y"/g;
const ratio = 4 / 2 / 1; const more = "export { g }";
const obj = { import: 1, export: 2 };
const viaDot = obj.import + obj?.export;
const meta = typeof import.meta.url;
function inner() { const z = "import type { Q } from 'q'"; return z.length; }
return [s1, s2, t.trim(), re.source, ratio, more, viaDot, meta, inner()];`;
  const prepared = prepareCode(code);
  assertEquals(prepared, { ok: true, code }, "nothing to rewrite");
  const result = await run(code);
  assertEquals(result.ok, true, JSON.stringify(result.error));
  assertEquals(result.result, [
    "import { a } from 'b'",
    "export default 1",
    'import { c } from "d";\nexport const e = 1 export { f }',
    'import x from "y"',
    2,
    "export { g }",
    3,
    "string",
    26,
  ]);
});

Deno.test("the rewrite keeps every line (and columns outside export default)", () => {
  const code =
    `import type {\n  A,\n  B,\n} from "./ab.ts";\nexport const a: A = 1 as A; export {\n a };\r\nexport\ndefault a;\u2028return a;`;
  const prepared = prepareCode(code);
  assert(prepared.ok);
  // One line added at the end, for the default export's return.
  assertEquals(lineCount(prepared.code), lineCount(code) + 1);
  const lines = prepared.code.split("\n");
  assertEquals(lines[0], ";            ");
  assertEquals(lines[4], "       const a: A = 1 as A; ;       ");
  assertEquals(lines.at(-1), ";return __airlock_default;");
});

Deno.test("declaration forms: what each export and import becomes", () => {
  const cases: [string, string][] = [
    [
      "export default async function main() { return 1 }",
      "               async function main() { return 1 }\n;return main;",
    ],
    [
      "export default class { x = 1 }",
      "var __airlock_default = class { x = 1 }\n;return __airlock_default;",
    ],
    [
      'export type { A } from "./a";\nexport type * from "./b";',
      ";" + " ".repeat(28) + "\n;" + " ".repeat(24),
    ],
    ["export declare const x: number;", "       declare const x: number;"],
    ['import type\n{ A }\nfrom "./a"\nconst y = 1', ";          \n     \n          \nconst y = 1"],
    [
      'const r = /[/]import x from "y"/; export const z = r',
      'const r = /[/]import x from "y"/;        const z = r',
    ],
    [
      "const t = `${`${'export {'}`}`; export { t }",
      "const t = `${`${'export {'}`}`; ;           ",
    ],
    ["export default interface Foo { a: 1 }", "               interface Foo { a: 1 }"],
    ["export abstract class Q {}", "       abstract class Q {}"],
    ["x.export = 1; y?.import; export const q = 1", "x.export = 1; y?.import;        const q = 1"],
    ["export type T = 1; export interface I {}", "       type T = 1;        interface I {}"],
  ];
  for (const [code, expected] of cases) {
    assertEquals(prepareCode(code), { ok: true, code: expected });
  }
  for (
    const code of [
      "export = foo;",
      "export as namespace Foo;",
      "export default 1; export default 2",
    ]
  ) {
    const prepared = prepareCode(code);
    assertEquals(prepared.ok, false, code);
  }
});

Deno.test("a removed statement still ends the line before it (no run-on call)", async () => {
  const result = await run(`const log: string[] = [];
const push = (s: string) => { log.push(s); return push; };
push("a")
export { push }
("b")
import type { T } from "./t.ts"
("c")
return log;`);
  assertEquals(result.ok, true, JSON.stringify(result.error));
  assertEquals(result.result, ["a"]);
});

Deno.test("compile errors from the compiler still carry the caller's line after a rewrite", async () => {
  const result = await run(`import type { T } from "./t.ts";\nexport const a = 1;\nconst = 3;`);
  assertEquals(result.ok, false);
  assertEquals(result.error!.kind, "compile");
  assertEquals(result.error!.line, 3);
});

Deno.test("the scanner is linear and refuses code over the cap", () => {
  // Pathological shapes: deep brackets, many exports, unterminated everything.
  const inputs = [
    "(".repeat(200_000),
    "export const a = 1;\n".repeat(20_000),
    "`${".repeat(100_000),
    "import type { A } from 'a';".repeat(15_000),
    '"'.repeat(300_000),
    "/".repeat(400_000),
    "export { a };".repeat(30_000),
  ];
  for (const input of inputs) {
    const started = performance.now();
    prepareCode(input.slice(0, MAX_PREP_CHARS));
    // A generous bound that only proves "did not go quadratic" (quadratic takes minutes).
    assert(performance.now() - started < 5000, `slow on ${input.slice(0, 20)}…`);
  }
  let refused = false;
  try {
    prepareCode("x".repeat(MAX_PREP_CHARS + 1));
  } catch (error) {
    refused = error instanceof RangeError;
  }
  assert(refused, "over the cap is refused");
});

Deno.test({
  name: "through the gateway: imports rewritten or refused, split stdout lines redacted whole",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({ pii: { mode: "mask" } });
    try {
      const typed = await gw.execute(
        `import type { Thing } from "./thing.ts";\nexport const n: number = 2;\nexport default n * 21;`,
      );
      assertEquals(typed.ok, true, JSON.stringify(typed.error));
      assertEquals(typed.result, 42);

      const value = await gw.execute(`\nimport { readFile } from "node:fs";`);
      assertEquals(value.ok, false);
      assertEquals(value.error!.kind, "compile");
      assertEquals(value.error!.line, 2);

      // An e-mail address written in two pieces is one line, so the filter sees it whole.
      const split = await gw.execute(
        `Deno.stdout.writeSync(new TextEncoder().encode("mail ada@exa"));
         process.stdout.write("mple.com now\\n");
         return "sent";`,
      );
      assertEquals(split.result, "sent");
      assertEquals(split.logs.length, 1);
      assert(!split.logs[0].text.includes("ada@example.com"), split.logs[0].text);
      assert(!split.logs[0].text.includes("mple.com"), split.logs[0].text);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "agent code tests close their sandbox",
  fn: () => sandbox.close(),
});

Deno.test("a regex after an if/while/for condition is read as a regex, so what runs is what was written", async () => {
  // A `"` inside such a regex must not start a string in the scanner's view.
  const blanked = await run(`let audited = false;
if (true) /"/; const s = "export {"; audited = true; const t = "}";
return { audited, s };`);
  assertEquals(blanked.result, { audited: true, s: "export {" }, JSON.stringify(blanked.error));
  const kept = await run(`if (true) /"/; const s = "export { a }"; return s;`);
  assertEquals(kept.result, "export { a }");
  // Division after any other `)` stays division.
  const divided = await run(`const x = (6) / 2 / 1; return x;`);
  assertEquals(divided.result, 3);
  for (const loop of [`while (false) /"/;`, `for (;false;) /"/;`]) {
    const r = await run(`${loop} const s = "export { b }"; return s;`);
    assertEquals(r.result, "export { b }", loop);
  }
});

Deno.test("code that closes the function it runs in is a compile error, not module-level code", async () => {
  const escape = await run(`if (true) /"/; return globalThis.__x; }
import * as os from "node:os";
globalThis.__x = Object.keys(os).length;
function __y() {`);
  assertEquals(escape.error?.kind, "compile", JSON.stringify(escape));
  for (const code of [`return 1; }\nexport const a = 1;\nfunction f() {`, `]) ; export {}`]) {
    const prepared = prepareCode(code);
    assertEquals(prepared.ok, false, code);
  }
});

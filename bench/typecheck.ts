/**
 * Type-check benchmark: a 30-line program calling 20 injected tools (real MCP tool
 * definitions from bench/data: the filesystem server and six memory tools), checked against
 * the same declarations `check: true` uses, by the warm checker (a long-lived checker process) and by
 * a cold `deno check` process of the same program, in the same run.
 *
 * Run: `deno run -A bench/typecheck.ts`. Prints a Markdown section.
 *
 * @module
 */

import { BODY_PREFIX, BODY_SUFFIX, TypeChecker } from "../typecheck/mod.ts";
import { buildNameMap, declarationsFor } from "../wrappers/mod.ts";
import { loadCatalogue } from "./data/load.ts";
import { ms, percentile, table, verdict } from "./stats.ts";

const WARM_RUNS = 40;
const COLD_RUNS = 5;
/** DESIGN.md: warm type-check ≤ 100 ms p50. */
const WARM_TARGET_MS = 100;

const catalogue = await loadCatalogue();
const tools = [
  ...catalogue.filter((t) => t.server === "filesystem"),
  ...catalogue.filter((t) => t.server === "memory"),
].slice(0, 20);
if (tools.length !== 20) throw new Error(`expected 20 tools, got ${tools.length}`);
const servers = [...new Set(tools.map((t) => t.server))];
const names = buildNameMap(tools, servers);
const declarations = declarationsFor(tools, { names, servers, lazy: false, typedCall: true });

/** The program: 30 lines, every line but the last few calling or using a tool. */
function program(variant: number): string {
  return [
    `// variant ${variant}`,
    `const root = "/data/project";`,
    `const allowed = await filesystem.listAllowedDirectories();`,
    `const listing = await filesystem.listDirectory({ path: root });`,
    `const sized = await filesystem.listDirectoryWithSizes({ path: root, sortBy: "size" });`,
    `const tree = await filesystem.directoryTree({ path: root });`,
    `const found = await filesystem.searchFiles({ path: root, pattern: "*.json" });`,
    `const info = await filesystem.getFileInfo({ path: root + "/package.json" });`,
    `const text = await filesystem.readTextFile({ path: root + "/README.md", head: 20 });`,
    `const raw = await filesystem.readFile({ path: root + "/a.txt" });`,
    `const media = await filesystem.readMediaFile({ path: root + "/logo.png" });`,
    `const many = await filesystem.readMultipleFiles({ paths: [root + "/a", root + "/b"] });`,
    `await filesystem.createDirectory({ path: root + "/out" });`,
    `await filesystem.writeFile({ path: root + "/out/summary.txt", content: String(text) });`,
    `await filesystem.editFile({ path: root + "/out/summary.txt", edits: [{ oldText: "a", newText: "b" }], dryRun: true });`,
    `await filesystem.moveFile({ source: root + "/out/summary.txt", destination: root + "/out/s.txt" });`,
    `const entities = [{ name: "project", entityType: "repo", observations: ["has a README"] }];`,
    `await memory.createEntities({ entities });`,
    `await memory.createRelations({ relations: [{ from: "project", to: "team", relationType: "owned_by" }] });`,
    `await memory.addObservations({ observations: [{ entityName: "project", contents: ["checked"] }] });`,
    `await memory.deleteObservations({ deletions: [{ entityName: "project", observations: ["old"] }] });`,
    `await memory.deleteRelations({ relations: [{ from: "a", to: "b", relationType: "c" }] });`,
    `await memory.deleteEntities({ entityNames: ["stale"] });`,
    `const viaId = await tools.call("filesystem.get_file_info", { path: root });`,
    `const hits = await tools.search("read a file", 3);`,
    `const sizes = [listing, sized, tree, found, info, raw, media, many].map((x) => JSON.stringify(x).length);`,
    `const total = sizes.reduce((a, b) => a + b, 0);`,
    `console.log(allowed, hits.map((h) => h.id).join(","), viaId);`,
    `if (total > 1_000_000) throw new Error("too much");`,
    `return { total, files: hits.length };`,
  ].join("\n");
}
if (program(0).split("\n").length !== 30) throw new Error("the program must have 30 lines");

// Warm: one checker, warmed up, then each check a new variant (nothing cached but the
// library and the declarations, as between two requests).
const checker = new TypeChecker({ timeoutMs: 10_000 });
const coldStarted = performance.now();
await checker.warm();
const first = await checker.check({ tenant: "bench", declarations, code: program(-1) });
const checkerColdMs = performance.now() - coldStarted;
if (!first.ok) {
  throw new Error(`the program does not type-check: ${JSON.stringify(first.diagnostics)}`);
}
// Steady state: the standby process has finished loading (it idles until a kill).
for (let i = 0; i < 600 && !checker.stats().standbyReady; i++) {
  await new Promise((r) => setTimeout(r, 100));
}
for (let i = 0; i < 5; i++) {
  await checker.check({ tenant: "bench", declarations, code: program(i) });
}
const warm: number[] = [];
for (let i = 0; i < WARM_RUNS; i++) {
  const started = performance.now();
  const result = await checker.check({ tenant: "bench", declarations, code: program(100 + i) });
  warm.push(performance.now() - started);
  if (!result.ok) throw new Error("a warm check failed");
}
await checker.close();

// Cold: `deno check` of the same program and declarations in a new process each time (a new
// variant each time, so Deno's own check cache cannot answer).
const dir = await Deno.makeTempDir({ prefix: "airlock-bench-tc-" });
const cold: number[] = [];
try {
  await Deno.writeTextFile(`${dir}/tools.d.ts`, declarations);
  for (let i = 0; i < COLD_RUNS; i++) {
    const file = `${dir}/main_${i}.ts`;
    await Deno.writeTextFile(
      file,
      `/// <reference path="./tools.d.ts" />\n${BODY_PREFIX}${program(1000 + i)}${BODY_SUFFIX}`,
    );
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--no-config", "--no-lock", file],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    cold.push(performance.now() - started);
    if (!out.success) {
      throw new Error(`deno check failed: ${new TextDecoder().decode(out.stderr).slice(0, 2000)}`);
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

const warmP50 = percentile(warm, 50);
const coldP50 = percentile(cold, 50);
console.log(`## Type check (\`check: true\`)

A 30-line program calling 20 injected tools (real definitions: filesystem and memory servers),
against the declarations \`check: true\` uses (${declarations.length} characters). Warm: the
long-lived checker process, ${WARM_RUNS} checks, each a new variant of the program. Cold: one
\`deno check\` process per check, ${COLD_RUNS} runs, same program and declarations.

${
  table(["measure", "p50", "p90", "target", "verdict"], [
    [
      "warm check (checker process)",
      ms(warmP50),
      ms(percentile(warm, 90)),
      `≤ ${WARM_TARGET_MS} ms`,
      verdict(warmP50 <= WARM_TARGET_MS),
    ],
    ["cold `deno check` (baseline)", ms(coldP50), ms(percentile(cold, 90)), "", ""],
    ["checker start + first check", ms(checkerColdMs), "", "", ""],
  ])
}

Warm check p50 is ${
  (coldP50 / warmP50).toFixed(1)
}× faster than a cold \`deno check\` of the same program.
`);

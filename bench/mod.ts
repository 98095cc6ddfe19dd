/**
 * `deno task bench`: runs every benchmark script in this folder, one after another in
 * separate processes (so none disturbs another), and prints their Markdown sections.
 * `deno task bench sandbox selection` runs only those.
 *
 * @module
 */

const here = new URL(".", import.meta.url).pathname;
const skip = new Set(["mod.ts", "stats.ts"]);
const wanted = new Set(Deno.args);
const scripts: string[] = [];
for await (const entry of Deno.readDir(here)) {
  if (!entry.isFile || !entry.name.endsWith(".ts") || skip.has(entry.name)) continue;
  if (wanted.size > 0 && !wanted.has(entry.name.replace(/\.ts$/, ""))) continue;
  scripts.push(entry.name);
}
scripts.sort();
console.log(
  `# Airlock benchmarks\n\n${
    new Date().toISOString()
  }, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}\n`,
);
let failed = 0;
for (const script of scripts) {
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}${script}`],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    failed++;
    console.log(`\n(${script} exited with code ${status.code})\n`);
  }
}
Deno.exit(failed > 0 ? 1 : 0);

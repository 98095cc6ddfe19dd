/**
 * Red team: a sandbox process may dump core. It inherits the gateway's RLIMIT_CORE (unlimited
 * under containerd/Docker's units, `LimitCORE=infinity`), and the code may signal its own pid
 * (`process.kill(process.pid, "SIGQUIT")`, `process.abort()`), so the kernel writes its whole
 * memory (about 0.5 GB here) to `core` in its working directory, `/`, as the gateway's user:
 * a file outside the sandbox, past the 64 MiB disk cap, holding the code's bytes and every
 * tool result the execution saw.
 *
 * Both tests run the sandbox inside a child whose shell raised the soft core limit, as the
 * gateway's environment may.
 */

import { assert, assertEquals } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `helper` (a script using `Sandbox`) with `ulimit -c unlimited`; returns its stdout. */
async function runWithCoreLimit(helper: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(path, helper);
    const out = await new Deno.Command("bash", {
      args: ["-c", `ulimit -c unlimited && exec deno run -A ${path}`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

const SANDBOX = `import { Sandbox } from "${ROOT}sandbox/mod.ts";
const sandbox = new Sandbox({ timeoutMs: 15_000, memoryMb: 128, maxOutputBytes: 1 << 20,
  maxLogBytes: 1 << 16, concurrency: 1, queue: 10, poolSize: 0, allowNet: [], allowRead: [] });`;

Deno.test("core dumps: a sandbox process's soft core-file limit is 0 whatever the gateway's", async () => {
  const out = await runWithCoreLimit(`${SANDBOX}
const run = sandbox.run({ code: "await new Promise((r) => setTimeout(r, 2500)); return 1;" });
let limit = "not found";
for (let i = 0; i < 40 && limit === "not found"; i++) {
  await new Promise((r) => setTimeout(r, 50));
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync("/proc/" + entry.name + "/stat");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== Deno.pid) continue;
      const cmd = Deno.readTextFileSync("/proc/" + entry.name + "/cmdline");
      // The runtime itself: its first argument is the Deno executable. Before the last exec
      // the same pid may still be the start-up shell of the fallback path (no launcher built),
      // whose script names the flag too and which sets the limit to 0 just before it execs.
      if (!cmd.includes("sandbox.airlock.invalid")) continue;
      if (!cmd.split("\\0")[0].endsWith("deno")) continue;
      const line = Deno.readTextFileSync("/proc/" + entry.name + "/limits").split("\\n")
        .find((l) => l.startsWith("Max core file size"));
      limit = line?.split(/\\s{2,}/)[1] ?? "unreadable";
    } catch { /* gone */ }
  }
}
await run;
await sandbox.close();
console.log(JSON.stringify({ limit }));`);
  const { limit } = JSON.parse(out.trim().split("\n").at(-1)!);
  assertEquals(limit, "0", `the sandbox process may dump core (soft RLIMIT_CORE ${limit})`);
});

Deno.test("core dumps: code that signals itself writes no core file outside the sandbox", async () => {
  const pattern = Deno.readTextFileSync("/proc/sys/kernel/core_pattern").trim();
  // The kernel writes `core` (or core.<pid>) in the process's working directory, `/`.
  if (pattern.startsWith("|") || pattern.includes("/")) return; // dumps go elsewhere here
  const started = Date.now();
  const out = await runWithCoreLimit(`${SANDBOX}
const r = await sandbox.run({ code: 'const p: any = (globalThis as any).process; p.kill(p.pid, "SIGQUIT"); await new Promise((r) => setTimeout(r, 1000)); return "alive";' });
await sandbox.close();
console.log(JSON.stringify(r.error ?? r.result));`);
  const dumps: string[] = [];
  for (const entry of Deno.readDirSync("/")) {
    if (!/^core(\.\d+)?$/.test(entry.name) || !entry.isFile) continue;
    const info = Deno.statSync("/" + entry.name);
    if ((info.mtime?.getTime() ?? 0) >= started - 1000) {
      dumps.push(`/${entry.name} (${info.size} bytes)`);
      Deno.removeSync("/" + entry.name); // ours: written during this test
    }
  }
  assert(dumps.length === 0, `the sandbox wrote ${dumps.join(", ")}; it said ${out.trim()}`);
});

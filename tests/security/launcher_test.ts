/**
 * The sandbox launcher (sandbox/launcher.c, sandbox/launcher.ts): where a C compiler exists it
 * starts every sandbox process in one exec, with the same session, parent-death signal,
 * niceness, core-file limit, closed descriptors and dropped capabilities as the util-linux
 * and bash chain it replaces. The other security tests run with whichever the machine has;
 * here the launcher's own behaviour, its build and reuse (a red-team round: a hanging
 * compiler, a launcher removed from /tmp, a build under a poisoned environment, a gateway
 * already gone, a reniced gateway), and the start-up tests again with the chain forced.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { sandboxChildren, testSandbox } from "../helpers.ts";
import { launcherPath, prepareLauncher } from "../../sandbox/launcher.ts";
import { SANDBOX_NICENESS } from "../../sandbox/spawn.ts";

const hasCompiler = ["cc", "gcc", "clang"].some((name) => {
  try {
    return Deno.statSync(`/usr/bin/${name}`).isFile;
  } catch {
    return false;
  }
});
const launcherOff = Deno.env.get("AIRLOCK_SANDBOX_LAUNCHER") === "0";
const root = new URL("../..", import.meta.url).pathname;

/** Runs `source` (a module importing from the repository) in a gateway-like process of its own. */
async function runScript(
  source: string,
  env: Record<string, string>,
  wrap: string[] = [],
): Promise<{ out: string; err: string; code: number }> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-launcher-test-" });
  try {
    await Deno.writeTextFile(`${dir}/run.ts`, source.replaceAll("ROOT/", root));
    const args = ["run", "-A", "--no-check", "--config", `${root}deno.json`, `${dir}/run.ts`];
    const command = wrap.length > 0
      ? new Deno.Command(wrap[0], {
        args: [...wrap.slice(1), Deno.execPath(), ...args],
        env,
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      })
      : new Deno.Command(Deno.execPath(), {
        args,
        env,
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      });
    const result = await command.output();
    return {
      out: new TextDecoder().decode(result.stdout),
      err: new TextDecoder().decode(result.stderr),
      code: result.code,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A fresh TMPDIR, so the script builds its own launcher and touches nobody else's. */
async function freshTmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "airlock-launcher-tmp-" });
}

/** Reports the niceness, core limit and session of the first sandbox process, as JSON. */
const REPORT_SANDBOX = `import { sandboxChildren, testSandbox } from "ROOT/tests/helpers.ts";
import { launcherPath, prepareLauncher } from "ROOT/sandbox/launcher.ts";
await prepareLauncher();
const stat = (pid: number | string) => { const s = Deno.readTextFileSync(\`/proc/\${pid}/stat\`); return s.slice(s.lastIndexOf(")") + 2).split(" "); };
const sandbox = testSandbox({ concurrency: 1 });
const running = sandbox.run({ code: "await new Promise((r) => setTimeout(r, 800)); return 1;" });
let pids: number[] = [];
for (let i = 0; i < 300 && pids.length === 0; i++) { await new Promise((r) => setTimeout(r, 10)); pids = await sandboxChildren(); }
const limits = Deno.readTextFileSync(\`/proc/\${pids[0]}/limits\`);
console.log("REPORT " + JSON.stringify({
  launcher: launcherPath() !== undefined,
  gatewayNice: Number(stat("self")[16]),
  sandboxNice: Number(stat(pids[0])[16]),
  core: /Max core file size\\s+0\\s+0\\s/.test(limits),
  result: (await running).result,
}));
await sandbox.close();
Deno.exit(0);`;

function report(text: string): Record<string, unknown> {
  const line = text.split("\n").find((l) => l.startsWith("REPORT "));
  assert(line, text.slice(-2000));
  return JSON.parse(line.slice(7));
}

Deno.test({
  name:
    "launcher: built where a compiler exists; a sandbox leads its own session, 10 nicer, no core files",
  ignore: !hasCompiler || launcherOff,
  fn: async () => {
    assert(await prepareLauncher(), "the launcher was built");
    const sandbox = testSandbox({ concurrency: 1 });
    try {
      const running = sandbox.run({
        code: "await new Promise((r) => setTimeout(r, 800)); return 1;",
      });
      let pids: number[] = [];
      for (let i = 0; i < 200 && pids.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        pids = await sandboxChildren();
      }
      assert(launcherPath(), "the launcher is in use");
      assertEquals(pids.length, 1);
      const pid = pids[0];
      const fieldsOf = (p: number | string) => {
        const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      };
      const fields = fieldsOf(pid);
      // Fields after the name: state ppid pgrp session … nice is the 17th (index 16).
      assertEquals(Number(fields[2]), pid, "its own process group");
      assertEquals(Number(fields[3]), pid, "its own session");
      assertEquals(
        Number(fields[16]),
        Math.min(19, Number(fieldsOf("self")[16]) + SANDBOX_NICENESS),
      );
      assertEquals(Number(fields[1]), Deno.pid, "the gateway is its parent: nothing forked");
      assertMatch(Deno.readTextFileSync(`/proc/${pid}/limits`), /Max core file size\s+0\s+0\s/);
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").filter(Boolean);
      assertEquals(environ.map((v) => v.split("=")[0]).sort(), [
        "DENO_DIR",
        "DENO_NO_UPDATE_CHECK",
        "HOME",
        "NO_COLOR",
      ]);
      assertEquals((await running).result, 1);
    } finally {
      await sandbox.close();
    }
  },
});

Deno.test({
  name:
    "launcher: refuses bad arguments, a gateway that is gone, and a program that cannot run, before running anything",
  ignore: !hasCompiler || launcherOff,
  fn: async () => {
    const path = await prepareLauncher();
    assert(path, "the launcher was built");
    const me = String(Deno.pid);
    for (
      const [args, message] of [
        [[], /usage/],
        [["x", "10", "/bin/true"], /bad gateway pid/],
        [[me, "20", "/bin/true"], /bad niceness/],
        [[me, "x", "/bin/true"], /bad niceness/],
        [[me, "10", "/nonexistent/program"], /exec: No such file/],
        // Its parent is this process, not pid 2: as when the gateway died before the
        // parent-death signal was armed (the program would then outlive it).
        [["2", "10", "/bin/true"], /the gateway \(pid 2\) is gone/],
      ] as const
    ) {
      const out = await new Deno.Command(path, { args: [...args], stdout: "null", stderr: "piped" })
        .output();
      assertEquals(out.code, 127, `${args}`);
      assertMatch(new TextDecoder().decode(out.stderr), message);
    }
    // An inherited descriptor (9, without close-on-exec) is closed before the program runs.
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", `exec 9</dev/null; "$0" $$ 0 /bin/sh -c 'ls /proc/self/fd'`, path],
      stdout: "piped",
      stderr: "null",
    }).output();
    const fds = new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean).map(Number);
    assert(fds.length >= 3 && !fds.includes(9), `descriptors seen: ${fds}`);
  },
});

Deno.test({
  name: "launcher: a launcher whose spawner is already dead does not start the program",
  ignore: !hasCompiler || launcherOff,
  fn: async () => {
    const launcher = await prepareLauncher();
    assert(launcher);
    const marker = `${30 + Math.floor(Math.random() * 1000) / 1000}`;
    // A shell starts a subshell and exits; the orphaned subshell then execs the launcher with
    // the dead shell's pid (what a gateway killed during a spawn leaves for a moment).
    const out = await new Deno.Command("/bin/sh", {
      args: [
        "-c",
        `parent=$$; ( sleep 0.3; exec "$0" "$parent" 10 /bin/sleep ${marker} ) >/dev/null 2>&1 </dev/null & echo $!`,
        launcher,
      ],
      stdout: "piped",
    }).output();
    const pid = Number(new TextDecoder().decode(out.stdout).trim());
    await new Promise((r) => setTimeout(r, 1500));
    let cmdline = "";
    try {
      cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
    } catch { /* gone: expected */ }
    const alive = cmdline.includes(`sleep ${marker}`);
    if (alive) Deno.kill(pid, "SIGKILL");
    // Observed before the gateway's pid was passed: `/bin/sleep 30.xxx` running, adopted.
    assert(!alive, `the program runs orphaned: pid ${pid}: ${cmdline}`);
  },
});

Deno.test({
  name:
    "launcher: a hanging compiler does not stop sandboxes from starting (the chain serves meanwhile)",
  ignore: launcherOff,
  fn: async () => {
    const tmp = await freshTmp();
    try {
      const compiler = `${tmp}/hanging-cc`;
      await Deno.writeTextFile(compiler, `#!/bin/sh\nexec sleep 600\n`, { mode: 0o755 });
      const { out, err } = await runScript(
        `import { testSandbox } from "ROOT/tests/helpers.ts";
import { launcherPath } from "ROOT/sandbox/launcher.ts";
const sandbox = testSandbox({ concurrency: 1 });
const results = [];
for (const n of [1, 2]) results.push((await sandbox.run({ code: "return " + n })).result);
console.log("REPORT " + JSON.stringify({ results, launcher: launcherPath() !== undefined }));
await sandbox.close();
Deno.exit(0);`,
        { TMPDIR: tmp, AIRLOCK_SANDBOX_CC: compiler },
      );
      // Observed before: no result within 30 s (every spawn waited for the build).
      assertEquals(report(out + err), { results: [1, 2], launcher: false });
    } finally {
      // The hanging compiler ran in a session of its own; end it with its group.
      await new Deno.Command("/bin/sh", {
        args: ["-c", `pkill -KILL -f '${tmp}/hanging-cc' || true`],
      })
        .output();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "launcher: a launcher removed after it was built does not disable the gateway",
  ignore: !hasCompiler || launcherOff,
  fn: async () => {
    const tmp = await freshTmp();
    try {
      const { out, err } = await runScript(
        `import { testSandbox } from "ROOT/tests/helpers.ts";
import { launcherPath, prepareLauncher } from "ROOT/sandbox/launcher.ts";
await prepareLauncher();
const sandbox = testSandbox({ concurrency: 1 });
const results: unknown[] = [(await sandbox.run({ code: "return 1" })).result];
const used = launcherPath() !== undefined;
Deno.removeSync(launcherPath()!); // what a /tmp cleaner does
for (const n of [2, 3]) {
  try { results.push((await sandbox.run({ code: "return " + n })).result); }
  catch (e) { results.push(String(e)); }
}
console.log("REPORT " + JSON.stringify({ used, results }));
await sandbox.close();
Deno.exit(0);`,
        { TMPDIR: tmp },
      );
      // Observed before: [1, "SandboxUnavailableError: … No such file or directory", …].
      assertEquals(report(out + err), { used: true, results: [1, 2, 3] });
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "launcher: a build under a poisoned compiler environment is not what later gateways run",
  ignore: !hasCompiler || launcherOff,
  fn: async () => {
    const tmp = await freshTmp();
    try {
      // Wrapper headers that define the launcher's steps away, found first through
      // C_INCLUDE_PATH in the environment of the gateway that builds it.
      await Deno.mkdir(`${tmp}/evil/sys`, { recursive: true });
      await Deno.writeTextFile(
        `${tmp}/evil/sys/prctl.h`,
        "#include_next <sys/prctl.h>\n#define prctl(...) 0\n",
      );
      await Deno.writeTextFile(
        `${tmp}/evil/sys/resource.h`,
        "#include_next <sys/resource.h>\n#define setrlimit(a, b) 0\n",
      );
      const first = await runScript(REPORT_SANDBOX, { TMPDIR: tmp, C_INCLUDE_PATH: `${tmp}/evil` });
      // A later gateway with a clean environment, under an inherited unlimited core size.
      const second = await runScript(REPORT_SANDBOX, { TMPDIR: tmp }, [
        "/bin/sh",
        "-c",
        'ulimit -c unlimited; exec "$@"',
        "sh",
      ]);
      for (const run of [first, second]) {
        const seen = report(run.out + run.err);
        assertEquals(seen.launcher, true);
        // Observed before: the second gateway's sandbox had "unlimited unlimited".
        assertEquals(seen.core, true, JSON.stringify(seen));
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "launcher: a sandbox never runs at a higher priority than a reniced gateway, with either start-up",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    for (const env of [{}, { AIRLOCK_SANDBOX_LAUNCHER: "0" }] as Record<string, string>[]) {
      const { out, err } = await runScript(REPORT_SANDBOX, env, ["/usr/bin/nice", "-n", "15"]);
      const seen = report(out + err);
      // Observed before, with the launcher: gateway 15, sandbox 10.
      assertEquals(seen.gatewayNice, 15, JSON.stringify(seen));
      assertEquals(seen.sandboxNice, 19, JSON.stringify({ env, seen }));
    }
  },
});

Deno.test("launcher: with the util-linux and bash chain instead, the same security tests pass", async () => {
  // The launcher is switched off for a child test run of the tests that check what both
  // start-ups must do: the environment, niceness, autogroup, signals, core files,
  // inherited descriptors and capabilities.
  const files = [
    "environment_test.ts",
    "signals_test.ts",
    "core_dump_test.ts",
    "node_fd_adoption_test.ts",
    "capabilities_test.ts",
  ].map((f) => new URL(f, import.meta.url).pathname);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", ...files],
    env: { AIRLOCK_SANDBOX_LAUNCHER: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success, text.slice(-3000));
  assertMatch(text, /ok \| \d+ passed/);
});

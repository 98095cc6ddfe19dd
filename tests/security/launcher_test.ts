/**
 * The sandbox launcher (sandbox/launcher.c): where a C compiler exists it starts every
 * sandbox process in one exec, with the same session, parent-death signal, niceness,
 * core-file limit and closed descriptors as the util-linux and bash chain it replaces. The
 * other security tests run with whichever the machine has; here the launcher's own
 * behaviour, and the whole set again with the chain forced.
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

Deno.test({
  name:
    "launcher: built where a compiler exists; a sandbox leads its own session at niceness 10, no core files",
  ignore: !hasCompiler || Deno.env.get("AIRLOCK_SANDBOX_LAUNCHER") === "0",
  fn: async () => {
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
      assert(launcherPath(), "the launcher was built");
      assertEquals(pids.length, 1);
      const pid = pids[0];
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // Fields after the name: state ppid pgrp session … nice is the 17th (index 16).
      assertEquals(Number(fields[2]), pid, "its own process group");
      assertEquals(Number(fields[3]), pid, "its own session");
      assertEquals(Number(fields[16]), SANDBOX_NICENESS);
      assertEquals(Number(fields[1]), Deno.pid, "the gateway is its parent: nothing forked");
      const limits = Deno.readTextFileSync(`/proc/${pid}/limits`);
      assertMatch(limits, /Max core file size\s+0\s+0\s/);
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
  name: "launcher: refuses bad arguments and a program that cannot run, before running anything",
  ignore: !hasCompiler || Deno.env.get("AIRLOCK_SANDBOX_LAUNCHER") === "0",
  fn: async () => {
    const path = await prepareLauncher();
    assert(path, "the launcher was built");
    for (
      const [args, message] of [
        [[], /usage/],
        [["20", "/bin/true"], /bad niceness/],
        [["x", "/bin/true"], /bad niceness/],
        [["10", "/nonexistent/program"], /exec: No such file/],
      ] as const
    ) {
      const out = await new Deno.Command(path, { args: [...args], stdout: "null", stderr: "piped" })
        .output();
      assertEquals(out.code, 127, `${args}`);
      assertMatch(new TextDecoder().decode(out.stderr), message);
    }
    // An inherited descriptor (9, without close-on-exec) is closed before the program runs.
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", `exec 9</dev/null; exec "$0" 0 /bin/sh -c 'ls /proc/self/fd'`, path],
      stdout: "piped",
      stderr: "null",
    }).output();
    const fds = new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean).map(Number);
    assert(!fds.includes(9), `descriptors seen: ${fds}`);
  },
});

Deno.test("launcher: with the util-linux and bash chain instead, the same security tests pass", async () => {
  // The launcher is switched off for a child test run of the tests that check what both
  // start-ups must do: the environment, niceness, autogroup, signals, core files, and
  // inherited descriptors.
  const files = [
    "environment_test.ts",
    "signals_test.ts",
    "core_dump_test.ts",
    "node_fd_adoption_test.ts",
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

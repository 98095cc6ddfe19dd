/**
 * The sandbox process's environment is cleared: read from outside (/proc), it holds only
 * what Deno itself needs, never the gateway's variables.
 */

import { assert, assertEquals } from "../assert.ts";
import { startWatchedRun, testSandbox } from "../helpers.ts";
import { SANDBOX_NICENESS } from "../../sandbox/spawn.ts";

Deno.test("security: a sandbox process never inherits the gateway's environment", async () => {
  const secret = `gateway-secret-${crypto.randomUUID()}`;
  Deno.env.set("AIRLOCK_GATEWAY_SECRET", secret);
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const { pid, outcome: running } = await startWatchedRun(
      sandbox,
      "await new Promise((r) => setTimeout(r, 1000)); return Deno.pid;",
    );
    assert(pid > 0, "a sandbox process is running");
    const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
    const names = environ.split("\0").filter(Boolean).map((v) => v.slice(0, v.indexOf("=")));
    assertEquals(names.sort(), [
      "DENO_DIR",
      "DENO_EMIT_CACHE_MODE",
      "DENO_NO_UPDATE_CHECK",
      "HOME",
      "NO_COLOR",
      "TZ",
    ]);
    assert(!environ.includes(secret), "the gateway's secret is not there");
    const result = await running;
    assertEquals(result.result, pid, "it was the process that ran the code");
  } finally {
    Deno.env.delete("AIRLOCK_GATEWAY_SECRET");
    await sandbox.close();
  }
});

Deno.test("security: sandbox processes run at a lower priority than the gateway", async () => {
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const { pid, outcome: running } = await startWatchedRun(
      sandbox,
      "await new Promise((r) => setTimeout(r, 1000)); return 1;",
    );
    assert(pid > 0, "a sandbox process is running");
    // Field 19 of /proc/<pid>/stat (nice) is the 17th after the command name.
    const niceOf = (pid: number | "self") => {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    };
    assertEquals(niceOf(pid) - niceOf("self"), SANDBOX_NICENESS);
    assertEquals((await running).result, 1);
  } finally {
    await sandbox.close();
  }
});

Deno.test("security: a sandbox's scheduler autogroup carries its niceness too", async () => {
  // With kernel.sched_autogroup_enabled (the default on most kernels) niceness weighs a
  // process only within its autogroup, and setsid gives each sandbox its own.
  let enabled = "0";
  try {
    enabled = Deno.readTextFileSync("/proc/sys/kernel/sched_autogroup_enabled").trim();
  } catch { /* no autogroup on this kernel */ }
  if (enabled !== "1") return;
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const { pid, outcome: running } = await startWatchedRun(
      sandbox,
      "await new Promise((r) => setTimeout(r, 1000)); return 1;",
    );
    assert(pid > 0, "a sandbox process is running");
    const theirs = Deno.readTextFileSync(`/proc/${pid}/autogroup`).trim();
    const own = Deno.readTextFileSync("/proc/self/autogroup").trim();
    const nice = (line: string) => Number(/nice (-?\d+)/.exec(line)?.[1] ?? "0");
    // Either the sandbox stays in the gateway's autogroup (the launcher: a process group,
    // not a session, of its own), where its niceness weighs it against the gateway, or it
    // has an autogroup of its own (the chain's setsid), which must be that much nicer.
    const stat = (pid: number | string) => {
      const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return text.slice(text.lastIndexOf(")") + 2).split(" ");
    };
    const sandboxNice = Number(stat(pid)[16]);
    const outcome = await running;
    if (theirs.split(" ")[0] === own.split(" ")[0]) {
      assertEquals(
        sandboxNice,
        Math.min(19, Number(stat("self")[16]) + SANDBOX_NICENESS),
        "in the gateway's autogroup, the sandbox's own niceness",
      );
    } else {
      const expected = Math.min(19, nice(own) + SANDBOX_NICENESS);
      assertEquals(
        nice(theirs),
        expected,
        `the sandbox's autogroup (${theirs}) against the gateway's (${own})`,
      );
    }
    assertEquals(outcome.result, 1);
  } finally {
    await sandbox.close();
  }
});

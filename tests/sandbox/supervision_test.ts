/**
 * Limits that must hold whatever the gateway's main thread is doing, and sandbox
 * processes that must not outlive the gateway. The main-thread tests block the test's own
 * main thread with a synchronous loop and then look in /proc: the sandbox must already
 * have been killed (a zombie waiting to be reaped, or gone) when the main thread wakes up.
 */

import { assert, assertEquals } from "../assert.ts";
import { waitForNoStrays } from "../helpers.ts";
import { Sandbox, type SandboxOptions } from "../../sandbox/mod.ts";

function makeSandbox(overrides: Partial<SandboxOptions> = {}): Sandbox {
  return new Sandbox({
    timeoutMs: 500,
    memoryMb: 64,
    maxOutputBytes: 1024 * 1024,
    maxLogBytes: 64 * 1024,
    concurrency: 2,
    queue: 8,
    poolSize: 0,
    allowNet: [],
    allowRead: [],
    ...overrides,
  });
}

/** The state letter of a process (`R`, `S`, `Z`, …), or `undefined` when it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Holds the main thread: no timer, I/O callback or promise continuation runs meanwhile. */
function blockMainThread(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* busy */ }
}

/**
 * Starts `code` (which must log its pid first), blocks the main thread for 3 s once the
 * code is running, and returns the pid's state at the moment the main thread woke up,
 * with the execution's result.
 */
async function blockWhileRunning(
  sandbox: Sandbox,
  code: string,
  limits: { timeoutMs: number },
): Promise<{ state: string | undefined; kind: string | undefined }> {
  const running = Promise.withResolvers<number>();
  const result = sandbox.run({
    code: `console.log(String(Deno.pid)); ${code}`,
    limits,
    onLog: (entry) => running.resolve(Number(entry.text)),
  });
  const pid = await running.promise;
  assert(processState(pid) !== undefined, "the sandbox runs before the main thread is blocked");
  blockMainThread(3000);
  const state = processState(pid);
  return { state, kind: (await result).error?.kind };
}

Deno.test("supervision: a timeout kills the process before a blocked main thread wakes up", async () => {
  const sandbox = makeSandbox();
  try {
    const { state, kind } = await blockWhileRunning(sandbox, "while (true) {}", {
      timeoutMs: 500,
    });
    assert(state === undefined || state === "Z", `the sandbox was still running (state ${state})`);
    assertEquals(kind, "timeout");
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("supervision: a process whose answer is out dies even while the main thread is blocked", async () => {
  // The answer goes out before the process is killed (on the event loop's next turn); the
  // supervisor thread's backstop must still end it when that turn does not come.
  const sandbox = makeSandbox({ timeoutMs: 60_000 });
  try {
    const cases = [
      // Keeps a core busy once its answer is sent.
      "setTimeout(() => { while (true) {} }, 0); return Deno.pid;",
      // Keeps writing after its answer.
      "setTimeout(() => { for (;;) console.log('x'.repeat(1000)); }, 0); return Deno.pid;",
      // An error for an answer, then a busy loop.
      "const pid = Deno.pid; setTimeout(() => { while (true) {} }, 0); throw new Error(String(pid));",
    ];
    for (const [i, code] of cases.entries()) {
      const run = await sandbox.run({ code });
      const pid = Number(run.result ?? run.error?.message.replace(/\D/g, ""));
      assert(pid > 0, JSON.stringify(run));
      // The first block is long: under `deno test` the supervisor thread starts only after
      // its module is type-checked (about 1-2 s on a cold cache), as in the tests above.
      blockMainThread(i === 0 ? 3000 : 1000);
      const state = processState(pid);
      // Observed with the kill left to the main thread alone: "R" (running) after the block.
      assert(
        state === undefined || state === "Z",
        `the sandbox was still running (state ${state})`,
      );
    }
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("supervision: the RSS watchdog kills the process before a blocked main thread wakes up", async () => {
  const sandbox = makeSandbox({ memoryGuard: "watchdog" });
  try {
    // 1 GiB at most, then idle: on a watchdog that depends on the main thread this stays
    // alive (and the test fails) without endangering the host.
    const { state, kind } = await blockWhileRunning(
      sandbox,
      `const keep = [];
       for (let i = 0; i < 128; i++) keep.push(new Uint8Array(8 * 1024 * 1024).fill(1));
       while (true) {}`,
      { timeoutMs: 30_000 },
    );
    assert(state === undefined || state === "Z", `the sandbox was still running (state ${state})`);
    assertEquals(kind, "memory");
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

const PARENT = new URL("../fixtures/sandbox_parent.ts", import.meta.url).pathname;

/** Sandbox processes whose parent is `parent` (a running one or an idle pool process). */
function sandboxChildrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== parent || fields[0] === "Z") continue;
      // Its command line names the runtime directory (`--import-map=<dir>/import_map.json`).
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes("airlock-runner-")) {
        pids.push(Number(entry.name));
      }
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/**
 * Starts the gateway-like fixture, waits until its sandbox runs a busy loop, ends the
 * parent with `end`, and returns the sandbox pids still alive (not zombies) 2 s later.
 */
async function orphansAfter(
  mode: "kill" | "exit",
  guard: "pdeathsig" | "reaper" = "pdeathsig",
): Promise<{ seen: number[]; left: number[]; runtimeDir: string }> {
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PARENT, mode, ...(guard === "reaper" ? ["no-setpriv"] : [])],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let seen: number[] = [];
  let runtimeDir = "";
  try {
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/running \d+/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    assertEquals(/guard (\w+)/.exec(text)?.[1], guard, "the fixture reports its orphan guard");
    const busy = Number(/running (\d+)/.exec(text)?.[1]);
    assert(busy > 0, `the fixture started a sandbox (output: ${text})`);
    // The busy one and the idle pool process.
    for (let i = 0; i < 100 && seen.length < 2; i++) {
      seen = sandboxChildrenOf(parent.pid);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(seen.includes(busy), "the busy sandbox is a child of the fixture");
    // Its command line has `--import-map=<runtime dir>/import_map.json`.
    runtimeDir = /--import-map=([^\0]+)\/import_map\.json/.exec(
      Deno.readTextFileSync(`/proc/${busy}/cmdline`),
    )?.[1] ?? "";
    assert(runtimeDir.includes("airlock-runner-"), `runtime dir found: ${runtimeDir}`);
    if (mode === "kill") parent.kill("SIGKILL");
  } catch (error) {
    parent.kill("SIGKILL");
    throw error;
  } finally {
    await parent.status;
    await parent.stdout.cancel().catch(() => {});
  }
  const deadline = Date.now() + 2000;
  let left = seen;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = seen.filter((pid) => {
      const state = processState(pid);
      return state !== undefined && state !== "Z";
    });
  }
  // Never leave a busy loop behind, whatever the outcome.
  for (const pid of left) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  return { seen, left, runtimeDir };
}

Deno.test("supervision: no sandbox outlives a gateway killed with SIGKILL", async () => {
  const { seen, left } = await orphansAfter("kill");
  assert(seen.length >= 1);
  assertEquals(left, [], "sandbox processes still running after their parent was killed");
});

Deno.test("supervision: no sandbox outlives a gateway that exits", async () => {
  const { seen, left, runtimeDir } = await orphansAfter("exit");
  let exists = true;
  try {
    await Deno.stat(runtimeDir);
  } catch {
    exists = false;
  }
  assert(!exists, `the runtime directory ${runtimeDir} is left after the gateway exited`);
  assert(seen.length >= 1);
  assertEquals(left, [], "sandbox processes still running after their parent exited");
});

const NOFILE = new URL("../fixtures/sandbox_nofile.ts", import.meta.url).pathname;

Deno.test("supervision: out of file descriptors, run throws a typed error and recovers by itself", async () => {
  // A subprocess with a low descriptor limit, so exhausting it is quick and harms no one.
  const output = await new Deno.Command("/usr/bin/prlimit", {
    args: ["--nofile=256:256", Deno.execPath(), "run", "-A", NOFILE],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert(output.success, `the fixture failed: ${new TextDecoder().decode(output.stderr)}`);
  const report = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert(report.held > 0, "descriptors were exhausted");
  assertEquals(report.starved.typed, true, JSON.stringify(report.starved));
  assertEquals(report.starved.kind, "unavailable");
  assert(report.starved.retryAfterSeconds > 0);
  assert(!/\/tmp|airlock-runner/.test(report.starved.message), "no host paths in the message");
  assertEquals(report.recovered, "recovered", "a run works again once descriptors are back");
  assertEquals(report.poolRecovered, true, "the warm pool refilled by itself");
});

Deno.test("supervision: without setpriv, the reaper kills the sandboxes of a killed gateway", async () => {
  const { seen, left } = await orphansAfter("kill", "reaper");
  assert(seen.length >= 1);
  assertEquals(left, [], "sandbox processes still running after their parent was killed");
});

Deno.test("supervision: the parent-death signal does not fire while the gateway lives (16 s idle)", async () => {
  // PR_SET_PDEATHSIG fires when the *thread* that spawned the child ends. Were Deno to
  // spawn from a pooled thread (idle ones exit after 10 s), idle warm processes would die
  // with it. They must survive an idle gateway.
  const sandbox = makeSandbox({ poolSize: 1, timeoutMs: 5000 });
  await sandbox.start();
  try {
    for (let i = 0; i < 200 && sandbox.stats().poolReady === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const idle = sandboxChildrenOf(Deno.pid);
    assertEquals(idle.length, 1, "one idle pool process");
    await new Promise((r) => setTimeout(r, 16_000));
    const state = processState(idle[0]);
    assert(state !== undefined && state !== "Z", `the idle process died (state ${state})`);
    const result = await sandbox.run({ code: "return Deno.pid" });
    assert(result.warm, "the idle process served the execution");
    assertEquals(result.result, idle[0]);
  } finally {
    await sandbox.close();
  }
});

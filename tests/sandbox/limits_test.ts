/**
 * Every limit, tried by code that means to break it. Each case checks the error kind,
 * that the end came within the timeout plus a grace period, and that no process is
 * left behind.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { sandboxChildren, waitForNoStrays } from "../helpers.ts";
import {
  cgroupBaseDir,
  liveRuntimeDirs,
  QueueFullError,
  Sandbox,
  type SandboxOptions,
} from "../../sandbox/mod.ts";

const GRACE_MS = 2500;

function makeSandbox(overrides: Partial<SandboxOptions> = {}): Sandbox {
  return new Sandbox({
    timeoutMs: 1500,
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

/** Runs `fn` with a fresh sandbox and always closes it. */
async function withSandbox(
  overrides: Partial<SandboxOptions>,
  fn: (sandbox: Sandbox) => Promise<void>,
): Promise<void> {
  const sandbox = makeSandbox(overrides);
  try {
    await fn(sandbox);
  } finally {
    await sandbox.close();
  }
}

const HEAP_GROWTH =
  `const keep = []; while (true) keep.push({ a: Math.random(), b: "x".repeat(64) + Math.random() });`;
const BUFFER_GROWTH =
  `const keep = []; while (true) keep.push(new Uint8Array(8 * 1024 * 1024).fill(1));`;
const WASM_GROWTH = `const keep = [];
while (true) { const m = new WebAssembly.Memory({ initial: 128 }); new Uint8Array(m.buffer).fill(1); keep.push(m); }`;
const WASM_GROW_ONE = `const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
while (true) { const before = m.buffer.byteLength; m.grow(128); new Uint8Array(m.buffer).fill(1, before); }`;

async function expectKind(
  sandbox: Sandbox,
  code: string,
  kind: string,
  limitMs: number,
): Promise<void> {
  const started = performance.now();
  const result = await sandbox.run({ code });
  const elapsed = performance.now() - started;
  assert(!result.ok, `expected ${kind}, got ok with ${JSON.stringify(result.result)}`);
  assertEquals(result.error?.kind, kind, result.error?.message);
  assert(elapsed < limitMs + GRACE_MS, `ended after ${elapsed.toFixed(0)} ms`);
  assertEquals(await waitForNoStrays(), [], "no sandbox process is left behind");
}

Deno.test("timeout: a busy loop is killed", async () => {
  await withSandbox({}, async (sandbox) => {
    await expectKind(sandbox, "while (true) {}", "timeout", 1500);
  });
});

Deno.test("timeout: a never-resolving promise is killed", async () => {
  await withSandbox({}, async (sandbox) => {
    await expectKind(sandbox, "await new Promise(() => {});", "timeout", 1500);
  });
});

Deno.test("timeout: a request may lower the timeout", async () => {
  await withSandbox({}, async (sandbox) => {
    const started = performance.now();
    const result = await sandbox.run({ code: "while (true) {}", limits: { timeoutMs: 300 } });
    assertEquals(result.error?.kind, "timeout");
    assertMatch(result.error!.message, /300 ms/);
    assert(performance.now() - started < 300 + GRACE_MS);
  });
});

for (const guard of ["auto", "watchdog"] as const) {
  const label = guard === "auto" ? "default guard" : "RSS watchdog";
  Deno.test(`memory (${label}): heap growth`, async () => {
    const sandbox = makeSandbox({ memoryGuard: guard, timeoutMs: 10_000 });
    try {
      await expectKind(sandbox, HEAP_GROWTH, "memory", 10_000);
    } finally {
      await sandbox.close();
    }
  });
  Deno.test(`memory (${label}): ArrayBuffer growth outside the V8 heap`, async () => {
    const sandbox = makeSandbox({ memoryGuard: guard, timeoutMs: 10_000 });
    try {
      await expectKind(sandbox, BUFFER_GROWTH, "memory", 10_000);
    } finally {
      await sandbox.close();
    }
  });
  Deno.test(`memory (${label}): WebAssembly memory growth`, async () => {
    const sandbox = makeSandbox({ memoryGuard: guard, timeoutMs: 10_000 });
    try {
      await expectKind(sandbox, WASM_GROWTH, "memory", 10_000);
      await expectKind(sandbox, WASM_GROW_ONE, "memory", 10_000);
    } finally {
      await sandbox.close();
    }
  });
}

Deno.test("memory: a cgroup is used where the host offers one", async () => {
  const sandbox = makeSandbox();
  try {
    await sandbox.start();
    const expected = (await cgroupBaseDir()) ? "cgroup" : "watchdog";
    assertEquals(sandbox.stats().memoryGuard, expected);
  } finally {
    await sandbox.close();
  }
});

Deno.test("output: a 50 MB return value is refused as output_limit", async () => {
  await withSandbox({ timeoutMs: 10_000 }, async (sandbox) => {
    await expectKind(sandbox, `return "x".repeat(50 * 1024 * 1024);`, "output_limit", 10_000);
    await expectKind(
      sandbox,
      `return Array.from({ length: 200_000 }, (_, i) => ({ i, s: "abcdefghij" }));`,
      "output_limit",
      10_000,
    );
  });
});

Deno.test("output: deep nesting is refused without crashing anything", async () => {
  await withSandbox({}, async (sandbox) => {
    await expectKind(
      sandbox,
      `let v: unknown = 1; for (let i = 0; i < 100000; i++) v = [v]; return v;`,
      "output_limit",
      1500,
    );
  });
});

Deno.test("logs: a million console lines are capped, the code still finishes", async () => {
  await withSandbox({ timeoutMs: 10_000, maxLogBytes: 10_000 }, async (sandbox) => {
    const result = await sandbox.run({
      code: `for (let i = 0; i < 1_000_000; i++) console.log("line", i); return "done";`,
    });
    assertEquals(result.result, "done");
    const total = result.logs.reduce((n, l) => n + l.text.length, 0);
    assert(total <= 10_000 + 200, `log text ${total} is over the cap`);
    assertMatch(result.logs.at(-1)!.text, /more log lines were dropped/);
    assertEquals(await waitForNoStrays(), []);
  });
});

Deno.test("output: a raw stdout flood is cut off as output_limit", async () => {
  await withSandbox({ timeoutMs: 10_000, maxOutputBytes: 64 * 1024 }, async (sandbox) => {
    await expectKind(
      sandbox,
      `const chunk = new TextEncoder().encode("garbage ".repeat(8192) + "\\n");
       while (true) Deno.stdout.writeSync(chunk);`,
      "output_limit",
      10_000,
    );
    await expectKind(
      sandbox,
      `const chunk = new TextEncoder().encode("x".repeat(1 << 20));
       while (true) Deno.stdout.writeSync(chunk);`,
      "output_limit",
      10_000,
    );
  });
});

Deno.test("robustness: a stderr flood neither hangs nor fails the execution", async () => {
  await withSandbox({ timeoutMs: 10_000 }, async (sandbox) => {
    const result = await sandbox.run({
      code: `const chunk = new TextEncoder().encode("e".repeat(65536));
             for (let i = 0; i < 500; i++) Deno.stderr.writeSync(chunk);
             return "survived";`,
    });
    assertEquals(result.result, "survived");
  });
});

Deno.test("robustness: Deno.exit, deep recursion, unhandled rejections", async () => {
  await withSandbox({}, async (sandbox) => {
    const exit = await sandbox.run({ code: "Deno.exit(0);" });
    assertEquals(exit.error?.kind, "runtime");
    assertMatch(exit.error!.message, /exit code 0/);
    const recursion = await sandbox.run({
      code: "const f = (n: number): number => f(n + 1) + 1;\nf(0);",
    });
    assertEquals(recursion.error?.kind, "runtime");
    assertMatch(recursion.error!.message, /call stack/);
    assertEquals(recursion.error?.line, 1);
    const rejection = await sandbox.run({
      code: `Promise.reject(new Error("nobody listens"));
             await new Promise((r) => setTimeout(r, 50)); return 1;`,
    });
    assertEquals(rejection.error?.kind, "runtime");
    assertMatch(rejection.error!.message, /unhandled promise rejection.*nobody listens/);
    const thrownValue = await sandbox.run({ code: `throw { weird: true };` });
    assertEquals(thrownValue.error?.kind, "runtime");
    assertEquals(await waitForNoStrays(), []);
  });
});

Deno.test("concurrency: many executions against a small pool all finish", async () => {
  const sandbox = makeSandbox({ concurrency: 2, queue: 100, poolSize: 2 });
  await sandbox.start();
  try {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => sandbox.run({ code: `return ${i} * 2;` })),
    );
    assertEquals(results.map((r) => r.result), Array.from({ length: 12 }, (_, i) => i * 2));
    assert(results.some((r) => r.warm), "some executions used the warm pool");
    assert(results.some((r) => !r.warm), "a drained pool falls back to cold processes");
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("concurrency: a full queue is refused at once, not waited on", async () => {
  await withSandbox({ concurrency: 1, queue: 1, timeoutMs: 3000 }, async (sandbox) => {
    const running = sandbox.run({ code: "await new Promise((r) => setTimeout(r, 700)); return 1" });
    const waiting = sandbox.run({ code: "return 2" });
    let refused: unknown;
    try {
      await sandbox.run({ code: "return 3" });
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof QueueFullError, "the third execution is refused");
    assertEquals((refused as QueueFullError).kind, "queue_full");
    assertEquals((await running).result, 1);
    assertEquals((await waiting).result, 2);
  });
});

Deno.test("warm pool: each process serves exactly one execution", async () => {
  const sandbox = makeSandbox({ poolSize: 1 });
  await sandbox.start();
  try {
    await waitForPool(sandbox);
    const first = await sandbox.run({ code: "globalThis.marker = 'left over'; return Deno.pid" });
    await waitForPool(sandbox);
    const second = await sandbox.run({
      code: "return { pid: Deno.pid, marker: globalThis.marker ?? null }",
    });
    assert(first.warm && second.warm, "both ran on warm processes");
    assert(first.result !== (second.result as { pid: number }).pid, "a new process each time");
    assertEquals((second.result as { marker: unknown }).marker, null);
  } finally {
    await sandbox.close();
  }
  assertEquals(await sandboxChildren(), []);
});

async function waitForPool(sandbox: Sandbox): Promise<void> {
  for (let i = 0; i < 200 && sandbox.stats().poolReady === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("disk: the shared Deno cache is replaced after a bounded number of processes", async () => {
  const sandbox = makeSandbox({ poolSize: 1, generationSize: 3 });
  await sandbox.start();
  const seen = new Set<string>();
  try {
    for (let i = 0; i < 10; i++) {
      const result = await sandbox.run({ code: `const n${i}: number = ${i}; return n${i};` });
      assertEquals(result.result, i);
      for (const dir of liveRuntimeDirs()) seen.add(dir);
    }
  } finally {
    await sandbox.close();
  }
  assert(seen.size >= 3, `generations used: ${seen.size}`);
  await waitForNoStrays();
  const live = liveRuntimeDirs();
  assert(live.length <= 1, `retired generations are deleted, still live: ${live.length}`);
  for (const dir of seen) {
    if (live.includes(dir)) continue;
    let exists = true;
    try {
      await Deno.stat(dir);
    } catch {
      exists = false;
    }
    assert(!exists, `${dir} was removed from disk`);
  }
});

Deno.test("output: a flood of huge tool calls is cut off as output_limit", async () => {
  // Memory enough for the 20 MB string and its frame copies: under load the RSS watchdog
  // could otherwise end the run as `memory` before the output budget does (seen once in CI).
  const sandbox = makeSandbox({ timeoutMs: 20_000, memoryMb: 256 });
  let served = 0;
  try {
    const started = performance.now();
    const result = await sandbox.run({
      code: `const big = "x".repeat(20 * 1024 * 1024);
             while (true) { try { await __airlock.rpc("echo", { big }); } catch { /* refused */ } }`,
      onRpc: () => {
        served++;
        return Promise.resolve(null);
      },
    });
    assertEquals(result.error?.kind, "output_limit");
    assert(served <= 13, `the gateway served ${served} calls of 20 MB before cutting off`);
    assert(performance.now() - started < 20_000, "ended by the budget, not the timeout");
  } finally {
    await sandbox.close();
  }
});

Deno.test("cleanup: close removes this gateway's cgroup directories and those of dead gateways", async () => {
  const base = await cgroupBaseDir();
  if (!base) return; // no cgroup v1 memory controller on this host: nothing to leave behind
  const parent = base.slice(0, base.lastIndexOf("/"));
  // A directory as a gateway killed with -9 leaves it: the pid of an exited process.
  const dead = await new Deno.Command("true").spawn();
  await dead.status;
  const leftover = `${parent}/airlock-${dead.pid}`;
  await Deno.mkdir(`${leftover}/exec-1-deadbeef`, { recursive: true });
  const sandbox = makeSandbox({ poolSize: 2 });
  await sandbox.start();
  try {
    await waitForPool(sandbox);
    assertEquals((await sandbox.run({ code: "return 1" })).result, 1);
  } finally {
    await sandbox.close();
  }
  const exists = async (path: string) => {
    try {
      await Deno.stat(path);
      return true;
    } catch {
      return false;
    }
  };
  assert(!(await exists(base)), `${base} is left after close`);
  assert(!(await exists(leftover)), `${leftover} of a dead gateway is left`);
});

/** The `DENO_DIR` a running sandbox process was started with (read from /proc). */
function denoDirOf(pid: number): string | undefined {
  const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
  return environ.find((v) => v.startsWith("DENO_DIR="))?.slice("DENO_DIR=".length);
}

Deno.test("disk: each execution has its own Deno cache, deleted after it; none is shared", async () => {
  await withSandbox({ poolSize: 0 }, async (sandbox) => {
    const dirs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await sandbox.run({
        code: `const m = await import("data:application/typescript,export const v: number = 7;");
               console.log(String(Deno.pid)); await new Promise((r) => setTimeout(r, 100));
               return m.v;`,
        onLog: (entry) => dirs.push(denoDirOf(Number(entry.text))!),
      });
      assertEquals(result.result, 7);
    }
    assertEquals(dirs.length, 2);
    assert(dirs[0] !== dirs[1], `two executions shared the cache directory ${dirs[0]}`);
    await waitForNoStrays();
    for (const dir of dirs) {
      let exists = true;
      for (let i = 0; i < 40 && exists; i++) {
        try {
          await Deno.stat(dir);
          await new Promise((r) => setTimeout(r, 25));
        } catch {
          exists = false;
        }
      }
      assert(!exists, `${dir} is left after the execution`);
    }
  });
});

Deno.test("disk: an execution that fills its cache directory is stopped by bytes written", async () => {
  await withSandbox({ timeoutMs: 60_000, memoryMb: 256 }, async (sandbox) => {
    // Each distinct TypeScript module is transpiled and cached on disk (about 1 MB each).
    const result = await sandbox.run({
      code: `const pad = "a".repeat(1 << 20); let i = 0;
             while (true) {
               await import("data:application/typescript," +
                 encodeURIComponent("export const x" + i++ + ": string = '" + pad + "';"));
             }`,
    });
    assertEquals(result.error?.kind, "output_limit", result.error?.message);
    assert(/bytes to disk/.test(result.error!.message), result.error!.message);
  });
});

Deno.test("cleanup: runtime directories of a gateway killed with SIGKILL are removed by the next generation", async () => {
  // What a killed gateway leaves: a runtime directory naming an owner that is gone.
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  const stale = await Deno.makeTempDir({ prefix: "airlock-runner-" });
  await Deno.mkdir(`${stale}/cache-1`);
  await Deno.writeTextFile(`${stale}/owner`, `${dead.pid} 12345`);
  // One a live gateway owns (this process, with a wrong start time: a reused pid).
  const reused = await Deno.makeTempDir({ prefix: "airlock-runner-" });
  await Deno.writeTextFile(`${reused}/owner`, `${Deno.pid} 1`);
  // And one without an owner file: not ours to judge.
  const foreign = await Deno.makeTempDir({ prefix: "airlock-runner-" });
  try {
    await withSandbox({ generationSize: 1 }, async (sandbox) => {
      assertEquals((await sandbox.run({ code: "return 1" })).result, 1);
      assertEquals((await sandbox.run({ code: "return 2" })).result, 2);
    });
    const exists = async (path: string) => {
      try {
        await Deno.stat(path);
        return true;
      } catch {
        return false;
      }
    };
    assert(!(await exists(stale)), "the dead gateway's directory is removed");
    assert(!(await exists(reused)), "a reused pid does not keep a directory alive");
    assert(await exists(foreign), "a directory without an owner is left alone");
  } finally {
    for (const dir of [stale, reused, foreign]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});

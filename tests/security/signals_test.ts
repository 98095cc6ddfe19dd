/**
 * A process may signal itself with no permission. SIGTRAP is what V8's fatal heap abort
 * raises, so a self-sent one was reported as the gateway's `memory` verdict (a red-team
 * round); SIGSTOP held the execution's slot until its timeout. The sandbox refuses
 * signals through every API that sends them.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { testSandbox } from "../helpers.ts";

Deno.test("signals: the code cannot signal its own process (forged memory verdict, SIGSTOP)", async () => {
  const sandbox = testSandbox({ timeoutMs: 10_000, queue: 10 });
  try {
    const sends = [
      `process.kill(process.pid, "SIGTRAP")`,
      `Deno.kill(Deno.pid, "SIGTRAP")`,
      `(process as any)._kill(process.pid, 5)`,
      `(await import("node:process")).kill(Deno.pid, "SIGTRAP")`,
      `(await import("node:process")).default.kill(Deno.pid, "SIGSTOP")`,
      `(process as any)._debugProcess(Deno.pid)`,
    ];
    for (const send of sends) {
      const result = await sandbox.run({
        code: `${send};\nawait new Promise((r) => setTimeout(r, 300));\nreturn "alive";`,
      });
      assert(result.error?.kind !== "memory", `${send}: forged ${JSON.stringify(result.error)}`);
      assertEquals(result.error?.kind, "permission", `${send}: ${JSON.stringify(result)}`);
      assertMatch(result.error!.message, /not available in the sandbox/);
    }
  } finally {
    await sandbox.close();
  }
});

Deno.test("signals: a real heap overrun is still the memory verdict", async () => {
  const sandbox = testSandbox({ timeoutMs: 10_000, queue: 10 });
  try {
    const result = await sandbox.run({
      code:
        `const keep: unknown[] = [];\nwhile (true) keep.push({ a: [1, 2, 3], b: "x".repeat(64) + keep.length });`,
    });
    assertEquals(result.error?.kind, "memory", JSON.stringify(result.error));
  } finally {
    await sandbox.close();
  }
});

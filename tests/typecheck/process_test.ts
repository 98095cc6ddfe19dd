/**
 * The checker's isolation (red team rttype items 1, 3, 4): a check runs in its own `deno`
 * process, which is really stopped (SIGKILL: its pid is gone) when the check overruns its
 * budget inside one statement, and capped in memory (a check that needs more ends only that
 * process); a warm standby takes over at once and the tenant whose check was killed waits for
 * the next standby; code nested so deeply that the compiler's stack overflows is that
 * request's answer (`limit: "depth"`), not a crash. A Worker, which Deno 2.9.6 does not stop
 * while it is busy in synchronous JavaScript, failed every one of these.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { prepareLauncher, SANDBOX_NICENESS } from "../../sandbox/mod.ts";
import { TypeChecker } from "../../typecheck/mod.ts";
import { gone, memoryBomb } from "./hostile.ts";

const sanitize = { sanitizeOps: false, sanitizeResources: false };

/** One statement TypeScript needs seconds for, and never looks at its deadline inside. */
const SLOW_STATEMENT = `type T0 = "a"|"b"|"c"|"d"|"e"|"f"|"g"|"h"|"i"|"j";
type T1 = \`\${T0}\${T0}\${T0}\`;
type M = { [K in T1]: { [J in T1]: K } };
let m!: M;
let n: { [K in T1]: { [J in T1]: string } } = m;
return n;`;

/** Resident memory of process `pid` in bytes (0 when it is gone). */
function rssOf(pid: number): number {
  try {
    const kb = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+)/)?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Waits until the checker's standby is warm (at most 60 s). */
async function standbyWarm(checker: TypeChecker): Promise<void> {
  for (let i = 0; i < 600 && !checker.stats().standbyReady; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert(checker.stats().standbyReady, "the standby never became warm");
}

Deno.test({
  name:
    "typecheck process: a check stuck in one statement is killed for real; the standby takes over",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker({ timeoutMs: 300, killGraceMs: 0 });
    try {
      await checker.warm();
      await standbyWarm(checker);
      const before = checker.stats();
      assert(before.pid !== undefined && before.standbyPid !== undefined);
      const result = await checker.check({ tenant: "a", declarations: "", code: SLOW_STATEMENT });
      assertEquals(result.timedOut, true);
      const after = checker.stats();
      assertEquals(after.restarts, 1);
      // The warm standby is the active process now; a new standby is starting.
      assertEquals(after.pid, before.standbyPid);
      assert(after.standbyPid !== undefined && after.standbyPid !== before.pid);
      // The old process is gone: its pid no longer exists.
      assert(await gone(before.pid!), `the killed checker ${before.pid} is still running`);
      // Another tenant's check is served by the process that took over.
      const next = await checker.check({ tenant: "b", declarations: "", code: "return 1;" });
      assertEquals(next.ok, true);
      assertEquals(checker.stats().pid, before.standbyPid);
    } finally {
      await checker.close();
    }
  },
});

Deno.test({
  name: "typecheck process: a check past the heap cap ends only its process (limit: memory)",
  ...sanitize,
  async fn() {
    // A long budget: the heap cap, not the deadline, stops it.
    const checker = new TypeChecker({ timeoutMs: 30_000, memoryMb: 128 });
    try {
      await checker.warm();
      const pid = checker.stats().pid!;
      const result = await checker.check({ tenant: "a", declarations: "", code: memoryBomb() });
      assertEquals(result.ok, false);
      assertEquals("limit" in result ? result.limit : undefined, "memory");
      assertEquals(checker.stats().restarts, 1);
      assert(await gone(pid), `the checker ${pid} outlived its heap cap`);
      const next = await checker.check({ tenant: "b", declarations: "", code: "return 1;" });
      assertEquals(next.ok, true);
    } finally {
      await checker.close();
    }
  },
});

Deno.test({
  name: "typecheck process: the caller's memory stays bounded after several hostile checks",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker({ timeoutMs: 1000, killGraceMs: 200, memoryMb: 128 });
    try {
      await checker.warm();
      await checker.check({ tenant: "w", declarations: "", code: "return 1;" });
      const before = Deno.memoryUsage().rss;
      const killed: number[] = [];
      for (let i = 0; i < 4; i++) {
        killed.push(checker.stats().pid!);
        const code = i % 2 === 0 ? memoryBomb() : SLOW_STATEMENT;
        const result = await checker.check({ tenant: `t${i}`, declarations: "", code });
        assertEquals(result.ok, false);
      }
      assertEquals(checker.stats().restarts, 4);
      for (const pid of killed) assert(await gone(pid), `checker ${pid} is still running`);
      const grew = Deno.memoryUsage().rss - before;
      // Inside a Worker each of these left gigabytes behind in this process.
      assert(grew < 150 * 1024 * 1024, `the caller's RSS grew by ${grew} bytes`);
      // What runs now: the active process and the standby, each under its heap cap.
      const { pid, standbyPid } = checker.stats();
      const children = rssOf(pid!) + (standbyPid ? rssOf(standbyPid) : 0);
      assert(children < 2 * (128 + 256) * 1024 * 1024, `checker processes hold ${children} bytes`);
    } finally {
      await checker.close();
    }
  },
});

Deno.test({
  name: "typecheck process: code nested too deeply is that check's answer, not a crash",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker();
    try {
      await checker.warm();
      const pid = checker.stats().pid;
      const nests = [
        "const x = " + "[".repeat(3000) + "]".repeat(3000) + ";\nreturn 1;",
        "const x = " + "[".repeat(20000) + "]".repeat(20000) + ";\nreturn 1;",
        "const y = " + "(".repeat(5000) + "1" + ")".repeat(5000) + ";\nreturn y;",
        "type D = " + "Array<".repeat(4000) + "1" + ">".repeat(4000) + ";\nreturn 1;",
      ];
      for (const code of nests) {
        const result = await checker.check({ tenant: "a", declarations: "", code });
        assertEquals(result.ok, false);
        assertEquals("limit" in result ? result.limit : "checked", "depth");
      }
      // The same process, no restart; it still checks.
      assertEquals(checker.stats().restarts, 0);
      assertEquals(checker.stats().pid, pid);
      const next = await checker.check({ tenant: "a", declarations: "", code: "return 1;" });
      assertEquals(next.ok, true);
    } finally {
      await checker.close();
    }
  },
});

Deno.test({
  name: "typecheck process: after a kill the others go first; the tenant that caused it waits",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker({ timeoutMs: 300, killGraceMs: 0 });
    try {
      await checker.warm();
      await standbyWarm(checker);
      const standby = checker.stats().standbyPid;
      const order: string[] = [];
      const first = checker.check({ tenant: "attacker", declarations: "", code: SLOW_STATEMENT });
      const again = first.then(() =>
        checker.check({ tenant: "attacker", declarations: "", code: SLOW_STATEMENT })
          .then((r) => (order.push("attacker"), r))
      );
      // Queued while the attacker's first check runs.
      const victim = checker.check({ tenant: "victim", declarations: "", code: "return 1;" })
        .then((r) => (order.push("victim"), r));
      assertEquals((await first).timedOut, true);
      // The attacker's next check is sent first, yet the victim's is served before it, by
      // the standby that was warm when the first was killed.
      assertEquals((await victim).ok, true);
      assertEquals(checker.stats().pid, standby);
      assertEquals((await again).timedOut, true);
      assertEquals(order, ["victim", "attacker"]);
    } finally {
      await checker.close();
    }
  },
});

const hasCompiler = ["cc", "gcc", "clang"].some((name) =>
  ["/usr/bin", "/bin", "/usr/local/bin"].some((dir) => {
    try {
      return Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  })
);

Deno.test({
  name:
    "typecheck process: started like a sandbox (launcher): own group, 10 nicer, no core files, no capabilities",
  ignore: !hasCompiler || Deno.env.get("AIRLOCK_SANDBOX_LAUNCHER") === "0",
  ...sanitize,
  async fn() {
    assert(await prepareLauncher(), "the launcher was built");
    const checker = new TypeChecker({ timeoutMs: 5000 });
    try {
      await checker.warm();
      const pid = checker.stats().pid;
      assert(pid !== undefined);
      const fieldsOf = (p: number | string) => {
        const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      };
      const fields = fieldsOf(pid);
      assertEquals(Number(fields[1]), Deno.pid, "the gateway is its parent");
      assertEquals(Number(fields[2]), pid, "a process group of its own");
      assertEquals(
        Number(fields[16]),
        Math.min(19, Number(fieldsOf("self")[16]) + SANDBOX_NICENESS),
      );
      assertMatch(Deno.readTextFileSync(`/proc/${pid}/limits`), /Max core file size\s+0\s+0\s/);
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      // Before: a gateway run as root handed the checker its whole capability set.
      for (const field of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
        assertMatch(status, new RegExp(`${field}:\\s+0+\\n`), field);
      }
      assertMatch(status, /NoNewPrivs:\s+1\n/);
      // It still checks.
      assertEquals(
        (await checker.check({ tenant: "a", declarations: "", code: "return 1;" })).ok,
        true,
      );
    } finally {
      await checker.close();
    }
  },
});

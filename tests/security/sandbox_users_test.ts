/**
 * Sandbox users (sandbox/users.ts, `sandbox.uidRange`): a gateway running as root starts each
 * sandbox process under a user id of its own, so that a runtime escape, or a grant wider than
 * meant, reaches only what any user may read, not root's files. Checked on real processes
 * (their /proc status), through the launcher and through the util-linux chain, through a real
 * gateway over HTTP, and against bad settings. Needs root (skipped otherwise).
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { sandboxDenoChildren, startTestGateway, startWatchedRun, testSandbox } from "../helpers.ts";
import type { RunResult } from "../../sandbox/mod.ts";
import { launcherPath, prepareLauncher } from "../../sandbox/launcher.ts";
import {
  NoFreeUidError,
  othersCannotUse,
  SandboxUsers,
  usersProblem,
} from "../../sandbox/users.ts";
import { ConfigError, parseConfig } from "../../gateway/config.ts";
import { Gateway } from "../../gateway/gateway.ts";

const root = new URL("../..", import.meta.url).pathname;
const RANGE = { first: 2_000_100, last: 2_000_199 };

/**
 * Whether processes under other users can run here: as root, with the runtime directory's
 * parent (TMPDIR) searchable by them. Not so in a clone under /root with TMPDIR inside it:
 * those tests are then skipped (the gateway refuses such a setting with a clear error,
 * tested below).
 */
const asRoot = Deno.uid() === 0 &&
  othersCannotUse(Deno.env.get("TMPDIR") || "/tmp", true) === undefined;

/**
 * A Deno executable other users can run: this one, or (npx keeps it under /root/.npm, which
 * they cannot enter) a copy in a directory of its own, removed when the tests end.
 */
const DENO = (() => {
  if (!asRoot || othersCannotUse(Deno.execPath(), true) === undefined) return Deno.execPath();
  const dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "airlock-users-deno-" });
  Deno.chmodSync(dir, 0o755);
  Deno.copyFileSync(Deno.execPath(), `${dir}/deno`);
  Deno.chmodSync(`${dir}/deno`, 0o755);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return `${dir}/deno`;
})();
/** Whether the gateway's own Deno serves (a gateway has no other). */
const gatewayDenoUsable = DENO === Deno.execPath();

/**
 * {@link startWatchedRun}, waiting up to 30 s for the process (a first start here builds the
 * launcher and warms a template, which on a loaded CI machine took longer than its 3 s).
 */
async function watchedRun(
  sandbox: ReturnType<typeof testSandbox>,
  code?: string,
): Promise<{ pid: number; outcome: Promise<RunResult> }> {
  const run = await startWatchedRun(sandbox, code);
  let pid = run.pid;
  for (let i = 0; i < 3000 && pid === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    pid = (await sandboxDenoChildren())[0] ?? 0;
  }
  return { pid, outcome: run.outcome };
}

/** The real, effective, saved and file-system user ids, group ids and groups of `pid`. */
function credentials(pid: number): { uids: number[]; gids: number[]; groups: string } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const ids = (name: string) =>
    (new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)?.[1] ?? "").trim().split(/\s+/)
      .map(Number);
  const groups = (/^Groups:(.*)$/m.exec(status)?.[1] ?? "").trim();
  return { uids: ids("Uid"), gids: ids("Gid"), groups };
}

/** Code that uses what a process needs of its own files: an import, localStorage, the cache. */
const BUSY_CODE = `
  localStorage.setItem("k", "v".repeat(1000));
  const m = await import("data:application/javascript,export default 41");
  await new Promise((r) => setTimeout(r, 800));
  return m.default + Number(localStorage.getItem("k")!.length === 1000);`;

/**
 * Runs `source` as a script of its own (a fresh Deno process from the repository root, with
 * its deno.json), for what only a new process shows (an environment variable read at start,
 * a controlling terminal): directly with `env` added, or, with `inTerminal`, under `script`
 * (a pseudo-terminal, stdin closed). Returns the JSON the script printed after `REPORT `;
 * fails with its output when it printed none. Its directory is removed afterwards.
 */
async function runScript<Report>(
  prefix: string,
  source: string,
  options: { env?: Record<string, string>; inTerminal?: boolean } = {},
): Promise<Report> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await Deno.writeTextFile(`${dir}/run.ts`, source);
    const args = ["run", "-A", "--no-check", "--config", `${root}deno.json`, `${dir}/run.ts`];
    const output = await (options.inTerminal
      ? new Deno.Command("script", {
        args: ["-qec", [Deno.execPath(), ...args].join(" "), "/dev/null"],
        cwd: root,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      })
      : new Deno.Command(Deno.execPath(), {
        args,
        env: options.env,
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      })).output();
    const text = new TextDecoder().decode(output.stdout);
    const line = text.split("\n").find((l) => l.startsWith("REPORT "));
    assert(line, text + new TextDecoder().decode(output.stderr).slice(-2000));
    return JSON.parse(line.slice(7));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sandbox users: ids are handed out in turn, never two at once, and given back", () => {
  const users = new SandboxUsers({ first: 10, last: 12 });
  const after = (id: number) => id === 12 ? 10 : id + 1;
  // The first id is drawn at random (two gateways on one range rarely meet), then in turn.
  const a = users.take();
  const b = users.take();
  assertEquals(b, after(a));
  users.give(a);
  assertEquals(users.take(), after(b), "the next id in turn, not the one just given back");
  assertEquals(users.take(), a);
  assert(assertThrows(() => users.take()) instanceof NoFreeUidError);
  users.give(b);
  assertEquals(users.take(), b);
  const starts = new Set(
    Array.from({ length: 40 }, () => new SandboxUsers({ first: 1000, last: 1999 }).take()),
  );
  assert(starts.size > 30, "gateways start at different ids");
  for (const bad of [{ first: 0, last: 5 }, { first: 5, last: 4 }, { first: 1, last: 2 ** 31 }]) {
    assert(assertThrows(() => new SandboxUsers(bad)) instanceof RangeError);
  }
});

Deno.test({
  name:
    "sandbox users: each process runs under an id of the range, with no groups and no capabilities, and its code still imports, caches and stores",
  ignore: !asRoot,
  fn: async () => {
    await prepareLauncher();
    const sandbox = testSandbox({ concurrency: 2, uidRange: RANGE, denoPath: DENO });
    try {
      const first = await watchedRun(sandbox, BUSY_CODE);
      const second = sandbox.run({ code: BUSY_CODE });
      assert(first.pid > 0, "a sandbox process is running");
      const seen = credentials(first.pid);
      const uid = seen.uids[0];
      assert(uid >= RANGE.first && uid <= RANGE.last, `uid ${uid} is in the range`);
      assertEquals(seen.uids, [uid, uid, uid, uid], "real, effective, saved and file-system");
      assertEquals(seen.gids, [uid, uid, uid, uid]);
      assertEquals(seen.groups, "", "no supplementary groups");
      assertMatch(
        Deno.readTextFileSync(`/proc/${first.pid}/status`),
        /^CapEff:\s+0+$/m,
      );
      const outcomes = await Promise.all([first.outcome, second]);
      for (const outcome of outcomes) assertEquals(outcome.result, 42, JSON.stringify(outcome));
    } finally {
      await sandbox.close();
    }
  },
});

Deno.test({
  name:
    "sandbox users: a grant reaches only what other users may read (root's own files stay closed)",
  ignore: !asRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "airlock-users-" });
    await Deno.chmod(dir, 0o755);
    await Deno.writeTextFile(`${dir}/open.txt`, "open", { mode: 0o644 });
    await Deno.writeTextFile(`${dir}/root-only.txt`, "root's secret", { mode: 0o600 });
    await Deno.chmod(`${dir}/root-only.txt`, 0o600);
    const code = `const read = async (p) => { try { return await Deno.readTextFile(p); }
      catch (e) { return e.name; } };
      return [await read(${JSON.stringify(`${dir}/open.txt`)}),
              await read(${JSON.stringify(`${dir}/root-only.txt`)})];`;
    try {
      // As the gateway's user (root without capabilities), the grant reaches root's file.
      const asGateway = testSandbox({ allowRead: [dir] });
      try {
        assertEquals((await asGateway.run({ code })).result, ["open", "root's secret"]);
      } finally {
        await asGateway.close();
      }
      const asOther = testSandbox({ allowRead: [dir], uidRange: RANGE, denoPath: DENO });
      try {
        assertEquals((await asOther.run({ code })).result, ["open", "PermissionDenied"]);
      } finally {
        await asOther.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sandbox users: ids are given back, so a small range serves many executions",
  ignore: !asRoot,
  fn: async () => {
    const sandbox = testSandbox({
      concurrency: 1,
      poolSize: 1,
      uidRange: { first: RANGE.first, last: RANGE.first + 3 },
      denoPath: DENO,
    });
    await sandbox.start();
    try {
      for (let i = 0; i < 8; i++) {
        assertEquals((await sandbox.run({ code: `return ${i}` })).result, i);
      }
    } finally {
      await sandbox.close();
    }
  },
});

Deno.test({
  name:
    "sandbox users: without the launcher nothing runs under another id (the chain's traceable bash could be kept from killing leftovers)",
  ignore: !asRoot,
  fn: async () => {
    // Red team l4: after setpriv's exec the chain's bash was dumpable under the reused id, so a
    // leftover traced it and skipped its `kill -9 -1`. Only the launcher starts other users.
    const report = await runScript<{ ok: boolean; why: string }>(
      "airlock-users-chain-",
      `import { testSandbox } from "${root}tests/helpers.ts";
const sandbox = testSandbox({ concurrency: 1, uidRange: ${JSON.stringify(RANGE)}, denoPath: ${
        JSON.stringify(DENO)
      } });
let ok = false, why = "";
try {
  ok = (await sandbox.run({ code: "return 1" })).ok;
} catch (error) {
  why = String(error.cause ?? error);
}
console.log("REPORT " + JSON.stringify({ ok, why }));
await sandbox.close();
Deno.exit(0);`,
      { env: { AIRLOCK_SANDBOX_LAUNCHER: "0" } },
    );
    assertEquals(report.ok, false, "no execution ran");
    assertMatch(report.why, /launcher is not available/);
    assertMatch(
      usersProblem({
        range: RANGE,
        processes: 4,
        deno: Deno.execPath(),
        allowRead: [],
        setpriv: true,
        launcher: false,
      }) ?? "",
      /needs the sandbox launcher/,
    );
  },
});

Deno.test({
  name:
    "sandbox users: what runs under the id when its execution ends (an escape's own session) is killed then",
  ignore: !asRoot || !hasProgram("setpriv") || !hasProgram("setsid"),
  fn: async () => {
    // Red team l4: a child an escaped sandbox started with setsid outlived its execution and
    // the gateway: the id went back to the pool with it running.
    const uid = RANGE.last - 2;
    await prepareLauncher();
    const sandbox = testSandbox({
      concurrency: 1,
      uidRange: { first: uid, last: uid },
      denoPath: DENO,
    });
    let escaped: Deno.ChildProcess | undefined;
    try {
      const { pid, outcome } = await watchedRun(sandbox);
      assert(pid > 0);
      assertEquals(credentials(pid).uids[0], uid);
      escaped = leftover(uid, ["setsid", "sleep", "60"]);
      assertEquals((await outcome).result, 1);
      await sandbox.close();
      const status = await Promise.race([
        escaped.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000)),
      ]);
      assertEquals(status?.signal, "SIGKILL", "the escaped process is killed with its execution");
    } finally {
      try {
        escaped?.kill("SIGKILL");
      } catch { /* gone */ }
      await escaped?.status;
      await sandbox.close();
    }
  },
});

Deno.test({
  name: "sandbox users: a real gateway over HTTP runs executions under the range",
  ignore: !asRoot || !gatewayDenoUsable,
  fn: async () => {
    const gateway = await startTestGateway({
      sandbox: { uidRange: [RANGE.first, RANGE.last] },
    });
    try {
      const reply = await gateway.execute(BUSY_CODE);
      assertEquals(reply.result, 42, JSON.stringify(reply));
    } finally {
      await gateway.close();
    }
  },
});

/** Whether `name` is a program in /usr/bin or /bin. */
function hasProgram(name: string): boolean {
  return ["/usr/bin/", "/bin/"].some((dir) => {
    try {
      return Deno.statSync(dir + name).isFile;
    } catch {
      return false;
    }
  });
}

/** setpriv's arguments to run as `uid`: its own id as group, no supplementary groups. */
const asUid = (uid: number) => [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];

/** Starts `args` under `uid` (setpriv), detached, as a runtime escape's leftover would run. */
function leftover(uid: number, args: string[]): Deno.ChildProcess {
  return new Deno.Command("setpriv", {
    args: [...asUid(uid), ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

Deno.test({
  name:
    "sandbox users: what an earlier holder of the id left running is killed before the id is used again",
  ignore: !asRoot || !hasProgram("setpriv"),
  fn: async () => {
    const uid = RANGE.last;
    const sleeper = leftover(uid, ["sleep", "60"]);
    try {
      // A range of this one id: the next process must run under it.
      assertEquals((await runUnder(uid, "return 7")).result, 7);
      const status = await Promise.race([
        sleeper.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000)),
      ]);
      assert(status !== undefined, "the leftover still runs under the id");
      assertEquals(status.signal, "SIGKILL");
    } finally {
      try {
        sleeper.kill("SIGKILL");
      } catch { /* gone */ }
      await sleeper.status;
    }
  },
});

/** Runs `args` under `uid` (setpriv) to its end; returns its standard output, trimmed. */
async function outputAs(uid: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("setpriv", {
    args: [...asUid(uid), ...args],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Runs `code` in a sandbox of one process whose range is the one id `uid` (so it runs under
 * it), and closes the sandbox.
 */
async function runUnder(uid: number, code: string): Promise<RunResult> {
  const sandbox = testSandbox({
    concurrency: 1,
    uidRange: { first: uid, last: uid },
    denoPath: DENO,
  });
  try {
    return await sandbox.run({ code });
  } finally {
    await sandbox.close();
  }
}

/** Builds `source` with the system's C compiler into a temporary directory. */
async function buildC(source: string): Promise<{ path: string; dir: string } | undefined> {
  const cc = ["cc", "gcc", "clang"].find(hasProgram);
  if (cc === undefined) return undefined;
  const dir = await Deno.makeTempDir({ prefix: "airlock-users-cc-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/probe.c`, source);
  const built = await new Deno.Command(cc, {
    args: ["-O1", "-o", `${dir}/probe`, `${dir}/probe.c`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(built.success, new TextDecoder().decode(built.stderr));
  return { path: `${dir}/probe`, dir };
}

/** Puts (`put`) or looks up (`get`) a key in the user keyring; prints `found` or `none`. */
const KEYRING_PROBE = `#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "put") == 0) {
    long k = syscall(SYS_add_key, "user", "airlock-users-test", "left", 4, KEY_SPEC_USER_KEYRING);
    printf(k > 0 ? "put\\n" : "failed\\n");
    return 0;
  }
  long k = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", "airlock-users-test", 0);
  printf(k > 0 ? "found\\n" : "none\\n");
  return 0;
}
`;

Deno.test({
  name: "sandbox users: a key an earlier holder of the id left in its keyring is gone",
  ignore: !asRoot || !hasProgram("setpriv"),
  fn: async () => {
    const probe = await buildC(KEYRING_PROBE);
    if (probe === undefined) return; // no compiler: no launcher either (the chain is documented)
    const uid = RANGE.last - 1;
    const run = async (what: string) => {
      const child = leftover(uid, []);
      await child.status; // (setpriv without a program: nothing ran)
      return await outputAs(uid, [probe.path, what]);
    };
    try {
      assertEquals(await run("put"), "put");
      assertEquals(await run("get"), "found", "a user keyring outlives the process");
      assertEquals((await runUnder(uid, "return 8")).result, 8);
      assertEquals(await run("get"), "none");
    } finally {
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});

/** Makes System V IPC objects (`make`) or locks the user keyring (`lock`), as the caller. */
const ID_POISON = `#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "lock") == 0) {
    long k = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 1);
    printf(syscall(SYS_keyctl, KEYCTL_SETPERM, k, 0x3b0b0000) == 0 ? "locked\\n" : "failed\\n");
    return 0;
  }
  int a = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  int b = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  int c = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  printf(a >= 0 && b >= 0 && c >= 0 ? "made\\n" : "failed\\n");
  return 0;
}
`;

/**
 * The System V IPC objects (the shm, msg and sem tables of /proc/sysvipc; a table that cannot
 * be read is skipped), each with its id (the second column) and its numeric fields by column.
 */
function ipcObjects(): Array<{ id: number; field(column: string): number }> {
  const objects: Array<{ id: number; field(column: string): number }> = [];
  for (const table of ["shm", "msg", "sem"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(`/proc/sysvipc/${table}`);
    } catch {
      continue;
    }
    const [header, ...rows] = text.trim().split("\n");
    const columns = header.trim().split(/\s+/);
    for (const row of rows) {
      const fields = row.trim().split(/\s+/);
      objects.push({
        id: Number(fields[1]),
        field: (column) => Number(fields[columns.indexOf(column)]),
      });
    }
  }
  return objects;
}

/** System V IPC objects (shm, msg, sem) `uid` owns, from /proc/sysvipc. */
function ipcOwnedBy(uid: number): number {
  return ipcObjects().filter((o) => o.field("uid") === uid).length;
}

Deno.test({
  name:
    "sandbox users: System V IPC objects an earlier holder of the id made are removed before reuse",
  ignore: !asRoot || !hasProgram("setpriv"),
  fn: async () => {
    // Red team m4: a message queue and a shared memory segment survived the reap and were
    // read by the id's next holder (PrivateTmp= does not reach them).
    const probe = await buildC(ID_POISON);
    if (probe === undefined) return;
    const uid = RANGE.last - 3;
    try {
      assertEquals(await outputAs(uid, [probe.path, "make"]), "made");
      // (At least: a run of the old code left its own behind.)
      assert(ipcOwnedBy(uid) >= 3, "the objects are there");
      assertEquals((await runUnder(uid, "return 9")).result, 9);
      assertEquals(ipcOwnedBy(uid), 0);
    } finally {
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "sandbox users: an id whose keyring an escape locked is given up; the launcher and other ids keep working",
  ignore: !asRoot || !hasProgram("setpriv"),
  fn: async () => {
    // Red team m4: KEYCTL_SETPERM on its own user keyring made every start and reap under the
    // id fail with the launcher's own status, which turned the launcher off: every later
    // execution failed.
    const probe = await buildC(ID_POISON);
    if (probe === undefined) return;
    // Outside RANGE: the lock outlives the test (until reboot), and no other test may draw it.
    const poisoned = RANGE.last + 51;
    try {
      assertEquals(await outputAs(poisoned, [probe.path, "lock"]), "locked");
      await prepareLauncher();
      const one = testSandbox({
        concurrency: 1,
        uidRange: { first: poisoned, last: poisoned },
        denoPath: DENO,
      });
      try {
        for (let i = 0; i < 4; i++) {
          const ran = await one.run({ code: "return 1" }).then((r) => r.ok, () => false);
          assertEquals(ran, false, "nothing runs under the poisoned id");
        }
      } finally {
        await one.close();
      }
      assert(launcherPath(), "the launcher is still in use");
      const other = testSandbox({ concurrency: 1, uidRange: RANGE, denoPath: DENO });
      try {
        assertEquals((await other.run({ code: "return 2" })).result, 2);
      } finally {
        await other.close();
      }
    } finally {
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});

/**
 * Leaves what a runtime escape under the id could leave for the id's next holder (red team
 * rt-n3, B6 and B7), or reads it back. `hand`: a shared memory segment, a message queue (with
 * a message) and a semaphore set, each handed to owner 65534 with mode 0666 by IPC_SET (the
 * creator stays the id). `keys`: a key in the user-session keyring and one in the persistent
 * keyring. `read`: prints `persistent: found|none`, `user-session: found|none`. (The
 * persistent keyring cannot be locked by its owner: it lacks the permission to change its
 * permissions.)
 */
const LEFTOVERS = `#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *SECRET = "left by the id's previous holder";
static void found(const char *where, long ring, const char *name) {
  long k = ring < 0 ? -1 : syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "user", name, 0);
  printf("%s: %s\\n", where, k > 0 ? "found" : "none");
}
int main(int argc, char **argv) {
  long persistent = syscall(SYS_keyctl, KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_PROCESS_KEYRING);
  if (strcmp(argv[1], "hand") == 0) {
    int a = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    int b = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    int c = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct { long type; char text[64]; } m = { 1, "" };
    strcpy(m.text, SECRET);
    if (a < 0 || b < 0 || c < 0 || msgsnd(b, &m, sizeof m.text, 0) != 0) { printf("failed\\n"); return 0; }
    struct shmid_ds s; struct msqid_ds q; struct semid_ds e; union { int v; struct semid_ds *buf; } arg = { .buf = &e };
    shmctl(a, IPC_STAT, &s); s.shm_perm.uid = s.shm_perm.gid = 65534; s.shm_perm.mode = 0666;
    msgctl(b, IPC_STAT, &q); q.msg_perm.uid = q.msg_perm.gid = 65534; q.msg_perm.mode = 0666;
    semctl(c, 0, IPC_STAT, arg); e.sem_perm.uid = e.sem_perm.gid = 65534; e.sem_perm.mode = 0666;
    int ok = shmctl(a, IPC_SET, &s) == 0 && msgctl(b, IPC_SET, &q) == 0 && semctl(c, 0, IPC_SET, arg) == 0;
    printf(ok ? "handed\\n" : "failed\\n");
    return 0;
  }
  if (strcmp(argv[1], "keys") == 0) {
    long u = syscall(SYS_add_key, "user", "airlock-us", SECRET, strlen(SECRET), KEY_SPEC_USER_SESSION_KEYRING);
    long p = persistent < 0 ? -1 : syscall(SYS_add_key, "user", "airlock-p", SECRET, strlen(SECRET), persistent);
    printf(u > 0 && p > 0 ? "put\\n" : "failed\\n");
    return 0;
  }
  found("persistent", persistent, "airlock-p");
  found("user-session", KEY_SPEC_USER_SESSION_KEYRING, "airlock-us");
  return 0;
}
`;

/** System V IPC objects (shm, msg, sem) `uid` created (the `cuid` column of /proc/sysvipc). */
function ipcCreatedBy(uid: number): number[] {
  return ipcObjects().filter((o) => o.field("cuid") === uid).map((o) => o.id);
}

Deno.test({
  name:
    "sandbox users: IPC objects an earlier holder of the id created are removed even when it handed them to another owner",
  ignore: !asRoot || !hasProgram("setpriv"),
  fn: async () => {
    // Red team rt-n3 B6: the reap matched the owner only; a leftover set owner 65534 and its
    // segment was read by the id's next holder (and no reap would ever remove it).
    const probe = await buildC(LEFTOVERS);
    if (probe === undefined) return;
    const uid = RANGE.last - 5;
    try {
      assertEquals(await outputAs(uid, [probe.path, "hand"]), "handed");
      assert(ipcCreatedBy(uid).length >= 3, "the objects are there");
      assertEquals(ipcOwnedBy(uid), 0, "none is owned by the id any more");
      assertEquals((await runUnder(uid, "return 10")).result, 10);
      assertEquals(ipcCreatedBy(uid), []);
    } finally {
      for (const id of ipcCreatedBy(uid)) {
        for (const kind of ["-m", "-q", "-s"]) {
          await new Deno.Command("ipcrm", { args: [kind, String(id)], stderr: "null" }).output();
        }
      }
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "sandbox users: keys an earlier holder of the id left in its persistent and user-session keyrings are gone",
  ignore: !asRoot || !hasProgram("setpriv"),
  fn: async () => {
    // Red team rt-n3 B7: only the user keyring was emptied; the persistent keyring (kept by the
    // kernel for 3 days) handed a leftover's key to the id's next holder.
    const probe = await buildC(LEFTOVERS);
    if (probe === undefined) return;
    const uid = RANGE.last - 6;
    try {
      assertEquals(await outputAs(uid, [probe.path, "keys"]), "put");
      // The persistent keyring outlives the process; the user-session keyring did once in
      // the red team's runs (its life follows the id's kernel user record).
      assertMatch(await outputAs(uid, [probe.path, "read"]), /^persistent: found\n/);
      assertEquals((await runUnder(uid, "return 11")).result, 11);
      assertEquals(
        await outputAs(uid, [probe.path, "read"]),
        "persistent: none\nuser-session: none",
      );
    } finally {
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "sandbox users: a sandbox never keeps the terminal of a gateway started in one (with or without a range)",
  ignore: !asRoot || !hasProgram("script"),
  fn: async () => {
    const report = await runScript<Record<string, number>>(
      "airlock-users-tty-",
      `import { sandboxDenoChildren, startWatchedRun, testSandbox } from "${root}tests/helpers.ts";
import { prepareLauncher } from "${root}sandbox/launcher.ts";
await prepareLauncher();
const tty = (pid: number | string) => { const s = Deno.readTextFileSync(\`/proc/\${pid}/stat\`);
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[4]); };
const out: Record<string, number> = { gateway: tty("self") };
for (const [name, uidRange] of [["plain", undefined], ["range", ${
        JSON.stringify(RANGE)
      }]] as const) {
  const sandbox = testSandbox({ concurrency: 1, uidRange, denoPath: ${JSON.stringify(DENO)} });
  const run = await startWatchedRun(sandbox);
  let pid = run.pid;
  // Up to 30 s: a loaded CI machine took longer than startWatchedRun's 3 s.
  for (let i = 0; i < 3000 && pid === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    pid = (await sandboxDenoChildren())[0] ?? 0;
  }
  const outcome = run.outcome;
  out[name] = tty(pid);
  await outcome;
  await sandbox.close();
}
console.log("REPORT " + JSON.stringify(out));
Deno.exit(0);`,
      { inTerminal: true },
    );
    assert(report.gateway !== 0, "the gateway runs in a terminal");
    assertEquals([report.plain, report.range], [0, 0], "no sandbox has it");
  },
});

Deno.test("sandbox users: settings that cannot work are refused with a clear error", async () => {
  for (const range of [[0, 100], [200, 100], [1, 2 ** 31]]) {
    const error = assertThrows(() => parseConfig({ sandbox: { uidRange: range } }), /uidRange/);
    assert(error instanceof ConfigError);
  }
  const closed = await Deno.makeTempDir({ prefix: "airlock-users-closed-" });
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      // 2 × (concurrency 4 + poolMax 8) + 2 ids at least.
      [
        { uidRange: [RANGE.first, RANGE.first + 24] },
        Deno.uid() === 0 ? /at least 26/ : /root/,
      ],
      [
        { uidRange: [RANGE.first, RANGE.last], allowRead: [closed] },
        // (Where other users cannot reach TMPDIR or run this Deno, that is said first.)
        Deno.uid() !== 0
          ? /root/
          : !asRoot
          ? /TMPDIR/
          : gatewayDenoUsable
          ? /allowRead.*does not let other users/
          : /Deno executable/,
      ],
    ];
    // A range over an account's or a group's id (a sandbox would be that user or group).
    const passwd = Deno.readTextFileSync("/etc/passwd").split("\n")
      .map((l) => l.split(":")).find((f) => Number(f[2]) > 0 && Number(f[2]) < 60_000);
    if (passwd && Deno.uid() === 0) {
      const id = Number(passwd[2]);
      cases.push([
        { uidRange: [id, id + 40] },
        new RegExp(`includes (user|group) \\S+ \\(\\d+\\)`),
      ]);
    }
    for (const [sandbox, message] of cases) {
      const config = parseConfig({ servers: {}, audit: { path: ":memory:" }, sandbox });
      const error = assertThrows(() => new Gateway(config, { logger: () => {} }), message);
      assert(error instanceof ConfigError);
    }
  } finally {
    await Deno.remove(closed, { recursive: true });
  }
});

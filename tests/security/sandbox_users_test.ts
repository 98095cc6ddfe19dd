/**
 * Sandbox users (sandbox/users.ts, `sandbox.uidRange`): a gateway running as root starts each
 * sandbox process under a user id of its own, so that a runtime escape, or a grant wider than
 * meant, reaches only what any user may read, not root's files. Checked on real processes
 * (their /proc status), through the launcher and through the util-linux chain, through a real
 * gateway over HTTP, and against bad settings. Needs root (skipped otherwise).
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { startTestGateway, startWatchedRun, testSandbox } from "../helpers.ts";
import { prepareLauncher } from "../../sandbox/launcher.ts";
import { NoFreeUidError, SandboxUsers } from "../../sandbox/users.ts";
import { ConfigError, parseConfig } from "../../gateway/config.ts";
import { Gateway } from "../../gateway/gateway.ts";

const asRoot = Deno.uid() === 0;
const root = new URL("../..", import.meta.url).pathname;
const RANGE = { first: 2_000_100, last: 2_000_199 };

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

Deno.test("sandbox users: ids are handed out in turn, never two at once, and given back", () => {
  const users = new SandboxUsers({ first: 10, last: 12 });
  assertEquals([users.take(), users.take()], [10, 11]);
  users.give(10);
  assertEquals(users.take(), 12, "the next id in turn, not the one just given back");
  assertEquals(users.take(), 10);
  assert(assertThrows(() => users.take()) instanceof NoFreeUidError);
  users.give(11);
  assertEquals(users.take(), 11);
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
    const sandbox = testSandbox({ concurrency: 2, uidRange: RANGE });
    try {
      const first = await startWatchedRun(sandbox, BUSY_CODE);
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
      const asOther = testSandbox({ allowRead: [dir], uidRange: RANGE });
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
  name: "sandbox users: the util-linux chain (no launcher) runs processes under the range too",
  ignore: !asRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "airlock-users-chain-" });
    try {
      await Deno.writeTextFile(
        `${dir}/run.ts`,
        `import { startWatchedRun, testSandbox } from "${root}tests/helpers.ts";
const sandbox = testSandbox({ concurrency: 1, uidRange: ${JSON.stringify(RANGE)} });
const { pid, outcome } = await startWatchedRun(sandbox, ${JSON.stringify(BUSY_CODE)});
const status = Deno.readTextFileSync(\`/proc/\${pid}/status\`);
console.log("REPORT " + JSON.stringify({ uid: /^Uid:\\s+(\\d+)/m.exec(status)?.[1],
  groups: /^Groups:(.*)$/m.exec(status)?.[1].trim(), result: (await outcome).result }));
await sandbox.close();
Deno.exit(0);`,
      );
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", "--config", `${root}deno.json`, `${dir}/run.ts`],
        env: { AIRLOCK_SANDBOX_LAUNCHER: "0" },
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(output.stdout);
      const line = text.split("\n").find((l) => l.startsWith("REPORT "));
      assert(line, text + new TextDecoder().decode(output.stderr).slice(-2000));
      const report = JSON.parse(line.slice(7));
      const uid = Number(report.uid);
      assert(uid >= RANGE.first && uid <= RANGE.last, `uid ${uid} is in the range`);
      assertEquals(report.groups, "");
      assertEquals(report.result, 42);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sandbox users: a real gateway over HTTP runs executions under the range",
  ignore: !asRoot,
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

Deno.test("sandbox users: settings that cannot work are refused with a clear error", async () => {
  for (const range of [[0, 100], [200, 100], [1, 2 ** 31]]) {
    const error = assertThrows(() => parseConfig({ sandbox: { uidRange: range } }), /uidRange/);
    assert(error instanceof ConfigError);
  }
  const closed = await Deno.makeTempDir({ prefix: "airlock-users-closed-" });
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      // concurrency 4 + poolMax 8 + 2 ids at least.
      [{ uidRange: [RANGE.first, RANGE.first + 9] }, asRoot ? /at least 14/ : /root/],
      [
        { uidRange: [RANGE.first, RANGE.last], allowRead: [closed] },
        asRoot ? /allowRead.*does not let other users/ : /root/,
      ],
    ];
    for (const [sandbox, message] of cases) {
      const config = parseConfig({ servers: {}, audit: { path: ":memory:" }, sandbox });
      const error = assertThrows(() => new Gateway(config, { logger: () => {} }), message);
      assert(error instanceof ConfigError);
    }
  } finally {
    await Deno.remove(closed, { recursive: true });
  }
});

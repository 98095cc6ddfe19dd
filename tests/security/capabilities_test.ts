/**
 * A sandbox process holds no capabilities and cannot gain any (red team, 2026-11-30): a
 * gateway run as root (the development machine, most containers) started every sandbox as
 * uid 0 with its full capability set (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, …)
 * and no-new-privileges off, leaving the runtime's permission checks the only layer. Runs
 * with the launcher and, from launcher_test.ts, with the util-linux chain.
 */

import { assert, assertEquals } from "../assert.ts";
import { startWatchedRun, testSandbox } from "../helpers.ts";
import { prepareLauncher } from "../../sandbox/launcher.ts";

Deno.test("capabilities: a sandbox process holds no capabilities, with no-new-privileges on", async () => {
  await prepareLauncher();
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const { pid, outcome } = await startWatchedRun(sandbox);
    assert(pid > 0, "a sandbox process is running");
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(\\S+)`, "m"))?.[1];
    const sets = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map((n) => [n, field(n)]);
    // Observed as root before: CapPrm, CapEff and CapBnd 000001fffeffffff, NoNewPrivs 0.
    for (const [name, value] of sets) {
      // Only a privileged process can empty its bounding set; one without capabilities
      // gains none with no-new-privileges on anyway.
      if (name === "CapBnd" && Deno.uid() !== 0) continue;
      assertEquals(BigInt(`0x${value ?? "0"}`), 0n, `${name} ${value}`);
    }
    assertEquals(field("NoNewPrivs"), "1");
    assertEquals((await outcome).result, 1);
  } finally {
    await sandbox.close();
  }
});

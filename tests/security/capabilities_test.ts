/**
 * A sandbox process holds no capabilities and cannot gain any (red team, 2026-11-30): a
 * gateway run as root (the development machine, most containers) started every sandbox as
 * uid 0 with its full capability set (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, …)
 * and no-new-privileges off, leaving the runtime's permission checks the only layer. Runs
 * with the launcher and, from launcher_test.ts, with the util-linux chain.
 */

import { assertEquals } from "../assert.ts";
import { sandboxDenoChildren, testSandbox } from "../helpers.ts";
import { prepareLauncher } from "../../sandbox/launcher.ts";

Deno.test("capabilities: a sandbox process holds no capabilities, with no-new-privileges on", async () => {
  await prepareLauncher();
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const running = sandbox.run({
      code: "await new Promise((r) => setTimeout(r, 800)); return 1;",
    });
    running.catch(() => {}); // awaited below; a failed assertion first must not leave it dangling
    let pids: number[] = [];
    for (let i = 0; i < 300 && pids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      pids = await sandboxDenoChildren();
    }
    assertEquals(pids.length, 1);
    const status = Deno.readTextFileSync(`/proc/${pids[0]}/status`);
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
    assertEquals((await running).result, 1);
  } finally {
    await sandbox.close();
  }
});

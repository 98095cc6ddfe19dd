/**
 * What the runtime reads from the host on the code's behalf, without a permission (red team
 * f3): the DNS resolver of /etc/resolv.conf, named by the permission error of
 * `Deno.resolveDns` without a `nameServer`, and the host's time zone (/etc/localtime), read by
 * `Intl` and `Date`. Neither reaches the code: `Deno.resolveDns` needs a `nameServer`, and the
 * sandbox's clock reads UTC.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { testSandbox } from "../helpers.ts";

Deno.test("host info: the code never learns the host's DNS resolver", async () => {
  const conf = await Deno.readTextFile("/etc/resolv.conf").catch(() => "");
  const servers = [...conf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const run = await sandbox.run({
      code: `const seen: string[] = [];
        for (const type of ["A", "AAAA", "TXT", "MX"] as const) {
          try { await Deno.resolveDns("example.com", type); seen.push("resolved"); }
          catch (e) { seen.push(String(e)); }
        }
        try { await Deno.resolveDns("example.com", "A", {}); } catch (e) { seen.push(String(e)); }
        // With a server named, the permission check names that server only.
        try {
          await Deno.resolveDns("example.com", "A", { nameServer: { ipAddr: "192.0.2.53", port: 53 } });
        } catch (e) { seen.push(String(e)); }
        return seen;`,
    });
    assertEquals(run.error, undefined, JSON.stringify(run.error));
    const seen = run.result as string[];
    for (const server of servers) {
      // Before: `Requires net access to "10.255.255.53:53"`, the host's first nameserver.
      assert(!seen.some((s) => s.includes(server)), `the host's resolver ${server}: ${seen}`);
    }
    for (const text of seen.slice(0, 5)) assertMatch(text, /NotCapable: .*nameServer/);
    assertMatch(seen[5], /192\.0\.2\.53:53/);
  } finally {
    await sandbox.close();
  }
});

Deno.test("host info: the code's clock reads UTC, not the host's time zone", async () => {
  const sandbox = testSandbox({ concurrency: 1 });
  try {
    const run = await sandbox.run({
      code: `return [Intl.DateTimeFormat().resolvedOptions().timeZone,
        new Date(0).getTimezoneOffset()];`,
    });
    assertEquals(run.result, ["UTC", 0]);
  } finally {
    await sandbox.close();
  }
});

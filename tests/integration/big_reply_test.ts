/**
 * A tool reply too large to parse is dropped without taking its server down: the call that
 * asked for it fails with a clear error, other calls to the same server (another tenant's)
 * carry on, and the server is not restarted. Real gateway, real MCP server.
 */
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";

Deno.test("an oversized tool reply fails its own call only; the server keeps serving", async () => {
  const gw = await startTestGateway({
    servers: { ledger: fixtureServer("ledger") },
    sandbox: { timeoutMs: 20_000 },
  });
  try {
    const [big, other] = await Promise.all([
      gw.execute(`
        const outcomes = [];
        for (const bytes of [9_000_000, 20_000_000]) {
          try { await ledger.big({ bytes }); outcomes.push("ok"); }
          catch (e) { outcomes.push(e.message); }
        }
        return outcomes;`),
      gw.execute(`
        const done = [];
        for (let i = 0; i < 20; i++) {
          await ledger.write({ key: "w" + i, delayMs: 20 });
          done.push(i);
        }
        return done.length;`),
    ]);
    assert(big.ok, JSON.stringify(big.error));
    for (const message of big.result as string[]) {
      assert(/longer than \d+ characters/.test(message), message);
    }
    assert(other.ok, JSON.stringify(other.error));
    assertEquals(other.result, 20);
    const status = gw.gateway.upstream.status().find((s) => s.name === "ledger")!;
    assertEquals(status.state, "ready");
    assertEquals(status.restarts, 0);
    // Its state survived: the writes are still there.
    const ledger = await gw.execute(`return (await ledger.ledger({})).writes.length;`);
    assertEquals(ledger.result, 20);
    // A reply under the cap still arrives whole.
    const fits = await gw.execute(`return (await ledger.big({ bytes: 4_000_000 })).length;`);
    assertEquals(fits.result, 4_000_000);
  } finally {
    await gw.close();
  }
});

Deno.test("a server that announces tool-list changes nonstop gets its list read at most once a second", async () => {
  const gw = await startTestGateway({
    servers: { storm: fixtureServer("ledger", ["--storm"]) },
    // The counter must be read when the code calls, not prefetched at the execution's start:
    // the window measured below would then grow by the execution's start-up time.
    speculation: { enabled: false },
  });
  try {
    const first = await gw.execute(`return (await storm.ledger({})).lists;`);
    // The window between the two reads is at most the time from the first request's answer
    // to the second's (2 s plus the second execution's start, seconds on a loaded machine).
    const from = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const later = await gw.execute(`return (await storm.ledger({})).lists;`);
    const windowS = (performance.now() - from) / 1000;
    const reads = (later.result as number) - (first.result as number);
    // 50 announcements a second; at most one read a second, plus one in flight at each end.
    const most = Math.ceil(windowS) + 2;
    assert(reads <= most, `${reads} tools/list requests in ${windowS.toFixed(1)} s (most ${most})`);
    assert(reads >= 1, "changes are still picked up");
  } finally {
    await gw.close();
  }
});

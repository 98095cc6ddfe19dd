/**
 * `/metrics` stays bounded by the catalogue on a real gateway whose upstream server changes
 * its tools at run time: series of tools that left the catalogue are dropped, those of a
 * server that restarts are kept. Scrape size is asserted; scrape time is only printed (no
 * timing assertions).
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of `airlock_tool_calls_total` for `tool` and `outcome` (any tenant), or 0. */
function toolCalls(text: string, tool: string, outcome = "ok"): number {
  const line = text.split("\n").find((l) =>
    l.startsWith("airlock_tool_calls_total{") && l.includes(`tool="${tool}",`) &&
    l.includes(`outcome="${outcome}"}`)
  );
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** How many sample lines carry a `tool` label starting with `prefix`. */
function linesFor(text: string, prefix: string): number {
  return text.split("\n").filter((l) => l.includes(`tool="${prefix}`)).length;
}

Deno.test("/metrics stays bounded while a server adds, calls and removes tools; a restart keeps its series", async () => {
  const gw = await startTestGateway({
    servers: {
      paginated: fixtureServer("paginated", ["--page-size", "500"]),
      faulty: fixtureServer("faulty"),
    },
    sandbox: { timeoutMs: 20_000 },
  });
  const catalogued = () => new Set(gw.gateway.upstream.catalogue().map((t) => t.id));
  const scrape = async () => {
    const start = performance.now();
    const response = await fetch(`${gw.url}/metrics`);
    const text = await response.text();
    assertEquals(response.status, 200);
    return { text, ms: performance.now() - start };
  };
  const faulty = () => gw.gateway.upstream.status().find((s) => s.name === "faulty")!;
  try {
    // A server that crashes and restarts with the same list keeps its tools' series: only a
    // ready server's new list drops anything, so a flapping server's counters do not reset.
    await gw.execute(`await faulty.echo({ text: "a" }); return 1;`);
    const restarts = faulty().restarts;
    await gw.execute(`await tools.call("faulty.crash", {}).catch(() => {}); return 1;`);
    await until(() => faulty().restarts > restarts && faulty().state === "ready", "the restart");
    assertEquals(toolCalls((await scrape()).text, "faulty.echo"), 1);
    await gw.execute(`await faulty.echo({ text: "b" }); return 1;`);
    assertEquals(toolCalls((await scrape()).text, "faulty.echo"), 2);

    const rounds = 4;
    const n = 150;
    const sizes: number[] = [];
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const ids = Array.from({ length: n }, (_, i) => `paginated.churn_${round}_${i}`);
      const names = JSON.stringify(ids.map((id) => id.slice("paginated.".length)));
      await gw.execute(`await Promise.all(${names}.map((name) =>
        tools.call("paginated.add_tool", { name }))); return 1;`);
      // The gateway re-reads the list at most once a second after list_changed.
      await until(() => ids.every((id) => catalogued().has(id)), "the added tools");
      const called = await gw.execute(`await Promise.all(${JSON.stringify(ids)}.map((id) =>
        tools.call(id, {}))); await tools.call("paginated.tool_00", { value: "x" }); return 1;`);
      assertEquals(called.result, 1);
      // While in the catalogue, each called tool has its series (so the test measures them).
      const during = await scrape();
      assertEquals(toolCalls(during.text, ids[n - 1]), 1);
      assert(linesFor(during.text, `paginated.churn_${round}_`) >= n * 2);

      await gw.execute(`await Promise.all(${names}.map((name) =>
        tools.call("paginated.remove_tool", { name }))); return 1;`);
      await until(() => ids.every((id) => !catalogued().has(id)), "the removed tools");
      const after = await scrape();
      assertEquals(linesFor(after.text, "paginated.churn_"), 0, "series of removed tools");
      // Tools still listed, another server's and the restarted one's keep their counts.
      assertEquals(toolCalls(after.text, "paginated.tool_00"), round + 1);
      assertEquals(toolCalls(after.text, "paginated.add_tool"), n * (round + 1));
      assertEquals(toolCalls(after.text, "faulty.echo"), 2);
      sizes.push(after.text.length);
      times.push(after.ms);
    }
    console.log(
      `/metrics after each round of ${n} tools added, called and removed: ` +
        `${sizes.join(", ")} bytes; scrape ${times.map((t) => t.toFixed(1)).join(", ")} ms`,
    );
    // Only counts change from round to round (a few digits), not the set of series: without
    // the drop, each round added ~150 x 18 lines (~300 KB).
    assert(sizes[rounds - 1] - sizes[0] < 2048, `grew ${sizes[rounds - 1] - sizes[0]} bytes`);
  } finally {
    await gw.close();
  }
});

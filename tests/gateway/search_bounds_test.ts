/**
 * `tools.search` from the code is bounded like the rest of an execution: searches run one at
 * a time, each on a turn of the event loop of its own (a burst fired without awaiting held
 * the loop every tenant shares for seconds), none is ranked once the execution has ended (they
 * kept the gateway busy long after the answer), at most {@link MAX_SEARCHES_PER_EXECUTION} per
 * execution, none at all when the caller may use no tool; each is counted in
 * `airlock_tool_searches_total`. Found by a red-team round (2026-11-30).
 */

import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";
import { hashApiKey, MAX_SEARCHES_PER_EXECUTION } from "../../gateway/mod.ts";

const CATALOGUE = { pag: fixtureServer("paginated", ["--tools", "300", "--page-size", "100"]) };

function searches(metrics: string, tenant: string): number {
  const line = metrics.split("\n").find((l) =>
    l.startsWith(`airlock_tool_searches_total{tenant="${tenant}"}`)
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

Deno.test("search: a burst of unawaited tools.search leaves /healthz answering", async () => {
  const gw = await startTestGateway({ servers: CATALOGUE, sandbox: { timeoutMs: 5000 } });
  try {
    const waits: number[] = [];
    let stop = false;
    const probe = (async () => {
      while (!stop) {
        const started = performance.now();
        await gw.get("/healthz");
        waits.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Each search ranks a 300-tool catalogue and shows up to 100 hits.
    const reply = await gw.execute(
      `const all = [];
      for (let i = 0; i < 512; i++) all.push(tools.search("tool value number " + i, 100));
      const settled = await Promise.allSettled(all);
      return settled.filter((s) => s.status === "fulfilled").length;`,
    );
    stop = true;
    await probe;
    assertEquals(reply.result, MAX_SEARCHES_PER_EXECUTION, JSON.stringify(reply.error));
    // Observed before: 1.2 s (256 searches handled in one turn, each rendering 300 hits).
    // Generous: a loaded machine, not a timing claim (bench/responsiveness.ts has those).
    const longest = Math.max(...waits);
    assert(longest < 500, `/healthz waited ${longest.toFixed(0)} ms`);
  } finally {
    await gw.close();
  }
});

Deno.test("search: at most a fixed number per execution, refused with a clear error after", async () => {
  const gw = await startTestGateway({ servers: CATALOGUE });
  try {
    const reply = await gw.execute(
      `const errors = new Set(); let found = 0;
      for (let i = 0; i < ${MAX_SEARCHES_PER_EXECUTION + 5}; i++) {
        try { found += (await tools.search("value " + i, 1)).length; }
        catch (e) { errors.add(e.message); }
      }
      return { found, errors: [...errors] };`,
    );
    // Observed before: every search served, none refused.
    assertEquals(reply.result, {
      found: MAX_SEARCHES_PER_EXECUTION,
      errors: [`tools.search: at most ${MAX_SEARCHES_PER_EXECUTION} searches per execution`],
    });
  } finally {
    await gw.close();
  }
});

Deno.test("search: none is ranked once the execution has answered; another tenant's is served", async () => {
  const gw = await startTestGateway({
    servers: CATALOGUE,
    auth: {
      tenants: {
        attacker: { keys: [hashApiKey("key-a")], requestsPerMinute: 6000 },
        victim: { keys: [hashApiKey("key-v")], requestsPerMinute: 6000 },
      },
    },
  });
  try {
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const attack = await gw.post("/v1/execute", {
      code: `for (let i = 0; i < 200; i++) tools.search("query " + i, 100).catch(() => {});
      return "fired";`,
    }, as("key-a"));
    assertEquals((attack.body as { result: unknown }).result, "fired");
    // How many were ranked before the answer depends on how the sandbox's frames reached the
    // gateway (a few, more on a loaded machine); after it, none may be.
    const rendered = () => gw.gateway.metrics.registry.render();
    const atAnswer = searches(rendered(), "attacker");
    const victim = await gw.post("/v1/execute", {
      code: `return (await tools.search("value", 3)).length;`,
    }, as("key-v"));
    assertEquals((victim.body as { result: unknown }).result, 3, JSON.stringify(victim.body));
    await new Promise((r) => setTimeout(r, 500));
    const metrics = rendered();
    // Observed before: all 200 ranked after the answer (seconds of the gateway's CPU with an
    // embedding model), the other tenant's search waiting behind them.
    assertEquals(searches(metrics, "attacker"), atAnswer, `ranked after the answer: ${metrics}`);
    assert(atAnswer < 50, `${atAnswer} ranked before the answer`);
    assertEquals(searches(metrics, "victim"), 1);
  } finally {
    await gw.close();
  }
});

Deno.test("search: a caller that may use no tool finds nothing, and nothing is ranked", async () => {
  const gw = await startTestGateway({
    servers: CATALOGUE,
    auth: {
      tenants: { none: { keys: [hashApiKey("key-n")], enabledTools: [] } },
    },
  });
  try {
    const reply = await gw.post("/v1/execute", {
      code: `return (await tools.search("value", 5)).length;`,
    }, { authorization: "Bearer key-n" });
    assertEquals((reply.body as { result: unknown }).result, 0, JSON.stringify(reply.body));
    const metrics = (await gw.get("/metrics")).body as string;
    assertEquals(searches(metrics, "none"), 0);
  } finally {
    await gw.close();
  }
});

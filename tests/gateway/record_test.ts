/**
 * Every tool call that reached an upstream server is on the record (response, audit,
 * metrics), whatever the code does afterwards; nothing the code controls reaches a log,
 * an audit row or a metric label unredacted or unbounded. Real gateway, real MCP servers.
 */
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { type Config, Gateway, parseConfig } from "../../gateway/mod.ts";
import type { ExecuteResponse } from "../../gateway/mod.ts";

interface Harness {
  gateway: Gateway;
  logs: string[];
  run(code: string): Promise<ExecuteResponse>;
  ledger(server?: string): Promise<{ writes: string[]; cancelled: string[]; started: string[] }>;
  close(): Promise<void>;
}

async function startGateway(sandbox: Record<string, unknown> = {}): Promise<Harness> {
  const embeddingsDir = await Deno.makeTempDir({ prefix: "airlock-emb-" });
  const config: Config = parseConfig({
    servers: {
      ledger: fixtureServer("ledger"),
      stubborn: fixtureServer("ledger", ["--ignore-cancel"]),
    },
    audit: { path: ":memory:" },
    selection: {
      embedder: "lexical",
      cacheDir: embeddingsDir,
    },
    sandbox: { timeoutMs: 3000, memoryMb: 64, ...sandbox },
  });
  const logs: string[] = [];
  const gateway = new Gateway(config, {
    poolSize: 1,
    logger: (event) => logs.push(JSON.stringify(event)),
  });
  await gateway.start();
  const tenant = gateway.tenants.authenticate(undefined);
  let n = 0;
  const run = (code: string) =>
    gateway.execute({ code }, { tenant, requestId: `req-${++n}`, transport: "http" });
  return {
    gateway,
    logs,
    run,
    async ledger(server = "ledger") {
      // The tests' executions end with calls in flight: the tenant's calls to that server may
      // be refused for a few seconds (see abandoned_calls_test.ts), so the ledger is read once
      // they are served again.
      for (let attempt = 0;; attempt++) {
        const reply = await run(`return await tools.call("${server}.ledger", {});`);
        if (
          !reply.ok && /may still be working on/.test(reply.error?.message ?? "") && attempt < 80
        ) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        assert(reply.ok, JSON.stringify(reply.error));
        return reply.result as { writes: string[]; cancelled: string[]; started: string[] };
      }
    },
    close: async () => {
      await gateway.close();
      await Deno.remove(embeddingsDir, { recursive: true }).catch(() => {});
    },
  };
}

function metricsText(gateway: Gateway): string {
  return gateway.metrics.registry.render();
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("calls in flight when the code returns are recorded as cancelled and cancelled upstream", async () => {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      for (let i = 0; i < 5; i++) ledger.write({ key: "k" + i, delayMs: 800 });
      return "done";`);
    assert(reply.ok, JSON.stringify(reply.error));
    const writes = reply.tools.calls.filter((c) => c.tool === "ledger.write");
    assertEquals(writes.length, 5, JSON.stringify(reply.tools.calls));
    for (const call of writes) assertEquals(call.outcome, "cancelled");

    const audited = h.gateway.audit!.recent({ limit: 1 })[0];
    assertEquals(audited.calls.filter((c) => c.tool === "ledger.write").length, 5);
    assert(audited.calls.every((c) => c.outcome === "cancelled"));
    assert(
      metricsText(h.gateway).includes(
        'airlock_tool_calls_total{tenant="local",tool="ledger.write",outcome="cancelled"} 5',
      ),
      "metrics count the cancelled calls",
    );
    // Each request the server saw was cancelled there (notifications/cancelled); one still
    // waiting to be written when its call was cancelled never reached it. None was performed.
    await new Promise((r) => setTimeout(r, 1000));
    const ledger = await h.ledger();
    assertEquals(ledger.writes, []);
    assertEquals(ledger.cancelled.length, ledger.started.length, JSON.stringify(ledger));
  } finally {
    await h.close();
  }
});

Deno.test("every call that reached the server is on the record, however the execution ends", async () => {
  const h = await startGateway({ timeoutMs: 1500, maxConcurrentCallsPerServer: 2 });
  try {
    const endings: Record<string, string> = {
      "throws": `throw new Error("boom");`,
      "times out": `while (true) {}`,
      "exits": `Deno.exit(3);`,
      "returns at once": `return 1;`,
      "rejects unhandled": `Promise.reject(new Error("late"));\nawait new Promise(() => {});`,
    };
    let total = 0;
    for (const [name, ending] of Object.entries(endings)) {
      // 6 calls, at most 2 in flight per server: some are still waiting for a slot.
      const reply = await h.run(`
        for (let i = 0; i < 6; i++) ledger.write({ key: "${name}-" + i, delayMs: 300 });
        await new Promise((r) => setTimeout(r, 50));
        ${ending}`);
      const writes = reply.tools.calls.filter((c) => c.tool === "ledger.write");
      assertEquals(writes.length, 6, `${name}: ${JSON.stringify(reply.tools.calls)}`);
      total += 6;
    }
    const audited = h.gateway.audit!.recent({ limit: 10 })
      .flatMap((r) => r.calls.filter((c) => c.tool === "ledger.write"));
    assertEquals(audited.length, total);
    // What the server started is a subset of what was recorded, and every write it
    // performed is recorded as ok (the rest as cancelled): nothing it did is missing.
    await new Promise((r) => setTimeout(r, 400));
    const ledger = await h.ledger();
    assert(ledger.started.length <= total);
    const ok = audited.filter((c) => c.outcome === "ok").length;
    assertEquals(ledger.writes.length, ok, `writes ${ledger.writes} vs ${ok} recorded ok`);
    // The rest were cancelled, or (the executions before left calls at the server) refused
    // before they reached it (see abandoned_calls_test.ts).
    const busy = audited.filter((c) =>
      c.outcome === "error" && /may still be working on/.test(c.error ?? "")
    ).length;
    assertEquals(
      audited.filter((c) => c.outcome === "cancelled").length + busy,
      total - ok,
      JSON.stringify(audited),
    );
  } finally {
    await h.close();
  }
});

Deno.test("refused calls count against maxToolCalls", async () => {
  const h = await startGateway({ maxToolCalls: 3 });
  try {
    const reply = await h.run(`
      const errors = [];
      for (let i = 0; i < 5; i++) {
        try { await tools.call("nope.tool" + i, {}); } catch (e) { errors.push(e.message); }
      }
      try { await ledger.nothingHere({}); } catch (e) { errors.push(e.message); }
      try { await ledger.write({ key: "real" }); } catch (e) { errors.push(e.message); }
      return errors;`);
    assert(reply.ok, JSON.stringify(reply.error));
    const errors = reply.result as string[];
    assertEquals(errors.length, 7);
    assert(/limit of 3 tool calls/.test(errors[6]), errors[6]);
    // Three refused attempts on the record, then one record counting the four past the limit.
    assertEquals(reply.tools.calls.length, 4, JSON.stringify(reply.tools.calls));
    assert(reply.tools.calls.every((c) => c.outcome === "refused"));
    assert(/\(4 attempts\)/.test(reply.tools.calls[3].error!), reply.tools.calls[3].error);
    assertEquals((await h.ledger()).writes, []);
  } finally {
    await h.close();
  }
});

Deno.test("made-up tool ids are redacted and cut in the response, the audit, the metrics and the logs", async () => {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      const ids = [
        "x.ann.lee@example.com",
        "ledger.write-to-bob@example.org",
        "y." + "z".repeat(10000) + "carol@example.net",
        "carol@example.net",
      ];
      for (const id of ids) { try { await tools.call(id, {}); } catch {} }
      try { await ledger["dave@example.com"]({}); } catch {}
      return ids.length;`);
    assert(reply.ok, JSON.stringify(reply.error));
    assertEquals(reply.tools.calls.length, 5);
    const shown = JSON.stringify(reply.tools.calls);
    const audited = JSON.stringify(h.gateway.audit!.recent({ limit: 1 })[0]);
    const metrics = metricsText(h.gateway);
    for (
      const email of [
        "ann.lee@example.com",
        "bob@example.org",
        "carol@example.net",
        "dave@example.com",
      ]
    ) {
      assert(!shown.includes(email), `response holds ${email}: ${shown.slice(0, 300)}`);
      assert(!audited.includes(email), `audit holds ${email}`);
      assert(!metrics.includes(email), `metrics hold ${email}`);
      assert(!h.logs.join("\n").includes(email), `logs hold ${email}`);
    }
    assert(reply.tools.calls.every((c) => c.tool.length <= 160), "ids are cut");
    assert(!metrics.includes("zzzzzzzz"), "a made-up id never becomes a metric label");
    assert(metrics.includes('tool="(unknown)"'));
  } finally {
    await h.close();
  }
});

/**
 * Calls each of the made-up tool `ids` once from one execution (each call is refused), then
 * asserts that none of `values` is in any place the ids could be stored or shown: the calls in
 * the response, the audit record, /metrics and the logs, each read through `read`.
 */
async function assertNowhere(
  ids: string[],
  values: string[],
  read: (text: string) => string = (text) => text,
): Promise<void> {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      const ids = ${JSON.stringify(ids)};
      for (const id of ids) { try { await tools.call(id, {}); } catch {} }
      return ids.length;`);
    assert(reply.ok, JSON.stringify(reply.error));
    assertEquals(reply.tools.calls.length, ids.length);
    const places = {
      response: read(JSON.stringify(reply.tools.calls)),
      audit: read(JSON.stringify(h.gateway.audit!.recent({ limit: 1 })[0])),
      metrics: read(metricsText(h.gateway)),
      logs: read(h.logs.join("\n")),
    };
    for (const [place, text] of Object.entries(places)) {
      for (const value of values) {
        assert(!text.includes(value), `${place} holds ${value}: ${text.slice(0, 400)}`);
      }
    }
  } finally {
    await h.close();
  }
}

Deno.test("made-up tool ids with personal data in Unicode, invisible or labelled forms are redacted everywhere", async () => {
  // What a reader sees in each id; the code writes it with no-break or thin spaces, zero-width
  // characters, full-width forms or a label glued on, which redaction used to read past.
  const ids = [
    "x.4111\u00a01111\u00a01111\u00a01111",
    "x.4111\u20091111\u20091111\u20091111",
    "ann\u200b@example.com",
    "x.ann\uff20example.com",
    "ledger.card-4111111111111111",
    "id_4111111111111111",
    "x.\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11",
    "key-AKIAIOSFODNN7EXAMPLE",
    "ip-10.1.2.3",
    "x.123\u00ad-45-6789",
  ];
  // Everything stored or shown, read as a reader reads it: compatibility forms folded,
  // invisible characters and spaces gone.
  const plain = (s: string) =>
    s.normalize("NFKC").replace(/[\p{Default_Ignorable_Code_Point}\s]/gu, "");
  await assertNowhere(ids, [
    "4111111111111111",
    "ann@example.com",
    "AKIAIOSFODNN7EXAMPLE",
    "10.1.2.3",
    "123-45-6789",
  ], plain);
});

Deno.test("made-up tool ids with a word glued onto personal data are redacted everywhere", async () => {
  // A word, a file extension or a digest glued onto a value used to make it an identifier
  // (red team, 2026-11-30: these reached the response, the audit, the logs and /metrics).
  const digest = "3f9a".repeat(16);
  const ids = [
    "4111111111111111x",
    "x.4111111111111111_visa",
    "ledger.078-05-1120_W2_2025",
    "x.+14155550134_cell",
    "ip_10.1.2.3_host",
    "ip_fe80::1234_eth0",
    "ledger.ann.lee@example.com_resume",
    `x.${digest}_bob.ray@example.org.txt`,
    "x.AKIAIOSFODNN7EXAMPLEold",
  ];
  await assertNowhere(ids, [
    "4111111111111111",
    "078-05-1120",
    "4155550134",
    "10.1.2.3",
    "fe80::1234",
    "ann.lee@example.com",
    "bob.ray@example.org",
    "AKIAIOSFODNN7EXAMPLE",
  ]);
});

Deno.test("2,000 refused calls with 10 KB ids cost a bounded response, audit and /metrics", async () => {
  // The claim is about sizes, not speed: 20 MB of ids crossing the bridge may take more than
  // the usual 3 s on a loaded machine.
  const h = await startGateway({ maxToolCalls: 100, timeoutMs: 20_000 });
  try {
    const before = metricsText(h.gateway).length;
    const reply = await h.run(`
      for (let i = 0; i < 2000; i++) {
        try { await tools.call("q" + i + "." + "w".repeat(10000), {}); } catch {}
      }
      return 1;`);
    assert(reply.ok, JSON.stringify(reply.error));
    assert(
      JSON.stringify(reply).length < 200_000,
      `response ${JSON.stringify(reply).length} bytes`,
    );
    assert(metricsText(h.gateway).length - before < 5_000, "metrics did not grow per id");
    assert(JSON.stringify(h.gateway.audit!.recent({ limit: 1 })).length < 50_000);
  } finally {
    await h.close();
  }
});

Deno.test("responses that arrive after their execution ended are never logged raw", async () => {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      for (let i = 0; i < 20; i++) {
        stubborn.big({ bytes: 50000, email: "frank@example.com", delayMs: 150 });
      }
      return "gone";`);
    assert(reply.ok, JSON.stringify(reply.error));
    assertEquals(reply.tools.calls.filter((c) => c.outcome === "cancelled").length, 20);
    // The stubborn server answers every request anyway; give the answers time to arrive.
    await eventually(async () => (await h.ledger("stubborn")).started !== undefined, "ledger");
    await new Promise((r) => setTimeout(r, 500));
    const log = h.logs.join("\n");
    assert(!log.includes("frank@example.com"), "a late response was logged raw");
    assert(log.length < 20_000, `the log grew by ${log.length} bytes`);
  } finally {
    await h.close();
  }
});

Deno.test("tools.search refuses queries longer than 2,000 characters", async () => {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      try { await tools.search("files ".repeat(20_000), 5); return "searched"; }
      catch (e) { return e.message; }`);
    assert(reply.ok, JSON.stringify(reply.error));
    assert(/longer than 2000 characters/.test(String(reply.result)), String(reply.result));
  } finally {
    await h.close();
  }
});

Deno.test("a tool call the code writes to stdout itself is not obeyed (it lacks the frame key)", async () => {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      const fs = process.getBuiltinModule("node:fs");
      const frame = { t: "rpc", id: 999, method: "tools/call",
        params: { tool: "ledger.write", args: { key: "forged-frame" } } };
      fs.writeSync(1, JSON.stringify(frame) + "\\n");
      fs.writeSync(1, JSON.stringify({ ...frame, k: "a-guess" }) + "\\n");
      await new Promise((r) => setTimeout(r, 300));
      return "done";`);
    assertEquals(reply.result, "done", JSON.stringify(reply.error));
    assertEquals(reply.tools.calls, []);
    assertEquals((await h.ledger()).started, []);
  } finally {
    await h.close();
  }
});

Deno.test("a tool's huge error text is cut before it is shown, redacted or stored, never mid-value", async () => {
  const h = await startGateway();
  try {
    const reply = await h.run(`
      try { await ledger.write({ key: 5 as unknown as string }); } catch {}
      const card = " 4111111111111111";
      const id = "x".repeat(${140 - 17}) + card + "y".repeat(40);
      try { await tools.call(id, {}); } catch {}
      return 1;`);
    assert(reply.ok, JSON.stringify(reply.error));
    const shown = JSON.stringify(reply.tools.calls);
    assert(!/4111111111/.test(shown), shown);
    assert(!/4111111111/.test(JSON.stringify(h.gateway.audit!.recent({ limit: 1 }))));
  } finally {
    await h.close();
  }
});

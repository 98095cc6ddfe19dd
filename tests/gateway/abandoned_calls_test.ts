/**
 * Calls a tenant gave up on stay on its account at the server until the server answers them:
 * MCP lets a server ignore `notifications/cancelled`, and such a server goes on working on the
 * calls of executions that have ended (a red-team round, 2026-11-30, left 320 calls running
 * there after twenty short executions). Once a server has answered a cancelled call, a tenant
 * may have at most `maxConcurrentCallsPerServer` of them there; past it its new calls there
 * fail (`busy`) until the server answers (or `toolTimeoutMs` passes), and other tenants' calls
 * are served as before. A server that honours cancellation (answers none) is never held
 * against anyone.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const LIMIT = 4;
const as = (key: string) => ({ authorization: `Bearer ${key}` });

async function start(toolTimeoutMs = 20_000): Promise<TestGateway> {
  return await startTestGateway({
    // A server that never sees `notifications/cancelled` and answers every call, however late.
    servers: { stubborn: fixtureServer("ledger", ["--ignore-cancel"]) },
    sandbox: { maxConcurrentCallsPerServer: LIMIT, toolTimeoutMs, timeoutMs: 5000 },
    auth: {
      tenants: {
        attacker: { keys: [hashApiKey("key-a")], requestsPerMinute: 6000 },
        victim: { keys: [hashApiKey("key-v")], requestsPerMinute: 6000 },
      },
    },
  });
}

async function run(gw: TestGateway, key: string, code: string): Promise<unknown> {
  const reply = await gw.post("/v1/execute", { code }, as(key));
  assertEquals(reply.status, 200, JSON.stringify(reply.body));
  assert(reply.body.ok, JSON.stringify(reply.body));
  return reply.body.result;
}

/** What the server was asked to start (every `write`, whether cancelled or not). */
async function started(gw: TestGateway): Promise<string[]> {
  const ledger = await run(gw, "key-v", `return await stubborn.ledger({});`) as {
    started: string[];
  };
  return ledger.started;
}

/**
 * Code that fires `n` slow writes without awaiting them, waits until they have left the
 * sandbox, and ends: its calls are cancelled, and the stubborn server works on.
 */
const fireAndEnd = (tag: string, n: number, delayMs = 1500) =>
  `const errors: string[] = [];
  for (let i = 0; i < ${n}; i++) {
    stubborn.write({ key: "${tag}-" + i, delayMs: ${delayMs} }).catch((e) => errors.push(e.message));
  }
  await new Promise((r) => setTimeout(r, 150));
  return errors;`;

Deno.test("abandoned calls: a tenant's ended executions leave at most the limit at a server", async () => {
  const gw = await start();
  try {
    // Until the server answers a cancelled call it is taken to honour cancellation: the first
    // execution's calls are cancelled, and answered anyway 1.5 s later.
    await run(gw, "key-a", fireAndEnd("first", LIMIT));
    await new Promise((r) => setTimeout(r, 1800));
    // Five short executions, each leaving LIMIT calls behind (answered 4 s later).
    for (let n = 0; n < 5; n++) await run(gw, "key-a", fireAndEnd(`a${n}`, LIMIT, 4000));
    const attacker = (await started(gw)).filter((k) => k.startsWith("a"));
    // Observed before: all 20 reached the server (and ran there after their executions ended).
    assertEquals(attacker.length, LIMIT, `reached the server: ${attacker.join(", ")}`);

    // The attacker's next call is refused, and says why; another tenant's is served.
    const refused = await run(
      gw,
      "key-a",
      `try { await stubborn.write({ key: "a-next" }); return "served"; }
       catch (e) { return [e.kind, e.message]; }`,
    ) as [string, string];
    assertEquals(refused[0], "tool");
    assertMatch(refused[1], new RegExp(`may still be working on ${LIMIT} calls of this tenant`));
    assertEquals(await run(gw, "key-v", `return await stubborn.write({ key: "v" });`), "wrote v");

    // Once the server has answered them (late), the tenant may call it again.
    await new Promise((r) => setTimeout(r, 4000));
    assertEquals(
      await run(gw, "key-a", `return await stubborn.write({ key: "a-after" });`),
      "wrote a-after",
    );
  } finally {
    await gw.close();
  }
});

Deno.test("abandoned calls: within one execution the per-execution bound is unchanged", async () => {
  const gw = await start();
  try {
    // 2 × LIMIT calls awaited in one execution: all served (LIMIT at a time), none refused.
    const result = await run(
      gw,
      "key-a",
      `const keys = Array.from({ length: ${2 * LIMIT} }, (_, i) => "w" + i);
       return await Promise.all(keys.map((key) => stubborn.write({ key, delayMs: 50 })));`,
    );
    assertEquals(result, Array.from({ length: 2 * LIMIT }, (_, i) => `wrote w${i}`));
  } finally {
    await gw.close();
  }
});

Deno.test("abandoned calls: calls that timed out count too", async () => {
  const gw = await start(400);
  try {
    // Shown to ignore cancellation first (see above).
    await run(gw, "key-a", fireAndEnd("first", 1));
    await new Promise((r) => setTimeout(r, 1800));
    const result = await run(
      gw,
      "key-a",
      `const slow = Array.from({ length: ${LIMIT} }, (_, i) =>
         stubborn.write({ key: "t" + i, delayMs: 1500 }).then(() => "served", (e) => e.message));
       const timedOut = await Promise.all(slow);
       const next = await stubborn.write({ key: "t-next" }).then(() => "served", (e) => e.message);
       return { timedOut, next };`,
    ) as { timedOut: string[]; next: string };
    for (const message of result.timedOut) assertMatch(message, /timed out/);
    assertMatch(result.next, new RegExp(`may still be working on ${LIMIT} calls`));
  } finally {
    await gw.close();
  }
});

Deno.test("abandoned calls: at a server that never answers cancelled calls they count for 5 s", async () => {
  const gw = await startTestGateway({
    // The SDK's server drops the answer of a cancelled call but runs its handler to the end:
    // the work is done, and nothing ever says so.
    servers: { ledger: fixtureServer("ledger") },
    sandbox: { maxConcurrentCallsPerServer: LIMIT, toolTimeoutMs: 20_000 },
    auth: { tenants: { a: { keys: [hashApiKey("key-a")], requestsPerMinute: 6000 } } },
  });
  try {
    for (let n = 0; n < 6; n++) {
      await run(
        gw,
        "key-a",
        `for (let i = 0; i < ${LIMIT}; i++) ledger.write({ key: "h${n}-" + i, delayMs: 300 }).catch(() => {});
         await new Promise((r) => setTimeout(r, 150));
         return 1;`,
      );
    }
    const ledger = await run(
      gw,
      "key-a",
      `return await ledger.ledger({}).catch((e) => e.message);`,
    );
    // Observed before: every execution's calls reached the server (41 of 40 in the red team's run).
    assertMatch(String(ledger), new RegExp(`may still be working on ${LIMIT} calls`));
    await new Promise((r) => setTimeout(r, 5200));
    const after = await run(gw, "key-a", `return await ledger.ledger({});`) as {
      started: string[];
    };
    assertEquals(
      after.started.filter((k) => k.startsWith("h")).length,
      LIMIT,
      JSON.stringify(after),
    );
  } finally {
    await gw.close();
  }
});

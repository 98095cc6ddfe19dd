/**
 * The audit's write-ahead through a real gateway (red team n2, N2-2: calls were queued to the
 * audit only when their execution ended, so a replica killed mid-execution lost them):
 *
 * - Many calls in one execution stay bounded in writes: row writes are counted by triggers in
 *   the audit file itself; the running row is written at most once per audit batch (every 5 ms
 *   at most, however many calls), and each call row at most twice before the final record.
 * - An approved call is on the record (`sent`) while it is still at its server, beside its
 *   `approved` approval row: a kill then leaves "approved, sent" rather than "approved" alone.
 */

import { DatabaseSync } from "node:sqlite";
import { type Config, Gateway, parseConfig } from "../../gateway/mod.ts";
import { AuditLog } from "../../observability/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { waitFor } from "../services.ts";

/** A gateway with the ledger fixture auditing to a file in `dir`. */
async function start(dir: string, extra: Record<string, unknown> = {}): Promise<Gateway> {
  const config: Config = parseConfig({
    servers: { ledger: fixtureServer("ledger") },
    audit: { path: `${dir}/audit.db` },
    selection: { embedder: "lexical", cacheDir: `${dir}/emb` },
    sandbox: { timeoutMs: 30_000, memoryMb: 128 },
    speculation: { enabled: false },
    ...extra,
  });
  const gateway = new Gateway(config, { poolSize: 1, logger: () => {} });
  await gateway.start();
  return gateway;
}

Deno.test({
  name: "write-ahead: 900 calls in one execution cost a bounded number of audit writes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "airlock-write-ahead-" });
    // The schema first, then triggers that count every row write the gateway makes.
    AuditLog.open(`${dir}/audit.db`).close();
    const db = new DatabaseSync(`${dir}/audit.db`);
    db.exec(`CREATE TABLE test_writes (tbl TEXT NOT NULL);
      CREATE TRIGGER tw_ei AFTER INSERT ON executions BEGIN
        INSERT INTO test_writes VALUES ('executions'); END;
      CREATE TRIGGER tw_eu AFTER UPDATE ON executions BEGIN
        INSERT INTO test_writes VALUES ('executions'); END;
      CREATE TRIGGER tw_ci AFTER INSERT ON tool_calls BEGIN
        INSERT INTO test_writes VALUES ('tool_calls'); END;
      CREATE TRIGGER tw_cu AFTER UPDATE ON tool_calls BEGIN
        INSERT INTO test_writes VALUES ('tool_calls'); END;`);
    const gateway = await start(dir);
    try {
      const calls = 900;
      const began = performance.now();
      const reply = await gateway.execute(
        {
          code: `await Promise.all(Array.from({ length: ${calls} },
                   (_, i) => ledger.get({ key: "k" + i })));
                 return 1;`,
        },
        { tenant: gateway.tenants.list()[0], requestId: "many", transport: "http" },
      );
      const elapsedMs = performance.now() - began;
      assert(reply.ok, JSON.stringify(reply.error));
      await gateway.audit!.flush();
      const [record] = gateway.audit!.recent({ limit: 1 });
      assertEquals(record.status, undefined);
      assertEquals(record.calls.length, calls);
      const count = (tbl: string) =>
        (db.prepare("SELECT count(*) AS n FROM test_writes WHERE tbl = ?").get(tbl) as {
          n: number;
        }).n;
      const executionWrites = count("executions");
      const callWrites = count("tool_calls");
      console.log(
        `${calls} calls in ${Math.round(elapsedMs)} ms: ${executionWrites} execution row ` +
          `writes, ${callWrites} call row writes`,
      );
      // Written ahead at least once, then the final record.
      assert(executionWrites >= 2, `written ahead: ${executionWrites}`);
      // One snapshot per audit batch (one every 5 ms at most) and the final record: not one
      // per call (that would be 1,800 here: each call sent, then answered).
      assert(
        executionWrites <= elapsedMs / 5 + 3,
        `${executionWrites} execution row writes in ${Math.round(elapsedMs)} ms`,
      );
      // Each call row at most twice ahead (sent, answered; coalesced when both fall in one
      // batch) and once in the final record.
      assert(callWrites <= 3 * calls, `${callWrites} call row writes for ${calls} calls`);
    } finally {
      db.close();
      await gateway.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "write-ahead: an approved call is on the record while it is still at its server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "airlock-write-ahead-" });
    const gateway = await start(dir, { approval: { tools: ["ledger.write"] } });
    try {
      const stop = new AbortController();
      const running = gateway.execute(
        { code: `await ledger.write({ key: "approved-slow", delayMs: 60000 }); return 1;` },
        {
          tenant: gateway.tenants.list()[0],
          requestId: "approved",
          transport: "mcp",
          signal: stop.signal,
          // The person approves at once (an MCP client answering its elicitation).
          approvals: {
            answersItself: true,
            approver: "mcp-client:local",
            ask: () => Promise.resolve({ approve: true, decidedBy: "mcp-client:local" }),
          },
        },
      ).then((r) => r, (e) => e);
      const mine = () =>
        gateway.audit!.recent({ limit: 10 }).find((r) => r.requestId === "approved");
      assert(
        await waitFor(() => mine()?.calls.some((c) => c.tool === "ledger.write") ?? false, 10_000),
        "the approved call is on the record",
      );
      assertEquals(mine()?.status, "running");
      assertEquals(mine()?.calls.map((c) => [c.tool, c.outcome]), [["ledger.write", "sent"]]);
      const approvals = gateway.audit!.recentApprovals();
      assertEquals(approvals.map((a) => [a.tool, a.decision]), [["ledger.write", "approved"]]);
      assertEquals(approvals[0].executionId, mine()?.executionId, "one execution id for both");
      stop.abort();
      await running;
      await gateway.audit!.flush();
      const final = mine()!;
      assertEquals(final.status, undefined);
      assertEquals(final.calls.map((c) => [c.tool, c.outcome]), [["ledger.write", "cancelled"]]);
    } finally {
      await gateway.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

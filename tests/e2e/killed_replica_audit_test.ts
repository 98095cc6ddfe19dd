/**
 * A replica killed mid-execution (SIGKILL: the OOM killer, a lost node, `kill -9` in a
 * rollout) leaves every tool call that already reached its upstream server on the audit record
 * (red team n2, N2-2: execution and call rows were queued only when the execution ended, so
 * such a kill lost every call of every execution in progress). Proves, against the real
 * `main.ts serve` process, with the SQLite audit and with the PostgreSQL one: the execution
 * reads back `status: "running"`, the call that was answered is `ok`, the call still waiting
 * for its server is `sent` (outcome unknown), and nothing else is claimed.
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { AuditLog, type AuditRecord, PostgresAuditLog } from "../../observability/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { postgresBin, skipWithout, startPostgres, waitFor } from "../services.ts";
import { descendants, reap } from "../state/process_tree.ts";
import { startGatewayProcess, writeConfig } from "./process.ts";

const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;

/**
 * Runs, in a real gateway process auditing to `audit`, code whose first call (`sink.store`)
 * completes and whose second (`ledger.write`, 60 s) is still at its server when the process is
 * killed; returns the audit's records of that execution, read after the kill.
 */
async function killMidExecution(
  root: string,
  audit: Record<string, unknown>,
  read: () => Promise<AuditRecord[]>,
): Promise<AuditRecord[]> {
  const a = await startGatewayProcess(
    await writeConfig({
      servers: {
        sink: { command: Deno.execPath(), args: ["run", `--allow-write=${root}`, SINK] },
        ledger: fixtureServer("ledger"),
      },
      sandbox: { timeoutMs: 60_000 },
      auth: { tenants: { acme: { keys: [hashApiKey("agent")], requestsPerMinute: 1000 } } },
      audit,
      selection: { embedder: "lexical", cacheDir: `${root}/emb` },
    }),
  );
  const execute = (code: string) =>
    fetch(`${a.url}/v1/execute`, {
      method: "POST",
      headers: { authorization: "Bearer agent", "content-type": "application/json" },
      body: JSON.stringify({ code }),
    }).then((r) => r.json(), (e) => ({ error: String(e) }));
  let children: number[] = [];
  try {
    const path = `${root}/deleted-prod-db.json`;
    const reply = execute(
      `await sink.store({ path: ${JSON.stringify(path)}, value: "done" });
       ledger.write({ key: "slow", delayMs: 60000 }).catch(() => {});
       await new Promise((r) => setTimeout(r, 30000)); return 1`,
    );
    assert(
      await waitFor(() => Deno.stat(path).then(() => true, () => false), 30_000),
      "the first call reached its server",
    );
    // The second call is at its server once the ledger has started it.
    assert(
      await waitFor(async () => {
        const seen = await execute(`return await tools.call("ledger.ledger", {})`);
        return (seen.result?.started ?? []).includes("slow");
      }, 30_000),
      "the second call reached its server",
    );
    children = await descendants(a.pid);
    // Past the audit queue's few milliseconds (the bound a crash may lose), with room for a
    // loaded machine.
    await new Promise((r) => setTimeout(r, 300));
    a.kill("SIGKILL");
    await a.stop().catch(() => {});
    await reply;
    return (await read()).filter((r) => r.calls.some((c) => c.tool === "sink.store"));
  } finally {
    try {
      a.kill("SIGKILL");
    } catch { /* gone */ }
    await reap(children, waitFor);
  }
}

/** What the record of the killed execution must say. */
function assertKilledRecord(records: AuditRecord[]): void {
  assertEquals(records.length, 1, JSON.stringify(records));
  const [record] = records;
  assertEquals(record.status, "running", "an execution that never ended says so");
  assertEquals(record.ok, false);
  assertEquals(record.tenant, "acme");
  assert(record.executionId, "it has its execution id");
  assertEquals(
    record.calls.map((c) => [c.tool, c.outcome, c.ok]),
    [["sink.store", "ok", true], ["ledger.write", "sent", false]],
  );
}

Deno.test({
  name: "killed replica (SQLite audit): calls that reached their servers are on the record",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-kill-sqlite-" }));
    try {
      const records = await killMidExecution(root, { path: `${root}/a.db` }, () => {
        const log = AuditLog.open(`${root}/a.db`);
        try {
          return Promise.resolve(log.recent({ limit: 100 }));
        } finally {
          log.close();
        }
      });
      assertKilledRecord(records);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "killed replica (PostgreSQL audit): calls that reached their servers are on the record",
  ignore: skipWithout("PostgreSQL audit", { postgresql: postgresBin() }),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-kill-pg-" }));
    const pg = await startPostgres();
    try {
      const records = await killMidExecution(root, { url: pg.url }, async () => {
        const log = await PostgresAuditLog.open(pg.url);
        try {
          return await log.recentAsync({ limit: 100 });
        } finally {
          await log.close();
        }
      });
      assertKilledRecord(records);
    } finally {
      await pg.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

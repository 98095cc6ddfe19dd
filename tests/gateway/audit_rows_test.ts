/**
 * One audit row per execution, matched to its approvals by the gateway's execution id: a
 * PostgreSQL batch whose COMMIT went through but whose answer was lost (a relay resets the
 * connection after forwarding it: red team j3) is written again without storing anything
 * twice; a database of the schema before gains the column and keeps its rows; through a real
 * gateway (SQLite and PostgreSQL, the sink MCP server) the execution row, its approval rows
 * and the SSE `approval` events carry one id, whatever request id the client reuses.
 */

import postgres from "postgres";
import {
  type ApprovalAuditRecord,
  type AuditRecord,
  PostgresAuditLog,
} from "../../observability/mod.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { REPO_ROOT } from "../fixtures/servers/local.ts";
import { sseEvents } from "../integration/approval_helpers.ts";
import { postgresBin, skipWithout, startPostgres } from "../services.ts";

const ignore = skipWithout("PostgreSQL audit", { postgresql: postgresBin() });

function record(requestId: string, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    executionId: crypto.randomUUID(),
    time: new Date().toISOString(),
    tenant: "acme",
    requestId,
    transport: "http",
    codeHash: "hmac-sha256:" + "ab".repeat(32),
    ok: true,
    durationMs: 5,
    sandboxMs: 4,
    toolsInjected: ["bank.transfer"],
    calls: [
      { tool: "bank.transfer", ms: 3, ok: true, outcome: "ok" },
      { tool: "bank.balance", ms: 1, ok: true, outcome: "ok" },
    ],
    redactions: {},
    ...overrides,
  };
}

/**
 * A TCP relay to PostgreSQL that, `cuts` times, forwards a message holding `COMMIT` to the
 * server and then drops the server's answer to it and resets both connections: the
 * transaction is committed, and the client sees its connection close.
 */
function ackLossRelay(pgPort: number) {
  let cuts = 0;
  let done = 0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };
  const relay = async (client: Deno.Conn) => {
    const server = await Deno.connect({ hostname: "127.0.0.1", port: pgPort });
    conns.add(client).add(server);
    let cut = false;
    const close = () => {
      for (const conn of [client, server]) {
        if (!conns.delete(conn)) continue;
        try {
          conn.close();
        } catch { /* closed */ }
      }
    };
    const up = async () => {
      const buffer = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await client.read(buffer).catch(() => null);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        // Marked before it is sent: the answer cannot overtake the mark.
        if (cuts > 0 && new TextDecoder().decode(chunk).toLowerCase().includes("commit")) {
          cuts--;
          cut = true;
        }
        await server.write(chunk).catch(() => {});
      }
      close();
    };
    const down = async () => {
      const buffer = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await server.read(buffer).catch(() => null);
        if (n === null) break;
        // The server has answered the COMMIT: it is committed. The answer is lost.
        if (cut) {
          done++;
          break;
        }
        await client.write(buffer.subarray(0, n)).catch(() => {});
      }
      close();
    };
    track(up());
    track(down());
  };
  track(
    (async () => {
      for await (const client of listener) track(relay(client).catch(() => client.close()));
    })().catch(() => {}),
  );
  return {
    /** The next `n` COMMITs' answers are lost. */
    arm(n: number) {
      cuts = n;
    },
    /** COMMITs whose answers were lost so far. */
    get cut() {
      return done;
    },
    url: `postgres://airlock@127.0.0.1:${(listener.addr as Deno.NetAddr).port}/airlock`,
    async close() {
      listener.close();
      for (const conn of [...conns]) {
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      }
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
  };
}

Deno.test({
  name: "postgres audit: batches whose COMMIT answer was lost are retried, nothing stored twice",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPostgres();
    const relay = ackLossRelay(pg.port);
    const direct = postgres(pg.url, { max: 1, onnotice: () => {} });
    const errors: string[] = [];
    try {
      const log = await PostgresAuditLog.open(relay.url, {
        replica: "a",
        onError: (message) => errors.push(message),
      });
      try {
        // Two answers lost: the first batch (exec-1), then its retry with the others.
        relay.arm(2);
        const records = ["exec-1", "exec-2", "exec-3"].map((id) => record(id));
        for (const r of records) log.record(r);
        await log.flush(30_000);
        assertEquals(relay.cut, 2, "two COMMITs went through without their answer");
        assert(errors.some((e) => /retrying/.test(e)), errors.join("\n"));
        assertEquals(log.queueStats(), { pending: 0, written: 3, failed: 0, backpressured: 0 });
        const rows = await log.recentAsync({ tenant: "acme" });
        assertEquals(rows.map((r) => r.requestId).sort(), ["exec-1", "exec-2", "exec-3"]);
        for (const r of records) assertEquals(rows.find((row) => row.requestId === r.requestId), r);
        const [{ executions, calls }] = await direct`
          SELECT (SELECT count(*) FROM airlock_executions)::int AS executions,
                 (SELECT count(*) FROM airlock_tool_calls)::int AS calls`;
        assertEquals({ executions, calls }, { executions: 3, calls: 6 });
        // A record given twice (and one without an id: the log draws it once, at enqueue).
        const twice = record("again");
        const bare = record("bare");
        delete bare.executionId;
        relay.arm(1);
        log.record(twice);
        log.record(bare);
        log.record(twice);
        await log.flush(30_000);
        assertEquals(relay.cut, 3);
        const again = await log.recentAsync({ tenant: "acme" });
        assertEquals(again.filter((r) => r.requestId === "again"), [twice]);
        const bareRows = again.filter((r) => r.requestId === "bare");
        assertEquals(bareRows.length, 1);
        assertMatch(bareRows[0].executionId ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-/);
      } finally {
        await log.close();
      }
    } finally {
      await direct.end({ timeout: 1 });
      await relay.close();
      await pg.stop();
    }
  },
});

Deno.test({
  name: "postgres audit: a database of schema 3 gains unique execution ids and keeps its rows",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPostgres();
    const direct = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      // A database as the schema before left it (this code's own tables, taken back to 3),
      // with one execution and its two calls.
      await (await PostgresAuditLog.open(pg.url)).close();
      await direct.unsafe(`
        DROP INDEX IF EXISTS airlock_executions_execution_id;
        DROP INDEX IF EXISTS airlock_tool_calls_seq;
        ALTER TABLE airlock_executions DROP COLUMN IF EXISTS execution_id;
        ALTER TABLE airlock_executions DROP COLUMN IF EXISTS status;
        CREATE INDEX IF NOT EXISTS airlock_tool_calls_execution
          ON airlock_tool_calls(execution_id);
        UPDATE airlock_audit_schema SET version = 3;
        WITH e AS (
          INSERT INTO airlock_executions (time, replica, tenant, request_id, transport,
            code_hash, ok, duration_ms, sandbox_ms, tools_injected, redactions)
          VALUES (now() - interval '1 hour', 'old', 'acme', 'old', 'http', 'sha256:00', true,
            1, 1, '[]', '{}')
          RETURNING id)
        INSERT INTO airlock_tool_calls (execution_id, seq, tool, ms, ok)
        SELECT e.id, c.seq, c.tool, 1, true FROM e, (VALUES (0, 'a.b'), (1, 'a.c')) AS c(seq, tool);`);
      const log = await PostgresAuditLog.open(pg.url);
      try {
        const fresh = record("fresh");
        log.record(fresh);
        log.record(fresh);
        await log.flush();
        const rows = await log.recentAsync();
        assertEquals(rows.map((r) => r.requestId), ["fresh", "old"]);
        assertEquals(rows[0], fresh);
        assertEquals("executionId" in rows[1], false, "a row from before has no execution id");
        assertEquals(rows[1].calls.map((c) => c.tool), ["a.b", "a.c"]);
      } finally {
        await log.close();
      }
      const [{ version }] = await direct`SELECT version FROM airlock_audit_schema`;
      assertEquals(version, 5);
      const indexes = await direct`
        SELECT indexname FROM pg_indexes WHERE indexdef LIKE 'CREATE UNIQUE INDEX%'
          AND tablename IN ('airlock_executions', 'airlock_tool_calls')
          AND indexname NOT LIKE '%_pkey' ORDER BY indexname`;
      assertEquals(indexes.map((i) => i.indexname), [
        "airlock_executions_execution_id",
        "airlock_tool_calls_seq",
      ]);
    } finally {
      await direct.end({ timeout: 1 });
      await pg.stop();
    }
  },
});

/** The sink fixture server (tests/fixtures/servers/sink.ts), writing only under `dir`. */
const sinkServer = (dir: string) => ({
  command: Deno.execPath(),
  args: [
    "run",
    "--quiet",
    `--allow-write=${dir}`,
    new URL("../fixtures/servers/sink.ts", import.meta.url).pathname,
  ],
  cwd: REPO_ROOT,
});

/**
 * Runs two executions with one reused request id over SSE, approving the held call each
 * time; checks that each execution row, its approval row and its SSE `approval` event carry
 * the same execution id, and that the two ids differ.
 */
async function oneIdPerExecution(
  gw: TestGateway,
  root: string,
  approvals: () => Promise<ApprovalAuditRecord[]>,
) {
  const shown: string[] = [];
  for (const n of [1, 2]) {
    const response = await fetch(`${gw.url}/v1/execute`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        "x-request-id": "reused-id",
      },
      body: JSON.stringify({
        code: `return await sink.store({ path: ${
          JSON.stringify(`${root}/${n}.json`)
        }, value: ${n} });`,
      }),
    });
    assertEquals(response.status, 200);
    // deno-lint-ignore no-explicit-any
    let result: any;
    for await (const { event, data } of sseEvents(response)) {
      // deno-lint-ignore no-explicit-any
      const d = data as any;
      if (event === "approval") {
        shown.push(d.executionId);
        const answer = await gw.post(`/v1/approvals/${d.id}`, { decision: "approve" });
        assertEquals(answer.status, 200, JSON.stringify(answer.body));
      }
      if (event === "result") result = d;
    }
    assertEquals(result?.ok, true, JSON.stringify(result));
  }
  await gw.gateway.auditSink!.flush();
  const rows = await gw.gateway.auditSink!.recentAsync();
  assertEquals(rows.length, 2);
  assertEquals(rows.map((r) => r.requestId), ["reused-id", "reused-id"]);
  const ids = rows.map((r) => r.executionId).reverse();
  assertEquals(ids, shown, "the execution rows carry the ids the SSE approval events showed");
  for (const id of ids) assertMatch(id ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-/);
  assert(ids[0] !== ids[1], "two executions, two ids");
  const decided = (await approvals()).map((a) => a.executionId).reverse();
  assertEquals(decided, ids, "each approval row names its execution's row");
}

Deno.test({
  name: "gateway (SQLite audit): execution rows, approval rows and SSE events share one id",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "airlock-audit-rows-" });
    const gw = await startTestGateway({
      servers: { sink: sinkServer(root) },
      approval: { tools: ["sink.store"], timeoutSeconds: 30 },
    });
    try {
      await oneIdPerExecution(
        gw,
        root,
        () => Promise.resolve(gw.gateway.audit!.recentApprovals()),
      );
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "gateway (PostgreSQL audit): execution rows, approval rows and SSE events share one id",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPostgres();
    const root = await Deno.makeTempDir({ prefix: "airlock-audit-rows-" });
    try {
      const gw = await startTestGateway({
        audit: { url: pg.url, replica: "gw-1" },
        servers: { sink: sinkServer(root) },
        approval: { tools: ["sink.store"], timeoutSeconds: 30 },
      });
      try {
        const sink = gw.gateway.auditSink as PostgresAuditLog;
        await oneIdPerExecution(gw, root, () => sink.recentApprovalsAsync());
      } finally {
        await gw.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
      await pg.stop();
    }
  },
});

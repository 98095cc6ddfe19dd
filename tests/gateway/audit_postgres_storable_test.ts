/**
 * Whatever a tenant or an upstream server puts into an audit record, the PostgreSQL audit
 * stores it (or sets aside just that record) and writes every other record: U+0000 and lone
 * surrogates in any text or JSON column of executions, calls, unused prefetches and
 * approvals (stored as U+FFFD, as SQLite now stores them), an execution with more call rows
 * than one statement can bind, and records PostgreSQL refuses anyway. Real PostgreSQL, a real
 * gateway, the real filesystem reference server.
 */

import {
  type ApprovalAuditRecord,
  AuditLog,
  type AuditRecord,
  PostgresAuditLog,
} from "../../observability/mod.ts";
import postgres from "postgres";
import { refusedRecord } from "../../observability/audit_postgres_refusal.ts";
import { CUT_MARKER } from "../../observability/audit_text.ts";
import { assert, assertEquals } from "../assert.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { freePort, startTestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";
import { postgresBin, type PostgresService, skipWithout, startPostgres } from "../services.ts";

const ignore = skipWithout("PostgreSQL audit", { postgresql: postgresBin() });
const R = "\uFFFD";

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    executionId: crypto.randomUUID(),
    time: new Date().toISOString(),
    tenant: "victim",
    requestId: crypto.randomUUID(),
    transport: "http",
    codeHash: "sha256:" + "ab".repeat(32),
    ok: true,
    durationMs: 2,
    sandboxMs: 1,
    toolsInjected: ["files.read"],
    calls: [{ tool: "files.read", ms: 1, ok: true, outcome: "ok" }],
    redactions: {},
    ...overrides,
  };
}

function approval(overrides: Partial<ApprovalAuditRecord> = {}): ApprovalAuditRecord {
  return {
    id: crypto.randomUUID(),
    tenant: "victim",
    executionId: crypto.randomUUID(),
    requestId: "req-1",
    tool: "files.write",
    arguments: '{"path":"a.txt"}',
    requestedAt: new Date(Date.now() - 1000).toISOString(),
    decidedAt: new Date().toISOString(),
    decision: "approved",
    decidedBy: "local",
    scope: "call",
    reason: "fine",
    ...overrides,
  };
}

/** A PostgreSQL audit log that keeps what it reports; closed (and checked) by the caller. */
async function open(pg: PostgresService, replica: string, options = {}) {
  const errors: string[] = [];
  const log = await PostgresAuditLog.open(pg.url, {
    replica,
    onError: (message) => errors.push(message),
    ...options,
  });
  return { log, errors };
}

Deno.test({
  name: "postgres audit: text PostgreSQL cannot hold is stored, and never holds up the record",
  ignore,
  async fn(t) {
    const pg = await startPostgres();
    try {
      await t.step("NUL and lone surrogates in every text and JSON of an execution", async () => {
        const { log, errors } = await open(pg, "texts");
        try {
          const poison = record({
            tenant: "mal\u0000lory",
            requestId: "req\u0000",
            codeHash: "sha256:\u0000",
            ok: false,
            errorKind: "to\u0000ol",
            toolsInjected: ["a\u0000b", "c\ud800"],
            calls: [
              // A refused made-up id, an upstream error repeating the argument, a prefetch
              // the code never used.
              { tool: "x\u0000y", ms: 1, ok: false, outcome: "refused", error: "no tool x\u0000y" },
              { tool: "fs.read", ms: 2, ok: false, outcome: "er\u0000ror", error: "a\u0000.txt" },
              { tool: "fs.list\udc00", ms: 3, ok: true, outcome: "ok", speculation: "un\u0000" },
            ],
            redactions: { "e\u0000mail": 1, "e\uFFFDmail": 2, __proto__x: 1 },
          });
          log.record(poison);
          const after = record({ tenant: "victim-1" });
          log.record(after);
          await log.flush();
          assertEquals(log.queued, 0);
          assertEquals(await log.recentAsync({ tenant: "victim-1" }), [after], "the next record");
          const stored = await log.recentAsync({ tenant: `mal${R}lory` });
          assertEquals(stored, [{
            ...poison,
            tenant: `mal${R}lory`,
            requestId: `req${R}`,
            codeHash: `sha256:${R}`,
            errorKind: `to${R}ol`,
            toolsInjected: [`a${R}b`, `c${R}`],
            calls: [
              { tool: `x${R}y`, ms: 1, ok: false, outcome: "refused", error: `no tool x${R}y` },
              { tool: "fs.read", ms: 2, ok: false, outcome: `er${R}ror`, error: `a${R}.txt` },
              { tool: `fs.list${R}`, ms: 3, ok: true, outcome: "ok", speculation: `un${R}` },
            ],
            redactions: { [`e${R}mail`]: 3, __proto__x: 1 },
          }]);
          // SQLite stores the same (it used to read the text back cut at the NUL).
          const sqlite = AuditLog.open(":memory:");
          try {
            sqlite.record(poison);
            assertEquals(sqlite.recent(), stored);
          } finally {
            sqlite.close();
          }
          assertEquals(log.queueStats().failed, 0);
          assertEquals(errors, []);
        } finally {
          await log.close();
        }
      });

      await t.step("NUL in an approval's reason, arguments, tool and decider", async () => {
        const { log, errors } = await open(pg, "approvals");
        try {
          const poison = approval({
            tenant: "mallory",
            tool: "files.\u0000write",
            arguments: '{"path":"a\u0000.txt"}',
            decidedBy: "key:\u0000",
            // Cut at 500, marked, beside a surrogate pair: the pair goes whole.
            reason: "why\u0000" + "a".repeat(481) + "\u{1F600}" + "a".repeat(20),
          });
          const after = approval({ tenant: "victim-2" });
          log.recordApproval(poison);
          log.recordApproval(after);
          await log.flush();
          assertEquals(log.queued, 0);
          assertEquals(await log.recentApprovalsAsync({ tenant: "victim-2" }), [after]);
          const stored = await log.recentApprovalsAsync({ tenant: "mallory" });
          assertEquals(stored, [{
            ...poison,
            tool: `files.${R}write`,
            arguments: `{"path":"a${R}.txt"}`,
            decidedBy: `key:${R}`,
            reason: `why${R}` + "a".repeat(481) + CUT_MARKER,
          }]);
          const sqlite = AuditLog.open(":memory:");
          try {
            sqlite.recordApproval(poison);
            assertEquals(sqlite.recentApprovals(), stored);
          } finally {
            sqlite.close();
          }
          assertEquals(errors, []);
        } finally {
          await log.close();
        }
      });

      await t.step("an execution with more call rows than one statement can bind", async () => {
        const { log, errors } = await open(pg, "many");
        try {
          const calls = (n: number) =>
            Array.from({ length: n }, (_, i) => ({ tool: "s.get", ms: i, ok: true }));
          // 8 columns a row: 8,192 rows are 65,536 parameters, one more than PostgreSQL takes.
          const sizes = [8192, 9000, 100_001];
          for (const n of sizes) log.record(record({ tenant: `big-${n}`, calls: calls(n) }));
          const after = record({ tenant: "victim-3" });
          log.record(after);
          await log.flush(60_000);
          assertEquals(log.queued, 0);
          assertEquals(await log.recentAsync({ tenant: "victim-3" }), [after]);
          for (const n of sizes) {
            const [stored] = await log.recentAsync({ tenant: `big-${n}` });
            assertEquals(stored.calls.length, n);
            // In order: the seq numbers run on across statements.
            assert(stored.calls.every((c, i) => c.ms === i), `calls of ${n} in order`);
          }
          assertEquals(errors, []);
        } finally {
          await log.close();
        }
      });

      await t.step("a record PostgreSQL refuses anyway is set aside, counted, logged", async () => {
        const { log, errors } = await open(pg, "refused", { batchSize: 10 });
        try {
          // Valid JavaScript dates that PostgreSQL's timestamptz cannot hold.
          const ancient = "-010000-01-01T00:00:00.000Z";
          const before = record({ requestId: "before" });
          log.record(before);
          log.record(record({ tenant: "mallory-secret", time: ancient }));
          log.recordApproval(approval({ tenant: "mallory-secret", requestedAt: ancient }));
          const after = record({ requestId: "after" });
          const afterApproval = approval({ tenant: "victim-4" });
          log.record(after);
          log.recordApproval(afterApproval);
          await log.flush();
          assertEquals(log.queued, 0, "nothing left waiting");
          assertEquals(
            (await log.recentAsync({ replica: "refused" })).map((r) => r.requestId).sort(),
            ["after", "before"],
          );
          assertEquals(
            (await log.recentApprovalsAsync({ tenant: "victim-4" })).map((a) => a.id),
            [afterApproval.id],
          );
          const stats = log.queueStats();
          assertEquals({ failed: stats.failed, written: stats.written }, { failed: 2, written: 3 });
          assertEquals(errors.length, 2, errors.join("\n"));
          assert(errors.every((e) => /PostgreSQL refused one (execution|approval) record/.test(e)));
          assert(!errors.join().includes("mallory"), "the log says nothing of the contents");
        } finally {
          await log.close();
        }
      });

      await t.step("only what the records hold is refused: an outage is retried", async () => {
        const failure = async (url: string, query: (sql: postgres.Sql) => Promise<unknown>) => {
          const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
          try {
            await query(sql);
          } catch (error) {
            return error;
          } finally {
            await sql.end({ timeout: 1 });
          }
          throw new Error(`the query succeeded: ${query}`);
        };
        const many = Array.from({ length: 70_000 }, (_, i) => i);
        for (
          const query of [
            (sql: postgres.Sql) => sql`SELECT ${"a\u0000b"}::text`,
            (sql: postgres.Sql) => sql`SELECT ${sql.json(["a\u0000"])}`,
            (sql: postgres.Sql) => sql`SELECT ${sql.json(["a\ud800"])}`,
            (sql: postgres.Sql) => sql`SELECT ${"-010000-01-01T00:00:00Z"}::timestamptz`,
            (sql: postgres.Sql) => sql`SELECT 1 WHERE 1 IN ${sql(many)}`,
            (sql: postgres.Sql) => sql`SELECT ${sql.json({ n: 1n } as never)}::jsonb`,
          ]
        ) assert(refusedRecord(await failure(pg.url, query)), String(query));
        for (
          const [url, query] of [
            [`postgres://u:p@127.0.0.1:${freePort()}/db`, (sql: postgres.Sql) => sql`SELECT 1`],
            [pg.url, (sql: postgres.Sql) => sql`SELECT pg_terminate_backend(pg_backend_pid())`],
            [pg.url, (sql: postgres.Sql) => sql`SELECT * FROM no_such_table`],
          ] as const
        ) assert(!refusedRecord(await failure(url, query)), String(query));
      });
    } finally {
      await pg.stop();
    }
  },
});

Deno.test({
  name: "postgres audit: one tenant's NUL (refused id, upstream error) leaves every record written",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPostgres();
    const root = await Deno.makeTempDir({ prefix: "airlock-nul-" });
    await Deno.writeTextFile(`${root}/a.txt`, "hello");
    const gw = await startTestGateway({
      audit: { url: pg.url, replica: "gw" },
      servers: { filesystem: filesystemServer(root) },
      auth: {
        tenants: {
          mallory: { keys: [hashApiKey("mallory-key")] },
          victim: { keys: [hashApiKey("victim-key")] },
        },
      },
    });
    try {
      const run = async (key: string, code: string) => {
        const reply = await gw.post("/v1/execute", { code }, { authorization: `Bearer ${key}` });
        assertEquals(reply.status, 200, JSON.stringify(reply.body));
        return reply.body as { ok: boolean; result: unknown };
      };
      await run("mallory-key", 'try { await tools.call("x\\u0000y", {}) } catch { } return 1');
      const upstream = await run(
        "mallory-key",
        `try { await filesystem.readTextFile({ path: ${JSON.stringify(root)} + "/a\\u0000.txt" }) }
         catch (e) { return "refused" } return "read"`,
      );
      assertEquals(upstream.result, "refused");
      for (let i = 0; i < 3; i++) {
        const reply = await run(
          "victim-key",
          `return await filesystem.readTextFile({ path: ${JSON.stringify(root + "/a.txt")} })`,
        );
        assertEquals(reply.ok, true);
      }
      const sink = gw.gateway.auditSink!;
      await sink.flush();
      const mallory = await sink.recentAsync({ tenant: "mallory" });
      assertEquals(mallory.length, 2, "the tenant's own records are on the record too");
      const calls = mallory.flatMap((r) => r.calls);
      assert(calls.some((c) => c.tool === `x${R}y`), JSON.stringify(calls));
      // The server's error repeats the path, NUL and all.
      assert(
        calls.some((c) => c.tool === "filesystem.read_text_file" && c.error?.includes(`a${R}.txt`)),
        JSON.stringify(calls),
      );
      assert(!JSON.stringify(mallory).includes("\u0000"));
      assertEquals((await sink.recentAsync({ tenant: "victim" })).length, 3);
      // The PostgreSQL queue is on /metrics like SQLite's: everything written, nothing failed.
      const metrics = (await gw.get("/metrics")).body as string;
      assert(/^airlock_audit_written_total 5$/m.test(metrics), metrics);
      assert(/^airlock_audit_failed_total 0$/m.test(metrics), metrics);
      assert(/^airlock_audit_pending 0$/m.test(metrics), metrics);
    } finally {
      await gw.close();
      await pg.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

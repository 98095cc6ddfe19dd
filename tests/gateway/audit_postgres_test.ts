/**
 * The PostgreSQL audit log against a real PostgreSQL server: the same records as SQLite,
 * the replica of each, concurrent migrations, retention, errors without passwords, and a
 * gateway writing to it.
 */

import { AuditError, type AuditRecord, PostgresAuditLog } from "../../observability/mod.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { untag } from "../placeholders.ts";
import { freePort, startTestGateway } from "../helpers.ts";
import { postgresBin, type PostgresService, skipWithout, startPostgres } from "../services.ts";

const ignore = skipWithout("PostgreSQL audit", { postgresql: postgresBin() });

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    executionId: crypto.randomUUID(),
    time: new Date().toISOString(),
    tenant: "acme",
    requestId: crypto.randomUUID(),
    transport: "http",
    codeHash: "sha256:" + "ab".repeat(32),
    ok: false,
    errorKind: "tool",
    durationMs: 12.5,
    sandboxMs: 10,
    toolsInjected: ["files.read"],
    calls: [
      { tool: "files.read", ms: 3, ok: true, outcome: "ok" },
      { tool: "files.write", ms: 1, ok: false, outcome: "error", error: "x".repeat(500) },
    ],
    redactions: { email: 2 },
    ...overrides,
  };
}

async function withPostgres(fn: (pg: PostgresService) => Promise<void>) {
  const pg = await startPostgres();
  try {
    await fn(pg);
  } finally {
    await pg.stop();
  }
}

Deno.test({
  name: "postgres audit: records round-trip with their calls and replica",
  ignore,
  async fn() {
    await withPostgres(async (pg) => {
      // Two replicas opening at once: one migrates, the other waits and finds it done.
      const [a, b] = await Promise.all([
        PostgresAuditLog.open(pg.url, { replica: "replica-a" }),
        PostgresAuditLog.open(pg.url, { replica: "replica-b" }),
      ]);
      try {
        const first = record();
        const second = record({ tenant: "other", ok: true, calls: [], transport: "mcp" });
        delete second.errorKind;
        a.record(first);
        b.record(second);
        await Promise.all([a.flush(), b.flush()]);
        assertEquals(a.queued, 0);
        const all = await a.recentAsync();
        assertEquals(all.length, 2);
        const stored = (await a.recentAsync({ tenant: "acme" }))[0];
        assertEquals(
          stored.calls[1].error,
          "x".repeat(186) + " … [truncated]",
          "call errors cut to 200, marked",
        );
        stored.calls[1].error = first.calls[1].error;
        assertEquals(stored, first);
        assertEquals(await b.recentAsync({ tenant: "other" }), [second]);
        assertEquals((await a.recentAsync({ replica: "replica-b" })).length, 1);
        // Reopening finds the schema current.
        const again = await PostgresAuditLog.open(pg.url);
        assertEquals((await again.recentAsync()).length, 2);
        await again.close();
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
});

Deno.test({
  name: "postgres audit: retention prunes old executions and their calls",
  ignore,
  async fn() {
    await withPostgres(async (pg) => {
      const log = await PostgresAuditLog.open(pg.url, { retentionDays: 30 });
      try {
        log.record(record({ time: new Date(Date.now() - 40 * 86_400_000).toISOString() }));
        log.record(record({ requestId: "fresh" }));
        await log.flush();
        assertEquals(await log.prune(), 1);
        const left = await log.recentAsync();
        assertEquals(left.map((r) => r.requestId), ["fresh"]);
        assertEquals(left[0].calls.length, 2);
      } finally {
        await log.close();
      }
    });
  },
});

Deno.test({
  name: "postgres audit: bad records and unreachable databases give clear errors",
  ignore,
  async fn() {
    const port = freePort();
    let error: unknown;
    try {
      await PostgresAuditLog.open(`postgres://u:s3cret-pw@127.0.0.1:${port}/db`, {
        connectTimeoutSeconds: 1,
      });
    } catch (e) {
      error = e;
    }
    assert(error instanceof AuditError, String(error));
    assertEquals(error.kind, "audit_open");
    assertMatch(error.message, new RegExp(`127\\.0\\.0\\.1:${port}/db`));
    assert(!error.message.includes("s3cret"), "no password in the message");

    await withPostgres(async (pg) => {
      const log = await PostgresAuditLog.open(pg.url);
      try {
        let bad: unknown;
        try {
          log.record(record({ time: "not a date" }));
        } catch (e) {
          bad = e;
        }
        assert(bad instanceof AuditError && bad.kind === "audit_write");
      } finally {
        await log.close();
      }
      // A newer schema than this code knows is refused, not written over.
      const probe = await PostgresAuditLog.open(pg.url);
      await probe.close();
      const psql = `${postgresBin()}/psql`;
      const set = await new Deno.Command(psql, {
        args: [pg.url, "-c", "UPDATE airlock_audit_schema SET version = 99"],
        stdout: "null",
      }).output();
      assert(set.success);
      let newer: unknown;
      try {
        await PostgresAuditLog.open(pg.url);
      } catch (e) {
        newer = e;
      }
      assert(newer instanceof AuditError);
      assertMatch(newer.message, /schema version 99/);
    });
  },
});

Deno.test({
  name: "postgres audit: a gateway with audit.url writes its executions there",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withPostgres(async (pg) => {
      const gw = await startTestGateway({ audit: { url: pg.url, replica: "gw-1" } });
      try {
        assertEquals(gw.gateway.audit, undefined, "no SQLite file beside it");
        assertEquals(gw.gateway.auditSink?.backend, "postgres");
        const reply = await gw.execute("return 'ann@example.com'");
        assertEquals(untag(reply.result), "[EMAIL_1]");
        await gw.gateway.auditSink!.flush();
        const rows = await gw.gateway.auditSink!.recentAsync();
        assertEquals(rows.length, 1);
        assertEquals(rows[0].ok, true);
        assertEquals(rows[0].redactions, { email: 1 });
        assert(!JSON.stringify(rows).includes("ann@example.com"));
        const log = await PostgresAuditLog.open(pg.url);
        assertEquals((await log.recentAsync({ replica: "gw-1" })).length, 1);
        await log.close();
      } finally {
        await gw.close();
      }
    });
  },
});

Deno.test({
  name: "postgres audit: approvals are written beside executions, read back and pruned",
  ignore,
  async fn() {
    await withPostgres(async (pg) => {
      const log = await PostgresAuditLog.open(pg.url, { replica: "r1", retentionDays: 30 });
      try {
        const approval = {
          id: crypto.randomUUID(),
          tenant: "acme",
          executionId: crypto.randomUUID(),
          requestId: "req-1",
          tool: "filesystem.write_file",
          arguments: '{"path":"a.txt","content":"[EMAIL_1]"}',
          requestedAt: new Date(Date.now() - 1000).toISOString(),
          decidedAt: new Date().toISOString(),
          decision: "approved",
          decidedBy: "key:sha256:0123456789abcdef",
          scope: "execution",
          reason: "fine",
        };
        log.recordApproval(approval);
        log.record(record());
        log.recordApproval({
          ...approval,
          id: crypto.randomUUID(),
          tenant: "other",
          decision: "timeout",
          decidedBy: undefined,
          scope: undefined,
          reason: undefined,
          arguments: "y".repeat(10_000),
          requestedAt: new Date(Date.now() - 40 * 86_400_000).toISOString(),
        });
        await log.flush();
        assertEquals(log.queued, 0);
        assertEquals(await log.recentApprovalsAsync({ tenant: "acme" }), [approval]);
        const other = (await log.recentApprovalsAsync({ tenant: "other" }))[0];
        assertEquals(other.arguments.length, 4096);
        assertEquals("decidedBy" in other, false);
        assertEquals((await log.recentAsync()).length, 1, "the execution is there too");
        await log.prune();
        assertEquals((await log.recentApprovalsAsync()).map((a) => a.id), [approval.id]);
        let refused: unknown;
        try {
          log.recordApproval({ ...approval, decidedAt: "later" });
        } catch (error) {
          refused = error;
        }
        assert(refused instanceof AuditError && refused.kind === "audit_write");
      } finally {
        await log.close();
      }
    });
  },
});

Deno.test({
  name: "postgres audit: a full queue makes callers wait, it never drops a record",
  ignore,
  async fn() {
    await withPostgres(async (pg) => {
      const log = await PostgresAuditLog.open(pg.url, { maxQueue: 2, batchSize: 1 });
      try {
        const ids = Array.from({ length: 12 }, () => crypto.randomUUID());
        // Half through record() (fire and forget), half through enqueue() (awaited).
        const waits: Array<Promise<void> | undefined> = [];
        ids.forEach((requestId, i) => {
          if (i % 2) waits.push(log.enqueue(record({ requestId })));
          else log.record(record({ requestId }));
        });
        assert(waits.some((w) => w !== undefined), "the queue was full: enqueue had to wait");
        await Promise.all(waits);
        assert(log.backpressured > 0);
        await log.flush();
        const stored = await log.recentAsync({ limit: 100 });
        assertEquals(stored.map((r) => r.requestId).sort(), [...ids].sort(), "every record");
        assertEquals(log.queued, 0);
      } finally {
        await log.close();
      }
    });
  },
});

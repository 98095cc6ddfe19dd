/** The audit log: round trips, linked tool calls, retention, reopening, schema, errors. */

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { AuditError, AuditLog, type AuditRecord } from "../../observability/audit.ts";
import { CodeHasher } from "../../observability/code_hash.ts";

const hasher = new CodeHasher("k".repeat(32), "configured");

function sample(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: "2026-11-20T10:00:00.000Z",
    tenant: "acme",
    requestId: "req-1",
    transport: "http",
    codeHash: hasher.hash("return 1;"),
    ok: true,
    durationMs: 41.5,
    sandboxMs: 30.25,
    toolsInjected: ["filesystem.read_file", "filesystem.list_directory"],
    calls: [
      { tool: "filesystem.list_directory", ms: 4, ok: true },
      { tool: "filesystem.read_file", ms: 2.5, ok: false, error: "ENOENT: [PATH_1]" },
    ],
    redactions: { email: 2, phone: 1 },
    ...overrides,
  };
}

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-audit-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a record reads back exactly, with its tool calls in order", () => {
  const log = AuditLog.open(":memory:", { now: () => new Date("2026-11-21T00:00:00Z") });
  try {
    const failed = sample({
      requestId: "req-2",
      time: "2026-11-20T11:00:00.000Z",
      transport: "mcp",
      ok: false,
      errorKind: "timeout",
      calls: [],
      toolsInjected: [],
      redactions: {},
    });
    log.record(sample());
    log.record(failed);
    assertEquals(log.recent(), [failed, sample()]);
  } finally {
    log.close();
  }
});

Deno.test("tool calls are rows linked to their execution; long errors are capped", async () => {
  await withDir((dir) => {
    const path = `${dir}/audit.db`;
    const log = AuditLog.open(path);
    log.record(sample({ time: new Date().toISOString() }));
    log.record(sample({
      time: new Date().toISOString(),
      requestId: "req-2",
      calls: [{ tool: "memory.read_graph", ms: 1, ok: false, error: "x".repeat(2000) }],
    }));
    log.close();

    const db = new DatabaseSync(path);
    try {
      const rows = db.prepare(
        `SELECT e.request_id, c.seq, c.tool, length(c.error) AS len FROM tool_calls c
         JOIN executions e ON e.id = c.execution_id ORDER BY e.id, c.seq`,
      ).all().map((row) => ({ ...row }));
      assertEquals(rows, [
        { request_id: "req-1", seq: 0, tool: "filesystem.list_directory", len: null },
        { request_id: "req-1", seq: 1, tool: "filesystem.read_file", len: 16 },
        { request_id: "req-2", seq: 0, tool: "memory.read_graph", len: 200 },
      ]);
    } finally {
      db.close();
    }
  });
});

Deno.test("recent filters by tenant, limits, and orders by time then insertion", () => {
  const log = AuditLog.open(":memory:", { retentionDays: Infinity });
  try {
    log.record(sample({ requestId: "a", time: "2026-11-20T10:00:00Z" }));
    log.record(sample({ requestId: "b", time: "2026-11-20T12:00:00+02:00", tenant: "other" }));
    log.record(sample({ requestId: "c", time: "2026-11-20T10:00:00Z" }));
    log.record(sample({ requestId: "d", time: "2026-11-20T09:00:00Z" }));
    // "b" is 10:00Z written with an offset: times are normalised, so it sorts with the others.
    assertEquals(log.recent().map((r) => r.requestId), ["c", "b", "a", "d"]);
    assertEquals(log.recent().find((r) => r.requestId === "b")?.time, "2026-11-20T10:00:00.000Z");
    assertEquals(log.recent({ tenant: "acme" }).map((r) => r.requestId), ["c", "a", "d"]);
    assertEquals(log.recent({ limit: 2 }).map((r) => r.requestId), ["c", "b"]);
    assertEquals(log.recent({ tenant: "nobody" }), []);
  } finally {
    log.close();
  }
});

Deno.test("retention prunes old executions and their calls, on open and on demand", async () => {
  await withDir((dir) => {
    const path = `${dir}/audit.db`;
    let now = new Date("2026-11-21T00:00:00Z");
    const log = AuditLog.open(path, { retentionDays: 7, now: () => now });
    log.record(sample({ requestId: "old", time: "2026-11-10T00:00:00Z" }));
    log.record(sample({ requestId: "edge", time: "2026-11-14T00:00:00Z" }));
    log.record(sample({ requestId: "new", time: "2026-11-20T00:00:00Z" }));
    assertEquals(log.prune(), 1);
    assertEquals(log.recent().map((r) => r.requestId), ["new", "edge"]);
    assertEquals(log.prune(), 0);
    now = new Date("2026-11-21T00:00:00.001Z");
    assertEquals(log.prune(), 1);
    log.close();

    const db = new DatabaseSync(path);
    assertEquals({ ...db.prepare("SELECT count(*) AS n FROM tool_calls").get() }, { n: 2 });
    db.close();

    // Reopening later prunes what expired meanwhile.
    const later = AuditLog.open(path, {
      retentionDays: 7,
      now: () => new Date("2026-12-01T00:00:00Z"),
    });
    assertEquals(later.recent(), []);
    later.close();
  });
});

Deno.test("retention can run on a timer and stops on close", async () => {
  const log = AuditLog.open(":memory:", { retentionDays: 1 });
  log.record(sample({ time: "2000-01-01T00:00:00Z" }));
  log.startRetention(5);
  for (let i = 0; i < 200 && log.recent().length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assertEquals(log.recent(), []);
  log.close(); // the sanitizer fails the test if the interval were left running
});

Deno.test("reopening an existing file keeps its data and schema version", async () => {
  await withDir((dir) => {
    const path = `${dir}/nested/deeper/audit.db`;
    const first = AuditLog.open(path, { retentionDays: Infinity });
    first.record(sample());
    first.close();
    const second = AuditLog.open(path, { retentionDays: Infinity });
    second.record(sample({ requestId: "req-2", time: "2026-11-20T10:00:01.000Z" }));
    assertEquals(second.recent().map((r) => r.requestId), ["req-2", "req-1"]);
    assertEquals(second.recent()[1], sample());
    second.close();

    const db = new DatabaseSync(path);
    assertEquals({ ...db.prepare("PRAGMA user_version").get() }, { user_version: 4 });
    assertEquals({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
    db.close();
  });
});

Deno.test("a record with 1000 tool calls is written in one transaction", () => {
  const log = AuditLog.open(":memory:", { retentionDays: Infinity });
  try {
    const calls = Array.from({ length: 1000 }, (_, i) => ({
      tool: `server.tool_${i % 7}`,
      ms: i / 10,
      ok: i % 3 !== 0,
      ...(i % 3 === 0 ? { error: `failure ${i}` } : {}),
    }));
    log.record(sample({ calls }));
    const [read] = log.recent();
    assertEquals(read.calls.length, 1000);
    assertEquals(read.calls, calls);
  } finally {
    log.close();
  }
});

Deno.test("a failed write leaves nothing behind", () => {
  const log = AuditLog.open(":memory:", { retentionDays: Infinity });
  try {
    const bad = sample({
      calls: [{ tool: "a.b", ms: 1, ok: true }, { tool: null!, ms: 1, ok: true }],
    });
    const error = assertThrows(() => log.record(bad), /audit write failed/);
    assertEquals((error as AuditError).kind, "audit_write");
    assertEquals(log.recent(), []);
    assertThrows(() => log.record(sample({ time: "yesterday" })), /not an ISO date/);
    log.record(sample());
    assertEquals(log.recent().length, 1);
  } finally {
    log.close();
  }
  assertThrows(() => log.record(sample()), /closed/);
});

Deno.test("no column can hold a result, logs or code, and extra fields are not stored", async () => {
  await withDir((dir) => {
    const path = `${dir}/audit.db`;
    const log = AuditLog.open(path);
    const secret = "RESULT-VALUE-alice@example.com";
    const leaky = {
      ...sample({ time: new Date().toISOString() }),
      result: secret,
      logs: [{ level: "log", text: secret }],
      code: `return "${secret}";`,
    };
    log.record(leaky);
    log.close();

    const db = new DatabaseSync(path);
    const columns = (table: string) =>
      db.prepare(`PRAGMA table_info(${table})`).all().map((c) => `${c.name}:${c.type}`);
    assertEquals(columns("executions"), [
      "id:INTEGER",
      "time:TEXT",
      "tenant:TEXT",
      "request_id:TEXT",
      "transport:TEXT",
      "code_hash:TEXT",
      "ok:INTEGER",
      "error_kind:TEXT",
      "duration_ms:REAL",
      "sandbox_ms:REAL",
      "tools_injected:TEXT",
      "redactions:TEXT",
    ]);
    assertEquals(columns("tool_calls"), [
      "id:INTEGER",
      "execution_id:INTEGER",
      "seq:INTEGER",
      "tool:TEXT",
      "ms:REAL",
      "ok:INTEGER",
      "error:TEXT",
      "outcome:TEXT",
      // Speculation: only "prefetched", "cached" or "unused".
      "speculation:TEXT",
    ]);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all().map((t) => t.name);
    // Approvals keep the call's arguments as the approver saw them (placeholders, redacted,
    // cut), never a result, logs or code.
    assertEquals(columns("approvals"), [
      "id:TEXT",
      "tenant:TEXT",
      "execution_id:TEXT",
      "request_id:TEXT",
      "tool:TEXT",
      "arguments:TEXT",
      "requested_at:TEXT",
      "decided_at:TEXT",
      "decision:TEXT",
      "decided_by:TEXT",
      "scope:TEXT",
      "reason:TEXT",
    ]);
    assertEquals(tables, ["approvals", "executions", "tool_calls"]);
    db.close();

    for (const file of [path, `${path}-wal`]) {
      let bytes: Uint8Array;
      try {
        bytes = Deno.readFileSync(file);
      } catch {
        continue; // the WAL is checkpointed and removed on close
      }
      const text = new TextDecoder("latin1").decode(bytes);
      assert(!text.includes("RESULT-VALUE"), `${file} holds the result`);
      assert(text.includes("req-1"), `${file} was expected to hold the record`);
    }
  });
});

Deno.test("a bad path or a foreign file gives a clear audit_open error", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "not a directory");
    const underFile = assertThrows(
      () => AuditLog.open(`${dir}/file/audit.db`),
      /cannot open the audit log at .*\/file\/audit\.db: /,
    );
    assert(underFile instanceof AuditError);
    assertEquals(underFile.kind, "audit_open");

    await Deno.writeTextFile(`${dir}/text.db`, "this is plain text, not SQLite ".repeat(100));
    assertThrows(() => AuditLog.open(`${dir}/text.db`), /cannot open the audit log at .*text\.db/);

    const newer = new DatabaseSync(`${dir}/newer.db`);
    newer.exec("PRAGMA user_version = 99");
    newer.close();
    assertThrows(() => AuditLog.open(`${dir}/newer.db`), /schema version 99/);

    assertThrows(() => AuditLog.open(":memory:", { retentionDays: 0 }), /retentionDays/);
  });
});

Deno.test("speculation marks are stored and read back; an older file gains the column", async () => {
  await withDir((dir) => {
    const path = `${dir}/old.db`;
    const old = new DatabaseSync(path);
    // A file at schema version 2 (before speculation), with one call.
    old.exec(`CREATE TABLE executions (id INTEGER PRIMARY KEY, time TEXT NOT NULL,
      tenant TEXT NOT NULL, request_id TEXT NOT NULL, transport TEXT NOT NULL,
      code_hash TEXT NOT NULL, ok INTEGER NOT NULL, error_kind TEXT, duration_ms REAL NOT NULL,
      sandbox_ms REAL NOT NULL, tools_injected TEXT NOT NULL, redactions TEXT NOT NULL);
      CREATE TABLE tool_calls (id INTEGER PRIMARY KEY, execution_id INTEGER NOT NULL
      REFERENCES executions(id) ON DELETE CASCADE, seq INTEGER NOT NULL, tool TEXT NOT NULL,
      ms REAL NOT NULL, ok INTEGER NOT NULL, error TEXT, outcome TEXT);
      PRAGMA user_version = 2;`);
    old.close();
    const log = AuditLog.open(path, { retentionDays: Infinity });
    const calls = [
      { tool: "a.read", ms: 1, ok: true, outcome: "ok", speculation: "prefetched" },
      { tool: "a.read", ms: 1, ok: true, outcome: "ok", speculation: "cached" },
      { tool: "a.write", ms: 1, ok: true, outcome: "ok" },
      { tool: "a.read", ms: 1, ok: true, outcome: "cancelled", speculation: "unused" },
    ];
    log.record(sample({ calls }));
    assertEquals(log.recent()[0].calls, calls);
    log.close();
  });
});

Deno.test("approvals: one row per settled request, read back, pruned with the retention", () => {
  let now = new Date("2026-11-20T12:00:00.000Z");
  const log = AuditLog.open(":memory:", { retentionDays: 1, now: () => now });
  try {
    const row = {
      id: crypto.randomUUID(),
      tenant: "acme",
      executionId: crypto.randomUUID(),
      requestId: "req-1",
      tool: "filesystem.write_file",
      arguments: '{"path":"a.txt","content":"[EMAIL_1]"}',
      requestedAt: "2026-11-20T11:59:00.000Z",
      decidedAt: "2026-11-20T11:59:30.000Z",
      decision: "approved",
      decidedBy: "key:sha256:0123456789abcdef",
      scope: "execution",
      reason: "fine",
    };
    log.recordApproval(row);
    log.recordApproval({
      ...row,
      id: crypto.randomUUID(),
      decision: "timeout",
      decidedBy: undefined,
      scope: undefined,
      reason: undefined,
      arguments: "x".repeat(10_000),
    });
    const read = log.recentApprovals({ tenant: "acme" });
    assertEquals(read.length, 2);
    assertEquals(read.find((r) => r.id === row.id), row);
    const long = read.find((r) => r.decision === "timeout")!;
    assertEquals(long.arguments.length, 4096);
    assertEquals("decidedBy" in long, false);
    assertEquals(log.recentApprovals({ tenant: "other" }), []);
    now = new Date("2026-11-22T12:00:00.000Z");
    log.prune();
    assertEquals(log.recentApprovals(), []);
  } finally {
    log.close();
  }
  assertThrows(() => log.recordApproval({} as never), /closed/);
});

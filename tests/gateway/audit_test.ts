/** The audit log: round trips, linked tool calls, retention, reopening, schema, errors. */

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import {
  AuditError,
  AuditLog,
  type AuditRecord,
  MAX_ERROR_CHARS,
  storableRecord,
} from "../../observability/audit.ts";
import { CodeHasher } from "../../observability/code_hash.ts";

const hasher = new CodeHasher("k".repeat(32), "configured");

/** A record; its execution id follows its request id (one log stores one per id). */
function sample(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    executionId: `exec-${overrides.requestId ?? "req-1"}`,
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
    assertEquals({ ...db.prepare("PRAGMA user_version").get() }, { user_version: 6 });
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
      // The gateway's execution id (a random UUID), unique.
      "execution_id:TEXT",
      // `running` while the execution's rows are written ahead; NULL once it finished.
      "status:TEXT",
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

Deno.test("an execution given twice is stored once, calls and all; its id reads back", async () => {
  await withDir((dir) => {
    const path = `${dir}/audit.db`;
    const log = AuditLog.open(path, { retentionDays: Infinity });
    const first = sample();
    const second = sample({ requestId: "req-2", time: "2026-11-20T10:00:01.000Z" });
    log.record(first);
    log.record(first);
    // A batch written again (its COMMIT's answer lost), with a duplicate inside it too.
    log.recordMany([second, first, second]);
    log.enqueue(first);
    // The same request id in two executions: two rows, told apart by their execution ids.
    const reused = sample({ executionId: "exec-reused", time: "2026-11-20T10:00:02.000Z" });
    log.record(reused);
    // Without an id the log draws one: each such record is an execution of its own.
    const bare = sample({ requestId: "bare", time: "2026-11-20T09:00:00.000Z" });
    delete bare.executionId;
    log.record(bare);
    log.record(bare);
    const read = log.recent();
    assertEquals(read.slice(0, 3), [reused, second, first]);
    assertEquals(read.length, 5);
    const drawn = read.slice(3).map((r) => r.executionId ?? "");
    for (const id of drawn) assertMatch(id, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert(drawn[0] !== drawn[1]);
    log.close();

    const db = new DatabaseSync(path);
    try {
      const calls = db.prepare(
        `SELECT e.execution_id AS id, count(*) AS n FROM tool_calls c
         JOIN executions e ON e.id = c.execution_id GROUP BY e.id ORDER BY e.id`,
      ).all().map((row) => ({ ...row }));
      assertEquals(calls.slice(0, 3), [
        { id: "exec-req-1", n: 2 },
        { id: "exec-req-2", n: 2 },
        { id: "exec-reused", n: 2 },
      ]);
    } finally {
      db.close();
    }
  });
});

Deno.test("an older file (schema 4) gains unique execution ids and keeps its rows", async () => {
  await withDir((dir) => {
    const path = `${dir}/old.db`;
    const old = new DatabaseSync(path);
    // Schema version 4 as Airlock wrote it, with one execution and its two calls.
    old.exec(`CREATE TABLE executions (id INTEGER PRIMARY KEY, time TEXT NOT NULL,
      tenant TEXT NOT NULL, request_id TEXT NOT NULL, transport TEXT NOT NULL,
      code_hash TEXT NOT NULL, ok INTEGER NOT NULL, error_kind TEXT, duration_ms REAL NOT NULL,
      sandbox_ms REAL NOT NULL, tools_injected TEXT NOT NULL, redactions TEXT NOT NULL);
      CREATE TABLE tool_calls (id INTEGER PRIMARY KEY, execution_id INTEGER NOT NULL
      REFERENCES executions(id) ON DELETE CASCADE, seq INTEGER NOT NULL, tool TEXT NOT NULL,
      ms REAL NOT NULL, ok INTEGER NOT NULL, error TEXT, outcome TEXT, speculation TEXT);
      CREATE INDEX executions_time ON executions(time);
      CREATE INDEX executions_tenant ON executions(tenant, time);
      CREATE INDEX tool_calls_execution ON tool_calls(execution_id);
      CREATE TABLE approvals (id TEXT PRIMARY KEY, tenant TEXT NOT NULL,
      execution_id TEXT NOT NULL, request_id TEXT NOT NULL, tool TEXT NOT NULL,
      arguments TEXT NOT NULL, requested_at TEXT NOT NULL, decided_at TEXT NOT NULL,
      decision TEXT NOT NULL, decided_by TEXT, scope TEXT, reason TEXT);
      INSERT INTO executions VALUES (1, '2026-11-19T10:00:00.000Z', 'acme', 'old', 'http',
        'sha256:00', 1, NULL, 1, 1, '[]', '{}');
      INSERT INTO tool_calls (execution_id, seq, tool, ms, ok) VALUES (1, 0, 'a.b', 1, 1),
        (1, 1, 'a.c', 1, 1);
      PRAGMA user_version = 4;`);
    old.close();
    const log = AuditLog.open(path, { retentionDays: Infinity });
    const fresh = sample();
    log.record(fresh);
    log.record(fresh);
    const read = log.recent();
    assertEquals(read.map((r) => r.requestId), ["req-1", "old"]);
    assertEquals(read[0], fresh);
    assertEquals("executionId" in read[1], false, "a row from before has no execution id");
    assertEquals(read[1].calls.map((c) => c.tool), ["a.b", "a.c"]);
    log.close();

    const db = new DatabaseSync(path);
    try {
      assertEquals({ ...db.prepare("PRAGMA user_version").get() }, { user_version: 6 });
      const unique = (table: string) =>
        db.prepare(`PRAGMA index_list(${table})`).all()
          .filter((index) => index.unique === 1 && index.origin === "c").map((index) => index.name);
      assertEquals(unique("executions"), ["executions_execution_id"]);
      assertEquals(unique("tool_calls"), ["tool_calls_seq"]);
    } finally {
      db.close();
    }
  });
});

Deno.test("a long call error is cut on a placeholder's edge, and the cut is marked", () => {
  const marker = " … [truncated]";
  const placeholders = ["[CARD_1_hqkzmta]", "[SECRET_1234567890_abcdefg]", "[REDACTED_SSN]"];
  for (const placeholder of placeholders) {
    // Every position of the cut, from before the placeholder to after it.
    for (let pad = 150; pad <= MAX_ERROR_CHARS; pad++) {
      const error = "e".repeat(pad) + placeholder + " and more".repeat(10);
      const [stored] = storableRecord(sample({ calls: [{ tool: "a.b", ms: 1, ok: false, error }] }))
        .calls;
      const text = stored.error!;
      assert(text.length <= MAX_ERROR_CHARS, `${text.length} units`);
      assert(text.endsWith(marker), text);
      const kept = text.slice(0, -marker.length);
      assert(error.startsWith(kept));
      const open = kept.lastIndexOf("[");
      assert(open === -1 || kept.includes("]", open), `a partial placeholder: ${kept}`);
    }
  }
  // Short enough: as it is, no marker.
  const exact = "x".repeat(MAX_ERROR_CHARS);
  const [short] =
    storableRecord(sample({ calls: [{ tool: "a.b", ms: 1, ok: false, error: exact }] }))
      .calls;
  assertEquals(short.error, exact);
  // A surrogate pair is not split at the cut (no U+FFFD), and `[see` is not a placeholder.
  for (const error of ["\u{1F600}".repeat(150), "a" + "\u{1F600}".repeat(150)]) {
    const [cut] = storableRecord(sample({ calls: [{ tool: "a.b", ms: 1, ok: false, error }] }))
      .calls;
    assert(!cut.error!.includes("\uFFFD") && cut.error!.endsWith(marker));
  }
  const note = "n".repeat(180) + "[see the log for more";
  const [kept] = storableRecord(sample({ calls: [{ tool: "a.b", ms: 1, ok: false, error: note }] }))
    .calls;
  assertEquals(kept.error, note.slice(0, MAX_ERROR_CHARS - marker.length) + marker);
  // SQLite reads back what it stored.
  const log = AuditLog.open(":memory:");
  try {
    const error = "e".repeat(180) + "[CARD_1_hqkzmta] declined";
    log.record(
      sample({ time: new Date().toISOString(), calls: [{ tool: "a.b", ms: 1, ok: false, error }] }),
    );
    assertEquals(log.recent()[0].calls[0].error, "e".repeat(180) + marker);
  } finally {
    log.close();
  }
});

Deno.test("the audit database, its log and shared memory are readable by their owner only", async () => {
  // Red team l4: created 0644 under the default umask, any local user (a sandbox under
  // sandbox.uidRange among them) read every tenant's rows.
  await withDir((dir) => {
    const fresh = `${dir}/fresh.db`;
    const log = AuditLog.open(fresh);
    log.record(sample({ time: new Date().toISOString() }));
    for (const file of [fresh, `${fresh}-wal`, `${fresh}-shm`]) {
      assertEquals((Deno.statSync(file).mode ?? 0) & 0o777, 0o600, file);
    }
    log.close();
    // One made by an older version, open to all, is narrowed when opened.
    const old = `${dir}/old.db`;
    new DatabaseSync(old).close();
    Deno.chmodSync(old, 0o644);
    Deno.writeTextFileSync(`${old}-wal`, "");
    Deno.chmodSync(`${old}-wal`, 0o666);
    AuditLog.open(old).close();
    assertEquals((Deno.statSync(old).mode ?? 0) & 0o777, 0o600);
  });
});

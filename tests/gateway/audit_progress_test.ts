/**
 * The audit's write-ahead rows (red team n2, N2-2), in both stores: a running execution's
 * journal is queued once however many calls it makes (coalesced, never a write per call), its
 * snapshot holds only what changed, the rows read back as `status: "running"` with `sent`
 * calls, the final record replaces them (calls and all) and is idempotent, and a progress
 * snapshot that lands after the final record (a retried batch) changes nothing.
 */

import {
  AuditLog,
  type AuditRecord,
  ExecutionJournal,
  PostgresAuditLog,
  type ProgressSource,
} from "../../observability/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { postgresBin, skipWithout, startPostgres } from "../services.ts";

/** A store as the gateway uses it: queue, progress, read back. */
interface Store {
  enqueue(record: AuditRecord): void;
  enqueueProgress(source: ProgressSource): void;
  read(): Promise<AuditRecord[]>;
}

function journal(store: Store, executionId: string, clock: { now: number }) {
  return new ExecutionJournal(
    {
      executionId,
      time: "2026-11-30T10:00:00.000Z",
      tenant: "acme",
      requestId: "req-1",
      transport: "http",
      codeHash: () => "hmac-sha256:" + "ab".repeat(32),
    },
    (source) => store.enqueueProgress(source),
    () => clock.now,
  );
}

function finalRecord(executionId: string): AuditRecord {
  return {
    executionId,
    time: "2026-11-30T10:00:00.000Z",
    tenant: "acme",
    requestId: "req-1",
    transport: "http",
    codeHash: "hmac-sha256:" + "ab".repeat(32),
    ok: true,
    durationMs: 40,
    sandboxMs: 30,
    toolsInjected: ["files.read"],
    calls: [
      { tool: "files.read", ms: 5, ok: true, outcome: "ok" },
      { tool: "files.write", ms: 9, ok: false, outcome: "cancelled", error: "the end" },
    ],
    redactions: {},
  };
}

/** The write-ahead life of one execution, the same in either store. */
async function writeAheadThenReplace(store: Store): Promise<void> {
  const id = crypto.randomUUID();
  const clock = { now: 0 };
  const j = journal(store, id, clock);
  const doneRead = j.sent("files.read");
  j.sent("files.write");
  clock.now = 5;
  doneRead(true);
  let [running] = await store.read();
  assertEquals(running.status, "running");
  assertEquals(running.executionId, id);
  assertEquals(running.ok, false);
  assertEquals(running.codeHash, "hmac-sha256:" + "ab".repeat(32));
  assertEquals(running.calls, [
    { tool: "files.read", ms: 5, ok: true, outcome: "ok" },
    { tool: "files.write", ms: 5, ok: false, outcome: "sent" },
  ]);
  // A third send later: only it is written; the others stay as they were.
  clock.now = 8;
  j.sent("files.delete")(false);
  [running] = await store.read();
  assertEquals(running.calls.map((c) => [c.tool, c.outcome]), [
    ["files.read", "ok"],
    ["files.write", "sent"],
    ["files.delete", "error"],
  ]);
  assertEquals(running.durationMs, 8);

  // The final record replaces the row and every call written ahead.
  j.finish();
  const final = finalRecord(id);
  store.enqueue(final);
  let rows = await store.read();
  assertEquals(rows, [final]);
  // Given again (a batch retried after its COMMIT's answer was lost): nothing changes.
  store.enqueue({ ...final, durationMs: 99 });
  rows = await store.read();
  assertEquals(rows, [final]);
  // A snapshot taken before the end and written after it (a retried batch): nothing changes.
  const late: ProgressSource = {
    takeProgress: () => ({
      executionId: id,
      time: final.time,
      tenant: "acme",
      requestId: "req-1",
      transport: "http",
      codeHash: final.codeHash,
      durationMs: 1,
      calls: [{ seq: 0, tool: "files.read", ms: 1, ok: false, outcome: "sent" }],
    }),
  };
  store.enqueueProgress(late);
  rows = await store.read();
  assertEquals(rows, [final]);
  // Nor can another tenant's snapshot with the same id touch it.
  store.enqueueProgress({
    takeProgress: () => ({ ...late.takeProgress()!, tenant: "other" }),
  });
  assertEquals(await store.read(), [final]);
}

Deno.test("journal: a burst of calls is one queued entry and one snapshot; the next holds only what changed", () => {
  const queued: ProgressSource[] = [];
  const clock = { now: 0 };
  const j = new ExecutionJournal(
    {
      executionId: "e",
      time: "2026-11-30T10:00:00.000Z",
      tenant: "acme",
      requestId: "r",
      transport: "http",
      codeHash: () => "h",
    },
    (source) => queued.push(source),
    () => clock.now,
  );
  const done = [];
  for (let i = 0; i < 10_000; i++) done.push(j.sent("files.read"));
  for (const d of done) d(true);
  assertEquals(queued.length, 1, "one queued entry for 10,000 sends and answers");
  const first = j.takeProgress()!;
  assertEquals(first.calls.length, 10_000, "each call once, with its answer");
  assert(first.calls.every((c) => c.outcome === "ok"));
  assertEquals(j.takeProgress(), undefined, "nothing new: nothing to write");
  j.sent("files.write", true);
  assertEquals(queued.length, 2);
  assertEquals(j.takeProgress()!.calls, [
    { seq: 10_000, tool: "files.write", ms: 0, ok: false, outcome: "sent", speculation: "unused" },
  ]);
  // Claimed by the code: the prefetch's row becomes the code's call.
  j.claimPrefetch("files.write");
  assertEquals(j.takeProgress()!.calls.map((c) => c.speculation), ["prefetched"]);
  j.finish();
  j.sent("files.read");
  assertEquals(j.takeProgress(), undefined, "finished: the final record says it all");
  assertEquals(queued.length, 3, "and nothing is queued after the end");
});

Deno.test("SQLite audit: rows written ahead read back running, the final record replaces them", async () => {
  const log = AuditLog.open(":memory:", { retentionDays: Infinity });
  try {
    await writeAheadThenReplace({
      enqueue: (record) => void log.enqueue(record),
      enqueueProgress: (source) => log.enqueueProgress(source),
      read: () => Promise.resolve(log.recent()),
    });
  } finally {
    log.close();
  }
});

Deno.test({
  name: "PostgreSQL audit: rows written ahead read back running, the final record replaces them",
  ignore: skipWithout("PostgreSQL audit", { postgresql: postgresBin() }),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pg = await startPostgres();
    try {
      const log = await PostgresAuditLog.open(pg.url);
      try {
        await writeAheadThenReplace({
          enqueue: (record) => void log.enqueue(record),
          enqueueProgress: (source) => log.enqueueProgress(source),
          read: async () => {
            await log.flush();
            return await log.recentAsync();
          },
        });
      } finally {
        await log.close();
      }
    } finally {
      await pg.stop();
    }
  },
});

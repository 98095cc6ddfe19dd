/**
 * Every prefetch that reached an upstream server is on the record (red team of issue 13,
 * item 3), whichever way the execution ends: refused by the sandbox queue, abandoned by its
 * caller while it waited, or cancelled while it ran. Prefetches start only once the execution
 * has its sandbox slot, so one refused or abandoned in the queue sends nothing upstream.
 */

import { assert, assertEquals } from "../assert.ts";
import { startSpecGateway } from "./harness.ts";
import type { SpecHarness } from "./harness.ts";

/** Upstream reads of keys starting with `prefix`, and the audited `ledger.get` calls. */
async function tally(h: SpecHarness, prefix: string) {
  const reads = (await h.ledger()).reads.filter((k) => k.startsWith(prefix));
  await h.gateway.audit!.flush();
  const audited = h.gateway.audit!.recent({ limit: 1000 })
    .flatMap((r) => r.calls.filter((c) => c.tool === "ledger.get"));
  return { reads, audited };
}

Deno.test({
  name:
    "record: a refused or abandoned execution sends nothing upstream; a cancelled one is audited",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway({
      sandbox: { timeoutMs: 8000, memoryMb: 64, concurrency: 1, queue: 1 },
      auth: { tenants: { t: { keys: [`sha256:${"a".repeat(64)}`], maxConcurrent: 8 } } },
    }, ["--delay-ms", "200"]);
    try {
      const tenant = h.gateway.tenants.list()[0];
      const busy = h.run(`await new Promise((r) => setTimeout(r, 2000)); return "busy";`);
      await new Promise((r) => setTimeout(r, 300));
      // Waits in the queue (1 place), then its caller goes away.
      const abort = new AbortController();
      const left = h.gateway.execute(
        { code: `await ledger.get({ key: "gone1" }); await ledger.get({ key: "gone2" });` },
        { tenant, requestId: "gone", transport: "http", signal: abort.signal },
      ).then(() => "ran", (e) => `${e?.kind ?? e?.name}`);
      await new Promise((r) => setTimeout(r, 200));
      // Refused: the queue is full.
      const refused = await h.gateway.execute(
        { code: `await ledger.get({ key: "q1" }); await ledger.get({ key: "q2" }); return 1;` },
        { tenant, requestId: "refused", transport: "http" },
      ).then(() => "ran", (e) => `${e?.kind ?? e?.name}`);
      abort.abort();
      assertEquals(refused, "queue_full");
      assert((await left) !== "ran", await left);
      assertEquals((await busy).result, "busy");
      const { reads } = await tally(h, "q");
      assertEquals(reads, [], "the refused execution's reads never reached the server");
      assertEquals((await tally(h, "gone")).reads, [], "nor the abandoned one's");

      // Cancelled while it runs: its prefetches reached the server and are on the record.
      const running = new AbortController();
      const cancelled = h.gateway.execute(
        {
          code: `await new Promise((r) => setTimeout(r, 1500));
                 await ledger.get({ key: "c1" }); await ledger.get({ key: "c2" }); return 1;`,
        },
        { tenant, requestId: "cancelled", transport: "http", signal: running.signal },
      ).then((r) => r.error?.kind ?? "ok", (e) => `${e?.kind ?? e?.name}`);
      await new Promise((r) => setTimeout(r, 700));
      running.abort();
      await cancelled;
      const after = await tally(h, "c");
      assertEquals(after.reads.sort(), ["c1", "c2"], "both were prefetched");
      const unused = after.audited.filter((c) => c.speculation === "unused");
      assert(unused.length >= 2, `prefetches on the record: ${JSON.stringify(after.audited)}`);
      // Every upstream read of the run is on the record, once.
      const all = await tally(h, "");
      assertEquals(
        all.audited.length,
        all.reads.length,
        `${JSON.stringify(all.reads)} vs ${JSON.stringify(all.audited)}`,
      );
    } finally {
      await h.close();
    }
  },
});

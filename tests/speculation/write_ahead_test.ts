/**
 * A prefetch is on the audit record as soon as it is sent, before its execution ends (red team
 * n2, N2-2: a replica killed mid-execution lost every upstream call of the execution, its
 * prefetches too). While the execution runs, its row (`status: "running"`) holds each prefetch
 * sent as `unused`; once the code's call is served from one, that row says `prefetched`; the
 * final record then replaces the rows with exactly what happened.
 */

import { assert, assertEquals } from "../assert.ts";
import { waitFor } from "../services.ts";
import { startSpecGateway } from "./harness.ts";

Deno.test({
  name: "write-ahead: prefetches are on the running execution's record as they are sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway({
      sandbox: { timeoutMs: 20_000, memoryMb: 64 },
      auth: { tenants: { t: { keys: [`sha256:${"a".repeat(64)}`] } } },
    });
    try {
      const tenant = h.gateway.tenants.list()[0];
      const stop = new AbortController();
      const running = h.gateway.execute(
        {
          code: `await new Promise((r) => setTimeout(r, 1500));
                 await ledger.get({ key: "wa-used" });
                 await new Promise((r) => setTimeout(r, 15000));
                 if (Date.now() < 0) await ledger.get({ key: "wa-never" });
                 return 1;`,
        },
        { tenant, requestId: "wa", transport: "http", signal: stop.signal },
      ).then((r) => r, (e) => e);
      const mine = () => h.gateway.audit!.recent({ limit: 100 }).find((r) => r.requestId === "wa");
      const gets = () =>
        (mine()?.calls ?? []).filter((c) => c.tool === "ledger.get").map((c) => c.speculation)
          .sort();
      // Both literal reads are prefetched at once, long before the code makes either call.
      assert(
        await waitFor(() => gets().length === 2, 1200),
        `prefetches on the record while the code waits: ${JSON.stringify(mine())}`,
      );
      assertEquals(mine()?.status, "running");
      assertEquals(gets(), ["unused", "unused"]);
      // The code's call takes one of them.
      assert(
        await waitFor(() => JSON.stringify(gets()) === '["prefetched","unused"]', 10_000),
        `the code's call served from a prefetch: ${JSON.stringify(mine())}`,
      );
      assertEquals(mine()?.status, "running");
      stop.abort();
      await running;
      await h.gateway.audit!.flush();
      const final = mine()!;
      assertEquals(final.status, undefined, "finished: the final record replaced the rows");
      assertEquals(
        final.calls.map((c) => [c.tool, c.speculation]),
        [["ledger.get", "prefetched"], ["ledger.get", "unused"]],
      );
    } finally {
      await h.close();
    }
  },
});

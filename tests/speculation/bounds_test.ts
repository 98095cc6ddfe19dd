/**
 * Prefetches are bounded like the code's calls and like the cache (red team of issue 13,
 * items 5, 7 and 8): they take calls of `sandbox.maxToolCalls` and slots of
 * `sandbox.maxConcurrentCallsPerServer`; a prefetched result larger than one cache entry is
 * not held; what is held is counted in the tenant's cache accounting and given back; the
 * parser scan skips code longer than its cap.
 */

import { assert, assertEquals } from "../assert.ts";
import { startSpecGateway } from "./harness.ts";
import { CACHE_LIMITS, MAX_SCANNED_CODE_CHARS } from "../../gateway/speculation/mod.ts";

Deno.test({
  name: "bounds: prefetches take calls of maxToolCalls and slots of maxConcurrentCallsPerServer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway({
      sandbox: { timeoutMs: 8000, memoryMb: 64, maxToolCalls: 2, maxConcurrentCallsPerServer: 1 },
    }, ["--delay-ms", "300"]);
    try {
      // Dead code: never called. Two calls allowed: at most two reads reach the server.
      const calls = Array.from({ length: 8 }, (_, i) => `await ledger.get({ key: "b${i}" });`);
      const dead = await h.run(
        `if (Date.now() < 0) {\n${calls.join("\n")}\n}\n` +
          `await new Promise((r) => setTimeout(r, 900)); return 1;`,
      );
      assert(dead.ok, JSON.stringify(dead.error));
      const ledger = await h.ledger();
      assertEquals(ledger.reads.filter((k) => k.startsWith("b")), ["b0", "b1"], "two at most");
      assertEquals(ledger.maxGets, 1, "one at a time");
      // The code's own calls are never refused because of a prefetch: two calls, both served.
      const used = await h.run(
        `const a = await ledger.get({ key: "u1" }); const b = await ledger.get({ key: "u2" });
         return [a.key, b.key];`,
      );
      assertEquals(used.result, ["u1", "u2"]);
      assertEquals(used.tools.calls.map((c) => c.prefetched ?? false), [true, true]);
      // And the code still gets its full budget when a prefetch went unused.
      const mixed = await h.run(
        `if (Date.now() < 0) await ledger.get({ key: "never" });
         const id = ["ledger", "get"].join(".");
         const a = await tools.call(id, { key: "m1" }); const b = await tools.call(id, { key: "m2" });
         return [a.key, b.key];`,
      );
      assertEquals(mixed.result, ["m1", "m2"], JSON.stringify(mixed.error));
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "bounds: prefetched results over one cache entry are not held; held room is given back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway({ speculation: { readOnly: ["ledger.big"] } });
    try {
      const big = CACHE_LIMITS.maxCharsPerEntry + 10;
      const reply = await h.run(
        `await new Promise((r) => setTimeout(r, 300));
         const a = await ledger.big({ bytes: ${big} });
         const b = await ledger.big({ bytes: 1000 });
         return [a.length, b.length];`,
        { session: "s" },
      );
      assertEquals(reply.result, [big, 1000]);
      // Too big to hold: the code's call went upstream; the small one was served.
      assertEquals(reply.tools.calls.map((c) => c.prefetched ?? false), [false, true]);
      await h.gateway.audit!.flush();
      const record = h.gateway.audit!.recent({ limit: 10 }).find((r) =>
        r.calls.some((c) => c.tool === "ledger.big")
      )!;
      assertEquals(
        record.calls.map((c) => c.speculation ?? "-"),
        ["-", "prefetched", "unused"],
        "the dropped prefetch reached the server and is on the record",
      );
      // Nothing stays held after the execution; the small result is kept in the cache.
      const stats = h.gateway.speculation.stats().cache.find((c) => c.tenant === "local")!;
      assertEquals(stats.held, 0);
      assertEquals(stats.entries, 1);
      const metrics = h.gateway.metrics.registry.render();
      assert(metrics.includes('airlock_speculation_prefetch_held_chars{tenant="local"} 0'));
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "bounds: code longer than the scan's cap gets no literal prefetch",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway();
    try {
      // The scan runs in a Worker: the code gives it time before its first call.
      const read = `await new Promise((r) => setTimeout(r, 300));
        return (await ledger.get({ key: "k" })).key;`;
      const short = await h.run(read);
      assertEquals(short.tools.calls[0].prefetched, true);
      const padded = `${"// padding\n".repeat(Math.ceil(MAX_SCANNED_CODE_CHARS / 11))}${read}`;
      assert(padded.length > MAX_SCANNED_CODE_CHARS);
      const long = await h.run(padded);
      assertEquals(long.result, "k");
      assertEquals(long.tools.calls[0].prefetched, undefined);
    } finally {
      await h.close();
    }
  },
});

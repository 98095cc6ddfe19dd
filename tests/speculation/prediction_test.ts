/**
 * Prediction against a real MCP server: a repeated workload ("read the config, then read what
 * it points to") teaches the gateway the transition and the argument reuse, after which the
 * second read, whose argument is not a literal, is started as soon as the first returns and
 * served from that prefetch; precision shows in `/metrics`; the audit seeds the counts.
 */

import { assert, assertEquals } from "../assert.ts";
import { startSpecGateway } from "./harness.ts";

const WORKLOAD = `
  const config = await ledger.get({ key: "config" });
  const target = await ledger.get({ key: config.value.pointer });
  return target.value;`;

Deno.test({
  name: "prediction: a learned transition with argument reuse is prefetched and used",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway();
    try {
      const setup = await h.run(`
        await ledger.put({ key: "config", value: { pointer: "p1" } });
        await ledger.put({ key: "p1", value: "hello" });
        return 1;`);
      assert(setup.ok, JSON.stringify(setup.error));
      const flags: Array<boolean | undefined> = [];
      for (let i = 0; i < 6; i++) {
        const reply = await h.run(WORKLOAD);
        assert(reply.ok, JSON.stringify(reply.error));
        assertEquals(reply.result, "hello");
        flags.push(reply.tools.calls[1].prefetched);
      }
      // Learning first (support 3, two consistent argument templates), then predicting.
      assertEquals(flags.slice(0, 3), [undefined, undefined, undefined]);
      assertEquals(flags.slice(-2), [true, true]);
      const metrics = h.gateway.metrics.registry.render();
      assert(
        metrics.includes('airlock_speculation_prediction_precision{tenant="local"} 1'),
        metrics,
      );
      assert(metrics.includes('airlock_speculation_prediction_enabled{tenant="local"} 1'));

      // A changed pointer: the prediction follows the new value, never a stale argument.
      await h.run(`
        await ledger.put({ key: "p2", value: "moved" });
        await ledger.put({ key: "config", value: { pointer: "p2" } });
        return 1;`);
      const moved = await h.run(WORKLOAD);
      assertEquals(moved.result, "moved");
      assertEquals(moved.tools.calls[1].prefetched, true);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "prediction: a loop over constant keys is learned as a chain and started at once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway();
    try {
      const loop = `
        const out = [];
        for (const k of ["k1", "k2", "k3"]) out.push((await ledger.get({ key: k })).version);
        return out;`;
      const flags: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await h.run(loop);
        assert(reply.ok, JSON.stringify(reply.error));
        flags.push(reply.tools.calls.map((c) => c.prefetched ?? false));
      }
      assertEquals(flags[0], [false, false, false]);
      assertEquals(flags[4], [false, true, true]);
      // A write between the reads voids the chain's prefetches: the fresh value is read.
      const mixed = await h.run(`
        const out = [];
        for (const k of ["k1", "k2", "k3"]) {
          out.push((await ledger.get({ key: k })).version);
          if (k === "k1") await ledger.put({ key: "k3", value: 1 });
        }
        return out;`);
      assertEquals(mixed.result, [0, 0, 1]);
      assertEquals(mixed.tools.calls.at(-1)!.prefetched, undefined);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "prediction: the audit's call sequences seed the transition counts at start",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "airlock-audit-" });
    try {
      const first = await startSpecGateway({ audit: { path: `${dir}/audit.db` } });
      try {
        for (let i = 0; i < 4; i++) {
          await first.run(`await ledger.get({ key: "a" }); await ledger.ledger({}); return 1;`);
        }
      } finally {
        await first.close();
      }
      const second = await startSpecGateway({ audit: { path: `${dir}/audit.db` } });
      try {
        const stats = second.gateway.speculation.predictor;
        // Counts only (the audit keeps no arguments): nothing is predicted from them alone.
        assertEquals(stats.predict("local", { tool: "ledger.get", args: {}, value: {} }, 0.5), []);
        // One live observation supplies the template; the audited counts carry the support.
        for (let i = 0; i < 2; i++) {
          stats.observe("local", { tool: "ledger.get", args: {}, value: {} }, {
            tool: "ledger.ledger",
            args: {},
          });
        }
        assertEquals(
          stats.predict("local", { tool: "ledger.get", args: {}, value: {} }, 0.5).map((p) =>
            p.tool
          ),
          ["ledger.ledger"],
        );
      } finally {
        await second.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

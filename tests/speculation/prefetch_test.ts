/**
 * Speculation against a real MCP server (the ledger fixture): literal prefetch, what is never
 * speculated, the session cache and its invalidation by writes, the audit of unused
 * prefetches, the tenant switch and the request's `tools` narrowing.
 */

import { assert, assertEquals } from "../assert.ts";
import { startSpecGateway } from "./harness.ts";

Deno.test({
  name: "speculation: literal reads are prefetched and served; writes never are",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const h = await startSpecGateway();
    try {
      await t.step("sequential literal reads are each served from a prefetch", async () => {
        const reply = await h.run(`
          const a = await ledger.get({ key: "a" });
          const b = await ledger.get({ key: "b" });
          const c = await tools.call("ledger.get", { key: "c" });
          return [a.key, b.key, c.key];`);
        assert(reply.ok, JSON.stringify(reply.error));
        assertEquals(reply.result, ["a", "b", "c"]);
        assertEquals(reply.tools.calls.map((c) => c.prefetched), [true, true, true]);
        // One upstream read per call: the prefetch is the call.
        const reads = (await h.ledger()).reads;
        assertEquals(reads.filter((k) => "abc".includes(k)).sort(), ["a", "b", "c"]);
      });

      await t.step("a write in the code voids the prefetched read of the same server", async () => {
        const reply = await h.run(`
          const v = await ledger.put({ key: "w", value: 1 });
          const r = await ledger.get({ key: "w" });
          return [v.version, r.version, r.value];`);
        assert(reply.ok, JSON.stringify(reply.error));
        // A stale prefetch (started before the put) would say version 0, value null.
        assertEquals(reply.result, [1, 1, 1]);
        assertEquals(reply.tools.calls[1].prefetched, undefined);
      });

      await t.step("calls that are not read-only are never started early", async () => {
        const reply = await h.run(`
          if (Date.now() < 0) {
            await ledger.put({ key: "never", value: 1 });
            await ledger.write({ key: "never" });
          }
          return "ok";`);
        assert(reply.ok, JSON.stringify(reply.error));
        const ledger = await h.ledger();
        assert(!ledger.writes.includes("put:never"), JSON.stringify(ledger));
        assert(!ledger.started.includes("never"), JSON.stringify(ledger));
      });

      await t.step("a prefetch the code never uses is audited as unused, not shown", async () => {
        // The code lives long enough for the prefetch to start: the literal-call scan runs in a
        // worker, and on a loaded machine (CI) a code that returned at once had ended first, so
        // there was no prefetch to audit.
        const reply = await h.run(`
          if (Date.now() < 0) await ledger.get({ key: "unused-one" });
          await new Promise((resolve) => setTimeout(resolve, 500));
          return "ok";`);
        assert(reply.ok, JSON.stringify(reply.error));
        assertEquals(reply.tools.calls, []);
        const audited = h.gateway.audit!.recent({ limit: 1 })[0];
        assertEquals(audited.calls.map((c) => [c.tool, c.speculation]), [
          ["ledger.get", "unused"],
        ]);
        const metrics = h.gateway.metrics.registry.render();
        assert(
          /airlock_speculation_prefetches_total\{tenant="local",source="literal",result="unused"\} [1-9]/
            .test(metrics),
          metrics,
        );
      });

      await t.step(
        "code refused before the sandbox (a value import) starts no prefetch",
        async () => {
          const reply = await h.run(
            `import { readFile } from "node:fs";\nreturn await ledger.get({ key: "never-ran" });`,
          );
          assertEquals(reply.error?.kind, "compile");
          assert(!(await h.ledger()).reads.includes("never-ran"));
        },
      );

      await t.step("the request's tools narrowing also holds for prefetches", async () => {
        const reply = await h.run(
          `try { await ledger.get({ key: "narrowed" }); } catch (e) { return e.name; }`,
          { tools: ["ledger.ledger"] },
        );
        assert(reply.ok, JSON.stringify(reply.error));
        assertEquals(reply.result, "ToolError");
        assert(!(await h.ledger()).reads.includes("narrowed"));
      });

      await t.step("arguments that are not literals are not prefetched", async () => {
        const reply = await h.run(`
          const key = "dyn";
          await ledger.get({ key });
          await ledger.get({ key: \`\${key}2\` });
          return "ok";`);
        assert(reply.ok, JSON.stringify(reply.error));
        assertEquals(reply.tools.calls.map((c) => c.prefetched), [undefined, undefined]);
      });
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "speculation: the session cache serves repeated reads until a write to the server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway();
    try {
      const read = `const dyn = ["cfg"][0]; return await ledger.get({ key: dyn });`;
      const first = await h.run(read, { session: "s1" });
      assertEquals(first.tools.calls[0].cached, undefined);
      const second = await h.run(read, { session: "s1" });
      assertEquals(second.tools.calls[0].cached, true);
      assertEquals(second.result, first.result);
      // Another session has its own cache.
      const other = await h.run(read, { session: "s2" });
      assertEquals(other.tools.calls[0].cached, undefined);
      assertEquals((await h.ledger()).reads.filter((k) => k === "cfg").length, 2);

      // A write to the server (from any session) voids what was kept.
      const put = await h.run(`return await ledger.put({ key: "cfg", value: "v2" });`, {
        session: "s2",
      });
      assert(put.ok, JSON.stringify(put.error));
      const after = await h.run(read, { session: "s1" });
      assertEquals(after.tools.calls[0].cached, undefined);
      assertEquals((after.result as { value: unknown }).value, "v2");
      const audited = h.gateway.audit!.recent({ limit: 10 });
      assert(audited.some((r) => r.calls.some((c) => c.speculation === "cached")));
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "speculation: a tenant with speculation off gets no prefetch and no cache",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway({
      auth: {
        tenants: {
          on: { keys: [`sha256:${"a".repeat(64)}`] },
          off: { keys: [`sha256:${"b".repeat(64)}`], speculation: { enabled: false } },
        },
      },
    });
    try {
      const code = `return await ledger.get({ key: "t" });`;
      const on = await h.run(code, { tenant: "on", session: "x" });
      assertEquals(on.tools.calls[0].prefetched, true);
      const offRuns = [];
      for (let i = 0; i < 2; i++) offRuns.push(await h.run(code, { tenant: "off", session: "x" }));
      for (const r of offRuns) {
        assertEquals(r.tools.calls[0].prefetched, undefined);
        assertEquals(r.tools.calls[0].cached, undefined);
      }
      const unused = `if (Date.now() < 0) await ledger.get({ key: "off-only" }); return 1;`;
      await h.run(unused, { tenant: "off" });
      assert(!(await h.ledger()).reads.includes("off-only"));
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "speculation: a read-only tool that needs approval is never prefetched or cached",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // No approver can be asked here, and the policy lets such calls through: each call the
    // code makes goes upstream only after the (automatic) decision.
    const h = await startSpecGateway({
      approval: { tools: ["ledger.get"], onUnavailable: "allow" },
    });
    try {
      const code = `
        if (Date.now() < 0) await ledger.get({ key: "gated-unused" });
        return await ledger.get({ key: "gated" });`;
      for (let i = 0; i < 2; i++) {
        const reply = await h.run(code, { session: "g" });
        assert(reply.ok, JSON.stringify(reply.error));
        assertEquals(reply.tools.calls.map((c) => [c.prefetched, c.cached]), [[
          undefined,
          undefined,
        ]]);
      }
      const reads = (await h.ledger()).reads;
      assert(!reads.includes("gated-unused"), JSON.stringify(reads));
      assertEquals(reads.filter((k) => k === "gated").length, 2);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "speculation: after a write the server never answered, its reads are not cached",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // This server ignores notifications/cancelled: a cancelled write still lands, later.
    const h = await startSpecGateway({}, ["--ignore-cancel"]);
    try {
      // The code returns while the write is in flight (sent: 200 ms is ample), so the execution
      // ends with it unanswered; returning at once could end it before the call was sent.
      const write = await h.run(
        `ledger.write({ key: "late", delayMs: 3000 });
         await new Promise((r) => setTimeout(r, 200)); return 1;`,
        {
          session: "c",
        },
      );
      assertEquals(write.tools.calls.map((c) => c.outcome), ["cancelled"]);
      const read =
        `const id = ["ledger", "ledger"].join("."); return (await tools.call(id, {})).writes;`;
      const before = await h.run(read, { session: "c" });
      assert(!(before.result as string[]).includes("late"), "read before the write landed");
      // Until it lands (read without a session: never cached).
      const deadline = Date.now() + 15_000;
      while (!(await h.ledger()).writes.includes("late")) {
        assert(Date.now() < deadline, "the late write never landed");
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = await h.run(read, { session: "c" });
      // Kept from before the write landed, this would still lack it.
      assertEquals(after.tools.calls[0].cached, undefined);
      assert((after.result as string[]).includes("late"), JSON.stringify(after.result));
    } finally {
      await h.close();
    }
  },
});

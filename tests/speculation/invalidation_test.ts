/**
 * What voids a kept or prefetched read (red team of issue 13, items 2, 4 and 8): a write its
 * server never answered, until it can no longer land; a write through another server that may
 * share the data; a restart of the upstream server; shared state between replicas (the session
 * cache lives in Redis: tests/state/read_cache_test.ts); an operator's annotation override for a read that is not pure; a tenant's own
 * `readOnly` globs never exempt its writes from voiding other tenants' reads.
 */

import { assert, assertEquals } from "../assert.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { findProgram, skipWithout, startRedis } from "../services.ts";
import { Gateway, parseConfig } from "../../gateway/mod.ts";
import { startSpecGateway } from "./harness.ts";

const LEDGER_READ =
  `const id = ["ledger", "ledger"].join("."); return (await tools.call(id, {})).writes;`;

Deno.test({
  name: "invalidation: a write the gateway gave up on keeps the cache off until it can land",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The server ignores notifications/cancelled: abandoned writes still land, late.
    const h = await startSpecGateway({
      sandbox: { timeoutMs: 8000, memoryMb: 64, toolTimeoutMs: 300 },
    }, ["--ignore-cancel"]);
    try {
      const landed = async (key: string) => {
        const deadline = Date.now() + 15_000;
        while (!(await h.ledger()).writes.includes(key)) {
          assert(Date.now() < deadline, `${key} never landed`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      // 1. Timed out at 300 ms, lands at 2 s; the code reads well after the tool timeout.
      const one = await h.run(
        `try { await ledger.write({ key: "w1", delayMs: 2000 }); } catch { /* timed out */ }
         await new Promise((r) => setTimeout(r, 800));
         const id = ["ledger", "ledger"].join("."); return (await tools.call(id, {})).writes;`,
        { session: "s" },
      );
      assertEquals(one.result, [], "read before the write landed");
      await landed("w1");
      const two = await h.run(LEDGER_READ, { session: "s" });
      assertEquals(two.tools.calls[0].cached, undefined);
      assertEquals(two.result, ["w1"]);
      // 2. Cancelled by the end of its execution; read by another after the tool timeout.
      // Returns with the write in flight (sent: 200 ms is ample), not before it was sent.
      await h.run(
        `ledger.write({ key: "w2", delayMs: 2000 });
         await new Promise((r) => setTimeout(r, 200)); return 1;`,
        { session: "s" },
      );
      await new Promise((r) => setTimeout(r, 800));
      const three = await h.run(LEDGER_READ, { session: "s" });
      assertEquals(three.result, ["w1"]);
      await landed("w2");
      const four = await h.run(LEDGER_READ, { session: "s" });
      assertEquals(four.tools.calls[0].cached, undefined);
      assertEquals(four.result, ["w1", "w2"]);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "invalidation: a write through one server voids reads of every server (shared data)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-spec-fs-" }));
    const embeddings = await Deno.makeTempDir({ prefix: "airlock-emb-" });
    await Deno.writeTextFile(`${root}/config.json`, `{"version":1}`);
    // "docs" and "fs" are two servers over the same directory.
    const gateway = new Gateway(
      parseConfig({
        servers: { docs: filesystemServer(root), fs: filesystemServer(root) },
        audit: { path: ":memory:" },
        selection: { embedder: "lexical", cacheDir: embeddings },
        sandbox: { timeoutMs: 10_000, memoryMb: 64 },
      }),
      { poolSize: 1, logger: () => {} },
    );
    await gateway.start();
    try {
      const tenant = gateway.tenants.list()[0];
      const run = (code: string) =>
        gateway.execute({ code }, {
          tenant,
          requestId: crypto.randomUUID(),
          transport: "http",
          sessionId: "s",
        });
      const read = `return (await docs.readTextFile({ path: "${root}/config.json" })).content;`;
      const write = (v: number) =>
        `await fs.writeFile({ path: "${root}/config.json", content: '{"version":${v}}' });`;
      // Inside one execution: the literal read was prefetched before the write through fs.
      const one = await run(`${write(2)}\n${read}`);
      assertEquals(one.result, `{"version":2}`, "never the read prefetched before the write");
      // Across executions: kept, then voided by a write through the other server.
      const kept = await run(read);
      assertEquals((await run(read)).tools.calls[0].cached, true, JSON.stringify(kept));
      await run(write(3));
      const after = await run(read);
      assertEquals(after.result, `{"version":3}`);
      assertEquals(after.tools.calls[0].cached, undefined);
    } finally {
      await gateway.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(embeddings, { recursive: true }).catch(() => {});
    }
  },
});

/** The pid of this process's ledger fixture. */
async function ledgerPid(): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid,ppid,args"] }).output();
  const mine = new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim().split(/\s+/))
    .filter((p) => Number(p[1]) === Deno.pid && p.join(" ").includes("servers/ledger.ts"));
  assertEquals(mine.length, 1, "one ledger process");
  return Number(mine[0][0]);
}

Deno.test({
  name: "invalidation: a restarted upstream server's earlier results are not served",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway();
    try {
      const read = `const k = ["cfg"][0]; return (await ledger.get({ key: k })).value;`;
      await h.run(`return await ledger.put({ key: "cfg", value: "old" });`, { session: "s" });
      assertEquals((await h.run(read, { session: "s" })).result, "old");
      assertEquals((await h.run(read, { session: "s" })).tools.calls[0].cached, true);
      Deno.kill(await ledgerPid(), "SIGKILL"); // the server crashes and loses its state
      const deadline = Date.now() + 20_000;
      let again;
      do {
        assert(Date.now() < deadline, "the ledger never came back");
        await new Promise((r) => setTimeout(r, 200));
        again = await h.run(read, { session: "s" });
      } while (!again.ok);
      assertEquals(again.result, null, JSON.stringify(again));
      assertEquals(again.tools.calls[0].cached, undefined);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "invalidation: an annotation override excludes a read that is not pure",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const code = `
      const id = ["ledger", "ledger"].join(".");
      const a = await tools.call(id, {});
      const k = ["k"][0];
      await ledger.get({ key: k });
      const b = await ledger.ledger({});
      return [a.reads.length, b.reads.length];`;
    // As the server lists it (readOnlyHint: true), the journal is served from the cache.
    const listed = await startSpecGateway();
    try {
      const reply = await listed.run(code, { session: "s" });
      const [a, b] = reply.result as number[];
      assertEquals(a, b, "a read that is not pure, served from a prefetch or the cache");
    } finally {
      await listed.close();
    }
    const fixed = await startSpecGateway({
      servers: {
        ledger: {
          ...fixtureServer("ledger"),
          toolAnnotations: { ledger: { readOnlyHint: false } },
        },
      },
    });
    try {
      const reply = await fixed.run(code, { session: "s" });
      assertEquals(reply.result, [0, 1]);
      assertEquals(reply.tools.calls.map((c) => c.cached ?? c.prefetched ?? false), [
        false,
        false,
        false,
      ]);
    } finally {
      await fixed.close();
    }
  },
});

Deno.test({
  name: "invalidation: a tenant's own readOnly globs never exempt its writes for others",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway({
      auth: {
        tenants: {
          // Tenant a calls put read-only for itself.
          a: { keys: [`sha256:${"a".repeat(64)}`], speculation: { readOnly: ["ledger.put"] } },
          b: { keys: [`sha256:${"b".repeat(64)}`] },
        },
      },
    });
    try {
      const probe = `const k = ["shared"][0]; return (await ledger.get({ key: k })).version;`;
      assertEquals((await h.run(probe, { tenant: "b", session: "b" })).result, 0);
      assertEquals((await h.run(probe, { tenant: "b", session: "b" })).tools.calls[0].cached, true);
      const put = await h.run(`return await ledger.put({ key: "shared", value: 1 });`, {
        tenant: "a",
        session: "a",
      });
      assertEquals(put.tools.calls[0].prefetched, undefined, "a write is never prefetched");
      const after = await h.run(probe, { tenant: "b", session: "b" });
      assertEquals(after.result, 1);
      assertEquals(after.tools.calls[0].cached, undefined);
      assertEquals((await h.ledger()).writes, ["put:shared"]);
    } finally {
      await h.close();
    }
  },
});

const noRedis = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "invalidation: with shared state (state.url) the session cache is in Redis",
  ignore: noRedis,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const embeddings = await Deno.makeTempDir({ prefix: "airlock-emb-" });
    try {
      const gateway = new Gateway(
        parseConfig({
          servers: { ledger: fixtureServer("ledger") },
          audit: { path: ":memory:" },
          selection: { embedder: "lexical", cacheDir: embeddings },
          sandbox: { timeoutMs: 8000, memoryMb: 64 },
          state: { url: redis.url },
        }),
        { poolSize: 1, logger: () => {}, vaultKey: "5".repeat(64) },
      );
      await gateway.start();
      try {
        const tenant = gateway.tenants.list()[0];
        const run = () =>
          gateway.execute({ code: `return (await ledger.get({ key: "k" })).key;` }, {
            tenant,
            requestId: crypto.randomUUID(),
            transport: "http",
            sessionId: "s",
          });
        const first = await run();
        assertEquals(first.tools.calls[0].prefetched, true, "prefetch inside one execution");
        const second = await run();
        assertEquals(second.tools.calls[0].cached, true, "kept in Redis (voided by any replica)");
        assertEquals(second.tools.calls[0].prefetched, undefined);
        // A write (through any replica: the epoch is Redis's) voids it.
        await gateway.execute({ code: `await ledger.put({ key: "k", value: 1 });` }, {
          tenant,
          requestId: crypto.randomUUID(),
          transport: "http",
        });
        const third = await run();
        assertEquals(third.tools.calls[0].cached, undefined);
      } finally {
        await gateway.close();
      }
    } finally {
      await redis.stop();
      await Deno.remove(embeddings, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * `check: true` end to end over HTTP, against the catalogues of real MCP servers from npm
 * (filesystem, memory) and the ledger fixture (a write tool that records every call): real
 * wrong programs are refused with diagnostics in the caller's code, and nothing runs, not
 * even the write on the line before the mistake. Also the declarations over HTTP, per tenant.
 */

import { assert, assertEquals, assertIncludes, assertMatch, assertNotMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { filesystemServer, memoryServer } from "../fixtures/servers/reference.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const FULL = { authorization: "Bearer full-key" };
const FS_ONLY = { authorization: "Bearer fs-key" };

Deno.test({
  name: "typecheck: wrong programs against real servers' catalogues run nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-tc-" });
    await Deno.writeTextFile(`${root}/a.txt`, "one\ntwo\nthree");
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({
        servers: {
          filesystem: filesystemServer(root),
          memory: memoryServer(`${root}/memory.jsonl`),
          ledger: fixtureServer("ledger"),
        },
        auth: {
          tenants: {
            // Checks by default (the tenant's setting), everything allowed.
            full: { keys: [hashApiKey("full-key")], check: true, requestsPerMinute: 10_000 },
            // No check unless asked; only the filesystem.
            fsonly: {
              keys: [hashApiKey("fs-key")],
              enabledTools: ["filesystem.*"],
              requestsPerMinute: 10_000,
            },
          },
        },
        // The slow program below needs about 3 s on a quiet machine, more on a loaded one.
        typecheck: { timeoutMs: 2000 },
        pii: { mode: "mask" },
      });
      const g = gw;
      const run = async (code: string, headers = FULL, extra: Record<string, unknown> = {}) => {
        const reply = await g.post("/v1/execute", { code, ...extra }, headers);
        assertEquals(reply.status, 200, JSON.stringify(reply.body));
        return reply.body;
      };
      const writes = async (): Promise<string[]> => {
        const reply = await run("return await ledger.ledger();", FULL, { check: false });
        assertEquals(reply.ok, true, JSON.stringify(reply));
        return reply.result.writes;
      };

      await t.step(
        "misspelt property: refused with the expected properties, the write before it never runs",
        async () => {
          const code = [
            `await ledger.write({ key: "before-typo" });`,
            `const file = await filesystem.readTextFile({ pth: "a.txt" });`,
            `return file.content;`,
          ].join("\n");
          const reply = await run(code);
          assertEquals(reply.ok, false);
          assertEquals(reply.error.kind, "type");
          assertEquals(reply.error.line, 2);
          assertEquals(reply.error.diagnostics.length, 1);
          const [d] = reply.error.diagnostics;
          assertEquals([d.line, d.column, d.code], [2, 46, 2561]);
          assertIncludes(d.message, "Did you mean to write 'path'?");
          assertMatch(d.message, /Expected properties: [^\n]*\bpath\b/);
          assertEquals(reply.tools.calls, []);
          assertEquals(reply.stats.sandboxMs, 0);
          assertEquals(await writes(), []);
          // The same code without the check runs: the write happens, then the tool fails.
          const unchecked = await run(code, FULL, { check: false });
          assertEquals(unchecked.ok, false);
          assertEquals(unchecked.error.kind, "tool");
          assertEquals(await writes(), ["before-typo"]);
        },
      );

      await t.step("missing required argument", async () => {
        const reply = await run(
          `await ledger.write({ key: "x" });\nawait memory.createEntities({});`,
        );
        assertEquals(reply.error?.kind, "type");
        const [d] = reply.error.diagnostics;
        assertEquals([d.line, d.code], [2, 2345]);
        assertMatch(d.message, /Property 'entities' is missing/);
        assertEquals(await writes(), ["before-typo"]);
      });

      await t.step("wrong use of a return value (the tool's outputSchema)", async () => {
        const reply = await run(
          `const f = await filesystem.readTextFile({ path: "${root}/a.txt" });\n` +
            `return f.split("\\n").length;`,
        );
        assertEquals(reply.error?.kind, "type");
        const [d] = reply.error.diagnostics;
        assertEquals([d.line, d.column, d.code], [2, 10, 2339]);
        assertMatch(d.message, /Property 'split' does not exist on type '\{ content: string; \}'/);
        assertIncludes(d.message, "Expected properties: content.");
      });

      await t.step(
        "unknown tool: by name, by id, and a namespace the tenant may not use",
        async () => {
          const byName = await run(`return await filesystem.readFlie({ path: "a.txt" });`);
          assertEquals(byName.error?.kind, "type");
          assertEquals(byName.error.diagnostics[0].code, 2551);
          assertIncludes(byName.error.diagnostics[0].message, "Did you mean 'readFile'?");

          const byId = await run(`return await tools.call("filesystem.read_flie", { path: "a" });`);
          assertEquals(byId.error?.kind, "type");
          assertIncludes(byId.error.diagnostics[0].message, '"filesystem.read_text_file"');
          // A literal id takes the tool's argument type.
          const badArgs = await run(
            `return await tools.call("filesystem.read_text_file", { path: 1 });`,
          );
          assertEquals(badArgs.error?.kind, "type");
          assertEquals(badArgs.error.diagnostics[0].code, 2322);

          // fsonly has no memory namespace, so the name does not exist for it.
          const foreign = await run(`return await memory.readGraph();`, FS_ONLY, { check: true });
          assertEquals(foreign.error?.kind, "type");
          assertEquals(foreign.error.diagnostics[0].code, 2304);
          assertMatch(foreign.error.diagnostics[0].message, /Cannot find name 'memory'/);
          // fsonly does not check unless asked: then the same code fails at run time.
          const unchecked = await run(`return await memory.readGraph();`, FS_ONLY);
          assertEquals(unchecked.ok, false);
          assertNotMatch(unchecked.error.kind, /^type$/);
        },
      );

      await t.step("a refused program reaches no server, not even by a prefetch", async () => {
        // A literal read-only call is what speculation starts before the code runs, used or not
        // (its scan runs in a Worker: the code gives it time, as the speculation tests do).
        const code = `await new Promise((r) => setTimeout(r, 300));\n` +
          `if (Date.now() < 0) await ledger.get({ key: "tc-never" });\n` +
          `const n: number = "not a number";\nreturn n;`;
        const reads = async (): Promise<string[]> =>
          (await run("return await ledger.ledger();", FULL, { check: false })).result.reads;
        const refused = await g.post("/v1/execute", { code }, {
          ...FULL,
          "x-request-id": "tc-refused",
        });
        assertEquals(refused.body.error?.kind, "type");
        assertEquals(refused.body.error.line, 3);
        assertEquals((await reads()).includes("tc-never"), false);
        const sink = g.gateway.auditSink!;
        await sink.flush();
        const row = (await sink.recentAsync({ tenant: "full" }))
          .find((r) => r.requestId === "tc-refused")!;
        assertEquals(row.errorKind, "type");
        assertEquals(row.calls, []);
        // Unchecked, the same code runs (types are not checked at run time) and the read is
        // prefetched: what the check prevented.
        const ran = await run(code, FULL, { check: false });
        assertEquals(ran.ok, true, JSON.stringify(ran));
        assertEquals((await reads()).includes("tc-never"), true);
      });

      await t.step("a correct program type-checks and runs", async () => {
        const reply = await run([
          `const f = await filesystem.readTextFile({ path: "${root}/a.txt" });`,
          `const again = await tools.call("filesystem.read_text_file", { path: "${root}/a.txt" });`,
          `const graph = await memory.readGraph();`,
          `const hits = await tools.search("write a file", 3);`,
          `console.log(hits.length >= 0, graph.entities.length);`,
          `return { lines: f.content.split("\\n").length, same: again.content === f.content };`,
        ].join("\n"));
        assertEquals(reply.error, undefined, JSON.stringify(reply.error));
        assertEquals(reply.result, { lines: 3, same: true });
      });

      await t.step("diagnostics are redacted like every text that goes back", async () => {
        // TypeScript quotes the literal: "Type '"ada…"' is not assignable to type '"x"'".
        const reply = await run(`const n: "x" = "ada.lovelace@example.com";\nreturn n;`);
        assertEquals(reply.error?.kind, "type");
        assertMatch(reply.error.diagnostics[0].message, /^Type '"[^']+"' is not assignable/);
        const text = JSON.stringify(reply.error);
        assertNotMatch(text, /ada\.lovelace@example\.com/);
        assert((reply.redactions.email ?? 0) >= 1, JSON.stringify(reply.redactions));
      });

      await t.step("declarations over HTTP follow the tenant's policy", async () => {
        const full = await g.get("/v1/types", FULL);
        assertEquals(full.status, 200);
        assertEquals(
          full.body.namespaces.map((n: { namespace: string }) => n.namespace),
          ["filesystem", "ledger", "memory"],
        );
        const fs = await g.get("/v1/types", FS_ONLY);
        assertEquals(fs.body.namespaces.map((n: { file: string }) => n.file), ["filesystem.d.ts"]);
        const file = await g.get("/v1/types/filesystem.d.ts", FS_ONLY);
        assertEquals(file.status, 200);
        assertMatch(file.headers.get("content-type") ?? "", /^application\/typescript/);
        assertIncludes(file.body, "declare const filesystem: {");
        assertIncludes(file.body, "readTextFile(args: {");
        // What is checked has no lazy index signature: the browsed file says the same.
        assertNotMatch(file.body, /\[tool: string\]/);
        assertEquals((await g.get("/v1/types/memory.d.ts", FS_ONLY)).status, 404);
        assertEquals((await g.get("/v1/types/nothing.d.ts", FULL)).status, 404);
        const common = await g.get("/v1/types/tools.d.ts", FS_ONLY);
        assertIncludes(common.body, '"filesystem.read_text_file": typeof filesystem.readTextFile;');
        assertNotMatch(common.body, /memory\./);
        assertEquals((await g.get("/v1/types")).status, 401);
      });

      await t.step("a check past its budget runs nothing (check_timeout)", async () => {
        const reply = await run([
          `await ledger.write({ key: "after-slow-check" });`,
          `type T0 = "a"|"b"|"c"|"d"|"e"|"f"|"g"|"h"|"i"|"j";`,
          "type T1 = `${T0}${T0}${T0}`;",
          `let m!: { [K in T1]: { [J in T1]: K } };`,
          `let n: { [K in T1]: { [J in T1]: string } } = m;`,
          // A second, different comparison doubles the work (about 1.5 s each on a quiet
          // machine), so the check is past its 2 s budget however fast the machine is. It may
          // reach the checker's memory cap first: then it ends as check_limit, which also runs
          // nothing.
          `let m2!: { [K in T1]: { [J in T1]: [K] } };`,
          `let n2: { [K in T1]: { [J in T1]: string[] } } = m2;`,
          `return [n, n2];`,
        ].join("\n"));
        assertEquals(reply.ok, false);
        assertMatch(reply.error.kind, /^check_(timeout|limit)$/);
        assertMatch(reply.error.message, /nothing ran/);
        assertEquals(await writes(), ["before-typo"]);
        // The checker comes back for the next request.
        const next = await run(`return 1 + 1;`);
        assertEquals(next.result, 2);
        // The metrics count checks by outcome, and the worker that was stopped.
        const metrics = String((await g.get("/metrics")).body);
        assertMatch(metrics, /airlock_typecheck_total\{tenant="full",outcome="type"\} [1-9]/);
        assertMatch(
          metrics,
          /airlock_typecheck_total\{tenant="full",outcome="(timeout|limit)"\} 1\b/,
        );
        assertMatch(metrics, /airlock_typecheck_total\{tenant="fsonly",outcome="type"\} 1\b/);
        assertMatch(metrics, /airlock_typecheck_worker_restarts_total 1\b/);
        assertMatch(metrics, /airlock_typecheck_duration_seconds_count [1-9]/);
      });
    } finally {
      await gw?.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

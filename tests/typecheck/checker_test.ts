/**
 * The type checker on its own: real TypeScript in a real checker process. Positions in the
 * caller's code, the "expected properties" list, bounds (size, count, message length), the
 * deadline (cooperative and by killing the process), per-tenant fairness, and the sandbox's
 * wrapper and globals. Isolation (kill, memory cap, standby): `process_test.ts`.
 */

import { assert, assertEquals, assertIncludes, assertMatch, assertRejects } from "../assert.ts";
import { BODY_PREFIX, CheckerBusy, CheckerError, TypeChecker } from "../../typecheck/mod.ts";

const DECLARATIONS = `declare const files: {
  /** Reads a file. */
  readFile(args: { path: string; head?: number }): Promise<{ content: string; size: number }>;
  listDirectory(args?: { path?: string }): Promise<unknown>;
};
`;

/**
 * One statement TypeScript needs seconds for (about 3.5 s here): two mapped types of
 * 1,000 × 1,000 members that are assignable, so every member is compared.
 */
const SLOW_STATEMENT = `type T0 = "a"|"b"|"c"|"d"|"e"|"f"|"g"|"h"|"i"|"j";
type T1 = \`\${T0}\${T0}\${T0}\`;
type M = { [K in T1]: { [J in T1]: K } };
let m!: M;
let n: { [K in T1]: { [J in T1]: string } } = m;
return n;`;

const sanitize = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "typecheck: errors are placed in the caller's code and name what was expected",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker();
    try {
      // Line 1 shares its line with the wrapper: the column must not count it.
      const misspelt = await checker.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code: `const r = await files.readFile({ pth: "a" });\nreturn r;`,
      });
      assertEquals(misspelt.ok, false);
      assertEquals(misspelt.diagnostics.length, 1);
      const [d] = misspelt.diagnostics;
      assertEquals({ line: d.line, column: d.column, code: d.code }, {
        line: 1,
        column: 34,
        code: 2561,
      });
      assertIncludes(d.message, "Did you mean to write 'path'?");
      assertIncludes(d.message, "Expected properties: head, path.");

      const wrongUse = await checker.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code:
          `// read\r\nconst r = await files.readFile({ path: "a" });\r\nreturn r.contents.length;`,
      });
      assertEquals(wrongUse.diagnostics.map((x) => [x.line, x.column, x.code]), [[3, 10, 2551]]);
      assertIncludes(wrongUse.diagnostics[0].message, "Expected properties: content, size.");

      const unknownTool = await checker.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code: `\n  await files.readFlie({ path: "a" });`,
      });
      assertEquals(unknownTool.diagnostics.map((x) => [x.line, x.column]), [[2, 15]]);
      assertIncludes(unknownTool.diagnostics[0].message, "Did you mean 'readFile'?");
      assertIncludes(
        unknownTool.diagnostics[0].message,
        "Expected properties: listDirectory, readFile.",
      );

      const missing = await checker.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code: `await files.readFile({});`,
      });
      assertEquals(missing.diagnostics[0].code, 2345);
      assertMatch(missing.diagnostics[0].message, /Property 'path' is missing/);

      // An unclosed block is reported on the code's last line, not past it.
      const unclosed = await checker.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code: `if (true) {\n  const a = 1;`,
      });
      assertEquals(unclosed.ok, false);
      assert(unclosed.diagnostics.every((x) => x.line <= 2), JSON.stringify(unclosed));
    } finally {
      checker.close();
    }
  },
});

Deno.test({
  name: "typecheck: the sandbox's wrapper, globals and top-level await/return check cleanly",
  ...sanitize,
  async fn() {
    // The harness wraps the code in exactly this text; a change there must change both.
    const harness = await Deno.readTextFile(new URL("../../sandbox/harness.js", import.meta.url));
    assertIncludes(harness, `const WRAPPER = ${JSON.stringify(BODY_PREFIX)};`);
    const checker = new TypeChecker();
    try {
      const result = await checker.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code: [
          `const r = await files.readFile({ path: "a" });`,
          `const u = new URL("https://example.com/x?y=1");`,
          `console.log(u.searchParams.get("y"), Deno.version, performance.now());`,
          `await new Promise((resolve) => setTimeout(resolve, 1));`,
          `const bytes = new TextEncoder().encode(r.content);`,
          `const id = crypto.randomUUID();`,
          `function loose(x) { return x; }`,
          `try { loose(1); } catch (e) { console.error(e.message); }`,
          `if (bytes.length > 3) return [id, [3, 1, 2].toSorted(), structuredClone({ a: 1 })];`,
          `return r.size + (await files.listDirectory() ? 1 : 0);`,
        ].join("\n"),
      });
      assertEquals(result.diagnostics, []);
      assertEquals(result.ok, true);
      // No DOM: `document` is not a global of the sandbox.
      const dom = await checker.check({ tenant: "t", declarations: "", code: "document.title" });
      assertEquals(dom.diagnostics.map((d) => d.code), [2584]);
    } finally {
      checker.close();
    }
  },
});

Deno.test({
  name: "typecheck: bounded input, diagnostic count and message length",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker({ maxDiagnostics: 3, maxMessageChars: 40, maxCodeChars: 1000 });
    try {
      const code = Array.from({ length: 10 }, (_, i) => `const v${i}: number = "x";`).join("\n");
      const result = await checker.check({ tenant: "t", declarations: "", code });
      assertEquals(result.total, 10);
      assertEquals(result.diagnostics.length, 3);
      assert(result.diagnostics.every((d) => d.message.length <= 40), JSON.stringify(result));
      assert(result.diagnostics[0].message.endsWith("…"));
      const error = await assertRejects(
        () => checker.check({ tenant: "t", declarations: "", code: "x".repeat(1001) }),
      );
      assert(error instanceof CheckerError && error.kind === "too_large", String(error));
    } finally {
      checker.close();
    }
  },
});

Deno.test({
  name: "typecheck: a check past its budget times out; a stuck compiler is terminated and replaced",
  ...sanitize,
  async fn() {
    // Cooperative: the compiler looks at its deadline before each function declaration;
    // 1,000 of them (about 1.5 s of checking) do not fit in 5 ms. The long grace shows the
    // compiler stopped itself: the worker was not terminated.
    const cooperative = new TypeChecker({ timeoutMs: 5, killGraceMs: 30_000 });
    try {
      const code = Array.from(
        { length: 1000 },
        (_, i) =>
          `function f${i}(n: number) { return [n].map((x) => ({ x, s: String(x) })).filter((o) => o.x > ${i}); }`,
      ).join("\n");
      const result = await cooperative.check({ tenant: "t", declarations: "", code });
      assertEquals(result.timedOut, true);
      assertEquals(cooperative.stats().restarts, 0);
      // A cancelled check leaves the compiler usable (given a budget a check fits in).
      const next = await cooperative.check({
        tenant: "t",
        declarations: "",
        code: "return 1;",
        timeoutMs: 30_000,
      });
      assertEquals(next.ok, true);
    } finally {
      cooperative.close();
    }
    // Inside one statement the compiler never looks at its deadline: the worker is
    // terminated, and the next check gets a new one.
    const stuck = new TypeChecker({ timeoutMs: 200, killGraceMs: 0 });
    try {
      // The declarations are loaded first, so the slow check is sent as is (no reload).
      await stuck.check({ tenant: "t", declarations: "", code: "return 1;", timeoutMs: 30_000 });
      const result = await stuck.check({ tenant: "t", declarations: "", code: SLOW_STATEMENT });
      assertEquals(result.timedOut, true);
      assertEquals(stuck.stats().restarts, 1);
      const next = await stuck.check({
        tenant: "t",
        declarations: DECLARATIONS,
        code: `return (await files.readFile({ path: "x" })).size;`,
        timeoutMs: 30_000,
      });
      assertEquals(next.ok, true);
    } finally {
      stuck.close();
    }
  },
});

Deno.test({
  name: "typecheck: per-tenant cap, and tenants take turns",
  ...sanitize,
  async fn() {
    // Generous budgets: a check that timed out on a loaded machine (a full suite beside it)
    // would end out of turn, and the order is what this test is about.
    const checker = new TypeChecker({ maxPendingPerTenant: 3, timeoutMs: 30_000 });
    try {
      await checker.warm();
      const order: string[] = [];
      const run = (tenant: string, n: number) =>
        checker.check({ tenant, declarations: DECLARATIONS, code: `return ${n};` })
          .then((result) => {
            assertEquals(result.ok, true, JSON.stringify(result));
            order.push(`${tenant}${n}`);
          });
      const greedy = [run("a", 1), run("a", 2), run("a", 3)];
      const busy = await assertRejects(() => run("a", 4));
      assert(busy instanceof CheckerBusy, String(busy));
      const other = run("b", 1);
      await Promise.all([...greedy, other]);
      // a1 was already running; b1 goes before a's later checks.
      assertEquals(order.indexOf("b1") < order.indexOf("a3"), true, order.join(","));
      assertEquals(order.indexOf("b1") <= 1, true, order.join(","));
      // The cap counts pending checks only: after they finish the tenant may check again.
      assertEquals(
        (await checker.check({ tenant: "a", declarations: "", code: "return 5;" })).ok,
        true,
      );
    } finally {
      checker.close();
    }
  },
});

Deno.test({
  name: "typecheck: a tenant's checks run in the order they arrived, new declarations or not",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker({ maxPendingPerTenant: 4, timeoutMs: 30_000 });
    try {
      await checker.warm();
      const order: string[] = [];
      // Each check brings declarations the checker has not seen: naming them must not let a
      // later check queue before an earlier one (an asynchronous hash did, at random).
      const runs = [1, 2, 3, 4].map((n) =>
        checker.check({
          tenant: "a",
          declarations: `${DECLARATIONS}declare const v${n}: string;\n// ${
            "x".repeat(n * 100_000)
          }\n`,
          code: `return v${n};`,
        }).then((result) => {
          assertEquals(result.ok, true, JSON.stringify(result));
          order.push(`a${n}`);
        })
      );
      // Queued by the call itself, before it yields.
      assertEquals(checker.stats().waiting, 4);
      await Promise.all(runs);
      assertEquals(order, ["a1", "a2", "a3", "a4"]);
    } finally {
      await checker.close();
    }
  },
});

Deno.test({
  name: "typecheck: a tenant sending a new declaration version each time does not evict another's",
  ...sanitize,
  async fn() {
    const checker = new TypeChecker({ maxVersions: 3, maxVersionsPerTenant: 1 });
    try {
      const decl = (n: number) =>
        `declare const ns${n}: { run(args: { n: number }): Promise<string> };\n`;
      await checker.check({ tenant: "b", declarations: DECLARATIONS, code: "return 1;" });
      for (let i = 0; i < 6; i++) {
        const r = await checker.check({
          tenant: "a",
          declarations: decl(i),
          code: `return ns${i}.run({ n: 1 });`,
        });
        assertEquals(r.ok, true, JSON.stringify(r));
      }
      const loads = checker.stats().loads;
      // b's declarations are still loaded: no new load for its next check.
      const again = await checker.check({
        tenant: "b",
        declarations: DECLARATIONS,
        code: `return (await files.readFile({ path: "x" })).size;`,
      });
      assertEquals(again.ok, true);
      assertEquals(checker.stats().loads, loads);
      // a's older versions are gone: checking with one again loads it.
      await checker.check({ tenant: "a", declarations: decl(0), code: "return 1;" });
      assertEquals(checker.stats().loads, loads + 1);
    } finally {
      checker.close();
    }
  },
});

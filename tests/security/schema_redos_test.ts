/**
 * Checking a call's arguments, or a result, against a schema an upstream server declared costs
 * time linear in them whatever the schema says (red team f3: `pattern: "^(a+)+$"`, 27 "a" and a
 * "!" held the gateway's event loop 6.8 s, a concurrent `/healthz` with it; each further "a"
 * doubled it). A real gateway process, a real stdio MCP server (tests/fixtures/servers/
 * hostile_schema.ts) declaring backtracking patterns in `pattern`, `patternProperties`,
 * `propertyNames` and an `outputSchema`; each execution runs with a `/healthz` probe beside
 * it, and both must finish. The bound is generous (the old code takes hours for 40 characters):
 * this is "it finishes", not a timing assertion.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { type GatewayProcess, startGatewayProcess, writeConfig } from "../e2e/process.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

/** How long an execution and its probe may take before the gateway is taken as frozen. */
const FROZEN_AFTER_MS = 30_000;

const a40 = "a".repeat(40);

/** Code sent to `POST /v1/execute`, and what its `result` must match. */
const CASES: Array<{ what: string; code: string; expect: RegExp }> = [
  {
    what: "pattern: nested quantifiers, on the call's argument",
    code: `try { await weird.find({ q: "${a40}!" }); return "called"; }
      catch (e) { return String(e.message); }`,
    expect: /invalid arguments/,
  },
  {
    what: "pattern: only in dead code, checked by the literal prefetch",
    code: `if (Math.random() > 2) await weird.find({ q: "${a40}!" });
      return "dead code skipped";`,
    expect: /^dead code skipped$/,
  },
  {
    what: "pattern: a word pattern, called",
    code: `try { await weird.words({ q: "${"word".repeat(12)}!" }); return "called"; }
      catch (e) { return String(e.message); }`,
    expect: /invalid arguments/,
  },
  {
    what: "patternProperties: overlapping alternatives on a key",
    code: `return JSON.stringify(await weird.tag({ "${"a".repeat(60)}b": "x" }));`,
    expect: /ok tag/,
  },
  {
    what: "propertyNames: a pattern on a key",
    code: `try { await weird.label({ "${"x".repeat(40)}": 1 }); return "called"; }
      catch (e) { return String(e.message); }`,
    expect: /invalid arguments/,
  },
  {
    what: "outputSchema: a pattern on the server's own result",
    code: `return JSON.stringify(await weird.report({}));`,
    // Not matching: the code gets the text content instead of the structured content.
    expect: /^"the text content"$/,
  },
];

/** Runs each case on a gateway with the fixture server started with `args`. */
async function runCases(
  t: Deno.TestContext,
  args: string[],
  cases: typeof CASES,
): Promise<void> {
  const cacheDir = await Deno.makeTempDir({ prefix: "airlock-redos-cache-" });
  const config = await writeConfig({
    servers: { weird: fixtureServer("hostile_schema", args) },
    audit: { path: ":memory:" },
    selection: { embedder: "lexical", cacheDir },
    sandbox: { timeoutMs: 5000 },
  });
  let gateway: GatewayProcess | undefined;
  try {
    for (const { what, code, expect } of cases) {
      await t.step(what, async () => {
        // A gateway frozen while it compiles its tool list never answers `/readyz`.
        gateway ??= await startGatewayProcess(config);
        const { url } = gateway;
        const execution = fetch(`${url}/v1/execute`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ code }),
        }).then(async (response) => ({ status: response.status, body: await response.json() }));
        // The probe goes out while the execution is being checked.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const probe = fetch(`${url}/healthz`).then(async (response) => {
          await response.body?.cancel();
          return response.status;
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<"frozen">((resolve) => {
          timer = setTimeout(() => resolve("frozen"), FROZEN_AFTER_MS);
        });
        const both = await Promise.race([Promise.all([execution, probe]), deadline]);
        clearTimeout(timer);
        if (both === "frozen") {
          // A frozen gateway never runs its SIGTERM handler; the next case gets a new one.
          execution.catch(() => {});
          probe.catch(() => {});
          await kill(gateway);
          gateway = undefined;
          throw new Error(`the gateway was frozen for ${FROZEN_AFTER_MS / 1000} s`);
        }
        const [reply, healthz] = both;
        assertEquals(healthz, 200);
        assertEquals(reply.status, 200, JSON.stringify(reply.body));
        assert(reply.body.ok, JSON.stringify(reply.body));
        assertMatch(String(reply.body.result), expect);
      });
    }
  } finally {
    if (gateway) await kill(gateway);
    await Deno.remove(cacheDir, { recursive: true });
  }
}

/** Stops `gateway`: SIGTERM, then SIGKILL if it is frozen (it never runs its handler). */
async function kill(gateway: GatewayProcess): Promise<void> {
  const stopped = gateway.stop();
  const timer = setTimeout(() => gateway.kill("SIGKILL"), 10_000);
  await stopped;
  clearTimeout(timer);
}

Deno.test({
  name: "schema checks: a backtracking pattern does not hold the event loop of every tenant",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) => runCases(t, [], CASES),
});

Deno.test({
  name: "schema checks: subschemas applied exponentially often are bounded",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) =>
    runCases(t, ["--deep-refs"], [{
      what: "allOf of two $refs, 36 levels deep, on { deep: 1 }",
      // Over the step budget: not checked by the gateway, sent to the server (which checks).
      code: `return JSON.stringify(await weird.nest({ deep: 1 }));`,
      expect: /ok nest/,
    }, {
      what: "the same, only in dead code (the literal prefetch)",
      code: `if (Math.random() > 2) await weird.nest({ deep: "x" });
        return "dead code skipped";`,
      expect: /^dead code skipped$/,
    }]),
});

Deno.test({
  name: "schema checks: charged by the characters they read, within an absolute budget",
  sanitizeOps: false,
  sanitizeResources: false,
  // Red team j2: checks charged by how many values, items or keys they met, not by how much
  // of them they read, held the loop 7–19 s. Each tool's schema fails after its costly part:
  // a gateway that reads it all rejects the call; one that stops at its budget (or does not
  // compile the schema) sends it on, and the server answers. That verdict is the assertion.
  fn: (t) =>
    runCases(t, ["--costly"], [{
      what: "patternProperties: 300 patterns on a 20,001-character key",
      code: `return JSON.stringify(await weird.keys({ ["q".repeat(20000) + "0"]: "x" }));`,
      expect: /ok keys/,
    }, {
      what: "patternProperties in an outputSchema, on the server's own result",
      code: `const r = await weird.keyreport({});
        return typeof r === "object" ? "structured " + Object.keys(r).length : String(r);`,
      expect: /^structured 1$/,
    }, {
      what: "uniqueItems applied 256 times to two 400,001-character strings",
      code: `const s = "a".repeat(400000);
        return JSON.stringify(await weird.uniq({ a: [s + "x", s + "y"] }));`,
      expect: /ok uniq/,
    }, {
      what: "a pattern applied 256 times to one string, with 99,990 numbers' allowance pooled",
      code: `const s = "a".repeat(100000) + "1";
        return JSON.stringify(await weird.pad({ s, p: new Array(99990).fill(0) }));`,
      expect: /ok pad/,
    }, {
      what: "const: 3,000 nested arrays compared 16,384 times, a 600 KB result (red team l2)",
      code: `const r = await weird.constreport({});
        return typeof r === "object" ? "structured " + Object.keys(r).join() : String(r);`,
      expect: /^structured a,pad$/,
    }, {
      what: "a schema of 1,100 subschemas is not compiled",
      code: `return JSON.stringify(await weird.wide({}));`,
      expect: /ok wide/,
    }]),
});

/**
 * What one request may cost the event loop every tenant shares before anything can refuse it
 * is bounded and small, whatever its code (up to the 512 Ki limit): code whose `import` or
 * `export` cannot run is refused before it is scanned for tools, ranked, prefetched or
 * type-checked, and that check tokenizes the code in slices that yield the loop; the
 * tool-selection query reads a bounded prefix of the code. Before, identifier-dense 512 Ki
 * code cost 150-250 ms of one synchronous stretch per request (the query was built from every
 * identifier, then cut to 2,000 characters), and one client sending it back to back held
 * `/healthz` at p50 250-440 ms. Found by red team rt-n3 (B3, 2026-11-30).
 */

import { assert, assertEquals } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";
import { longestStall } from "../stall_probe.ts";
import { CODE_CHARS_PER_TOKEN, hashApiKey } from "../../gateway/mod.ts";

/** Code just under the 512 Ki limit, `unit` repeated after `head`. */
function largest(head: string, unit: string): string {
  return head + unit.repeat(Math.floor((512 * 1024 - 100 - head.length) / unit.length));
}

/** The median of the longest stalls over `runs` requests of `body`. */
async function medianStall(post: () => Promise<unknown>, runs: number): Promise<number> {
  const stalls: number[] = [];
  for (let i = 0; i < runs; i++) stalls.push(await longestStall(async () => void await post()));
  stalls.sort((a, b) => a - b);
  return stalls[Math.floor(stalls.length / 2)];
}

// Generous bounds: a loaded machine of 2 shared cores, not a timing claim. Before the fix the
// same requests held the loop 150-700 ms in one stretch (selection, then the whole rewrite).
const STALL_MS = 120;

const SHAPES: Record<string, string> = {
  "division": "a = b / c / d;",
  "server-like names": "light.nothing_here; ",
  "camel case identifiers": "readHTTPResponseBody + ",
  "keywords only": "await this; ",
  "regex after keyword": "return /x/; ",
};

for (const [name, unit] of Object.entries(SHAPES)) {
  Deno.test(`request cost: refused 512 Ki code (${name}) never holds the loop for long`, async () => {
    const gw = await startTestGateway({
      servers: { light: fixtureServer("light", ["--tools", "20"]) },
    });
    try {
      const body = JSON.stringify({ code: largest("import { a } from 'x';\n", unit) });
      const post = () => gw.post("/v1/execute", body);
      const first = await post() as { status: number; body: { error?: { kind: string } } };
      assertEquals(first.body.error?.kind, "compile", JSON.stringify(first.body).slice(0, 300));
      const stall = await medianStall(post, 5);
      assert(stall < STALL_MS, `${name}: the loop stalled ${stall.toFixed(0)} ms per request`);
    } finally {
      await gw.close();
    }
  });
}

Deno.test("request cost: code refused at compile time is refused before tool selection", async () => {
  const gw = await startTestGateway({
    servers: { light: fixtureServer("light", ["--tools", "3"]) },
  });
  try {
    // The tool the code names would be selected (and prefetched) if selection ran first.
    const reply = await gw.execute(
      "import { readFile } from 'node:fs';\nreturn await light.op_0({});",
    );
    assertEquals(reply.error?.kind, "compile");
    assertEquals(reply.tools.injected, []);
    // The same code without the import runs, with the tool selected.
    const ran = await gw.execute("return await light.op_0({});");
    assert(ran.tools.injected.includes("light.op_0"), JSON.stringify(ran.tools));
  } finally {
    await gw.close();
  }
});

Deno.test("request cost: large code counts against its tenant's requests per minute", async () => {
  const gw = await startTestGateway({
    auth: {
      tenants: {
        big: { keys: [hashApiKey("big-key")], requestsPerMinute: 20 },
        other: { keys: [hashApiKey("other-key")], requestsPerMinute: 20 },
      },
    },
  });
  try {
    const send = (key: string, code: string) =>
      gw.post("/v1/execute", JSON.stringify({ code }), { authorization: `Bearer ${key}` });
    // 8 × 64 Ki characters: 8 of the tenant's 20 requests a minute each (refill only adds).
    const large = largest("import { a } from 'x';\n", "a = b / c / d;");
    assert(large.length > 7 * CODE_CHARS_PER_TOKEN);
    assertEquals((await send("big-key", large)).status, 200);
    assertEquals((await send("big-key", large)).status, 200);
    // About 4 left: enough for a request, not for 8.
    const third = await send("big-key", large);
    assertEquals(third.status, 429, JSON.stringify(third.body).slice(0, 300));
    assertEquals(
      (await send("big-key", "return 1")).status,
      200,
      "a refused charge takes nothing beyond its one request",
    );
    // Another tenant's budget is its own.
    for (let i = 0; i < 3; i++) assertEquals((await send("other-key", "return 1")).status, 200);
  } finally {
    await gw.close();
  }
});

Deno.test("request cost: large code still passes on a full budget smaller than its cost", async () => {
  const gw = await startTestGateway({
    auth: { tenants: { small: { keys: [hashApiKey("small-key")], requestsPerMinute: 3 } } },
  });
  try {
    const send = (code: string) =>
      gw.post("/v1/execute", JSON.stringify({ code }), { authorization: "Bearer small-key" });
    // 8 requests' worth of code against a budget of 3: the whole budget, not a refusal forever.
    const large = largest("", "a = b / c / d;");
    const first = await send(large);
    assertEquals(first.status, 200, JSON.stringify(first.body).slice(0, 300));
    assertEquals((await send("return 1")).status, 429, "the budget is spent");
  } finally {
    await gw.close();
  }
});

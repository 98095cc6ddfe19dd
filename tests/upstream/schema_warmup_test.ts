/**
 * A tool list's schemas are compiled in the background after it is read, never by a tool's
 * first call (`compileInBackground` in upstream/output_schema.ts): validators are shared by
 * every tenant, so a first call that compiled was slower and told a tenant whether anyone had
 * called the tool before. Unit cases, then real MCP servers (the reference `everything` server,
 * whose tools declare input and output schemas) with no call made.
 */

import assert from "node:assert/strict";

import {
  compileInBackground,
  isCompiled,
  MAX_COMPILED_SCHEMA_CHARS,
} from "../../upstream/output_schema.ts";
import { UpstreamManager } from "../../upstream/mod.ts";
import { everythingServer } from "../fixtures/servers/reference.ts";
import { waitFor } from "./helpers.ts";

const schema = (i: number) => ({
  type: "object",
  description: `schema ${i} ${crypto.randomUUID()}`,
  properties: {
    a: { type: "string", minLength: i % 7 },
    b: { type: "array", items: { type: "number" } },
  },
  required: ["a"],
});

Deno.test("compileInBackground: compiles on later turns, in slices, every schema; cancel stops it", async () => {
  const schemas = Array.from({ length: 300 }, (_, i) => schema(i));
  const running = compileInBackground(schemas);
  assert.equal(schemas.filter(isCompiled).length, 0, "nothing is compiled on the caller's turn");
  let turns = 0;
  let finished = false;
  running.done.then(() => finished = true);
  while (!finished) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    turns++;
  }
  assert.equal(schemas.filter(isCompiled).length, 300);
  assert.ok(turns > 1, `spread over turns (${turns})`);

  const stopped = Array.from({ length: 50 }, (_, i) => schema(i));
  const cancelled = compileInBackground(stopped);
  cancelled.cancel();
  await cancelled.done;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stopped.filter(isCompiled).length, 0, "cancelled before its first turn");

  // A schema too large to compile is passed over, not retried or thrown on.
  const huge = { type: "object", description: "x".repeat(MAX_COMPILED_SCHEMA_CHARS) };
  const small = schema(1);
  await compileInBackground([huge, small]).done;
  assert.equal(isCompiled(huge), false);
  assert.equal(isCompiled(small), true);
  await compileInBackground([]).done;
});

Deno.test("real server: every tool's input and output schema is compiled after the listing, with no call made", async () => {
  const upstream = new UpstreamManager({ everything: everythingServer() });
  try {
    await upstream.start();
    const tools = upstream.catalogue();
    assert.ok(tools.length >= 10, `${tools.length} tools`);
    const schemas = tools.flatMap((t) =>
      t.outputSchema ? [t.inputSchema, t.outputSchema] : [t.inputSchema]
    );
    assert.ok(schemas.length > tools.length, "some tools declare an output schema");
    await waitFor("every schema compiled", () => schemas.every(isCompiled), 10_000);
  } finally {
    await upstream.close();
  }
});

/**
 * Odd but real tool definitions (the wild fixture): one bad tool never takes its server
 * down, each problem is reported once per tool, and results reach the caller unaltered.
 */

import assert from "node:assert/strict";

import {
  DESCRIPTION_CUT_MARKER,
  MAX_DESCRIPTION_BYTES,
  UpstreamManager,
  vetTools,
} from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

const USABLE = [
  "echo",
  "either",
  "add",
  "bad_output",
  "odd_props",
  "upper",
  "tree",
  "count",
  "weather",
  "array_output",
  "long_description",
  "ping",
];

Deno.test("a server with bad tool definitions stays ready and serves its usable tools", async () => {
  const logs: Record<string, unknown>[] = [];
  // Three entries per page: the bad ones are spread over several pages.
  const upstream = new UpstreamManager(
    { wild: fixtureServer("wild", ["--page-size", "3"]) },
    { logger: (event) => logs.push(event) },
  );
  try {
    await upstream.start();
    const [status] = upstream.status();
    assert.equal(status.state, "ready", JSON.stringify(status));
    assert.equal(status.restarts, 0);
    assert.deepEqual(upstream.catalogue().map((tool) => tool.name), USABLE);
    assert.equal(status.tools, USABLE.length);

    // Each problem once, naming the tool and what was done about it.
    const problems = status.warnings.map((w) => `${w.tool}: ${w.problem}`);
    const expect = [
      /^either: .*without a root "type": "object"; kept as is/,
      /^\(entry 3\): is not a tool object; skipped$/,
      /^bad_output: has an outputSchema that does not compile; kept the tool without it$/,
      /^echo: is listed more than once; the first definition is kept$/,
      /^huge_schema: has an inputSchema that is \d+ KiB of JSON, over the 64 KiB limit; skipped$/,
      /^\(entry 10\): has no name .*; skipped$/,
      /^string_input: .*root type is "string", not "object"; skipped$/,
      /^array_output: has an outputSchema that has root type "array".*; kept the tool without it$/,
      /^long_description: has a description over 8 KiB; cut$/,
    ];
    assert.equal(problems.length, expect.length, problems.join("\n"));
    expect.forEach((pattern, i) => assert.match(problems[i], pattern));
    // One log line per problem, each a single line.
    const logged = logs.filter((e) => e.event === "upstream.tool_warning");
    assert.equal(logged.length, expect.length);
    for (const line of logged) assert.ok(!String(line.problem).includes("\n"));
    assert.ok(!logs.some((e) => e.event === "upstream.failed"), "never failed");

    // The first of two `echo`s wins; the cut description is marked and fits in 8 KiB.
    assert.equal(upstream.tool("wild.echo")?.description, "Returns its text");
    const long = upstream.tool("wild.long_description")!.description;
    assert.ok(long.endsWith(DESCRIPTION_CUT_MARKER));
    assert.ok(new TextEncoder().encode(long).length <= MAX_DESCRIPTION_BYTES);
    // Output schemas that cannot work are dropped; a good one is kept.
    assert.equal(upstream.tool("wild.bad_output")?.outputSchema, undefined);
    assert.equal(upstream.tool("wild.array_output")?.outputSchema, undefined);
    assert.ok(upstream.tool("wild.weather")?.outputSchema);
    assert.deepEqual(Object.keys(upstream.tool("wild.either")!.inputSchema), ["oneOf"]);

    // Good tools work, skipped ones are unknown.
    const echo = await upstream.callTool("wild", "echo", { text: "hi" });
    assert.deepEqual(echo.content, [{ type: "text", text: "hi" }]);
    await assert.rejects(
      upstream.callTool("wild", "huge_schema", {}),
      (error: Error & { reason?: string }) => error.reason === "unknown_tool",
    );
  } finally {
    await upstream.close();
  }
});

Deno.test("results come back as the server sent them, whatever the output schema says", async () => {
  const upstream = new UpstreamManager({ wild: fixtureServer("wild") });
  try {
    await upstream.start();
    // An error result with structured content that breaks the schema: the tool's words.
    const atlantis = await upstream.callTool("wild", "weather", { city: "Atlantis" });
    assert.equal(atlantis.isError, true);
    assert.deepEqual(atlantis.content, [{ type: "text", text: "unknown city Atlantis" }]);
    // A success with text only is not a protocol error.
    const text = await upstream.callTool("wild", "weather", { city: "Textville" });
    assert.deepEqual(text.content, [{ type: "text", text: "21 degrees in Textville" }]);
    assert.equal(text.structuredContent, undefined);
    const bad = await upstream.callTool("wild", "weather", { city: "Badville" });
    assert.deepEqual(bad.structuredContent, { temperature: "hot", unit: "K" });
  } finally {
    await upstream.close();
  }
});

Deno.test("vetTools: caps, odd entries and the warning limit", () => {
  // A description of multi-byte characters is cut on a character boundary.
  const emoji = "😀".repeat(5000); // 20,000 bytes
  const { tools, warnings } = vetTools("s", [
    { name: "a", description: emoji, inputSchema: { type: "object" } },
    { name: "b" },
    { name: "c", inputSchema: { type: ["object", "null"] }, annotations: "nope", description: 7 },
    { name: "x".repeat(129), inputSchema: { type: "object" } },
    { name: "d", inputSchema: [] },
    { name: "e", inputSchema: { type: "object" }, outputSchema: { type: "object", $id: "same" } },
    { name: "f", inputSchema: { type: "object" }, outputSchema: { type: "object", $id: "same" } },
  ]);
  assert.deepEqual(tools.map((t) => t.name), ["a", "b", "c", "e", "f"]);
  const a = tools[0].description;
  assert.ok(a.endsWith(DESCRIPTION_CUT_MARKER));
  assert.ok(!a.slice(0, -DESCRIPTION_CUT_MARKER.length).includes("\uFFFD"));
  assert.ok(new TextEncoder().encode(a).length <= MAX_DESCRIPTION_BYTES);
  assert.deepEqual(tools[1].inputSchema, { type: "object" });
  assert.equal(tools[2].annotations, undefined);
  assert.equal(tools[2].description, "");
  // Two tools may share an output schema `$id`.
  assert.ok(tools[3].outputSchema && tools[4].outputSchema);
  assert.deepEqual(warnings.map((w) => w.tool), [
    "a",
    "b",
    "c",
    "c",
    "(entry 3, a name of 129 characters)",
    "d",
  ]);

  // A schema nested deeper than Ajv's stack: the tool keeps working without it.
  let deep: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < 3000; i++) deep = { items: deep };
  const nested = vetTools("s", [
    {
      name: "deep",
      inputSchema: { type: "object" },
      outputSchema: { type: "object", properties: { a: deep } },
    },
  ]);
  assert.deepEqual(nested.tools.map((t) => [t.name, t.outputSchema]), [["deep", undefined]]);
  assert.match(nested.warnings[0].problem, /outputSchema that (does not compile|is over)/);

  // Thousands of bad entries give at most 100 warnings, the last one counting the rest.
  const many = vetTools("s", Array.from({ length: 5000 }, () => 1));
  assert.equal(many.tools.length, 0);
  assert.equal(many.warnings.length, 100);
  assert.deepEqual(many.warnings[99], { tool: "(more)", problem: "4901 more problems not listed" });
});

Deno.test("vetTools: a warning never names a tool whose name is rejected, whatever the warning", () => {
  const reject = (name: string) => /@|\d{4} ?\d{4}/.test(name) ? "holds personal data" : undefined;
  const names = [
    "mail_ann.lee@example.com",
    "card_4111 1111 1111 1111",
    `bob@b.io${"a".repeat(200)}`,
  ];
  const entries = names.flatMap((name) => [
    // Each would be warned about by its name: no inputSchema, listed twice, odd annotations,
    // a schema that is not an object, an over-long name.
    { name, description: "x" },
    { name, inputSchema: { type: "object" } },
    { name, inputSchema: 5, annotations: 1 },
  ]);
  const { tools, warnings } = vetTools("crm", entries, undefined, reject);
  assert.deepEqual(tools, []);
  const text = JSON.stringify(warnings);
  for (const piece of ["ann.lee", "4111", "bob@"]) assert.ok(!text.includes(piece), text);
  // An over-long name is never shown at all, rejected or not.
  assert.ok(
    warnings.every((w) => /^\((tool \d+|entry \d+, a name of \d+ characters)\)$/.test(w.tool)),
    text,
  );
});

Deno.test("vetTools: warnings never quote what a server wrote in a schema", () => {
  const secret = "ssn 078-05-1120 ann@example.com";
  const { warnings } = vetTools("crm", [
    { name: "a", inputSchema: { type: secret } },
    { name: "b", inputSchema: { type: "object" }, outputSchema: { type: [secret] } },
    {
      name: "c",
      inputSchema: { type: "object" },
      outputSchema: {
        type: "object",
        properties: { x: { type: "string", pattern: `(${secret}` } },
      },
    },
    {
      name: "d",
      inputSchema: { type: "object" },
      outputSchema: { type: "object", properties: { x: { $ref: `#/defs/${secret}` } } },
    },
    { name: "e", inputSchema: { type: "string" } },
  ]);
  const text = JSON.stringify(warnings);
  for (const piece of ["078-05", "ann@example.com"]) assert.ok(!text.includes(piece), text);
  // What a warning may say: JSON Schema's own type names, and that a schema does not compile.
  assert.match(text, /root type is not a JSON Schema type name/);
  assert.match(text, /"e","problem":"has an inputSchema whose root type is \\"string\\"/);
  assert.match(text, /does not compile/);
});

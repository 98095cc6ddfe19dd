import assert from "node:assert/strict";

import { UpstreamManager } from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { waitFor } from "./helpers.ts";

Deno.test("catalogue follows tools/list pagination and keeps schemas, annotations, instructions", async () => {
  // 7 tools, 2 per page: four pages.
  const upstream = new UpstreamManager({ paged: fixtureServer("paginated", ["--page-size", "2"]) });
  try {
    await upstream.start();
    const tools = upstream.catalogue();
    assert.deepEqual(tools.map((tool) => tool.id), [
      "paged.tool_00",
      "paged.tool_01",
      "paged.tool_02",
      "paged.tool_03",
      "paged.tool_04",
      "paged.add_tool",
      "paged.remove_tool",
    ]);
    const first = upstream.tool("paged.tool_00");
    assert.ok(first);
    assert.equal(first.server, "paged");
    assert.equal(first.name, "tool_00");
    assert.equal(first.description, "Fixture tool tool_00");
    assert.deepEqual(first.inputSchema, {
      type: "object",
      properties: { value: { type: "string" } },
    });
    assert.deepEqual(first.outputSchema, {
      type: "object",
      properties: { echoed: { type: "string" } },
      required: ["echoed"],
    });
    assert.deepEqual(first.annotations, { title: "Tool tool_00", readOnlyHint: true });
    assert.equal(first.serverInstructions, "Paginated fixture: tools come in pages.");
    assert.equal(upstream.tool("paged.tool_01")?.outputSchema, undefined);
    assert.equal(upstream.tool("paged.nope"), undefined);
    assert.deepEqual(upstream.status().map((s) => [s.name, s.state, s.tools]), [
      ["paged", "ready", 7],
    ]);

    // A tool from the last page is callable, and structured content comes back.
    const result = await upstream.callTool("paged", "tool_00", { value: "hi" });
    assert.deepEqual(result.structuredContent, { echoed: "hi" });
    // Structured content that breaks the outputSchema is no protocol error here: the
    // result comes back as sent, for the gateway to check (tests/integration/wild_test.ts).
    const bad = await upstream.callTool("paged", "tool_00", { value: "bad" });
    assert.deepEqual(bad.structuredContent, { echoed: 42 });
    assert.equal(
      (await upstream.callTool("paged", "remove_tool", { name: "tool_01" })).isError,
      undefined,
    );
  } finally {
    await upstream.close();
  }
});

Deno.test("tools/list_changed refreshes the catalogue and tells listeners which server changed", async () => {
  const upstream = new UpstreamManager({
    other: fixtureServer("light"),
    paged: fixtureServer("paginated", ["--page-size", "3"]),
  });
  const changes: string[] = [];
  const unsubscribe = upstream.onCatalogueChange((server) => changes.push(server));
  try {
    await upstream.start();
    assert.deepEqual(changes.toSorted(), ["other", "paged"]); // each became ready
    changes.length = 0;

    await upstream.callTool("paged", "add_tool", { name: "fresh_tool" });
    await waitFor("fresh_tool in the catalogue", () => !!upstream.tool("paged.fresh_tool"));
    assert.deepEqual(changes, ["paged"]);
    assert.equal(upstream.catalogue().length, 1 + 8);
    assert.equal(upstream.status().find((s) => s.name === "paged")?.tools, 8);
    // The new tool is callable at once.
    const result = await upstream.callTool("paged", "fresh_tool", {});
    assert.deepEqual(result.content, [{ type: "text", text: "fresh_tool called" }]);

    await upstream.callTool("paged", "remove_tool", { name: "tool_02" });
    await waitFor("tool_02 gone", () => !upstream.tool("paged.tool_02"));
    assert.deepEqual(changes, ["paged", "paged"]);
    await assert.rejects(
      upstream.callTool("paged", "tool_02", {}),
      (error: Error & { kind?: string; reason?: string }) =>
        error.kind === "tool" && error.reason === "unknown_tool" && /"paged"/.test(error.message),
    );

    unsubscribe();
    await upstream.callTool("paged", "add_tool", { name: "unheard" });
    await waitFor("unheard in the catalogue", () => !!upstream.tool("paged.unheard"));
    assert.equal(changes.length, 2, "an unsubscribed listener is not called");
  } finally {
    await upstream.close();
  }
});

Deno.test("a tools/list_changed that arrives during the first listing is not lost", async () => {
  const upstream = new UpstreamManager({
    paged: fixtureServer("paginated", [
      "--page-size",
      "100",
      "--list-delay-ms",
      "300",
      "--late-tool",
      "late_tool",
    ]),
  });
  try {
    await upstream.start();
    await waitFor("late_tool in the catalogue", () => !!upstream.tool("paged.late_tool"));
    assert.equal(upstream.status()[0].tools, 8);
  } finally {
    await upstream.close();
  }
});

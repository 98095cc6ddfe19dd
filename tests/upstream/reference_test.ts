import assert from "node:assert/strict";

import { type StdioServerConfig, UpstreamManager } from "../../upstream/mod.ts";
import { everythingServer, filesystemServer, memoryServer } from "../fixtures/servers/reference.ts";
import { newMarker, processesWith } from "./helpers.ts";

function withMarker(config: StdioServerConfig, marker: string): StdioServerConfig {
  return { ...config, env: { ...config.env, AIRLOCK_TEST_MARKER: marker } };
}

Deno.test("the reference servers (filesystem, memory, everything) over stdio via npx", async () => {
  const root = await Deno.makeTempDir({ prefix: "airlock-upstream-" });
  await Deno.writeTextFile(`${root}/hello.txt`, "hello from the test\n");
  const marker = newMarker();
  Deno.env.set("AIRLOCK_TEST_GATEWAY_SECRET", "do-not-leak");
  const upstream = new UpstreamManager({
    filesystem: withMarker(filesystemServer(root), marker),
    memory: withMarker(memoryServer(`${root}/memory.jsonl`), marker),
    everything: withMarker(everythingServer(), marker),
  }, { connectTimeoutMs: 120_000 });
  try {
    await upstream.start();
    assert.deepEqual(
      upstream.status().map((s) => [s.name, s.state]),
      [["everything", "ready"], ["filesystem", "ready"], ["memory", "ready"]],
    );
    const ids = upstream.catalogue().map((tool) => tool.id);
    for (
      const id of [
        "filesystem.read_text_file",
        "filesystem.list_directory",
        "memory.create_entities",
        "memory.read_graph",
        "everything.echo",
        "everything.get-sum",
        "everything.get-structured-content",
      ]
    ) assert.ok(ids.includes(id), `${id} in the catalogue`);
    // Each server's status counts exactly its catalogue entries.
    for (const status of upstream.status()) {
      assert.equal(status.tools, ids.filter((id) => id.startsWith(`${status.name}.`)).length);
    }

    // Schemas, annotations and instructions are kept as the servers sent them.
    const read = upstream.tool("filesystem.read_text_file")!;
    assert.equal(read.inputSchema.type, "object");
    assert.ok("path" in (read.inputSchema.properties as Record<string, unknown>));
    assert.equal(read.annotations?.readOnlyHint, true);
    assert.ok(read.outputSchema, "filesystem tools declare an outputSchema");
    const structured = upstream.tool("everything.get-structured-content")!;
    assert.deepEqual((structured.outputSchema?.required as string[]).toSorted(), [
      "conditions",
      "humidity",
      "temperature",
    ]);
    assert.match(structured.serverInstructions ?? "", /Everything Server/);

    // Real calls.
    const listing = await upstream.callTool("filesystem", "list_directory", { path: root });
    assert.match(JSON.stringify(listing.content), /\[FILE\] hello\.txt/);
    const file = await upstream.callTool("filesystem", "read_text_file", {
      path: `${root}/hello.txt`,
    });
    assert.deepEqual(file.structuredContent, { content: "hello from the test\n" });
    const outside = await upstream.callTool("filesystem", "read_text_file", {
      path: "/etc/hostname",
    });
    assert.equal(outside.isError, true, "the filesystem server refuses paths outside its root");

    await upstream.callTool("memory", "create_entities", {
      entities: [{ name: "Ada", entityType: "person", observations: ["wrote programs"] }],
    });
    const graph = await upstream.callTool("memory", "read_graph", {});
    assert.match(JSON.stringify(graph), /wrote programs/);

    const sum = await upstream.callTool("everything", "get-sum", { a: 2, b: 40 });
    assert.match(JSON.stringify(sum.content), /42/);
    const weather = await upstream.callTool("everything", "get-structured-content", {
      location: "Chicago",
    });
    assert.equal(
      typeof (weather.structuredContent as { temperature: unknown }).temperature,
      "number",
    );

    // The gateway's environment does not reach the servers.
    const env = await upstream.callTool("everything", "get-env", {});
    const envText = JSON.stringify(env.content);
    assert.ok(envText.includes("AIRLOCK_TEST_MARKER"), "configured env is passed");
    assert.ok(!envText.includes("AIRLOCK_TEST_GATEWAY_SECRET"), "gateway env is not passed");

    assert.ok(processesWith(marker).length >= 3, "the servers run while the manager is open");
  } finally {
    Deno.env.delete("AIRLOCK_TEST_GATEWAY_SECRET");
    await upstream.close();
  }
  // close() took down npx and the node processes under it.
  assert.deepEqual(processesWith(marker), []);
  await Deno.remove(root, { recursive: true });
});

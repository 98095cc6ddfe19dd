/** ToolIndex: hybrid search, background indexing, the disk cache and incremental updates. */
import {
  assert,
  assertEquals,
  assertRejects,
  assertSelectionError,
  assertThrows,
  CountingEmbedder,
  tool,
} from "./helpers.ts";
import { lexicalEmbedder, ToolIndex } from "../../../wrappers/selection/mod.ts";

const catalogue = [
  tool("github", "create_issue", "Create a new issue in a GitHub repository", {
    title: "Issue title",
  }),
  tool("github", "list_commits", "Get list of commits of a branch", { sha: "Branch name" }),
  tool("slack", "post_message", "Post a new message to a Slack channel", { channel_id: "Channel" }),
  tool("files", "read_file", "Read the complete contents of a file", { path: "File path" }),
  tool("files", "write_file", "Create or overwrite a file with new content", { path: "File path" }),
];

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-index-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("search ranks by name, description and parameters; scores are in (0, 1]", async () => {
  const index = new ToolIndex({ embedder: new CountingEmbedder() });
  index.setCatalogue(catalogue);
  await index.ready();
  assertEquals(index.status().mode, "hybrid");
  const hits = await index.search("open an issue on github", 3);
  assertEquals(hits[0].tool.id, "github.create_issue");
  assert(hits.every((h) => h.score > 0 && h.score <= 1));
  assertEquals(hits[0].score, 1); // best on both BM25 and cosine
  // Parameter descriptions are indexed too.
  assertEquals((await index.search("channel", 1))[0].tool.id, "slack.post_message");
  assertEquals(await index.search("", 5), []);
  await assertRejects(() => index.search("x", -1)).then((e) =>
    assertSelectionError(e, "invalid_argument")
  );
});

Deno.test("a warm cache start re-embeds nothing; changed texts re-embed alone", async () => {
  await withTempDir(async (dir) => {
    const cold = new CountingEmbedder();
    const first = new ToolIndex({ embedder: cold, cacheDir: dir });
    first.setCatalogue(catalogue);
    await first.ready();
    assertEquals(cold.texts.length, catalogue.length);
    assert(cold.calls >= 2, "5 tools in batches of 4 take 2 calls");

    const warm = new CountingEmbedder();
    const second = new ToolIndex({ embedder: warm, cacheDir: dir });
    second.setCatalogue(catalogue);
    await second.ready();
    assertEquals(warm.calls, 0);
    assertEquals(second.status().cacheLoaded, catalogue.length);
    assertEquals(second.status().mode, "hybrid");

    // One description changed on a restart: only that text is embedded.
    const changed = catalogue.map((t) =>
      t.id === "files.read_file" ? { ...t, description: "Read a file as UTF-8 text" } : t
    );
    const third = new CountingEmbedder();
    const index3 = new ToolIndex({ embedder: third, cacheDir: dir });
    index3.setCatalogue(changed);
    await index3.ready();
    assertEquals(third.texts.length, 1);
    assert(third.texts[0].includes("UTF-8"));

    // A different model does not reuse these vectors.
    const other = new CountingEmbedder("fake:v2");
    const index4 = new ToolIndex({ embedder: other, cacheDir: dir });
    index4.setCatalogue(catalogue);
    await index4.ready();
    assertEquals(other.texts.length, catalogue.length);
  });
});

Deno.test("updateServer embeds only the new or changed tools of that server", async () => {
  const embedder = new CountingEmbedder();
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await index.ready();
  embedder.texts = [];
  index.updateServer("slack", [
    tool("slack", "post_message", "Post a new message to a Slack channel", {
      channel_id: "Channel",
    }),
    tool("slack", "add_reaction", "Add an emoji reaction to a message"),
  ]);
  await index.ready();
  assertEquals(embedder.texts.length, 1);
  assert(embedder.texts[0].includes("add reaction"));
  assertEquals(index.tools().length, 6);
  assertEquals((await index.search("emoji reaction", 1))[0].tool.id, "slack.add_reaction");

  index.updateServer("slack", []);
  assertEquals(index.tools().filter((t) => t.server === "slack"), []);
  assertEquals(index.get("slack.add_reaction"), undefined);
  const err = assertThrows(() => index.updateServer("slack", [catalogue[0]]));
  assertSelectionError(err, "invalid_argument");
});

Deno.test("lexical results are served until the vectors are ready", async () => {
  const embedder = new CountingEmbedder();
  let open!: () => void;
  embedder.gate = new Promise((resolve) => open = resolve);
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(index.status().mode, "lexical");
  assertEquals(index.status().pending, catalogue.length);
  const hits = await index.search("commits of a branch", 2);
  assertEquals(hits[0].tool.id, "github.list_commits");
  assertEquals(hits[0].score, 1);
  open();
  await index.ready();
  assertEquals(index.status().mode, "hybrid");
  assertEquals(index.status().pending, 0);
});

Deno.test("indexing yields to the event loop between batches", async () => {
  const embedder = new CountingEmbedder();
  const index = new ToolIndex({ embedder, batchSize: 1 });
  const many = Array.from(
    { length: 40 },
    (_, i) => tool("bulk", `tool_${i}`, `Synthetic tool number ${i}`),
  );
  index.setCatalogue(many);
  let pendingSeenByTimer = -1;
  setTimeout(() => pendingSeenByTimer = index.status().pending, 0);
  await index.ready();
  // A macrotask ran while most of the catalogue was still being embedded.
  assert(pendingSeenByTimer > 0 && pendingSeenByTimer < 40, `timer saw ${pendingSeenByTimer}`);
  assertEquals(embedder.calls, 40);
});

Deno.test("a failing encoder falls back to BM25 and says why", async () => {
  const embedder = new CountingEmbedder();
  embedder.failWith = new Error("out of memory");
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await index.ready();
  const status = index.status();
  assertEquals(status.embedder.active, "lexical");
  assert(status.embedder.reason.includes("out of memory"));
  assertEquals((await index.search("write a file", 1))[0].tool.id, "files.write_file");
});

Deno.test("an encoder that fails to load leaves a working lexical index", async () => {
  const index = new ToolIndex({ embedder: Promise.reject(new Error("no model here")) });
  index.setCatalogue(catalogue);
  await index.ready();
  assertEquals(index.status().embedder.active, "lexical");
  assertEquals(index.status().mode, "lexical");
  assertEquals((await index.search("slack message", 1))[0].tool.id, "slack.post_message");
});

Deno.test("a corrupt or torn cache file is ignored, not fatal", async () => {
  await withTempDir(async (dir) => {
    const first = new ToolIndex({ embedder: new CountingEmbedder(), cacheDir: dir });
    first.setCatalogue(catalogue);
    await first.ready();
    const [file] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
    const bytes = await Deno.readFile(file);
    // Tear the last record inside its hash (records are 32 + 64 × 4 bytes here).
    await Deno.writeFile(file, bytes.subarray(0, bytes.length - (32 + 64 * 4 - 16)));

    const torn = new CountingEmbedder();
    const second = new ToolIndex({ embedder: torn, cacheDir: dir });
    second.setCatalogue(catalogue);
    await second.ready();
    assertEquals(torn.texts.length, 1);
    assertEquals(second.status().mode, "hybrid");
    // The torn record was cut off, so the re-embedded vector landed aligned: warm again.
    const again = new CountingEmbedder();
    const index2b = new ToolIndex({ embedder: again, cacheDir: dir });
    index2b.setCatalogue(catalogue);
    await index2b.ready();
    assertEquals(again.calls, 0);

    await Deno.writeTextFile(file, "garbage that is not a vector file");
    const third = new ToolIndex({ embedder: new CountingEmbedder(), cacheDir: dir });
    third.setCatalogue(catalogue);
    await third.ready();
    assertEquals(third.status().mode, "hybrid");
    // The garbage was replaced, so the next start is warm again.
    const fourth = new CountingEmbedder();
    const index4 = new ToolIndex({ embedder: fourth, cacheDir: dir });
    index4.setCatalogue(catalogue);
    await index4.ready();
    assertEquals(fourth.calls, 0);
  });
});

Deno.test("the lexical embedder serves BM25 only", async () => {
  const embedder = lexicalEmbedder("configured");
  assertEquals(embedder.status, { active: "lexical", model: null, reason: "configured" });
  await assertRejects(() => embedder.embed(["x"])).then((e) =>
    assertSelectionError(e, "embedder_unavailable")
  );
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await index.ready();
  assertEquals(index.status().mode, "lexical");
  assertEquals(index.status().pending, 0);
  assertEquals((await index.search("read file contents", 1))[0].tool.id, "files.read_file");
  assertEquals(await index.search("kubernetes pods", 5), []);
});

Deno.test("the cache file is compacted when stale vectors pile up", async () => {
  await withTempDir(async (dir) => {
    const index = new ToolIndex({ embedder: new CountingEmbedder(), cacheDir: dir });
    const version = (n: number) =>
      catalogue.map((t) => ({ ...t, description: `${t.description} (revision ${n})` }));
    index.setCatalogue(version(0));
    await index.ready();
    const [file] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
    const recordBytes = 32 + 64 * 4;
    let maxRecords = 0;
    for (let n = 1; n <= 40; n++) {
      index.setCatalogue(version(n));
      await index.ready();
      maxRecords = Math.max(maxRecords, ((await Deno.stat(file)).size - 8) / recordBytes);
    }
    // 205 vectors were written over time; the file never held much more than 2 × 5 + 64.
    assert(maxRecords <= 2 * catalogue.length + 64 + 4, `file grew to ${maxRecords} records`);
    assertEquals([...Deno.readDirSync(dir)].length, 1); // no temp files left behind

    const warm = new CountingEmbedder();
    const restarted = new ToolIndex({ embedder: warm, cacheDir: dir });
    restarted.setCatalogue(version(40));
    await restarted.ready();
    assertEquals(warm.calls, 0);
  });
});

Deno.test("query embeddings are cached per scope (tenant), never shared across scopes", async () => {
  const embedder = new CountingEmbedder();
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await index.ready();
  const query = "wire money to gina@example.com";
  const embeddedFor = async (scope?: string) => {
    const before = embedder.texts.filter((t) => t === query).length;
    await index.search(query, 3, undefined, { scope });
    return embedder.texts.filter((t) => t === query).length - before;
  };
  assertEquals(await embeddedFor("alice"), 1);
  assertEquals(await embeddedFor("alice"), 0, "alice's repeated query is served from her cache");
  // Observed before: bob's guess at alice's query was served from her entry, measurably faster.
  assertEquals(await embeddedFor("bob"), 1);
  assertEquals(await embeddedFor(undefined), 1);
  // Nor is a query being embedded shared across scopes while it runs.
  let open!: () => void;
  embedder.gate = new Promise((r) => open = r);
  const other = "send the invoice to carol";
  const before = embedder.texts.filter((t) => t === other).length;
  const both = Promise.all([
    index.search(other, 3, undefined, { scope: "alice" }),
    index.search(other, 3, undefined, { scope: "bob" }),
  ]);
  open();
  await both;
  assertEquals(embedder.texts.filter((t) => t === other).length - before, 2);
});

Deno.test("one scope's stream of new queries cannot evict another scope's cached queries", async () => {
  const embedder = new CountingEmbedder();
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await index.ready();
  const embedded = async (query: string, scope: string) => {
    const before = embedder.texts.filter((t) => t === query).length;
    await index.search(query, 3, undefined, { scope });
    return embedder.texts.filter((t) => t === query).length - before;
  };
  const mine = ["read the quarterly report", "list open invoices", "find customer records"];
  for (const q of mine) assertEquals(await embedded(q, "victim"), 1);
  // The attacker asks 1,000 different queries (four times the whole cache).
  for (let i = 0; i < 1000; i++) {
    await index.search(`attacker query ${i}`, 3, undefined, { scope: "mallory" });
  }
  for (const q of mine) assertEquals(await embedded(q, "victim"), 0, `${q} is still cached`);
  // The attacker's own recent queries are still cached (its oldest went first).
  assertEquals(await embedded("attacker query 999", "mallory"), 0);
  assertEquals(await embedded("attacker query 0", "mallory"), 1);
});

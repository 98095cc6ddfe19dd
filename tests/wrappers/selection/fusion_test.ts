/**
 * Ranking rules that hold whatever the weights: a tool whose name the query writes comes
 * first; ordinary words never pin a tool; BM25F weighs a name match above a description
 * match; and on a fixed set of real tools and queries (120 tools of our evaluation set and up
 * to 40 of its test-half queries, offline USE encoder) the hybrid is not below BM25 alone.
 */
import { assert, assertEquals, CountingEmbedder, tool } from "./helpers.ts";
import {
  lexicalEmbedder,
  loadUseEmbedder,
  selectTools,
  ToolIndex,
} from "../../../wrappers/selection/mod.ts";
import { loadCatalogue, loadQueries, splitQueries } from "../../../bench/data/load.ts";

const catalogue = [
  tool("files", "read_text_file", "Read the complete contents of a file as text", {
    path: "Path",
  }),
  tool("files", "read_media_file", "Read an image or audio file", { path: "Path" }),
  tool("files", "search", "Search for files matching a pattern", { pattern: "Glob" }),
  tool("notes", "read_text_file", "Read a note as text", { id: "Note id" }),
  tool("web", "fetch", "Fetch a URL and return the page"),
  tool("mail", "send_email", "Send an email. Also reads the text of a file to attach", {
    to: "Recipient",
  }),
];

Deno.test("a tool name written in the query comes first, in every spelling", async () => {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  // BM25 alone would put read_text_file first for this wording; the name wins.
  const media = await index.search(
    "read the complete contents of a text file as text, using read_media_file",
    3,
  );
  assertEquals(media[0].tool.id, "files.read_media_file");
  assertEquals(media[0].score, 1);
  for (const spelling of ["readMediaFile", "read-media-file", "files.read_media_file"]) {
    const hits = await index.search(`open the photo using ${spelling} please`, 3);
    assertEquals(hits[0].tool.id, "files.read_media_file", spelling);
  }
  // A name shared by two servers: both come first; server-qualified, only that server's.
  const both = (await index.search("call read_text_file", 2)).map((h) => h.tool.id).sort();
  assertEquals(both, ["files.read_text_file", "notes.read_text_file"]);
  const one = await index.search("call notes.read_text_file on note 7", 1);
  assertEquals(one[0].tool.id, "notes.read_text_file");
  // The filter still applies to named tools.
  const filtered = await index.search("use read_media_file", 3, (t) => t.server !== "files");
  assert(filtered.every((h) => h.tool.server !== "files"));
});

Deno.test("ordinary words do not pin a tool that has that name", async () => {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  // "search" and "fetch" are tool names, but here they are words of a request.
  const hits = await index.search("search and fetch my email to send it", 3);
  assertEquals(hits[0].tool.id, "mail.send_email");
  assert(hits[0].score <= 1);
});

Deno.test("BM25F: a match in the name outweighs the same words in a description", async () => {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  // send_email's description says "reads the text of a file"; read_text_file is named so.
  const hits = await index.search("read text file", 3);
  assert(hits[0].tool.name === "read_text_file", hits.map((h) => h.tool.id).join(", "));
  assert(hits.findIndex((h) => h.tool.id === "mail.send_email") !== 0);
});

Deno.test("selectTools puts a tool named in the intent into the selection", async () => {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  const chosen = await selectTools(index, {
    code: "return 1;",
    intent: "summarise my inbox with send_email",
    maxTools: 1,
    minScore: 0.3,
  });
  assertEquals(chosen.map((t) => t.id), ["mail.send_email"]);
});

Deno.test("on a fixed set of real tools and queries the hybrid is not below BM25", async () => {
  // The first 120 tools and the test-half queries whose tools are all among them.
  const tools = (await loadCatalogue()).slice(0, 120);
  const ids = new Set(tools.map((t) => t.id));
  const queries = splitQueries(await loadQueries()).test
    .filter((q) => q.tools.every((id) => ids.has(id))).slice(0, 40);
  assert(queries.length >= 20, `only ${queries.length} queries`);
  const embedder = await loadUseEmbedder();
  const dir = await Deno.makeTempDir({ prefix: "airlock-fusion-" });
  try {
    const recallAt10 = async (weight: number) => {
      const index = new ToolIndex({ embedder, cacheDir: dir, embeddingWeight: weight });
      index.setCatalogue(tools);
      await index.ready();
      let sum = 0;
      for (const q of queries) {
        const ids = new Set((await index.search(q.query, 10)).map((h) => h.tool.id));
        sum += q.tools.filter((id) => ids.has(id)).length / q.tools.length;
      }
      return sum / queries.length;
    };
    const bm25 = await recallAt10(0);
    const hybrid = await recallAt10(0.4);
    assert(hybrid >= bm25, `hybrid R@10 ${hybrid} is below BM25's ${bm25}`);
  } finally {
    embedder.close?.();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an embedding budget: past it the ranking is lexical, and the next time hybrid", async () => {
  const embedder = new CountingEmbedder();
  const index = new ToolIndex({ embedder, embeddingWeight: 1 });
  index.setCatalogue(catalogue);
  await index.ready();
  // The encoder now holds every query until released.
  let release: () => void = () => {};
  embedder.gate = new Promise<void>((r) => release = r);
  const query = "fetch the web page";
  const lexical = await index.search(query, 3, undefined, { budgetMs: 5 });
  assertEquals(lexical[0].tool.id, "web.fetch");
  const queryCalls = embedder.texts.filter((t) => t === query).length;
  assertEquals(queryCalls, 1, "the query was sent to the encoder");
  release();
  embedder.gate = null;
  // Without a budget the search waits for the (now cached) vector: pure embedding ranking.
  await index.search(query, 3);
  assertEquals(embedder.texts.filter((t) => t === query).length, 1, "served from the cache");
});

Deno.test("a plain tool name counts when quoted as code", async () => {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  for (
    const query of ["get my email with `fetch`", "get my email (fetch)", 'get my email "fetch"']
  ) {
    const hits = await index.search(query, 2);
    assertEquals(hits[0].tool.id, "web.fetch", query);
  }
});

Deno.test("with a budget, a new query does not queue behind the encoder's work", async () => {
  const embedder = new CountingEmbedder();
  const index = new ToolIndex({ embedder, embeddingWeight: 0.5 });
  index.setCatalogue(catalogue);
  await index.ready();
  let release: () => void = () => {};
  embedder.gate = new Promise<void>((r) => release = r);
  try {
    // One query is being embedded (held); others with even a long budget do not wait for it.
    const first = index.search("fetch the web page", 3);
    const second = await index.search("send an email", 3, undefined, { budgetMs: 60_000 });
    assertEquals(second[0].tool.id, "mail.send_email");
    const third = await index.search("read a text file", 3, undefined, { budgetMs: 60_000 });
    assertEquals(third[0].tool.name, "read_text_file");
    // At most two embeddings were queued: the third query was not sent to the encoder.
    assert(!embedder.texts.includes("read a text file"), embedder.texts.join(" | "));
    release();
    await first;
  } finally {
    release();
  }
});

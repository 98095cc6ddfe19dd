/**
 * The offline Universal Sentence Encoder ranks tools by meaning: paraphrased requests that
 * share no content word with the right tool's text still rank it above the wrong ones.
 */
import {
  assert,
  assertEquals,
  assertNear,
  assertRejects,
  assertSelectionError,
  tool,
} from "./helpers.ts";
import {
  type Embedder,
  lexicalEmbedder,
  loadUseEmbedder,
  ToolIndex,
} from "../../../wrappers/selection/mod.ts";

const catalogue = [
  tool("files", "delete_file", "Delete a file from disk", { path: "Path of the file" }),
  tool("files", "read_file", "Read the contents of a file", { path: "Path of the file" }),
  tool("weather", "get_forecast", "Weather forecast for a city: temperature, rain and wind"),
  tool("mail", "send_email", "Send an email message to a recipient", { to: "Recipient address" }),
  tool("music", "play_song", "Play a song on the speakers"),
];

/** Requests with no word in common with their tool's name, description or parameters. */
const paraphrases: Array<[string, string]> = [
  ["erase this document permanently", "files.delete_file"],
  ["will it be sunny tomorrow in Paris", "weather.get_forecast"],
  ["drop a note to my colleague", "mail.send_email"],
  ["put on some jazz tunes", "music.play_song"],
];

Deno.test("USE ranks tools by meaning, without lexical overlap", async () => {
  // The queries really share no term with the tools: BM25 finds nothing for them.
  const lexical = new ToolIndex({ embedder: lexicalEmbedder("test") });
  lexical.setCatalogue(catalogue);
  for (const [query] of paraphrases) assertEquals(await lexical.search(query, 5), [], query);

  const embedder = await loadUseEmbedder();
  try {
    await rankByMeaning(embedder);
  } finally {
    embedder.close?.();
  }
});

async function rankByMeaning(embedder: Embedder): Promise<void> {
  assertEquals(embedder.status.active, "use");
  const [probe] = await embedder.embed(["hello"]);
  assertEquals(probe.length, 512);

  // Pure embedding ranking (weight 1): BM25 has nothing to match in these queries anyway.
  const index = new ToolIndex({ embedder, embeddingWeight: 1 });
  index.setCatalogue(catalogue);
  await index.ready();
  assertEquals(index.status().mode, "hybrid");
  for (const [query, want] of paraphrases) {
    const hits = await index.search(query, 5);
    assertEquals(hits[0]?.tool.id, want, query);
  }

  // The brief's example: removing ranks delete_file above read_file.
  const [q, del, read] = await embedder.embed([
    "remove a file",
    "files: delete file. Delete a file from disk",
    "files: read file. Read the contents of a file",
  ]);
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
  assert(dot(q, del) > dot(q, read), `delete ${dot(q, del)} vs read ${dot(q, read)}`);
}

Deno.test("the USE worker and the in-thread encoder give the same vectors", async () => {
  const inWorker = await loadUseEmbedder();
  const inThread = await loadUseEmbedder({ worker: false });
  try {
    assert(inWorker.status.reason.includes("in a worker"), inWorker.status.reason);
    const texts = ["list the open pull requests", "what time is it in Tokyo"];
    const [a, b] = [await inWorker.embed(texts), await inThread.embed(texts)];
    for (let i = 0; i < texts.length; i++) {
      for (let j = 0; j < 512; j++) assertNear(a[i][j], b[i][j], 1e-4);
    }
    inWorker.close?.();
    const err = await assertRejects(() => inWorker.embed(["after close"]));
    assertSelectionError(err, "embedder_unavailable");
  } finally {
    inWorker.close?.();
    inThread.close?.();
  }
});

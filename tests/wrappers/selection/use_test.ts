/**
 * The offline Universal Sentence Encoder ranks tools by meaning: paraphrased requests that
 * share no content word with the right tool's text still rank it above the wrong ones.
 */
import { assert, assertEquals, tool } from "./helpers.ts";
import { lexicalEmbedder, loadUseEmbedder, ToolIndex } from "../../../wrappers/selection/mod.ts";

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
});

/**
 * The shared query encoder is fair between tenants (red team f2: one tenant's 256 unawaited
 * 2,000-character searches put another's at ~190 ms p50): queries reach the encoder
 * round-robin by scope, one scope holds a bounded number of them (past it: lexical ranking),
 * and no query, however long, hands the encoder more than 2,000 characters. Real offline USE
 * encoder (in its worker); fairness is checked as the order texts reach it, never timings.
 */
import { assert, assertEquals, CountingEmbedder, tool } from "./helpers.ts";
import {
  type Embedder,
  loadUseEmbedder,
  type ScoredTool,
  ToolIndex,
} from "../../../wrappers/selection/mod.ts";

const catalogue = [
  tool("files", "delete_file", "Delete a file from disk", { path: "Path of the file" }),
  tool("files", "read_file", "Read the contents of a file", { path: "Path of the file" }),
  tool("weather", "get_forecast", "Weather forecast for a city: temperature, rain and wind"),
  tool("mail", "send_email", "Send an email message to a recipient", { to: "Recipient address" }),
  tool("music", "play_song", "Play a song on the speakers"),
];

/** A query of tenant `who` (its first word), `chars` long, distinct by `n`. */
function query(who: string, n: number, chars = 2_000): string {
  const words = ["read", "file", "weather", "email", "song", "list", "record", "data"];
  let q = `${who} ${n} `;
  for (let i = 0; q.length < chars; i++) q += words[(i + n) % words.length] + " ";
  return q.slice(0, chars);
}

/**
 * An index over the USE encoder, every vector ready, recording the queries (texts not of a
 * tool) in the order they reach the encoder.
 */
async function withIndex(
  fn: (index: ToolIndex, seen: string[]) => Promise<void>,
  queriesPerScope?: number,
): Promise<void> {
  const use = await loadUseEmbedder();
  const seen: string[] = [];
  const tools = new Set<string>();
  const embedder: Embedder = {
    status: use.status,
    cacheKey: use.cacheKey,
    embed(texts) {
      for (const t of texts) if (!tools.has(t)) seen.push(t);
      return use.embed(texts);
    },
  };
  try {
    const index = new ToolIndex({ embedder, queriesPerScope });
    // Tool texts are not queries: learn them from the first (build) call.
    const build = embedder.embed;
    embedder.embed = (texts) => {
      texts.forEach((t) => tools.add(t));
      return build(texts);
    };
    index.setCatalogue(catalogue);
    await index.ready();
    embedder.embed = build;
    assertEquals(index.status().mode, "hybrid");
    await fn(index, seen);
  } finally {
    use.close?.();
  }
}

/** Whose query a text reaching the encoder was (its first word). */
const owner = (text: string) => text.slice(0, text.indexOf(" "));

Deno.test("one tenant's burst of searches does not queue another tenant behind it", async () => {
  await withIndex(async (index, seen) => {
    const burst: Promise<ScoredTool[]>[] = [];
    for (let i = 0; i < 30; i++) {
      burst.push(index.search(query("a", i), 3, undefined, { scope: "a" }));
    }
    const b = index.search(query("b", 0, 200), 3, undefined, { scope: "b" });
    await b;
    const before = seen.findIndex((t) => owner(t) === "b");
    // At most the query the encoder already had, and one more of a's at the turn before b's.
    assert(before >= 0 && before <= 2, `b's query reached the encoder after ${before} of a's`);
    const results = await Promise.all(burst);
    // Every search of the burst answered (past a's share, lexically), none failed.
    assertEquals(results.length, 30);
    assert(results.every((r) => r.length > 0), "a search of the burst found nothing");
  });
});

Deno.test("a tenant holds at most its share of the encoder's queue; past it, lexical ranking", async () => {
  await withIndex(async (index, seen) => {
    const burst: Promise<ScoredTool[]>[] = [];
    for (let i = 0; i < 50; i++) {
      burst.push(index.search(query("a", i, 300), 3, undefined, { scope: "a" }));
    }
    const results = await Promise.all(burst);
    const embedded = seen.filter((t) => owner(t) === "a").length;
    assertEquals(embedded, 2, `${embedded} of a's 50 queries went to the encoder`);
    assert(results.every((r) => r.length > 0), "a search past the share found nothing");
    // Once its queries are done, the tenant's next search is embedded again.
    await index.search(query("a", 99, 300), 3, undefined, { scope: "a" });
    assertEquals(seen.filter((t) => owner(t) === "a").length, 3);
  }, 2);
});

Deno.test("queries of three tenants reach the encoder in turn", async () => {
  await withIndex(async (index, seen) => {
    const all: Promise<ScoredTool[]>[] = [];
    for (const who of ["a", "b", "c"]) {
      for (let i = 0; i < 4; i++) {
        all.push(index.search(query(who, i, 300), 3, undefined, { scope: who }));
      }
    }
    await Promise.all(all);
    const order = seen.map(owner);
    assertEquals(order.length, 12);
    // The first of a's went at once; after it, every round serves each tenant once.
    for (let round = 0; round < 3; round++) {
      const turn = order.slice(1 + round * 3, 4 + round * 3).sort();
      assertEquals(turn, ["a", "b", "c"], `round ${round}: ${order.join(" ")}`);
    }
  });
});

Deno.test("a query far past 2,000 characters hands the encoder 2,000 at most", async () => {
  await withIndex(async (index, seen) => {
    const long = query("a", 0, 60_000);
    const a = index.search(long, 3, undefined, { scope: "a" });
    const b = index.search(query("b", 0, 200), 3, undefined, { scope: "b" });
    await Promise.all([a, b]);
    const lengths = seen.map((t) => `${owner(t)}:${t.length}`);
    assertEquals(lengths, ["a:2000", "b:200"]);
    // An astral character at the cut is not split in half.
    const astral = "a 12 " + "\u{1F600}".repeat(1_500);
    await index.search(astral, 3, undefined, { scope: "a" });
    const sent = seen.at(-1)!;
    assert(sent.length <= 2_000 && astral.startsWith(sent), "cut inside a surrogate pair");
    assert(!/[\uD800-\uDBFF]$/.test(sent), "a lone high surrogate was sent");
  });
});

Deno.test("a tenant asking one query after another leaves the encoder free half the time for others", async () => {
  // A fake encoder taking 200 ms for tenant a's queries (a long query), none for b's. An
  // execution's searches are ranked one at a time, so a's next query always arrives just as
  // its last ends: without a pause, b's next search always finds a's in flight.
  const seen: string[] = [];
  const inner = new CountingEmbedder("fake:fair");
  const embedder: Embedder = {
    status: inner.status,
    cacheKey: inner.cacheKey,
    async embed(texts) {
      seen.push(...texts);
      if (texts[0].startsWith("a ")) await new Promise((r) => setTimeout(r, 200));
      return inner.embed(texts);
    },
  };
  const index = new ToolIndex({ embedder });
  index.setCatalogue(catalogue);
  await index.ready();
  seen.length = 0;
  await index.search("b 0 read a file", 3, undefined, { scope: "b" });
  await index.search("a 1 read a file", 3, undefined, { scope: "a" });
  // a asks again at once; b 20 ms later (well inside a's 200 ms pause).
  const a2 = index.search("a 2 read a file", 3, undefined, { scope: "a" });
  await new Promise((r) => setTimeout(r, 20));
  await index.search("b 1 read a file", 3, undefined, { scope: "b" });
  await a2;
  assertEquals(seen.map(owner), ["b", "a", "b", "a"], seen.join(" | "));
});

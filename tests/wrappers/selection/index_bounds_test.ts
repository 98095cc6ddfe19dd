/**
 * ToolIndex bounds under a catalogue that never stops changing (red team f2): the vectors
 * kept in memory and on disk stay bounded by the live catalogue, the cache file read at start
 * is capped, and tools that did not change still rank by meaning while a churning server's
 * texts wait. Real offline USE encoder (in its worker), except where a test writes the cache
 * file itself. Bounds are checked as counts and sizes, never timings.
 */
import { assert, assertEquals, CountingEmbedder, tool } from "./helpers.ts";
import { type Embedder, loadUseEmbedder, ToolIndex } from "../../../wrappers/selection/mod.ts";
import { embeddingText } from "../../../wrappers/selection/tool_text.ts";
import { textHash, VectorCache } from "../../../wrappers/selection/vector_cache.ts";
import type { ToolInfo } from "../../../upstream/types.ts";

/** The USE encoder, calling `onEmbed` with each batch before it is encoded. */
function observed(inner: Embedder, onEmbed: (texts: string[]) => void): Embedder {
  return {
    status: inner.status,
    cacheKey: inner.cacheKey,
    embed(texts: string[]) {
      onEmbed(texts);
      return inner.embed(texts);
    },
    close: () => inner.close?.(),
  };
}

/** `n` tools of server `churn` whose descriptions carry `generation` (like fixtures/churn.ts). */
function churnTools(n: number, generation: number): ToolInfo[] {
  return Array.from(
    { length: n },
    (_, i) => tool("churn", `op_${i}`, `Operation ${i} of generation ${generation}`, { id: "Id" }),
  );
}

/** Waits (by polling, no deadline asserted) until `done()` or 2,000 polls. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-index-bounds-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function fileSize(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) n += (await Deno.stat(`${dir}/${e.name}`)).size;
  return n;
}

const RECORD_BYTES = 32 + 512 * 4;

/**
 * Runs an index over `churning` tools of server `churn` (plus `stable` ones) whose list
 * changes every time the encoder is handed tool texts, until `calls` embedding calls.
 */
async function churn(
  opts: { dir?: string; churning: number; stable?: ToolInfo[]; calls: number; first?: "churn" },
  check: (index: ToolIndex) => Promise<void>,
): Promise<void> {
  const use = await loadUseEmbedder();
  let generation = 0;
  let stop = false;
  let index!: ToolIndex;
  const embedder = observed(use, (texts) => {
    // The server changes its list while the gateway is embedding the previous one.
    if (!stop && texts.some((t) => t.includes("of generation"))) {
      queueMicrotask(() => index.updateServer("churn", churnTools(opts.churning, ++generation)));
    }
  });
  try {
    index = new ToolIndex({ embedder, cacheDir: opts.dir });
    index.setCatalogue([...churnTools(opts.churning, 0), ...(opts.stable ?? [])]);
    await until(() => index.status().embedCalls >= opts.calls);
    await check(index);
    stop = true;
    await index.ready();
  } finally {
    stop = true;
    embedder.close?.();
  }
}

Deno.test("a catalogue that never stops changing: disk and memory vectors stay bounded", async () => {
  await withTempDir(async (dir) => {
    const live = 20;
    await churn({ dir, churning: live, calls: 60 }, async (index) => {
      const s = index.status();
      assert(s.embeddedTexts >= 200, `only ${s.embeddedTexts} texts embedded`);
      // Disk: compacted past 2× the live tools + 64 records, although the index is never idle.
      const bytes = await fileSize(dir);
      assert(
        bytes <= 8 + (2 * live + 64) * RECORD_BYTES,
        `cache file of ${bytes} bytes (${
          Math.round(bytes / RECORD_BYTES)
        } records) for ${live} tools`,
      );
      // Memory: the live tools' vectors plus half as many others + 32 at most.
      assert(s.vectors <= live + live / 2 + 32, `${s.vectors} vectors held for ${live} tools`);
    });
    // The next start loads no more than that bound either.
    const use = await loadUseEmbedder();
    try {
      const next = new ToolIndex({ embedder: use, cacheDir: dir });
      await next.ready();
      const loaded = next.status().cacheLoaded;
      assert(loaded <= 2 * live + 64, `${loaded} vectors loaded at start for ${live} tools`);
    } finally {
      use.close?.();
    }
  });
});

Deno.test("two servers churning: vectors stay bounded by both live lists together", async () => {
  await withTempDir(async (dir) => {
    const stable = Array.from({ length: 10 }, (_, i) => tool("steady", `t${i}`, `Steady ${i}`));
    await churn({ dir, churning: 8, stable, calls: 50 }, async (index) => {
      const s = index.status();
      const live = 18;
      const bytes = await fileSize(dir);
      assert(bytes <= 8 + (2 * live + 64) * RECORD_BYTES, `cache file of ${bytes} bytes`);
      assert(s.vectors <= live + live / 2 + 32, `${s.vectors} vectors held for ${live} tools`);
      assert(s.cacheRecords <= 2 * live + 64, `${s.cacheRecords} records for ${live} tools`);
      // Texts churned away before their vector came back are counted (and kept off the disk).
      assert(s.staleTexts > 0, "no stale text counted");
    });
  });
});

const paraphrased = [
  tool("files", "delete_file", "Delete a file from disk", { path: "Path of the file" }),
  tool("weather", "get_forecast", "Weather forecast for a city: temperature, rain and wind"),
  tool("mail", "send_email", "Send an email message to a recipient", { to: "Recipient address" }),
  tool("music", "play_song", "Play a song on the speakers"),
];

Deno.test("tools that did not change rank by meaning while another server churns faster than it can be embedded", async () => {
  // The churning server is listed first: embedding in catalogue order would never reach the
  // steady tools, and "every tool has a vector" would never hold.
  await churn({ churning: 40, stable: paraphrased, calls: 12 }, async (index) => {
    // No word in common with the tools: only the embeddings can find them.
    const cases: Array<[string, string]> = [
      ["erase this document permanently", "files.delete_file"],
      ["will it be sunny tomorrow in Paris", "weather.get_forecast"],
      ["put on some jazz tunes", "music.play_song"],
    ];
    for (const [query, want] of cases) {
      // Polled (the churn goes on meanwhile): on a loaded machine the steady tools' batch can
      // come a few embedding calls later than the twelfth (CI, 2026-11-30).
      let hits = await index.search(query, 3);
      for (let i = 0; i < 100 && hits[0]?.tool.id !== want; i++) {
        await new Promise((r) => setTimeout(r, 50));
        hits = await index.search(query, 3);
      }
      assertEquals(hits[0]?.tool.id, want, query);
    }
    const s = index.status();
    assertEquals(s.mode, "partial");
    assert(s.pending > 0, "the churning tools are still pending");
  });
});

Deno.test("the cache file read at start is capped (the newest records are kept)", async () => {
  await withTempDir(async (dir) => {
    const embedder = new CountingEmbedder("fake:cap");
    const cache = new VectorCache(dir, embedder.cacheKey);
    const vector = () => Float32Array.from({ length: 64 }, () => Math.random() - 0.5);
    // 5,000 records of texts no longer listed, then the live tools' own (newest) records.
    for (let chunk = 0; chunk < 5; chunk++) {
      await cache.append(
        Array.from({ length: 1_000 }, (_, i) => [textHash(`old ${chunk} ${i}`), vector()]),
      );
    }
    await cache.append(paraphrased.map((t) => [textHash(embeddingText(t)), vector()]));
    const before = (await Deno.stat(cache.path)).size;
    assertEquals(before, 8 + 5_004 * (32 + 64 * 4));

    const maxCacheBytes = 100 * (32 + 64 * 4);
    const index = new ToolIndex({ embedder, cacheDir: dir, maxCacheBytes });
    index.setCatalogue(paraphrased);
    await index.ready();
    const s = index.status();
    assert(s.cacheLoaded <= 100, `${s.cacheLoaded} records loaded past a 100-record cap`);
    assertEquals(embedder.calls, 0); // the newest records (the live tools') were among them
    assertEquals(s.mode, "hybrid");
    const after = (await Deno.stat(cache.path)).size;
    assert(after <= 8 + 100 * (32 + 64 * 4), `the file stayed at ${after} bytes`);
  });
});

/**
 * Tool-selection benchmark: retrieval quality on the labelled evaluation set
 * (bench/data: real MCP tool definitions and natural-language queries) for BM25 alone,
 * embeddings alone (offline Universal Sentence Encoder) and the hybrid, plus selection
 * latency and index build time on a 1,000-tool catalogue.
 *
 * Run: `deno run -A bench/selection.ts`. Prints a Markdown section.
 *
 * @module
 */
import {
  DEFAULT_EMBEDDING_WEIGHT,
  lexicalEmbedder,
  loadUseEmbedder,
  selectTools,
  ToolIndex,
} from "../wrappers/selection/mod.ts";
import type { Embedder } from "../wrappers/selection/mod.ts";
import type { ToolInfo } from "../upstream/mod.ts";
import { type EvalQuery, loadCatalogue, loadQueries, padCatalogue } from "./data/load.ts";

interface Quality {
  r5: number;
  r10: number;
  mrr: number;
}

/** Per-query recall@5, recall@10 and reciprocal rank. */
async function perQuery(index: ToolIndex, queries: EvalQuery[]): Promise<Quality[]> {
  const out: Quality[] = [];
  for (const q of queries) {
    const ids = (await index.search(q.query, 10)).map((h) => h.tool.id);
    const relevant = new Set(q.tools);
    const hits = (k: number) => ids.slice(0, k).filter((id) => relevant.has(id)).length;
    const first = ids.findIndex((id) => relevant.has(id));
    out.push({
      r5: hits(5) / relevant.size,
      r10: hits(10) / relevant.size,
      mrr: first >= 0 ? 1 / (first + 1) : 0,
    });
  }
  return out;
}

function mean(rows: Quality[]): Quality {
  const n = rows.length || 1;
  return {
    r5: rows.reduce((s, r) => s + r.r5, 0) / n,
    r10: rows.reduce((s, r) => s + r.r10, 0) / n,
    mrr: rows.reduce((s, r) => s + r.mrr, 0) / n,
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Builds an index and waits for every vector; returns it with the wall time and the worst event-loop stall. */
async function timedBuild(
  embedder: Embedder,
  tools: ToolInfo[],
  cacheDir: string,
  embeddingWeight?: number,
): Promise<{ index: ToolIndex; ms: number; maxStallMs: number }> {
  let maxStallMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last - 5);
    last = now;
  }, 5);
  const start = performance.now();
  const index = new ToolIndex({ embedder, cacheDir, embeddingWeight });
  index.setCatalogue(tools);
  await index.ready();
  const ms = performance.now() - start;
  clearInterval(timer);
  return { index, ms, maxStallMs };
}

const fmt = (x: number, d = 3) => x.toFixed(d);
const catalogue = await loadCatalogue();
const queries = await loadQueries();
const servers = new Set(catalogue.map((t) => t.server)).size;
const embedder = await loadUseEmbedder();
const cacheDir = await Deno.makeTempDir({ prefix: "airlock-sel-bench-" });

try {
  const cold = await timedBuild(embedder, catalogue, cacheDir);
  const warm = await timedBuild(embedder, catalogue, cacheDir);

  const perWeight = async (w: number) => {
    const index = new ToolIndex({ embedder, cacheDir, embeddingWeight: w });
    index.setCatalogue(catalogue);
    await index.ready();
    return await perQuery(index, queries);
  };
  const weights = [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1];
  const rows = new Map<number, Quality[]>();
  for (const w of weights) rows.set(w, await perWeight(w));
  const bm25 = mean(rows.get(0)!);
  const emb = mean(rows.get(1)!);
  const hybrid = mean(rows.get(DEFAULT_EMBEDDING_WEIGHT)!);
  const tuning = weights.filter((w) => w > 0 && w < 1).map((w) => [w, mean(rows.get(w)!)] as const);
  // Held-out check of the tuning: pick w on the even-numbered queries, report on the odd ones.
  const even = (r: Quality[]) => r.filter((_, i) => i % 2 === 0);
  const odd = (r: Quality[]) => r.filter((_, i) => i % 2 === 1);
  const tunedW = tuning.map(([w]) => w).reduce((best, w) =>
    mean(even(rows.get(w)!)).r5 > mean(even(rows.get(best)!)).r5 ? w : best
  );
  const heldHybrid = mean(odd(rows.get(tunedW)!));
  const heldBm25 = mean(odd(rows.get(0)!));
  const heldEmb = mean(odd(rows.get(1)!));

  // Latency on 1,000 tools: padded with synthetic variants of the real tools.
  const big = padCatalogue(catalogue, 1000);
  const bigCacheDir = `${cacheDir}/big`; // its own cache: a truly cold start
  const bigCold = await timedBuild(embedder, big, bigCacheDir);
  const bigWarm = await timedBuild(embedder, big, bigCacheDir);
  const latencies: number[] = [];
  for (const q of queries) {
    const code = `const r = await github.listIssues({ owner: "acme", repo: "api" });\nreturn r;`;
    const t0 = performance.now();
    await selectTools(bigWarm.index, { code, intent: q.query, maxTools: 20, minScore: 0.3 });
    latencies.push(performance.now() - t0);
  }
  const lexicalOnly = new ToolIndex({ embedder: lexicalEmbedder("bench") });
  lexicalOnly.setCatalogue(big);
  const lexLatencies: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    await selectTools(lexicalOnly, { code: "", intent: q.query, maxTools: 20, minScore: 0.3 });
    lexLatencies.push(performance.now() - t0);
  }
  const p50 = percentile(latencies, 0.5);
  const p95 = percentile(latencies, 0.95);

  const lines = [
    "## Tool selection",
    "",
    `Evaluation set: ${catalogue.length} real tool definitions over ${servers} MCP servers, ` +
    `${queries.length} labelled queries (bench/data). Encoder: ${embedder.status.model} (USE, 512-d). ` +
    `Hybrid = ${DEFAULT_EMBEDDING_WEIGHT} × embedding + ${
      1 - DEFAULT_EMBEDDING_WEIGHT
    } × BM25 (both normalised per query).`,
    "",
    "| ranking | Recall@5 | Recall@10 | MRR |",
    "| --- | --- | --- | --- |",
    `| BM25 alone | ${fmt(bm25.r5)} | ${fmt(bm25.r10)} | ${fmt(bm25.mrr)} |`,
    `| embeddings alone (USE) | ${fmt(emb.r5)} | ${fmt(emb.r10)} | ${fmt(emb.mrr)} |`,
    `| hybrid (w = ${DEFAULT_EMBEDDING_WEIGHT}) | ${fmt(hybrid.r5)} | ${fmt(hybrid.r10)} | ${
      fmt(hybrid.mrr)
    } |`,
    "",
    "Weight tuning (w = embedding weight): " +
    tuning.map(([w, q]) => `w=${w}: R@5 ${fmt(q.r5)}, R@10 ${fmt(q.r10)}, MRR ${fmt(q.mrr)}`).join(
      "; ",
    ),
    "",
    `Held out: w tuned on the even-numbered queries (w = ${tunedW}), measured on the odd-numbered ${
      odd(rows.get(0)!).length
    }: hybrid R@5 ${fmt(heldHybrid.r5)}, R@10 ${fmt(heldHybrid.r10)}, MRR ${
      fmt(heldHybrid.mrr)
    }; ` +
    `BM25 R@5 ${fmt(heldBm25.r5)}, R@10 ${fmt(heldBm25.r10)}, MRR ${fmt(heldBm25.mrr)}; ` +
    `embeddings R@5 ${fmt(heldEmb.r5)}, R@10 ${fmt(heldEmb.r10)}, MRR ${fmt(heldEmb.mrr)}.`,
    "",
    "| figure | value | target | pass |",
    "| --- | --- | --- | --- |",
    `| selectTools p50, 1,000 tools (uncached query embedding) | ${fmt(p50, 1)} ms | ≤ 20 ms | ${
      p50 <= 20 ? "pass" : "FAIL"
    } |`,
    `| selectTools p95, 1,000 tools | ${fmt(p95, 1)} ms | — | — |`,
    `| selectTools p50, 1,000 tools, BM25 only (before vectors are ready) | ${
      fmt(percentile(lexLatencies, 0.5), 2)
    } ms | — | — |`,
    `| hybrid beats BM25 alone on Recall@5 | ${fmt(hybrid.r5)} vs ${
      fmt(bm25.r5)
    } | hybrid ≥ BM25 | ${hybrid.r5 >= bm25.r5 ? "pass" : "FAIL"} |`,
    `| index build, ${catalogue.length} tools, cold cache | ${fmt(cold.ms, 0)} ms | — | — |`,
    `| index build, ${catalogue.length} tools, warm cache | ${
      fmt(warm.ms, 1)
    } ms (${warm.index.status().embeddedTexts} texts embedded) | 0 re-embedded | ${
      warm.index.status().embeddedTexts === 0 ? "pass" : "FAIL"
    } |`,
    `| index build, 1,000 tools, cold cache | ${fmt(bigCold.ms, 0)} ms | background | — |`,
    `| index build, 1,000 tools, warm cache | ${
      fmt(bigWarm.ms, 1)
    } ms (${bigWarm.index.status().embeddedTexts} texts embedded) | 0 re-embedded | ${
      bigWarm.index.status().embeddedTexts === 0 ? "pass" : "FAIL"
    } |`,
    `| longest event-loop stall while indexing 1,000 tools cold | ${
      fmt(bigCold.maxStallMs, 0)
    } ms | — | — |`,
    "",
  ];
  console.log(lines.join("\n"));
} finally {
  embedder.close?.();
  await Deno.remove(cacheDir, { recursive: true });
}

/**
 * `ToolIndex`: the searchable catalogue. BM25 over the tools' texts is rebuilt at once on
 * every change; embedding vectors are computed in the background in small batches (yielding
 * to the event loop between batches), cached in memory and on disk by text hash, so a warm
 * start and an unchanged server re-embed nothing.
 *
 * Scores are in [0, 1] and relative to the query's best match in the catalogue:
 * `score = w · emb + (1 − w) · lex`, where `lex = bm25 / max bm25` and
 * `emb = (cos − mean cos) / (max cos − mean cos)` clipped to [0, 1] (mean and max over the
 * catalogue for this query). Until every tool of the catalogue has a vector (and when the
 * encoder is lexical only) the score is `lex` alone. Tools scoring 0 are never returned.
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { Bm25Index } from "./bm25.ts";
import { lexicalEmbedder } from "./create_embedder.ts";
import { terms } from "./text.ts";
import { embeddingText, lexicalTerms } from "./tool_text.ts";
import { type Embedder, type EmbedderStatus, SelectionError } from "./types.ts";
import { textHash, VectorCache } from "./vector_cache.ts";

/** Default weight of the embedding score in the fused score (tuned on bench/data). */
export const DEFAULT_EMBEDDING_WEIGHT = 0.4;

/** Options of {@link ToolIndex}. */
export interface ToolIndexOptions {
  /** The encoder, or a promise of it (the index serves lexical results until it resolves). */
  embedder: Embedder | Promise<Embedder>;
  /** Directory of the on-disk vector cache; no disk cache when absent. */
  cacheDir?: string;
  /** Texts per embedding call (smaller = shorter event-loop stalls); default 4. */
  batchSize?: number;
  /** Weight `w` of the embedding score in [0, 1]; default {@link DEFAULT_EMBEDDING_WEIGHT}. */
  embeddingWeight?: number;
}

/** One search hit. */
export interface ScoredTool {
  /** The tool. */
  tool: ToolInfo;
  /** Fused score in (0, 1], relative to the query's best match (see the module docs). */
  score: number;
}

/** What the index is doing, for `/readyz`-style reporting. */
export interface ToolIndexStatus {
  /** The encoder in use and why. */
  embedder: EmbedderStatus;
  /** `hybrid` once every tool has a vector; `lexical` before that or without an encoder. */
  mode: "hybrid" | "lexical";
  /** Tools in the catalogue. */
  tools: number;
  /** Tools whose vector is not computed yet (0 once lexical only: nothing left to do). */
  pending: number;
  /** Calls made to the encoder for tool texts since construction. */
  embedCalls: number;
  /** Tool texts embedded since construction (cache misses). */
  embeddedTexts: number;
  /** Vectors loaded from the disk cache at start-up. */
  cacheLoaded: number;
}

interface Entry {
  tool: ToolInfo;
  terms: string[];
  hash: string;
  text: string;
}

const QUERY_CACHE_SIZE = 256;

/** The searchable tool catalogue (see the module docs for the scoring). */
export class ToolIndex {
  #embedder: Embedder | null = null;
  #status: EmbedderStatus = {
    active: "lexical",
    model: null,
    reason: "encoder still loading",
  };
  #entries: Entry[] = [];
  #byId = new Map<string, ToolInfo>();
  #memo = new WeakMap<ToolInfo, Entry>();
  #bm25 = new Bm25Index([]);
  #vectors = new Map<string, Float32Array>();
  #cache: VectorCache | null = null;
  #cacheDir: string | undefined;
  #batchSize: number;
  #weight: number;
  #init: Promise<void>;
  #build: Promise<void> | null = null;
  #queryVectors = new Map<string, Float32Array>();
  #embedCalls = 0;
  #embeddedTexts = 0;
  #cacheLoaded = 0;
  /** Records in the cache file (loaded + appended), to know when to compact it. */
  #stored = 0;

  /** Creates an empty index; call {@link setCatalogue} to fill it. */
  constructor(opts: ToolIndexOptions) {
    this.#cacheDir = opts.cacheDir;
    this.#batchSize = Math.max(1, Math.floor(opts.batchSize ?? 4));
    this.#weight = opts.embeddingWeight ?? DEFAULT_EMBEDDING_WEIGHT;
    if (!(this.#weight >= 0 && this.#weight <= 1)) {
      throw new SelectionError("invalid_argument", "embeddingWeight must be in [0, 1]");
    }
    this.#init = this.#start(opts.embedder);
  }

  async #start(embedder: Embedder | Promise<Embedder>): Promise<void> {
    let resolved: Embedder;
    try {
      resolved = await embedder;
    } catch (e) {
      resolved = lexicalEmbedder(`encoder failed to load: ${(e as Error).message}`);
    }
    this.#embedder = resolved;
    this.#status = resolved.status;
    if (resolved.cacheKey !== null && this.#cacheDir) {
      this.#cache = new VectorCache(this.#cacheDir, resolved.cacheKey);
      const stored = await this.#cache.load();
      this.#cacheLoaded = stored.size;
      this.#stored = stored.size;
      for (const [hash, vector] of stored) this.#vectors.set(hash, vector);
    }
    this.#kick();
  }

  /** Replaces the whole catalogue (tools with the same id: the last one wins). */
  setCatalogue(tools: ToolInfo[]): void {
    const byId = new Map<string, ToolInfo>();
    for (const tool of tools) byId.set(tool.id, tool);
    this.#reindex([...byId.values()]);
  }

  /** Replaces the tools of one server (an empty list removes the server). */
  updateServer(server: string, tools: ToolInfo[]): void {
    const stray = tools.find((t) => t.server !== server);
    if (stray) {
      throw new SelectionError(
        "invalid_argument",
        `tool ${stray.id} belongs to server ${stray.server}, not ${server}`,
      );
    }
    const kept = this.#entries.map((e) => e.tool).filter((t) => t.server !== server);
    this.setCatalogue([...kept, ...tools]);
  }

  /** Every tool in the catalogue, in catalogue order. */
  tools(): ToolInfo[] {
    return this.#entries.map((e) => e.tool);
  }

  /** The tool with this id, if any. */
  get(id: string): ToolInfo | undefined {
    return this.#byId.get(id);
  }

  #reindex(tools: ToolInfo[]): void {
    this.#entries = tools.map((tool) => {
      let entry = this.#memo.get(tool);
      if (!entry) {
        const text = embeddingText(tool);
        entry = { tool, terms: lexicalTerms(tool), text, hash: textHash(text) };
        this.#memo.set(tool, entry);
      }
      return entry;
    });
    this.#byId = new Map(tools.map((t) => [t.id, t]));
    this.#bm25 = new Bm25Index(this.#entries.map((e) => e.terms));
    this.#kick();
  }

  #pending(): Entry[] {
    const seen = new Set<string>();
    return this.#entries.filter((e) => {
      if (this.#vectors.has(e.hash) || seen.has(e.hash)) return false;
      seen.add(e.hash);
      return true;
    });
  }

  /** Starts the background build if there is work and none is running. */
  #kick(): void {
    if (this.#build || !this.#embedder || this.#embedder.cacheKey === null) return;
    if (this.#pending().length === 0) return;
    this.#build = this.#runBuild().finally(() => {
      this.#build = null;
      this.#kick();
    });
  }

  async #runBuild(): Promise<void> {
    const embedder = this.#embedder!;
    for (;;) {
      const batch = this.#pending().slice(0, this.#batchSize);
      if (batch.length === 0) return await this.#compact();
      let vectors: Float32Array[];
      try {
        this.#embedCalls++;
        vectors = await embedder.embed(batch.map((e) => e.text));
      } catch (e) {
        // A broken encoder must not break search: fall back to BM25 and say why.
        this.#embedder = lexicalEmbedder(`encoder failed while indexing: ${(e as Error).message}`);
        this.#status = this.#embedder.status;
        return;
      }
      this.#embeddedTexts += batch.length;
      const fresh: Array<[string, Float32Array]> = batch.map((e, i) => [e.hash, vectors[i]]);
      for (const [hash, vector] of fresh) this.#vectors.set(hash, vector);
      if (this.#cache) {
        try {
          await this.#cache.append(fresh);
          this.#stored += fresh.length;
        } catch {
          this.#cache = null; // an unwritable cache dir costs warm starts, nothing else
        }
      }
      // Yield a macrotask so requests keep being served while a large catalogue indexes.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /**
   * Rewrites the cache file when most of its records belong to tools no longer in the
   * catalogue (servers changed many times), so it does not grow without bound.
   */
  async #compact(): Promise<void> {
    const live = new Map(this.#entries.map((e) => [e.hash, this.#vectors.get(e.hash)!]));
    if (!this.#cache || this.#stored <= 2 * live.size + 64) return;
    try {
      await this.#cache.rewrite([...live]);
      this.#stored = live.size;
    } catch {
      // Compaction is an optimisation; the append-only file stays valid without it.
    }
  }

  /**
   * Resolves once the encoder has loaded (or failed to) and every tool of the current
   * catalogue has a vector. Search works before that, lexically.
   */
  async ready(): Promise<void> {
    await this.#init;
    while (this.#build) await this.#build;
  }

  /** The encoder in use, the search mode and the indexing progress. */
  status(): ToolIndexStatus {
    // Lexical only: nothing will ever be embedded, so nothing is pending.
    const pending = this.#embedder === null
      ? this.#entries.length
      : this.#embedder.cacheKey === null
      ? 0
      : this.#pending().length;
    return {
      embedder: this.#status,
      mode: this.#hybrid() ? "hybrid" : "lexical",
      tools: this.#entries.length,
      pending,
      embedCalls: this.#embedCalls,
      embeddedTexts: this.#embeddedTexts,
      cacheLoaded: this.#cacheLoaded,
    };
  }

  #hybrid(): boolean {
    return this.#embedder !== null && this.#embedder.cacheKey !== null &&
      this.#entries.length > 0 && this.#entries.every((e) => this.#vectors.has(e.hash));
  }

  async #queryVector(query: string): Promise<Float32Array | null> {
    const cached = this.#queryVectors.get(query);
    if (cached) {
      // Refresh its place in the LRU order.
      this.#queryVectors.delete(query);
      this.#queryVectors.set(query, cached);
      return cached;
    }
    try {
      const [vector] = await this.#embedder!.embed([query]);
      this.#queryVectors.set(query, vector);
      if (this.#queryVectors.size > QUERY_CACHE_SIZE) {
        this.#queryVectors.delete(this.#queryVectors.keys().next().value!);
      }
      return vector;
    } catch {
      return null;
    }
  }

  /**
   * The `k` best tools for a natural-language (or code-derived) query, best first, only
   * tools with a score above 0 and passing `filter`.
   */
  async search(
    query: string,
    k: number,
    filter?: (tool: ToolInfo) => boolean,
  ): Promise<ScoredTool[]> {
    if (!Number.isInteger(k) || k < 0) {
      throw new SelectionError("invalid_argument", "k must be a non-negative integer");
    }
    const entries = this.#entries;
    const n = entries.length;
    if (n === 0 || k === 0 || query.trim() === "") return [];
    const scores = new Float64Array(n);

    const lex = this.#bm25.scores(terms(query));
    let maxLex = 0;
    for (const s of lex) if (s > maxLex) maxLex = s;
    const lexWeight = this.#hybrid() ? 1 - this.#weight : 1;
    if (maxLex > 0) { for (let i = 0; i < n; i++) scores[i] = lexWeight * lex[i] / maxLex; }

    const queryVector = this.#hybrid() && this.#weight > 0 ? await this.#queryVector(query) : null;
    // The catalogue may have changed while the query was embedded.
    if (queryVector && this.#entries === entries) {
      const cos = new Float64Array(n);
      let sum = 0;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = this.#vectors.get(entries[i].hash)!;
        let dot = 0;
        for (let j = 0; j < v.length; j++) dot += v[j] * queryVector[j];
        cos[i] = dot;
        sum += dot;
        if (dot > max) max = dot;
      }
      const mean = sum / n;
      const span = max - mean;
      if (span > 0) {
        for (let i = 0; i < n; i++) {
          scores[i] += this.#weight * Math.max(0, (cos[i] - mean) / span);
        }
      }
    } else if (this.#hybrid() && maxLex > 0) {
      // No query vector after all: score lexically on the full [0, 1] scale.
      for (let i = 0; i < n; i++) scores[i] = lex[i] / maxLex;
    }

    const order: number[] = [];
    for (let i = 0; i < n; i++) {
      if (scores[i] > 0 && (!filter || filter(entries[i].tool))) order.push(i);
    }
    order.sort((a, b) => scores[b] - scores[a]);
    return order.slice(0, k).map((i) => ({ tool: entries[i].tool, score: scores[i] }));
  }
}

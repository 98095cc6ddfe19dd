/**
 * `ToolIndex`: the searchable catalogue. BM25 over the tools' texts is rebuilt at once on
 * every change; embedding vectors are computed in the background in small batches (yielding
 * to the event loop between batches), cached in memory and on disk by text hash, so a warm
 * start and an unchanged server re-embed nothing.
 *
 * Bounds, whatever the servers do (red team f2: a tool list that never stops changing grew
 * the cache by ~600 MB an hour and kept every tenant lexical):
 * - vectors kept, in memory and on disk: the live tools' plus at most half as many others
 *   (the most recent) + 32; the file is compacted once it holds more than 2× the live tools
 *   + 64 records, while indexing as well as when idle, and at most `maxCacheBytes` of it is
 *   read at start;
 * - texts that have been in the catalogue since before its last change are embedded before
 *   new ones, so a churning server does not starve the others' tools; once the catalogue has
 *   changed while the indexer was running, each batch is followed by a pause as long as it
 *   took until nothing is pending, so a server that churns faster than it can be embedded
 *   takes at most about half of the encoder;
 * - query embeddings go through a tenant-fair queue (`query_queue.ts`): round-robin by
 *   scope, a few per scope (past that: lexical ranking), a busy scope's share halved while
 *   others ask, queries cut to 2,000 characters.
 *
 * Lexical scoring is field-weighted BM25 (BM25F, `bm25f.ts`) over a tool's name,
 * description, parameter names, parameter descriptions and server, precomputed per catalogue.
 * Let `lex = bm25f / max bm25f` and `emb = (cos − mean cos) / (max cos − mean cos)` clipped to
 * [0, 1] (mean and max over the catalogue for this query). The fusion is either
 * - `rrf` (reciprocal rank fusion): `(1 − w) / (k + rank_lex) + w / (k + rank_emb)`, a rank
 *   counted only where that score is above 0, then divided by the best tool's; or
 * - `linear`: `w · emb + (1 − w) · lex`.
 * Scores are in (0, 1], relative to the query's best match. A tool without a vector yet
 * takes `lex` in place of `emb` (the mean and max are over the tools with vectors), so tools
 * that did not change keep hybrid ranking while a churning server's new texts wait for the
 * encoder; with no vector at all (and when the encoder is lexical only) the score is `lex`. Tools scoring 0 are never
 * returned. Tools whose name the query writes (`read_text_file`, `readTextFile`,
 * `filesystem.read_text_file`; see `name_match.ts`) come first, with score 1 (several sharing
 * that name in the order of their fused scores).
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { Bm25fIndex, type FieldSpec } from "./bm25f.ts";
import { lexicalEmbedder } from "./create_embedder.ts";
import { NameMatcher } from "./name_match.ts";
import { terms } from "./text.ts";
import { embeddingText, lexicalFields } from "./tool_text.ts";
import { type Embedder, type EmbedderStatus, SelectionError } from "./types.ts";
import { QueryQueue } from "./query_queue.ts";
import { DEFAULT_MAX_CACHE_BYTES, textHash, VectorCache } from "./vector_cache.ts";

/** Default weight of the embedding score in the fused score (tuned on bench/data). */
export const DEFAULT_EMBEDDING_WEIGHT = 0.4;

/** How lexical and embedding scores are combined (see the module docs). */
export type Fusion = "rrf" | "linear";

/** Default fusion (chosen on the tuning halves of bench/data; see bench/selection.ts). */
export const DEFAULT_FUSION: Fusion = "linear";

/** Default rank constant `k` of reciprocal rank fusion. */
export const DEFAULT_RRF_K = 60;

/**
 * Default BM25F fields, in the order of `LEXICAL_FIELDS`: name, description, parameter
 * names, parameter descriptions, server (tuned on the tuning halves of bench/data).
 */
export const DEFAULT_FIELDS: readonly FieldSpec[] = [
  { weight: 3, b: 0.5 },
  { weight: 1, b: 0.75 },
  { weight: 1.5, b: 0.5 },
  { weight: 0.5, b: 0.75 },
  { weight: 1, b: 0.75 },
];

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
  /** How scores are combined; default {@link DEFAULT_FUSION}. */
  fusion?: Fusion;
  /** Rank constant of `rrf`; default {@link DEFAULT_RRF_K}. */
  rrfK?: number;
  /** BM25F field weights and normalisation; default {@link DEFAULT_FIELDS}. */
  fields?: readonly FieldSpec[];
  /** Bytes of the cache file read at start at most (the newest records); default 64 MiB. */
  maxCacheBytes?: number;
  /**
   * Queries one scope (tenant) may have queued or running at the query encoder; past that a
   * search ranks lexically. Default 4 (see `query_queue.ts`).
   */
  queriesPerScope?: number;
}

/** Options of one {@link ToolIndex.search}. */
export interface SearchOptions {
  /**
   * Longest wait for the query's embedding, in ms. When the encoder takes longer the ranking
   * is lexical (BM25F and names) for this call; the embedding still completes and is cached,
   * so the same query is hybrid next time. When the encoder is already busy with other
   * queries, a new query does not wait at all (and is embedded in the background only while
   * fewer than 2 are queued). Unset: wait for it.
   */
  budgetMs?: number;
  /**
   * Whose query it is (a tenant id). Query embeddings are cached and shared only within one
   * scope: a process-wide cache answered another tenant's repeated query measurably faster
   * (2.7–3.4 ms against 19–31 ms), so a tenant could confirm a guess at what another had
   * asked, personal data in its intent included (red team, 2026-11-30). Unset: one shared
   * scope (for callers that serve a single tenant).
   */
  scope?: string;
}

/** `promise`'s value, or `null` if it has not settled within `budgetMs` (never, when unset). */
async function withinBudget<T>(promise: Promise<T | null>, budgetMs?: number): Promise<T | null> {
  if (budgetMs === undefined) return await promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), budgetMs));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
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
  /**
   * `hybrid` once every tool has a vector; `partial` while only some have (those rank by
   * meaning too); `lexical` before any has, or without an encoder.
   */
  mode: "hybrid" | "partial" | "lexical";
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
  /** Vectors held in memory (bounded by the live catalogue; see the module docs). */
  vectors: number;
  /** Records in the cache file (bounded by the live catalogue; see the module docs). */
  cacheRecords: number;
  /** Tool texts embedded that had left the catalogue by the time their vector came back. */
  staleTexts: number;
}

interface Entry {
  tool: ToolInfo;
  fields: string[][];
  hash: string;
  text: string;
}

const QUERY_CACHE_SIZE = 256;

/**
 * Query embeddings of one scope a budgeted search starts in the background at most while
 * others are in flight (the encoder's CPU is shared with sandbox start-ups; its queue stays
 * short). Counted per scope: another tenant's load does not send a search to lexical ranking.
 */
const MAX_BACKGROUND_EMBEDDINGS = 2;

/** Vectors kept besides the live tools': `live / 2 + SPARE_VECTORS` (the most recent). */
const SPARE_VECTORS = 32;

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
  #bm25 = new Bm25fIndex([], []);
  #names = new NameMatcher([]);
  #fusion: Fusion;
  #rrfK: number;
  #fields: readonly FieldSpec[];
  /** Every tool's vector, row by row, for the entries it was built for. */
  #matrix:
    | { entries: Entry[]; version: number; dim: number; rows: Float32Array; has: Uint8Array }
    | null = null;
  #vectors = new Map<string, Float32Array>();
  #cache: VectorCache | null = null;
  #cacheDir: string | undefined;
  #batchSize: number;
  #weight: number;
  #init: Promise<void>;
  #build: Promise<void> | null = null;
  #queryVectors = new Map<string, { vector: Float32Array; scope: string }>();
  /** Entries of {@linkcode #queryVectors} per scope (tenant). */
  #queryVectorsByScope = new Map<string, number>();
  /** Queries being embedded now (bounded by the searches in flight). */
  #pendingVectors = new Map<string, Promise<Float32Array | null>>();
  /** The tenant-fair line in front of the encoder for query embeddings. */
  #queue: QueryQueue;
  #maxCacheBytes: number;
  /** Catalogue changes so far, and the change each live text first appeared in. */
  #generation = 0;
  #firstSeen = new Map<string, number>();
  /** Bumped whenever vectors are added or dropped (the similarity matrix is rebuilt). */
  #vectorsVersion = 0;
  #staleTexts = 0;
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
    this.#fusion = opts.fusion ?? DEFAULT_FUSION;
    this.#rrfK = opts.rrfK ?? DEFAULT_RRF_K;
    this.#fields = opts.fields ?? DEFAULT_FIELDS;
    this.#maxCacheBytes = opts.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES;
    this.#queue = new QueryQueue((texts) => this.#embedder!.embed(texts), opts.queriesPerScope);
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
      const stored = await this.#cache.load(this.#maxCacheBytes);
      this.#cacheLoaded = stored.size;
      this.#stored = stored.size;
      for (const [hash, vector] of stored) this.#vectors.set(hash, vector);
      if (stored.truncated) {
        // Past the cap: the file keeps only what was read, so it does not stay oversized.
        await this.#cache.rewrite([...stored]).catch(() => this.#cache = null);
      }
      this.#vectorsVersion++;
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
        entry = { tool, fields: lexicalFields(tool), text, hash: textHash(text) };
        this.#memo.set(tool, entry);
      }
      return entry;
    });
    this.#byId = new Map(tools.map((t) => [t.id, t]));
    // Texts live before this change keep their age; new ones are this generation's.
    const generation = ++this.#generation;
    const firstSeen = new Map<string, number>();
    for (const e of this.#entries) {
      firstSeen.set(e.hash, this.#firstSeen.get(e.hash) ?? generation);
    }
    this.#firstSeen = firstSeen;
    this.#bm25 = new Bm25fIndex(this.#entries.map((e) => e.fields), [...this.#fields]);
    this.#names = new NameMatcher(tools);
    this.#matrix = null;
    this.#kick();
  }

  /**
   * Entries without a vector, one per text: those live since before the last catalogue change
   * first (a churning server's fresh texts must not starve tools that did not change).
   */
  #pending(): Entry[] {
    const seen = new Set<string>();
    const older: Entry[] = [];
    const newer: Entry[] = [];
    for (const e of this.#entries) {
      if (this.#vectors.has(e.hash) || seen.has(e.hash)) continue;
      seen.add(e.hash);
      (this.#firstSeen.get(e.hash)! < this.#generation ? older : newer).push(e);
    }
    return older.concat(newer);
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
    // Set once the catalogue changes under this run: from then on the run is churn-driven.
    let churning = false;
    for (;;) {
      const batch = this.#pending().slice(0, this.#batchSize);
      if (batch.length === 0) return await this.#compact();
      let vectors: Float32Array[];
      const started = performance.now();
      const generation = this.#generation;
      try {
        this.#embedCalls++;
        vectors = await embedder.embed(batch.map((e) => e.text));
      } catch (e) {
        // A broken encoder must not break search: fall back to BM25 and say why.
        this.#embedder = lexicalEmbedder(`encoder failed while indexing: ${(e as Error).message}`);
        this.#status = this.#embedder.status;
        return;
      }
      const took = performance.now() - started;
      this.#embeddedTexts += batch.length;
      // The catalogue may have changed while the batch was embedded: only texts still listed
      // go to disk (a churned-away text would be dead weight there), all to memory (bounded).
      const live = this.#firstSeen;
      const fresh: Array<[string, Float32Array]> = [];
      batch.forEach((e, i) => {
        this.#vectors.delete(e.hash);
        this.#vectors.set(e.hash, vectors[i]);
        if (live.has(e.hash)) fresh.push([e.hash, vectors[i]]);
      });
      this.#staleTexts += batch.length - fresh.length;
      this.#vectorsVersion++;
      this.#prune();
      if (this.#cache) {
        try {
          await this.#cache.append(fresh);
          this.#stored += fresh.length;
        } catch {
          this.#cache = null; // an unwritable cache dir costs warm starts, nothing else
        }
      }
      // Compacted while indexing too: a list that never stops changing is never idle.
      await this.#compact();
      // Yield a macrotask so requests keep being served while a large catalogue indexes. Once
      // the catalogue has changed during this run (until nothing is pending), pause as long as
      // each batch took: a server changing faster than it can be embedded gets at most about
      // half of the encoder (a stable catalogue indexes at full speed).
      churning ||= generation !== this.#generation;
      const pause = churning ? Math.min(took, 1_000) : 0;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /**
   * Drops the oldest vectors of texts no longer listed once more than
   * `live + live / 2 + SPARE_VECTORS` are held (a server switching back and forth still finds
   * its recent texts). Linear in the vectors held.
   */
  #prune(): void {
    const live = this.#firstSeen;
    const limit = live.size + (live.size >> 1) + SPARE_VECTORS;
    let excess = this.#vectors.size - limit;
    if (excess <= 0) return;
    for (const hash of this.#vectors.keys()) {
      if (excess <= 0) break;
      if (live.has(hash)) continue;
      this.#vectors.delete(hash);
      excess--;
    }
    this.#vectorsVersion++;
  }

  /**
   * Rewrites the cache file to the vectors held (see {@link #prune}) once it holds more than
   * 2× the live tools + 64 records, so it stays bounded by the live catalogue.
   */
  async #compact(): Promise<void> {
    if (!this.#cache || this.#stored <= 2 * this.#firstSeen.size + 64) return;
    this.#prune();
    const kept = [...this.#vectors];
    try {
      await this.#cache.rewrite(kept);
      this.#stored = kept.length;
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
    const covered = this.#covered();
    return {
      embedder: this.#status,
      mode: covered === 0 ? "lexical" : covered === this.#entries.length ? "hybrid" : "partial",
      tools: this.#entries.length,
      pending,
      embedCalls: this.#embedCalls,
      embeddedTexts: this.#embeddedTexts,
      cacheLoaded: this.#cacheLoaded,
      vectors: this.#vectors.size,
      cacheRecords: this.#cache ? this.#stored : 0,
      staleTexts: this.#staleTexts,
    };
  }

  /** Tools of the catalogue that have a vector (0 without an encoder). Linear. */
  #covered(): number {
    if (this.#embedder === null || this.#embedder.cacheKey === null) return 0;
    let n = 0;
    for (const e of this.#entries) if (this.#vectors.has(e.hash)) n++;
    return n;
  }

  /**
   * The query's vector, cached (and shared while being computed) under `key`: the query within
   * its scope (see {@linkcode SearchOptions.scope}).
   */
  #queryVector(query: string, key: string, scope: string): Promise<Float32Array | null> | null {
    const cached = this.#queryVectors.get(key);
    if (cached) {
      // Refresh its place in the LRU order.
      this.#queryVectors.delete(key);
      this.#queryVectors.set(key, cached);
      return Promise.resolve(cached.vector);
    }
    // The same query asked again in its scope while it is being embedded waits for that call.
    let pending = this.#pendingVectors.get(key);
    if (!pending) {
      // Through the tenant-fair queue; a scope past its share ranks lexically (`null`).
      const queued = this.#queue.submit(scope, query);
      if (!queued) return null;
      pending = (async () => {
        try {
          const vector = await queued;
          this.#rememberQuery(key, scope, vector);
          return vector;
        } catch {
          return null;
        } finally {
          this.#pendingVectors.delete(key);
        }
      })();
      this.#pendingVectors.set(key, pending);
    }
    return pending;
  }

  /**
   * Keeps a query's vector, least recently used out first. One scope (tenant) holds at most a
   * quarter of the cache: past that its own oldest goes, so one tenant's stream of new queries
   * cannot evict every other tenant's and send their selections back to lexical ranking (red
   * team, 2026-11-30). Linear in the cache's size, only when a query is embedded.
   */
  #rememberQuery(key: string, scope: string, vector: Float32Array): void {
    if (this.#queryVectors.has(key)) return;
    const mine = this.#queryVectorsByScope.get(scope) ?? 0;
    let evict: string | undefined;
    if (mine >= QUERY_CACHE_SIZE / 4) {
      for (const [old, entry] of this.#queryVectors) {
        if (entry.scope === scope) {
          evict = old;
          break;
        }
      }
    } else if (this.#queryVectors.size >= QUERY_CACHE_SIZE) {
      evict = this.#queryVectors.keys().next().value;
    }
    if (evict !== undefined) {
      const gone = this.#queryVectors.get(evict)!;
      this.#queryVectors.delete(evict);
      const left = (this.#queryVectorsByScope.get(gone.scope) ?? 1) - 1;
      if (left > 0) this.#queryVectorsByScope.set(gone.scope, left);
      else this.#queryVectorsByScope.delete(gone.scope);
    }
    this.#queryVectors.set(key, { vector, scope });
    this.#queryVectorsByScope.set(scope, (this.#queryVectorsByScope.get(scope) ?? 0) + 1);
  }

  /**
   * The `k` best tools for a natural-language (or code-derived) query, best first, only
   * tools with a score above 0 and passing `filter`.
   */
  async search(
    query: string,
    k: number,
    filter?: (tool: ToolInfo) => boolean,
    options: SearchOptions = {},
  ): Promise<ScoredTool[]> {
    if (!Number.isInteger(k) || k < 0) {
      throw new SelectionError("invalid_argument", "k must be a non-negative integer");
    }
    const entries = this.#entries;
    const n = entries.length;
    if (n === 0 || k === 0 || query.trim() === "") return [];
    const hybrid = this.#weight > 0 && this.#covered() > 0;
    // With a budget, a new query does not queue behind the encoder's work in flight: it is
    // ranked lexically at once, and embedded in the background only while few of its scope's
    // are queued.
    const scope = options.scope ?? "";
    const key = JSON.stringify([scope, query]);
    const known = this.#queryVectors.has(key) || this.#pendingVectors.has(key);
    const busy = options.budgetMs !== undefined && !known && this.#queue.size > 0;
    const skip = busy && this.#queue.load(scope) >= MAX_BACKGROUND_EMBEDDINGS;
    // The query is embedded (or found in the cache) while the lexical scores are computed.
    const vectorPromise = hybrid && !skip ? this.#queryVector(query, key, scope) : null;
    const budgetMs = busy ? 0 : options.budgetMs;
    const names = this.#names;
    const bm25 = this.#bm25;

    const lex = new Float64Array(n);
    const maxLex = bm25.scoreInto(terms(query), lex);
    const queryVector = vectorPromise ? await withinBudget(vectorPromise, budgetMs) : null;
    let emb: Float64Array | null = null;
    // The catalogue may have changed while the query was embedded.
    if (queryVector && this.#entries === entries) {
      emb = this.#similarities(entries, queryVector, lex, maxLex);
    }
    const scores = this.#fuse(lex, maxLex, emb);

    // Tools the query names come first, in the order it names them.
    const named = this.#entries === entries ? names.named(query) : [];
    const first = new Set<number>();
    for (const i of named) {
      if (!filter || filter(entries[i].tool)) first.add(i);
    }
    const order: number[] = [];
    for (let i = 0; i < n; i++) {
      if (scores[i] > 0 && !first.has(i) && (!filter || filter(entries[i].tool))) order.push(i);
    }
    order.sort((a, b) => scores[b] - scores[a]);
    // Several tools may share the name written (one per server): the ranking orders them.
    const hits = [...first].sort((a, b) => scores[b] - scores[a])
      .map((i) => ({ tool: entries[i].tool, score: 1 }));
    for (const i of order) {
      if (hits.length >= k) break;
      hits.push({ tool: entries[i].tool, score: scores[i] });
    }
    return hits.slice(0, k);
  }

  /**
   * `(cos − mean) / (max − mean)` clipped to [0, 1] for every tool with a vector (mean and
   * max over those), over a contiguous matrix of the catalogue's vectors (built once per
   * catalogue and set of vectors); a tool without a vector yet gets `lex / maxLex` instead.
   */
  #similarities(
    entries: Entry[],
    query: Float32Array,
    lex: Float64Array,
    maxLex: number,
  ): Float64Array {
    const version = this.#vectorsVersion;
    if (this.#matrix?.entries !== entries || this.#matrix.version !== version) {
      const dim = query.length;
      const rows = new Float32Array(entries.length * dim);
      const has = new Uint8Array(entries.length);
      entries.forEach((e, i) => {
        const vector = this.#vectors.get(e.hash);
        if (!vector) return;
        rows.set(vector.subarray(0, dim), i * dim);
        has[i] = 1;
      });
      this.#matrix = { entries, version, dim, rows, has };
    }
    const { rows, dim, has } = this.#matrix;
    const n = entries.length;
    const cos = new Float64Array(n);
    let sum = 0;
    let count = 0;
    let max = -Infinity;
    for (let i = 0, at = 0; i < n; i++, at += dim) {
      if (!has[i]) continue;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += rows[at + j] * query[j];
      cos[i] = dot;
      sum += dot;
      count++;
      if (dot > max) max = dot;
    }
    const mean = count > 0 ? sum / count : 0;
    const span = max - mean;
    for (let i = 0; i < n; i++) {
      if (!has[i]) cos[i] = maxLex > 0 ? lex[i] / maxLex : 0;
      else cos[i] = span > 0 ? Math.max(0, (cos[i] - mean) / span) : 0;
    }
    return cos;
  }

  /** Combines `lex` (raw BM25F, best `maxLex`) and `emb` (normalised, or none) into (0, 1]. */
  #fuse(lex: Float64Array, maxLex: number, emb: Float64Array | null): Float64Array {
    const n = lex.length;
    const scores = new Float64Array(n);
    if (!emb) {
      if (maxLex > 0) { for (let i = 0; i < n; i++) scores[i] = lex[i] / maxLex; }
      return scores;
    }
    const w = this.#weight;
    if (this.#fusion === "linear") {
      for (let i = 0; i < n; i++) {
        scores[i] = (maxLex > 0 ? (1 - w) * lex[i] / maxLex : 0) + w * emb[i];
      }
      return scores;
    }
    const k = this.#rrfK;
    const addRanks = (values: Float64Array, weight: number) => {
      if (weight === 0) return;
      const order: number[] = [];
      for (let i = 0; i < n; i++) if (values[i] > 0) order.push(i);
      order.sort((a, b) => values[b] - values[a]);
      for (let r = 0; r < order.length; r++) scores[order[r]] += weight / (k + r + 1);
    };
    addRanks(lex, 1 - w);
    addRanks(emb, w);
    let max = 0;
    for (let i = 0; i < n; i++) if (scores[i] > max) max = scores[i];
    if (max > 0) { for (let i = 0; i < n; i++) scores[i] /= max; }
    return scores;
  }
}

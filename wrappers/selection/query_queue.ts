/**
 * `QueryQueue`: the tenant-fair queue in front of the shared query encoder. There is one
 * encoder (one worker) for every tenant, and one query's embedding takes ~50–150 ms; in
 * arrival order, one tenant firing 256 searches put another's at ~190 ms p50 (red team f2).
 * Here each scope (tenant) has its own line, the encoder takes one query at a time, and the
 * lines are served round-robin, so another tenant waits for at most one query per busy
 * tenant, however many each has asked. A scope holds at most `perScope` queries (queued or
 * running): past that `submit` answers `null` and the caller ranks lexically.
 *
 * A query is cut to {@link MAX_QUERY_EMBED_CHARS} before it reaches the encoder, so no
 * single query holds it for long whatever the callers cap (the encoder's cost grows with the
 * text's length; the first 2,000 characters say what is asked).
 *
 * @module
 */

/** Characters of a query the encoder sees at most (the rest is ranked lexically only). */
export const MAX_QUERY_EMBED_CHARS = 2_000;

/** Queries one scope may have queued or running at the encoder by default. */
export const DEFAULT_QUERIES_PER_SCOPE = 4;

interface Job {
  text: string;
  resolve(vector: Float32Array): void;
  reject(error: unknown): void;
}

/** `text` cut to at most `max` UTF-16 units, never inside a surrogate pair. */
export function capQueryText(text: string, max = MAX_QUERY_EMBED_CHARS): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Round-robin, per-scope-capped queue of single-query embeddings (see the module docs). */
export class QueryQueue {
  #embed: (texts: string[]) => Promise<Float32Array[]>;
  #perScope: number;
  /** Waiting jobs per scope; the map's order is the round-robin order. */
  #lines = new Map<string, Job[]>();
  /** Queries per scope, queued or running. */
  #load = new Map<string, number>();
  #running = false;
  #size = 0;

  /**
   * A queue sending one query at a time to `embed`; `perScope` (≥ 1, default
   * {@link DEFAULT_QUERIES_PER_SCOPE}) queries per scope at most.
   */
  constructor(embed: (texts: string[]) => Promise<Float32Array[]>, perScope?: number) {
    this.#embed = embed;
    this.#perScope = Math.max(1, Math.floor(perScope ?? DEFAULT_QUERIES_PER_SCOPE));
  }

  /** Queries queued or running, all scopes together. */
  get size(): number {
    return this.#size;
  }

  /** Queries of `scope` queued or running. */
  load(scope: string): number {
    return this.#load.get(scope) ?? 0;
  }

  /**
   * The query's vector once the encoder has reached it (the query cut to
   * {@link MAX_QUERY_EMBED_CHARS}); `null` at once when `scope` already has `perScope`
   * queries queued or running. The promise rejects with the encoder's error.
   */
  submit(scope: string, query: string): Promise<Float32Array> | null {
    const load = this.load(scope);
    if (load >= this.#perScope) return null;
    this.#load.set(scope, load + 1);
    this.#size++;
    const promise = new Promise<Float32Array>((resolve, reject) => {
      const job: Job = { text: capQueryText(query), resolve, reject };
      const line = this.#lines.get(scope);
      if (line) line.push(job);
      else this.#lines.set(scope, [job]);
    });
    const done = () => {
      this.#size--;
      const left = this.load(scope) - 1;
      if (left > 0) this.#load.set(scope, left);
      else this.#load.delete(scope);
    };
    promise.then(done, done);
    this.#pump();
    return promise;
  }

  /** Runs the queue: one job at a time, the next scope's turn after each. */
  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const next = this.#lines.entries().next();
        if (next.done) return;
        const [scope, line] = next.value;
        const job = line.shift()!;
        // This scope goes to the back of the round; dropped from it when it has nothing left.
        this.#lines.delete(scope);
        if (line.length > 0) this.#lines.set(scope, line);
        try {
          const [vector] = await this.#embed([job.text]);
          job.resolve(vector);
        } catch (e) {
          job.reject(e);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

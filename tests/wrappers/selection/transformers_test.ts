/**
 * The transformers.js path, for real: the genuine all-MiniLM-L6-v2 tokenizer and config,
 * committed under `tests/fixtures/models/` so a fresh clone needs nothing beside it, with a
 * tiny BERT-shaped ONNX graph built by the test (the real weights cannot be downloaded here)
 * so pooled vectors can be checked by hand.
 */
import {
  assert,
  assertEquals,
  assertNear,
  assertRejects,
  assertSelectionError,
} from "./helpers.ts";
import { relative as relativePath } from "node:path";
import { fileURLToPath } from "node:url";
import { tinyRow, writeTinyModelDir } from "./tiny_onnx.ts";
import {
  createEmbedder,
  DEFAULT_TRANSFORMERS_MODEL,
  loadTransformersEmbedder,
} from "../../../wrappers/selection/mod.ts";

/**
 * A model directory holding the real text files (tokenizer, config) and no ONNX weights. It
 * is committed with the tests, not read from `AIRLOCK_MODEL_DIR` or `../shared/models`, so a
 * fresh clone with nothing beside it runs the same tests as CI.
 */
const TEXT_ONLY = fileURLToPath(new URL("../../fixtures/models", import.meta.url));
const SOURCE = `${TEXT_ONLY}/${DEFAULT_TRANSFORMERS_MODEL}`;
const HIDDEN = 4;

/** Reads BERT ids from the real tokenizer.json's WordPiece vocabulary rather than trusting constants. */
async function vocabId(token: string): Promise<number> {
  const tokenizer = JSON.parse(await Deno.readTextFile(`${SOURCE}/tokenizer.json`));
  const id = tokenizer.model.vocab[token];
  assert(typeof id === "number", `token ${token} not in vocab`);
  return id;
}

/** Mean of the tiny model's rows for `ids`, L2-normalised: what the pipeline must return. */
function expected(ids: number[]): number[] {
  const sum = new Array(HIDDEN).fill(0);
  for (const id of ids) tinyRow(id, HIDDEN).forEach((x, j) => sum[j] += x);
  const mean = sum.map((x) => x / ids.length);
  const norm = Math.hypot(...mean);
  return mean.map((x) => x / norm);
}

function assertVector(actual: Float32Array, want: number[]): void {
  assertEquals(actual.length, want.length);
  want.forEach((x, j) => assertNear(actual[j], x, 1e-5));
}

Deno.test("transformers.js loads a local model dir, tokenises for real, mean-pools over the mask, normalises", async () => {
  const root = await Deno.makeTempDir({ prefix: "airlock-tiny-bert-" });
  try {
    await writeTinyModelDir(root, DEFAULT_TRANSFORMERS_MODEL, SOURCE, HIDDEN);
    const embedder = await loadTransformersEmbedder({ modelDir: root, allowRemote: false });
    assertEquals(embedder.status.active, "transformers");
    assertEquals(embedder.status.model, DEFAULT_TRANSFORMERS_MODEL);
    assert(embedder.cacheKey!.includes(":fp32:"), embedder.cacheKey!);

    const cls = await vocabId("[CLS]");
    const sep = await vocabId("[SEP]");
    const hello = await vocabId("hello");
    const world = await vocabId("world");
    const a = await vocabId("a");
    assertEquals([cls, hello, world, sep], [101, 7592, 2088, 102]);

    // Batched: "a" is padded to the length of "hello world"; the pad row must not count.
    const [v1, v2] = await embedder.embed(["Hello world", "a"]);
    const want1 = expected([cls, hello, world, sep]);
    const want2 = expected([cls, a, sep]);
    assertVector(v1, want1);
    assertVector(v2, want2);
    assertNear(Math.hypot(...v2), 1, 1e-5);

    // Had the padding been averaged in, the vector would be clearly different.
    const withPad = expected([cls, a, sep, await vocabId("[PAD]")]);
    assert(withPad.reduce((d, x, j) => d + Math.abs(x - want2[j]), 0) > 0.5);

    // Alone, "a" gives the same vector as when batched with padding.
    const [alone] = await embedder.embed(["a"]);
    assertVector(alone, want2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("transformers.js picks the quantized file when only onnx/model_quantized.onnx is present", async () => {
  const root = await Deno.makeTempDir({ prefix: "airlock-tiny-bert-" });
  try {
    await writeTinyModelDir(root, DEFAULT_TRANSFORMERS_MODEL, SOURCE, HIDDEN);
    await Deno.remove(`${root}/${DEFAULT_TRANSFORMERS_MODEL}/onnx/model.onnx`);
    const embedder = await loadTransformersEmbedder({ modelDir: root, allowRemote: false });
    assert(embedder.cacheKey!.includes(":q8:"), embedder.cacheKey!);
    const [v] = await embedder.embed(["hello"]);
    assertVector(v, expected([101, 7592, 102]));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a model dir relative to the working directory works (as `../shared/models` in CI)", async () => {
  const root = await Deno.makeTempDir({ prefix: "airlock-tiny-bert-" });
  try {
    await writeTinyModelDir(root, DEFAULT_TRANSFORMERS_MODEL, SOURCE, HIDDEN);
    const relative = relativePath(Deno.cwd(), root);
    assert(!relative.startsWith("/"), relative);
    const embedder = await loadTransformersEmbedder({ modelDir: relative, allowRemote: false });
    const [v] = await embedder.embed(["hello"]);
    assertVector(v, expected([101, 7592, 102]));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an explicit transformers embedder without weights rejects with kind embedder_unavailable", async () => {
  const err = await assertRejects(
    () => loadTransformersEmbedder({ modelDir: TEXT_ONLY, allowRemote: false }),
    /no ONNX weights/,
  );
  assertSelectionError(err, "embedder_unavailable");
});

Deno.test("auto falls back from transformers.js to the offline encoder and says why", async () => {
  // The fixture directory has the real tokenizer but no ONNX weights: transformers.js cannot load.
  const embedder = await createEmbedder({
    embedder: "auto",
    modelDir: TEXT_ONLY,
    allowRemote: false,
  });
  embedder.close?.();
  assertEquals(embedder.status.active, "use");
  assert(embedder.status.reason.includes("transformers.js unavailable"), embedder.status.reason);
  assert(embedder.status.reason.includes("no ONNX weights"), embedder.status.reason);
});

Deno.test("auto prefers transformers.js when the model loads", async () => {
  const root = await Deno.makeTempDir({ prefix: "airlock-tiny-bert-" });
  try {
    await writeTinyModelDir(root, DEFAULT_TRANSFORMERS_MODEL, SOURCE, HIDDEN);
    const embedder = await createEmbedder({ embedder: "auto", modelDir: root, allowRemote: false });
    assertEquals(embedder.status.active, "transformers");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("createEmbedder rejects an unknown embedder name", async () => {
  const err = await assertRejects(
    // deno-lint-ignore no-explicit-any
    () => createEmbedder({ embedder: "bogus" as any }),
  );
  assertSelectionError(err, "invalid_argument");
});

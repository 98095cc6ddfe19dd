/**
 * Builds a tiny BERT-shaped ONNX model in pure TypeScript, for loader tests that cannot
 * download the real all-MiniLM-L6-v2 weights.
 *
 * The graph has the three BERT inputs (`input_ids`, `attention_mask`, `token_type_ids`,
 * int64 `[batch, seq]`) and one output `last_hidden_state` (float `[batch, seq, hidden]`)
 * computed as `Gather(table, input_ids) + 0 * Cast(attention_mask) + 0 * Cast(token_type_ids)`,
 * so every input is consumed and each token's hidden state is a known row of `table`.
 *
 * @module
 */

/** Protobuf wire writer: just the field kinds the ONNX schema needs. */
class ProtoWriter {
  #bytes: number[] = [];

  #varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.#bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#bytes.push(Number(v));
  }

  /** Writes a varint field (int32, int64, enum). */
  int(field: number, value: number | bigint): this {
    this.#varint(BigInt(field << 3 | 0));
    this.#varint(BigInt(value));
    return this;
  }

  /** Writes a length-delimited field (bytes, string, sub-message). */
  bytes(field: number, value: Uint8Array | string): this {
    const data = typeof value === "string" ? new TextEncoder().encode(value) : value;
    this.#varint(BigInt(field << 3 | 2));
    this.#varint(BigInt(data.length));
    for (const b of data) this.#bytes.push(b);
    return this;
  }

  /** Writes a float field (fixed32). */
  float(field: number, value: number): this {
    this.#varint(BigInt(field << 3 | 5));
    const buf = new Uint8Array(4);
    new DataView(buf.buffer).setFloat32(0, value, true);
    for (const b of buf) this.#bytes.push(b);
    return this;
  }

  /** The encoded message. */
  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

const FLOAT = 1;
const INT64 = 7;

function valueInfo(name: string, elemType: number, dims: Array<string | number>): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int(1, d);
    else dim.bytes(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int(1, elemType).bytes(2, shape.finish()).finish();
  const type = new ProtoWriter().bytes(1, tensorType).finish();
  return new ProtoWriter().bytes(1, name).bytes(2, type).finish();
}

function node(
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Uint8Array[] = [],
): Uint8Array {
  const w = new ProtoWriter();
  for (const i of inputs) w.bytes(1, i);
  for (const o of outputs) w.bytes(2, o);
  w.bytes(3, `${op}_${outputs[0]}`).bytes(4, op);
  for (const a of attrs) w.bytes(5, a);
  return w.finish();
}

/** AttributeProto of type INT (type enum 2). */
function intAttr(name: string, value: number): Uint8Array {
  return new ProtoWriter().bytes(1, name).int(3, value).int(20, 2).finish();
}

function floatTensor(name: string, dims: number[], values: Float32Array): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  w.int(2, FLOAT).bytes(8, name);
  w.bytes(9, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return w.finish();
}

/**
 * The embedding row of token `id` in the tiny model: `hidden` floats, a simple function of
 * the id so tests can compute expected pooled vectors by hand.
 */
export function tinyRow(id: number, hidden: number): number[] {
  const row: number[] = [];
  for (let j = 0; j < hidden; j++) {
    row.push(((id * (2 * j + 5) + 7 * j) % 19) - 9 + (j === 0 ? 0.5 : 0));
  }
  return row;
}

/** Encodes the tiny BERT-shaped model as ONNX protobuf bytes. */
export function buildTinyBertOnnx(vocabSize: number, hidden: number): Uint8Array {
  const table = new Float32Array(vocabSize * hidden);
  for (let i = 0; i < vocabSize; i++) table.set(tinyRow(i, hidden), i * hidden);
  const zero = floatTensor("zero", [], new Float32Array([0]));

  const graph = new ProtoWriter()
    .bytes(1, node("Gather", ["table", "input_ids"], ["gathered"], [intAttr("axis", 0)]))
    .bytes(1, node("Cast", ["attention_mask"], ["mask_f"], [intAttr("to", FLOAT)]))
    .bytes(1, node("Cast", ["token_type_ids"], ["type_f"], [intAttr("to", FLOAT)]))
    .bytes(1, node("Add", ["mask_f", "type_f"], ["extra"]))
    .bytes(1, node("Mul", ["extra", "zero"], ["extra0"]))
    .bytes(1, node("Unsqueeze", ["extra0", "axes"], ["extra3"]))
    .bytes(1, node("Add", ["gathered", "extra3"], ["last_hidden_state"]))
    .bytes(2, "tiny_bert")
    .bytes(5, floatTensor("table", [vocabSize, hidden], table))
    .bytes(5, zero)
    .bytes(5, int64Tensor("axes", [1], [2n]));
  for (const input of ["input_ids", "attention_mask", "token_type_ids"]) {
    graph.bytes(11, valueInfo(input, INT64, ["batch_size", "sequence_length"]));
  }
  graph.bytes(
    12,
    valueInfo("last_hidden_state", FLOAT, ["batch_size", "sequence_length", hidden]),
  );

  const opset = new ProtoWriter().bytes(1, "").int(2, 13).finish();
  return new ProtoWriter()
    .int(1, 8) // ir_version
    .bytes(2, "airlock-tests")
    .bytes(7, graph.finish())
    .bytes(8, opset)
    .finish();
}

function int64Tensor(name: string, dims: number[], values: bigint[]): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  w.int(2, INT64).bytes(8, name);
  const raw = new BigInt64Array(values);
  w.bytes(9, new Uint8Array(raw.buffer));
  return w.finish();
}

/**
 * Creates a model directory `<root>/<modelId>/` holding copies of the real text files from
 * `sourceDir` plus the tiny ONNX graph as `onnx/model.onnx` and `onnx/model_quantized.onnx`.
 * Returns `root` (what transformers.js calls the local model path).
 */
export async function writeTinyModelDir(
  root: string,
  modelId: string,
  sourceDir: string,
  hidden: number,
): Promise<string> {
  const dir = `${root}/${modelId}`;
  await Deno.mkdir(`${dir}/onnx`, { recursive: true });
  for await (const entry of Deno.readDir(sourceDir)) {
    if (entry.isFile) await Deno.copyFile(`${sourceDir}/${entry.name}`, `${dir}/${entry.name}`);
  }
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  const onnx = buildTinyBertOnnx(config.vocab_size, hidden);
  await Deno.writeFile(`${dir}/onnx/model.onnx`, onnx);
  await Deno.writeFile(`${dir}/onnx/model_quantized.onnx`, onnx);
  return root;
}

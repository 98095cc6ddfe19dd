/**
 * The on-disk vector cache: one append-only binary file per encoder
 * (`<cacheDir>/vectors-<sha256(cacheKey)[0..16]>.bin`), records keyed by the SHA-256 of the
 * embedded text, so a warm start re-embeds nothing and a changed tool re-embeds only itself.
 *
 * File format: `AIRV` magic, u32 dimensions (little endian), then records of
 * 32 bytes of text hash followed by `dimensions` float32 values. A torn last record
 * (a crash mid-write) is ignored on load.
 *
 * @module
 */
import { createHash } from "node:crypto";

const MAGIC = [0x41, 0x49, 0x52, 0x56]; // "AIRV"

/** Hex SHA-256 of a text: the key of its vector. */
export function textHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Loads and appends vectors of one encoder in one cache directory. */
export class VectorCache {
  /** The cache file of this encoder. */
  readonly path: string;
  /** Set when the file on disk is not ours (bad magic): the next append starts it afresh. */
  #rewrite = false;

  /** A cache for the encoder identified by `cacheKey` under `dir`. */
  constructor(dir: string, cacheKey: string) {
    const name = createHash("sha256").update(cacheKey).digest("hex").slice(0, 16);
    this.path = `${dir}/vectors-${name}.bin`;
  }

  /** Every stored vector by text hash; empty when the file is missing or unreadable. */
  async load(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.path);
    } catch {
      return out;
    }
    if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
      this.#rewrite = true;
      return out;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const dims = view.getUint32(4, true);
    const recordBytes = 32 + dims * 4;
    const whole = 8 + Math.floor((bytes.length - 8) / recordBytes) * recordBytes;
    if (whole < bytes.length) {
      // A torn last record (crash mid-append): cut it off so later appends stay aligned.
      await Deno.truncate(this.path, whole).catch(() => this.#rewrite = true);
    }
    for (let off = 8; off + recordBytes <= whole; off += recordBytes) {
      const hash = Array.from(bytes.subarray(off, off + 32), (b) => b.toString(16).padStart(2, "0"))
        .join("");
      const vector = new Float32Array(dims);
      for (let i = 0; i < dims; i++) vector[i] = view.getFloat32(off + 32 + i * 4, true);
      out.set(hash, vector);
    }
    return out;
  }

  /** Replaces the file with exactly these vectors (compaction), atomically via a rename. */
  async rewrite(entries: Array<[hash: string, vector: Float32Array]>): Promise<void> {
    const temp = `${this.path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeFile(temp, encode(entries, true));
      await Deno.rename(temp, this.path);
      this.#rewrite = false;
    } finally {
      await Deno.remove(temp).catch(() => {});
    }
  }

  /** Appends vectors (creating the file and directory on first use). */
  async append(entries: Array<[hash: string, vector: Float32Array]>): Promise<void> {
    if (entries.length === 0) return;
    let fresh = false;
    try {
      fresh = this.#rewrite || (await Deno.stat(this.path)).size < 8;
    } catch {
      await Deno.mkdir(this.path.slice(0, this.path.lastIndexOf("/")), { recursive: true });
      fresh = true;
    }
    await Deno.writeFile(this.path, encode(entries, fresh), { append: !fresh });
    this.#rewrite = false;
  }
}

/** Encodes records, preceded by the file header when `withHeader`. */
function encode(entries: Array<[string, Float32Array]>, withHeader: boolean): Uint8Array {
  const dims = entries[0]?.[1].length ?? 0;
  const headerBytes = withHeader ? 8 : 0;
  const recordBytes = 32 + dims * 4;
  const body = new Uint8Array(headerBytes + entries.length * recordBytes);
  const view = new DataView(body.buffer);
  if (withHeader) {
    body.set(MAGIC);
    view.setUint32(4, dims, true);
  }
  let off = headerBytes;
  for (const [hash, vector] of entries) {
    for (let i = 0; i < 32; i++) body[off + i] = parseInt(hash.slice(i * 2, i * 2 + 2), 16);
    for (let i = 0; i < dims; i++) view.setFloat32(off + 32 + i * 4, vector[i], true);
    off += recordBytes;
  }
  return body;
}

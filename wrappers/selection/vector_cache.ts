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

/**
 * Bytes of records {@link VectorCache.load} reads by default: 64 MiB, ~32,000 vectors of 512
 * dimensions, far more than a catalogue's (the index keeps at most ~1.5× its live tools).
 */
export const DEFAULT_MAX_CACHE_BYTES = 64 * 2 ** 20;

/** Exactly `length` bytes of `file` from `offset` (fewer only at its end). */
async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null) break;
    got += n;
  }
  return out.subarray(0, got);
}

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

  /**
   * Every stored vector by text hash; empty when the file is missing or unreadable. At most
   * `maxBytes` of records are read (the newest, at the file's end): a file grown past that
   * (by an older version, or copied in) costs no more memory or start-up time than the cap;
   * `truncated` then says the caller should rewrite it.
   */
  async load(
    maxBytes = DEFAULT_MAX_CACHE_BYTES,
  ): Promise<Map<string, Float32Array> & { truncated?: boolean }> {
    const out: Map<string, Float32Array> & { truncated?: boolean } = new Map();
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path, { read: true });
    } catch {
      return out;
    }
    let bytes: Uint8Array;
    let dims: number;
    try {
      const size = (await file.stat()).size;
      const header = await readAt(file, 0, Math.min(8, size));
      if (header.length < 8 || MAGIC.some((b, i) => header[i] !== b)) {
        this.#rewrite = true;
        return out;
      }
      dims = new DataView(header.buffer, header.byteOffset, 8).getUint32(4, true);
      const recordBytes = 32 + dims * 4;
      const records = Math.floor((size - 8) / recordBytes);
      const whole = 8 + records * recordBytes;
      const kept = Math.min(records, Math.floor(Math.max(0, maxBytes - 8) / recordBytes));
      out.truncated = kept < records;
      bytes = await readAt(file, whole - kept * recordBytes, kept * recordBytes);
      if (whole < size) {
        // A torn last record (crash mid-append): cut it off so later appends stay aligned.
        await Deno.truncate(this.path, whole).catch(() => this.#rewrite = true);
      }
    } catch {
      return out;
    } finally {
      file.close();
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const recordBytes = 32 + dims * 4;
    for (let off = 0; off + recordBytes <= bytes.length; off += recordBytes) {
      const hash = Array.from(bytes.subarray(off, off + 32), (b) => b.toString(16).padStart(2, "0"))
        .join("");
      const vector = new Float32Array(dims);
      for (let i = 0; i < dims; i++) vector[i] = view.getFloat32(off + 32 + i * 4, true);
      // A hash stored twice: the later record wins, at the later place in the order.
      out.delete(hash);
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

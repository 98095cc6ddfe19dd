/**
 * Splits a byte stream into text lines without quadratic work on long lines and with a
 * hard cap on a line's length.
 *
 * @module
 */

const NEWLINE = 0x0a;

/** One complete line. */
export interface Line {
  /** The line decoded as UTF-8 (invalid bytes become U+FFFD), without its newline. */
  text: string;
  /** Its length on the wire in bytes, without the newline. */
  bytes: number;
}

/** Accumulates chunks and hands back complete lines. */
export class LineReader {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #maxLineBytes: number;
  #decoder = new TextDecoder();
  /** Set once a line grew past the cap; no more lines are returned after that. */
  oversize = false;

  /** @param maxLineBytes the longest line accepted, in bytes */
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * The longest line accepted, in bytes. Lowering it applies to the line being
   * accumulated too: the gateway learns an execution's limits after the reader started.
   */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }
  set maxLineBytes(value: number) {
    this.#maxLineBytes = value;
  }

  /** Adds a chunk; returns the lines it completed (without their newline). */
  push(chunk: Uint8Array): Line[] {
    const lines: Line[] = [];
    if (this.oversize) return lines;
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0) {
        this.#pending.push(chunk.subarray(start));
        this.#pendingBytes += chunk.length - start;
        if (this.#pendingBytes > this.#maxLineBytes) this.#overflow();
        break;
      }
      const piece = chunk.subarray(start, newline);
      if (this.#pendingBytes + piece.length > this.#maxLineBytes) {
        this.#overflow();
        break;
      }
      const bytes = this.#pendingBytes + piece.length;
      lines.push({ text: this.#decode(piece), bytes });
      start = newline + 1;
    }
    return lines;
  }

  #decode(last: Uint8Array): string {
    if (this.#pending.length === 0) return this.#decoder.decode(last);
    const whole = new Uint8Array(this.#pendingBytes + last.length);
    let offset = 0;
    for (const part of this.#pending) {
      whole.set(part, offset);
      offset += part.length;
    }
    whole.set(last, offset);
    this.#pending = [];
    this.#pendingBytes = 0;
    return this.#decoder.decode(whole);
  }

  #overflow() {
    this.oversize = true;
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

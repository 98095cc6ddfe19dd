/**
 * The gateway's structured log, written behind the response: each event becomes one JSON
 * line in a buffer, and the buffer goes to stderr a few milliseconds later in one write.
 * Nothing is dropped: when more than `maxBufferedBytes` wait, the caller writes them out
 * synchronously there and then (backpressure), and {@linkcode LogWriter.flushSync} writes
 * what is left before the process exits.
 *
 * @module
 */

/** Where the lines go: a synchronous and an asynchronous writer of the same stream. */
export interface LogSink {
  /** Writes some of `bytes` now; returns how many. */
  writeSync(bytes: Uint8Array): number;
  /** Writes some of `bytes`; resolves to how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Options of {@linkcode LogWriter}. */
export interface LogWriterOptions {
  /** Where the lines go (default: stderr). */
  sink?: LogSink;
  /** UTF-8 bytes buffered before `log` writes synchronously (default 1 MiB). */
  maxBufferedBytes?: number;
  /** How long the first buffered line waits for others (ms, default 5). */
  delayMs?: number;
}

/** A buffered JSON-lines log. */
export class LogWriter {
  readonly #sink: LogSink;
  readonly #max: number;
  readonly #delayMs: number;
  readonly #encoder = new TextEncoder();
  #lines: string[] = [];
  #bytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | undefined;

  constructor(options: LogWriterOptions = {}) {
    this.#sink = options.sink ?? Deno.stderr;
    this.#max = options.maxBufferedBytes ?? 1024 * 1024;
    this.#delayMs = options.delayMs ?? 5;
  }

  /** Buffers one event as a JSON line with the current `time` first. */
  log(fields: Record<string, unknown>): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...fields }) + "\n";
    this.#lines.push(line);
    this.#bytes += line.length;
    if (this.#bytes > this.#max) {
      // Backpressure: the caller pays for the write rather than the line being lost.
      this.flushSync();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flushAsync();
    }, this.#delayMs);
  }

  /** Writes every buffered line now. For exit paths and backpressure. */
  flushSync(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const bytes = this.#take();
    for (let at = 0; at < bytes.length;) at += this.#sink.writeSync(bytes.subarray(at));
  }

  /** Resolves once every line buffered so far is written. */
  async flush(): Promise<void> {
    while (this.#writing || this.#lines.length > 0) {
      await (this.#writing ?? this.#flushAsync());
    }
  }

  #take(): Uint8Array {
    const text = this.#lines.join("");
    this.#lines = [];
    this.#bytes = 0;
    return this.#encoder.encode(text);
  }

  #flushAsync(): Promise<void> {
    this.#writing ??= (async () => {
      try {
        while (this.#lines.length > 0) {
          const bytes = this.#take();
          for (let at = 0; at < bytes.length;) at += await this.#sink.write(bytes.subarray(at));
        }
      } catch {
        // stderr is gone (closed pipe): nothing else can be done with a log line.
      } finally {
        this.#writing = undefined;
      }
    })();
    return this.#writing;
  }
}

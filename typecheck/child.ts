/**
 * The checker process: reads one JSON message per line on stdin ({@link ToChecker}), answers
 * one per line on stdout ({@link FromChecker}). It runs as its own `deno` process with a V8
 * heap cap, so the gateway can stop a check for real (SIGKILL) and a check that exhausts
 * memory ends only this process. Started by `process.ts`; nothing else of Airlock's runs here.
 *
 * @module
 */

import { check, init } from "./compiler.ts";
import type { FromChecker, ToChecker } from "./protocol.ts";

const encoder = new TextEncoder();
const out = Deno.stdout;

function post(message: FromChecker): void {
  const bytes = encoder.encode(JSON.stringify(message) + "\n");
  // Synchronous: the next check starts only after this answer is written.
  let written = 0;
  while (written < bytes.length) written += out.writeSync(bytes.subarray(written));
}

function handle(line: string): void {
  const message = JSON.parse(line) as ToChecker;
  if (message.type === "init") {
    post({ type: "ready", ms: init(message) });
    return;
  }
  post(check(message, () => post({ type: "loaded", id: message.id })));
}

// Lines are split on bytes (0x0a never occurs inside a UTF-8 sequence), decoded whole.
const decoder = new TextDecoder();
let chunks: Uint8Array[] = [];
for await (const chunk of Deno.stdin.readable) {
  let from = 0;
  for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, from)) {
    chunks.push(chunk.subarray(from, at));
    const size = chunks.reduce((n, c) => n + c.length, 0);
    const line = new Uint8Array(size);
    let offset = 0;
    for (const c of chunks) {
      line.set(c, offset);
      offset += c.length;
    }
    chunks = [];
    from = at + 1;
    handle(decoder.decode(line));
  }
  if (from < chunk.length) chunks.push(chunk.slice(from));
}

/** The buffered JSON-lines log: later, in order, all of it; synchronous when over its bound. */

import { assert, assertEquals } from "../assert.ts";
import { type LogSink, LogWriter } from "../../observability/log_writer.ts";

function memorySink(): LogSink & { text(): string; syncWrites: number } {
  const chunks: Uint8Array[] = [];
  const sink = {
    syncWrites: 0,
    writeSync(bytes: Uint8Array) {
      sink.syncWrites++;
      // A short write: the writer must loop until everything is out.
      const n = Math.min(bytes.length, 7);
      chunks.push(bytes.slice(0, n));
      return n;
    },
    write(bytes: Uint8Array) {
      chunks.push(bytes.slice());
      return Promise.resolve(bytes.length);
    },
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
  return sink;
}

Deno.test("log lines are written after the call, in order, as JSON with a time", async () => {
  const sink = memorySink();
  const writer = new LogWriter({ sink, delayMs: 1 });
  for (let i = 0; i < 50; i++) writer.log({ msg: "execution", i });
  assertEquals(sink.text(), "", "nothing is written on the caller's path");
  await writer.flush();
  const lines = sink.text().trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => l.i), Array.from({ length: 50 }, (_, i) => i));
  assert(lines.every((l) => typeof l.time === "string" && l.msg === "execution"));
});

Deno.test("past its bound the writer writes synchronously; flushSync empties it", () => {
  const sink = memorySink();
  const writer = new LogWriter({ sink, maxBufferedBytes: 200, delayMs: 60_000 });
  for (let i = 0; i < 10; i++) writer.log({ msg: "x".repeat(30), i });
  assert(sink.syncWrites > 0, "the bound made the caller write");
  writer.log({ msg: "last" });
  writer.flushSync();
  const lines = sink.text().trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.length, 11);
  assertEquals(lines.at(-1).msg, "last");
});

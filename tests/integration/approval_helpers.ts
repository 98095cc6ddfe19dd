/**
 * What the approval tests share: the bearer header, an SSE reader for `POST /v1/execute`
 * with `Accept: text/event-stream`, polling `GET /v1/approvals`, and a file-exists check.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import type { TestGateway } from "../helpers.ts";

/** The `authorization` header of an API key. */
export const auth = (key: string): Record<string, string> => ({
  authorization: `Bearer ${key}`,
});

/** Reads one SSE stream into events (`event:` name, parsed `data:` JSON) as they arrive. */
export async function* sseEvents(
  response: Response,
): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Polls `GET /v1/approvals` with `key` (every 50 ms, up to 30 s) until one is pending. */
// deno-lint-ignore no-explicit-any
export async function nextPending(gw: TestGateway, key: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const reply = await gw.get("/v1/approvals", auth(key));
    assertEquals(reply.status, 200, JSON.stringify(reply.body));
    if (reply.body.approvals.length > 0) return reply.body.approvals[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no approval became pending");
}

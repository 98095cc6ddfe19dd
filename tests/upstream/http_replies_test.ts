/**
 * A Streamable HTTP server's replies are bounded like a stdio server's messages before the
 * SDK parses them (`upstream/http_replies.ts`): a JSON body or an SSE event longer than
 * MAX_MESSAGE_CHARS or holding more than MAX_MESSAGE_VALUES values becomes an error response
 * to its request; everything else passes unchanged, however the stream is cut into chunks.
 * Unit cases on `boundedReplies`, then a real HTTP MCP server answering in JSON and in SSE.
 */

import assert from "node:assert/strict";

import { boundedReplies } from "../../upstream/http_replies.ts";
import { MAX_MESSAGE_CHARS, MAX_MESSAGE_VALUES } from "../../upstream/reply_bounds.ts";
import { UpstreamManager } from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { freePort, startBackground } from "./helpers.ts";

const REQUEST = JSON.stringify({
  method: "tools/call",
  params: { name: "t", arguments: {} },
  jsonrpc: "2.0",
  id: 7,
});

/** A fetch answering every request with `body` (cut into `chunks` pieces) as `type`. */
function serving(type: string, body: string, chunks = 1) {
  const bytes = new TextEncoder().encode(body);
  const size = Math.ceil(bytes.length / chunks);
  return () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < bytes.length; at += size) {
              controller.enqueue(bytes.slice(at, at + size));
            }
            controller.close();
          },
        }),
        { headers: { "content-type": type, "content-length": String(bytes.length) } },
      ),
    );
}

async function replyText(type: string, body: string, chunks = 1, drops: string[] = []) {
  const fetchFn = boundedReplies(serving(type, body, chunks), { ondrop: (w) => drops.push(w) });
  const response = await fetchFn("http://x/mcp", { method: "POST", body: REQUEST });
  return await response.text();
}

const result = (id: number | string, value: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id, result: { structuredContent: { value } } });
const numbers = (n: number) => new Array(n).fill(0);

Deno.test("http replies: a JSON body within the bounds passes unchanged; past either it answers its request with an error", async () => {
  const fits = result(7, numbers(MAX_MESSAGE_VALUES - 10));
  assert.equal(await replyText("application/json", fits, 5), fits);
  const cases: Record<string, [string, RegExp]> = {
    "numbers one past the value bound": [
      result(7, numbers(MAX_MESSAGE_VALUES)),
      /held more than 200000 JSON values/,
    ],
    "empty objects": [result(7, new Array(MAX_MESSAGE_VALUES).fill({})), /JSON values/],
    "an object of many members": [
      result(7, Object.fromEntries(numbers(MAX_MESSAGE_VALUES).map((_, i) => [`k${i}`, 1]))),
      /JSON values/,
    ],
    "one string longer than the character bound": [
      result(7, "a".repeat(MAX_MESSAGE_CHARS)),
      /was longer than 8388608 characters/,
    ],
  };
  for (const [name, [body, why]] of Object.entries(cases)) {
    const drops: string[] = [];
    const text = await replyText("application/json; charset=utf-8", body, 64, drops);
    const reply = JSON.parse(text);
    assert.equal(reply.id, 7, name);
    assert.match(reply.error.message, why, name);
    assert.match(reply.error.message, /Airlock dropped it/, name);
    assert.equal(drops.length, 1, name);
  }
  // Error statuses and other media types are not touched.
  const plain = boundedReplies(serving("text/plain", "x".repeat(10)));
  assert.equal(
    await (await plain("http://x/mcp", { method: "POST", body: REQUEST })).text(),
    "x".repeat(10),
  );
});

Deno.test("http replies: SSE events pass unchanged at every chunking and line ending; an over-bound event answers its request", async () => {
  const progress = JSON.stringify({
    jsonrpc: "2.0",
    method: "notifications/progress",
    params: { progressToken: 1, progress: 1 },
  });
  const good = result(7, [1, 2, 3]);
  const events = `: keep-alive\nid: a1\nevent: message\ndata: ${progress}\n\nretry: 100\n\n` +
    `data: ${good.slice(0, 20)}\ndata: ${good.slice(20)}\n\n`;
  for (const ending of ["\n", "\r\n", "\r"]) {
    const stream = events.replaceAll("\n", ending);
    for (const chunks of [1, 3, 7, 50, stream.length]) {
      assert.equal(
        await replyText("text/event-stream", stream, chunks),
        events,
        `line ending ${JSON.stringify(ending)}, ${chunks} chunks`,
      );
    }
  }
  // Over the value bound: the event's own id is answered; the events around it still pass.
  const many = result("r-9", numbers(MAX_MESSAGE_VALUES));
  const drops: string[] = [];
  const text = await replyText(
    "text/event-stream",
    `data: ${progress}\n\ndata: ${many}\n\nevent: other\ndata: x\n\n`,
    97,
    drops,
  );
  const [first, second, third] = text.split("\n\n");
  assert.equal(first, `data: ${progress}`);
  const error = JSON.parse(second.replace(/^event: message\ndata: /, ""));
  assert.equal(error.id, "r-9");
  assert.match(error.error.message, /held more than 200000 JSON values/);
  assert.equal(third, "event: other\ndata: x");
  assert.deepEqual(drops, ["held more than 200000 JSON values"]);
  // Over the character bound: read past without keeping it; the POST's request is answered.
  const long = `data: ${result(7, "a".repeat(MAX_MESSAGE_CHARS))}\r\n\r\ndata: ${good}\r\n\r\n`;
  const afterLong = (await replyText("text/event-stream", long, 300)).split("\n\n");
  assert.equal(JSON.parse(afterLong[0].replace(/^event: message\ndata: /, "")).id, 7);
  assert.match(afterLong[0], /was longer than 8388608 characters/);
  assert.equal(afterLong[1], `data: ${good}`);
});

/** Starts the HTTP fixture server (JSON or SSE replies) and an UpstreamManager on it. */
async function withHttpServer(
  args: string[],
  run: (upstream: UpstreamManager) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const fixture = fixtureServer("http", ["--port", String(port), ...args]);
  const server = startBackground(fixture.command, fixture.args ?? [], { cwd: fixture.cwd });
  try {
    await server.waitForLine(/listening on/);
    const upstream = new UpstreamManager({ web: { url: `http://127.0.0.1:${port}/mcp` } });
    try {
      await upstream.start();
      await run(upstream);
    } finally {
      await upstream.close();
    }
  } finally {
    await server.stop();
  }
}

for (const mode of ["json", "sse"]) {
  Deno.test(`real HTTP server (${mode} replies): a reply past the value or character bound fails its call; the server keeps serving`, async () => {
    await withHttpServer(mode === "sse" ? ["--sse"] : [], async (upstream) => {
      const outcome = (tool: string, text: string, more = {}) =>
        upstream.callTool("web", tool, { text, ...more }).then(
          (r) => `ok ${(r.structuredContent?.value as unknown[] | undefined)?.length ?? "text"}`,
          (e: unknown) => String(e),
        );
      assert.match(
        await outcome("structure", `[${"{},".repeat(MAX_MESSAGE_VALUES)}{}]`),
        /held more than 200000 JSON values/,
      );
      assert.match(
        await outcome("structure", JSON.stringify(numbers(MAX_MESSAGE_VALUES))),
        /held more than 200000 JSON values/,
      );
      assert.match(
        await outcome("repeat", "a".repeat(MAX_MESSAGE_CHARS / 4), { times: 5 }),
        /was longer than 8388608 characters/,
      );
      assert.equal(
        await outcome("structure", JSON.stringify(numbers(MAX_MESSAGE_VALUES - 100))),
        `ok ${MAX_MESSAGE_VALUES - 100}`,
      );
      const echo = await upstream.callTool("web", "echo", { text: "still serving" });
      assert.deepEqual(echo.content, [{ type: "text", text: "still serving" }]);
      assert.equal(upstream.status()[0].state, "ready");
    });
  });
}

/**
 * A fetch answering with `status` and `type` and a body that never ends (1 MiB chunks), with
 * how many chunks were pulled from it.
 */
function endless(status: number, type: string) {
  const pulled = { chunks: 0 };
  const chunk = new TextEncoder().encode("x".repeat(1 << 20));
  const fetchFn = () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled.chunks++;
            controller.enqueue(chunk);
          },
        }),
        { status, headers: { "content-type": type } },
      ),
    );
  return { fetchFn, pulled };
}

Deno.test("http replies: an error status or another media type is read at most 64 KiB, whatever its size", async () => {
  // Red team f2: a 500 with a 300 MB body was read whole by the SDK (212 → 1,125 MiB).
  for (
    const [status, type] of [
      [500, "text/html"],
      [404, "application/json"],
      [502, "text/event-stream"],
      [200, "text/html"],
      [202, "text/plain"],
      [200, "application/octet-stream"],
    ] as const
  ) {
    const { fetchFn, pulled } = endless(status, type);
    const response = await boundedReplies(fetchFn)("http://x/mcp", { body: REQUEST });
    assert.equal(response.status, status);
    const text = await response.text();
    assert.equal(text.length, 64 * 1024, `${status} ${type}`);
    assert.ok(pulled.chunks <= 2, `${status} ${type}: ${pulled.chunks} MiB pulled`);
  }
  // A small error page passes whole.
  const page = "<html><body>Bad gateway</body></html>";
  const small = await boundedReplies(() =>
    Promise.resolve(new Response(page, { status: 502, headers: { "content-type": "text/html" } }))
  )("http://x/mcp", { body: REQUEST });
  assert.equal(await small.text(), page);
});

Deno.test("real HTTP server: a 500 with an endless body fails its call, read no further than the cap", async () => {
  const port = freePort();
  const fixture = fixtureServer("http", ["--port", String(port)]);
  const server = startBackground(fixture.command, fixture.args ?? [], { cwd: fixture.cwd });
  const proxyPort = freePort();
  let sent = 0;
  const chunk = new TextEncoder().encode("x".repeat(1 << 20));
  // In front of the fixture: a call whose body says "bomb" gets a 500 that never ends.
  const proxy = Deno.serve(
    { port: proxyPort, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const body = req.method === "POST" ? await req.text() : undefined;
      if (body?.includes("bomb")) {
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (++sent > 300) controller.close();
              else controller.enqueue(chunk);
            },
          }),
          { status: 500, headers: { "content-type": "text/html" } },
        );
      }
      const headers = new Headers(req.headers);
      headers.delete("host");
      const r = await fetch(`http://127.0.0.1:${port}${new URL(req.url).pathname}`, {
        method: req.method,
        headers,
        body,
      });
      return new Response(r.body, { status: r.status, headers: r.headers });
    },
  );
  try {
    await server.waitForLine(/listening on/);
    const upstream = new UpstreamManager({ web: { url: `http://127.0.0.1:${proxyPort}/mcp` } });
    try {
      await upstream.start();
      const failed = await upstream.callTool("web", "echo", { text: "bomb" }).then(
        () => "ok",
        (e: unknown) => String(e),
      );
      assert.match(failed, /500/);
      // The proxy stopped being read within a few MiB (the rest of 300 was never asked for).
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(sent < 16, `${sent} MiB of the error body were read`);
      const echo = await upstream.callTool("web", "echo", { text: "still serving" });
      assert.deepEqual(echo.content, [{ type: "text", text: "still serving" }]);
    } finally {
      await upstream.close();
    }
  } finally {
    await proxy.shutdown();
    await server.stop();
  }
});

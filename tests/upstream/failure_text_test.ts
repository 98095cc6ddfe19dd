/**
 * What a server writes when it fails is its callers' data: one tenant's card number, sent to a
 * server that crashed or answered an error page on it, reached every other tenant's code
 * ("server S is failed (…)"), the unauthenticated `/readyz` and the log (red team, 2026-11-30).
 * A server's status holds words of ours only; its stderr reaches the log masked, if at all.
 */

import assert from "node:assert/strict";

import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UpstreamManager } from "../../upstream/mod.ts";
import { describeFailure } from "../../upstream/failure_text.ts";
import { redactRenderedText } from "../../pii/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { freePort, startBackground, waitFor } from "./helpers.ts";

const SECRET = "card 4111 1111 1111 1111 for ann@example.com";

/** Whether any of `texts` holds a piece of {@link SECRET}. */
function leaks(...texts: unknown[]): boolean {
  const all = JSON.stringify(texts);
  return all.includes("4111") || all.includes("ann@example.com");
}

Deno.test("failure text: server-supplied words are never kept, local ones are", () => {
  const cases: [unknown, RegExp][] = [
    [new McpError(-32603, `cannot parse ${SECRET}`), /^JSON-RPC error -32603/],
    [new McpError(ErrorCode.ConnectionClosed, `closed ${SECRET}`), /^connection closed$/],
    [new StreamableHTTPError(500, `Error POSTing to endpoint: ${SECRET}`), /^HTTP 500/],
    [new StreamableHTTPError(-1, `Unexpected content type: ${SECRET}`), /^unexpected response/],
    [new SyntaxError(`Unexpected token 'c', "${SECRET}" is not valid JSON`), /^SyntaxError \(/],
    [new Error(SECRET), /^Error \(\d+ characters not shown\)$/],
    [SECRET, /^string \(\d+ characters not shown\)$/],
  ];
  for (const [error, expected] of cases) {
    const text = describeFailure(error);
    assert.match(text, expected);
    assert.ok(!leaks(text), text);
  }
  // Errors raised here keep their (the runtime's) words.
  assert.equal(
    describeFailure(new Deno.errors.NotFound("Failed to spawn 'nope': entity not found")),
    "Failed to spawn 'nope': entity not found",
  );
  assert.match(
    describeFailure(new TypeError("error sending request: Connection refused")),
    /refused/,
  );
});

Deno.test("failure text: a stdio server that crashes quoting its input: status and refusals hold none of it", async () => {
  const events: Record<string, unknown>[] = [];
  const masked: Record<string, unknown>[] = [];
  const config = { faulty: fixtureServer("faulty") };
  const plain = new UpstreamManager(config, {
    restart: { initialMs: 60_000, maxMs: 60_000 },
    logger: (event) => events.push(event),
  });
  const redacting = new UpstreamManager(config, {
    restart: { initialMs: 60_000, maxMs: 60_000 },
    logger: (event) => masked.push(event),
    redactLog: (text) => redactRenderedText(text, { mode: "mask" }).text,
  });
  try {
    for (const upstream of [plain, redacting]) {
      await upstream.start();
      await assert.rejects(upstream.callTool("faulty", "crash_on", { text: SECRET }));
      await waitFor("failed", () => upstream.status()[0].state === "failed");
      const status = upstream.status()[0];
      assert.equal(status.error, "exited with code 3");
      // What another caller is told while the server is down.
      const refusal = await upstream.callTool("faulty", "echo", { text: "x" }).then(
        () => "served",
        (error: Error) => error.message,
      );
      assert.match(refusal, /is unavailable \(failed: exited with code 3\)/);
      assert.ok(!leaks(status, refusal), `${JSON.stringify(status)} ${refusal}`);
    }
    assert.ok(!leaks(events), JSON.stringify(events));
    assert.ok(!leaks(masked), JSON.stringify(masked));
    // With a redactor the operator still learns what the server said, masked.
    const failed = masked.find((e) => e.event === "upstream.failed");
    assert.match(String(failed?.detail), /faulty: cannot parse card \[REDACTED_CARD\]/);
    assert.equal(events.find((e) => e.event === "upstream.failed")?.detail, undefined);
  } finally {
    await plain.close();
    await redacting.close();
  }
});

Deno.test("failure text: a long stderr line is cut before a whole word, never inside a value", async () => {
  const masked: Record<string, unknown>[] = [];
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") }, {
    restart: { initialMs: 60_000, maxMs: 60_000 },
    logger: (event) => masked.push(event),
    redactLog: (text) => redactRenderedText(text, { mode: "mask" }).text,
  });
  try {
    await upstream.start();
    // "faulty: cannot parse " + 263 letters + " " puts the card's 16 digits across the cut at 300.
    const text = `${"x".repeat(263)} 4111111111111111 and more`;
    await assert.rejects(upstream.callTool("faulty", "crash_on", { text }));
    await waitFor("failed", () => upstream.status()[0].state === "failed");
    const detail = String(masked.find((e) => e.event === "upstream.failed")?.detail);
    // Observed before: "… 411111111111111" (15 digits, no longer a card to the detectors).
    assert.ok(!/\d{8}/.test(detail), detail);
    assert.match(detail, /x ?…$/);
  } finally {
    await upstream.close();
  }
});

Deno.test("failure text: an HTTP server's error page fails that call only, and is not kept", async () => {
  const port = freePort();
  const fixture = fixtureServer("http", ["--port", String(port)]);
  const process = startBackground(fixture.command, fixture.args ?? [], { cwd: fixture.cwd });
  const events: Record<string, unknown>[] = [];
  const upstream = new UpstreamManager({ web: { url: `http://127.0.0.1:${port}/mcp` } }, {
    restart: { initialMs: 60_000, maxMs: 60_000 },
    connectTimeoutMs: 5000,
    logger: (event) => events.push(event),
  });
  try {
    await process.waitForLine(/listening on/);
    await upstream.start();
    // Another caller's call in flight while the failing one is answered 500.
    const other = upstream.callTool("web", "echo", { text: "still here" });
    const failure = await upstream.callTool("web", "echo", { text: `crash: ${SECRET}` }).then(
      () => "served",
      (error: Error) => error.message,
    );
    assert.match(failure, /failed: HTTP 500 \(the response is not shown\)/);
    // Observed before: the server was marked failed for everyone and restarted.
    assert.deepEqual((await other).content, [{ type: "text", text: "still here" }]);
    const status = upstream.status()[0];
    assert.equal(status.state, "ready");
    const echo = await upstream.callTool("web", "echo", { text: "after" });
    assert.deepEqual(echo.content, [{ type: "text", text: "after" }]);
    assert.ok(!leaks(status, events, failure), JSON.stringify({ status, events, failure }));
  } finally {
    await upstream.close();
    await process.stop();
  }
});

import assert from "node:assert/strict";

import { UpstreamError, UpstreamManager } from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { everythingHttpCommand } from "../fixtures/servers/reference.ts";
import { freePort, startBackground, waitFor } from "./helpers.ts";

Deno.test("server-everything over Streamable HTTP: catalogue, instructions, calls", async () => {
  const port = freePort();
  const server = everythingHttpCommand(port);
  const process = startBackground(server.command, server.args ?? [], { env: server.env });
  try {
    await process.waitForLine(/listening on port/);
    const upstream = new UpstreamManager({
      remote: { url: `http://127.0.0.1:${port}/mcp`, headers: { "x-client": "airlock-test" } },
    });
    try {
      await upstream.start();
      const [status] = upstream.status();
      assert.equal(status.state, "ready", status.error ?? "");
      assert.equal(status.transport, "http");
      const echo = upstream.tool("remote.echo");
      assert.ok(echo);
      assert.match(echo.serverInstructions ?? "", /Everything Server/);
      assert.ok(upstream.tool("remote.get-structured-content")?.outputSchema);
      const result = await upstream.callTool("remote", "echo", { message: "over http" });
      assert.deepEqual(result.content, [{ type: "text", text: "Echo: over http" }]);
      const sum = await upstream.callTool("remote", "get-sum", { a: 1, b: 2 });
      assert.match(JSON.stringify(sum.content), /3/);
      assert.deepEqual(upstream.stderr("remote"), []);
    } finally {
      await upstream.close();
    }
    // close() ended the HTTP session instead of leaving it to time out.
    await process.waitForLine(/session termination request/);
  } finally {
    await process.stop();
  }
});

Deno.test("HTTP upstream: configured headers are sent; a dead server is marked failed and reconnected", async () => {
  const port = freePort();
  const fixture = fixtureServer("http", ["--port", String(port), "--token", "s3cret"]);
  let process = startBackground(fixture.command, fixture.args ?? [], { cwd: fixture.cwd });
  const url = `http://127.0.0.1:${port}/mcp`;
  const upstream = new UpstreamManager({
    good: { url, headers: { authorization: "Bearer s3cret", "x-client": "airlock" } },
    wrong: { url, headers: { authorization: "Bearer nope" } },
  }, { restart: { initialMs: 200, maxMs: 400 }, connectTimeoutMs: 5000 });
  try {
    await process.waitForLine(/listening on/);
    await upstream.start();
    const [good, wrong] = upstream.status();
    assert.equal(good.state, "ready", good.error ?? "");
    assert.equal(wrong.state, "failed");
    assert.match(wrong.error ?? "", /401|unauthorized/i);
    assert.equal(upstream.tool("good.echo")?.serverInstructions, "HTTP fixture: echoes.");
    const whoami = await upstream.callTool("good", "whoami", {});
    assert.deepEqual(whoami.content, [{ type: "text", text: "airlock" }]);

    // The server goes away: the next call fails with kind "tool" and the server is failed.
    await process.stop();
    await assert.rejects(
      upstream.callTool("good", "echo", { text: "anyone?" }),
      (error: unknown) => error instanceof UpstreamError && error.kind === "tool",
    );
    await waitFor("good marked failed", () => upstream.status()[0].state !== "ready");
    assert.equal(upstream.tool("good.echo"), undefined);

    // It comes back on the same port: the manager reconnects on its own.
    process = startBackground(fixture.command, fixture.args ?? [], { cwd: fixture.cwd });
    await process.waitForLine(/listening on/);
    await waitFor("good ready again", () => upstream.status()[0].state === "ready");
    assert.ok(upstream.status()[0].restarts >= 1);
    const echo = await upstream.callTool("good", "echo", { text: "back" });
    assert.deepEqual(echo.content, [{ type: "text", text: "back" }]);
  } finally {
    await upstream.close();
    await process.stop();
  }
});

import assert from "node:assert/strict";

import { type ServerStatus, UpstreamError, UpstreamManager } from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { newMarker, processesWith, waitFor } from "./helpers.ts";

/** Asserts an error is an UpstreamError of kind "tool" with this reason, naming `server`. */
function isToolError(reason: string, server: string) {
  return (error: unknown) => {
    assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
    assert.equal(error.kind, "tool");
    assert.equal(error.reason, reason, error.message);
    assert.equal(error.server, server);
    assert.ok(error.message.includes(`"${server}"`) || error.message.includes(`${server}.`));
    return true;
  };
}

function statusOf(upstream: UpstreamManager, name: string): ServerStatus {
  const status = upstream.status().find((s) => s.name === name);
  assert.ok(status, `no status for ${name}`);
  return status;
}

Deno.test("a crashing server is marked failed, fails calls fast and is restarted", async () => {
  const changes: string[] = [];
  const upstream = new UpstreamManager({
    faulty: fixtureServer("faulty"),
    steady: fixtureServer("light"),
  }, { restart: { initialMs: 600, maxMs: 2000 } });
  upstream.onCatalogueChange((server) => changes.push(server));
  try {
    await upstream.start();
    assert.equal(statusOf(upstream, "faulty").state, "ready");
    const toolCount = statusOf(upstream, "faulty").tools;
    assert.ok(toolCount > 0);
    changes.length = 0;

    // The call that kills the server fails with kind "tool".
    await assert.rejects(
      upstream.callTool("faulty", "crash", {}),
      isToolError("connection", "faulty"),
    );
    const failed = statusOf(upstream, "faulty");
    assert.equal(failed.state, "failed");
    assert.equal(failed.tools, 0);
    // Never its stderr (see failure_text_test.ts), which stays available to the operator.
    assert.equal(failed.error, "exited with code 3");
    assert.equal(upstream.catalogue().some((tool) => tool.server === "faulty"), false);
    assert.equal(upstream.tool("faulty.echo"), undefined);
    assert.deepEqual(changes, ["faulty"]);
    assert.ok(upstream.stderr("faulty").includes("faulty: crashing on request"));

    // While it is down, calls fail at once with a message naming the server.
    await assert.rejects(
      upstream.callTool("faulty", "echo", { text: "x" }),
      (error: unknown) =>
        isToolError("unavailable", "faulty")(error) &&
        /upstream server "faulty" is unavailable \(failed: exited with code 3/.test(
          (error as Error).message,
        ),
    );
    // Other servers are not affected.
    assert.equal(statusOf(upstream, "steady").state, "ready");
    assert.equal((await upstream.callTool("steady", "ping", {})).isError, undefined);

    await waitFor("faulty restarted", () => statusOf(upstream, "faulty").state === "ready");
    const restarted = statusOf(upstream, "faulty");
    assert.equal(restarted.restarts, 1);
    assert.equal(restarted.error, undefined);
    assert.equal(restarted.tools, toolCount);
    assert.deepEqual(changes, ["faulty", "faulty"]);
    const echoed = await upstream.callTool("faulty", "echo", { text: "back" });
    assert.deepEqual(echoed.content, [{ type: "text", text: "back" }]);
  } finally {
    await upstream.close();
  }
});

/** Crashes `faulty` twice and returns the two restart delays the manager chose. */
async function delaysAfterTwoCrashes(resetAfterMs: number): Promise<number[]> {
  const delays: number[] = [];
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") }, {
    restart: { initialMs: 100, maxMs: 10_000, resetAfterMs },
    logger: (event) => {
      if (event.event === "upstream.restart_scheduled") delays.push(event.delayMs as number);
    },
  });
  try {
    await upstream.start();
    for (let crash = 1; crash <= 2; crash++) {
      await assert.rejects(upstream.callTool("faulty", "crash", {}));
      await waitFor(`restart ${crash}`, () => statusOf(upstream, "faulty").restarts === crash);
      await waitFor(`ready ${crash}`, () => statusOf(upstream, "faulty").state === "ready");
    }
  } finally {
    await upstream.close();
  }
  return delays;
}

Deno.test("restart delays grow while a server keeps failing and start over once it stayed up", async () => {
  // Jitter keeps delay n within [initialMs·2^n / 2, initialMs·2^n].
  const growing = await delaysAfterTwoCrashes(60_000);
  assert.equal(growing.length, 2);
  assert.ok(growing[0] <= 100 && growing[1] >= 100, `delays ${growing} should grow`);
  const reset = await delaysAfterTwoCrashes(0);
  assert.equal(reset.length, 2);
  assert.ok(reset[0] <= 100 && reset[1] <= 100, `delays ${reset} should start over`);
});

Deno.test("a server that cannot start: missing command, crash on start; start() still resolves", async () => {
  const upstream = new UpstreamManager({
    crashy: fixtureServer("faulty", ["--mode", "crash-on-start"]),
    missing: { command: "/nonexistent/airlock-no-such-server", args: ["--x"] },
    steady: fixtureServer("light"),
  }, { restart: { initialMs: 40, maxMs: 200 } });
  try {
    await upstream.start();
    assert.equal(statusOf(upstream, "steady").state, "ready");
    assert.deepEqual(upstream.catalogue().map((tool) => tool.id), ["steady.ping"]);

    const missing = statusOf(upstream, "missing");
    assert.notEqual(missing.state, "ready");
    assert.match(
      missing.error ?? "",
      /^command not found: \/nonexistent\/airlock-no-such-server$/,
    );
    await assert.rejects(
      upstream.callTool("missing", "anything", {}),
      isToolError("unavailable", "missing"),
    );

    const crashy = statusOf(upstream, "crashy");
    assert.notEqual(crashy.state, "ready");
    assert.equal(crashy.error, "exited with code 2");
    assert.deepEqual(upstream.stderr("crashy"), ["faulty: refusing to start"]);

    // Both keep being retried, with backoff.
    await waitFor(
      "several restarts",
      () =>
        statusOf(upstream, "missing").restarts >= 3 && statusOf(upstream, "crashy").restarts >= 2,
    );
    assert.equal(statusOf(upstream, "steady").restarts, 0);
  } finally {
    await upstream.close();
  }
  assert.deepEqual(upstream.status().map((s) => s.state), ["closed", "closed", "closed"]);
});

Deno.test("a server that never answers initialize fails after the connect timeout, and its process is gone", async () => {
  const marker = newMarker();
  const events: string[] = [];
  const upstream = new UpstreamManager({
    never: fixtureServer("faulty", ["--mode", "never-answer"], { MARKER: marker }),
    steady: fixtureServer("light"),
  }, {
    connectTimeoutMs: 1500,
    restart: { initialMs: 60_000, maxMs: 60_000 },
    logger: (event) => events.push(`${event.event} ${event.server}`),
  });
  try {
    await upstream.start();
    // The hung server did not hold the other one up.
    assert.ok(events.includes("upstream.ready steady") && events.includes("upstream.failed never"));
    assert.ok(
      events.indexOf("upstream.ready steady") < events.indexOf("upstream.failed never"),
      events.join(", "),
    );
    const never = statusOf(upstream, "never");
    assert.equal(never.state, "failed");
    assert.equal(never.error, "did not start within 1500 ms");
    assert.equal(statusOf(upstream, "steady").state, "ready");
    assert.deepEqual(processesWith(marker), [], "the hung process was killed");
  } finally {
    await upstream.close();
  }
});

Deno.test("a hanging tool times out per call; the server and other servers keep working", async () => {
  const events: Record<string, unknown>[] = [];
  const upstream = new UpstreamManager({
    faulty: fixtureServer("faulty"),
    steady: fixtureServer("light"),
  }, { callTimeoutMs: 30_000, logger: (event) => events.push(event) });
  try {
    await upstream.start();
    const hanging = upstream.callTool("faulty", "hang", {}, { timeoutMs: 400 });
    // While it hangs, the same server and another one answer.
    const [echo, ping] = await Promise.all([
      upstream.callTool("faulty", "echo", { text: "still here" }),
      upstream.callTool("steady", "ping", {}),
    ]);
    assert.deepEqual(echo.content, [{ type: "text", text: "still here" }]);
    assert.deepEqual(ping.content, [{ type: "text", text: "pong from light" }]);
    await assert.rejects(
      hanging,
      (error: unknown) =>
        isToolError("timeout", "faulty")(error) &&
        (error as Error).message === "call to faulty.hang timed out after 400 ms",
    );
    // The timeout triggers a liveness ping, which a merely slow server answers.
    await waitFor("liveness ping", () => events.some((event) => event.event === "upstream.alive"));
    assert.equal(statusOf(upstream, "faulty").state, "ready");
    assert.equal(statusOf(upstream, "faulty").restarts, 0);
  } finally {
    await upstream.close();
  }
});

Deno.test("a server that stops answering altogether (not even ping) is failed and restarted", async () => {
  const events: Record<string, unknown>[] = [];
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") }, {
    pingTimeoutMs: 300,
    restart: { initialMs: 100, maxMs: 200 },
    logger: (event) => events.push(event),
  });
  try {
    await upstream.start();
    await assert.rejects(
      upstream.callTool("faulty", "freeze", {}, { timeoutMs: 300 }),
      isToolError("timeout", "faulty"),
    );
    await waitFor("faulty failed", () => statusOf(upstream, "faulty").restarts >= 1);
    assert.deepEqual(events.filter((event) => event.event === "upstream.failed"), [{
      event: "upstream.failed",
      server: "faulty",
      error: "stopped responding (no answer to ping within 300 ms)",
      restarts: 0,
    }]);
    await waitFor("faulty ready again", () => statusOf(upstream, "faulty").state === "ready");
    const echoed = await upstream.callTool("faulty", "echo", { text: "thawed" });
    assert.deepEqual(echoed.content, [{ type: "text", text: "thawed" }]);
  } finally {
    await upstream.close();
  }
});

Deno.test("the default call timeout applies, and an AbortSignal cancels a call", async () => {
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") }, {
    callTimeoutMs: 300,
  });
  try {
    await upstream.start();
    await assert.rejects(upstream.callTool("faulty", "hang", {}), isToolError("timeout", "faulty"));
    // A per-call timeout overrides the default.
    const slept = await upstream.callTool("faulty", "sleep", { ms: 500 }, { timeoutMs: 5000 });
    assert.deepEqual(slept.content, [{ type: "text", text: "slept 500" }]);

    const controller = new AbortController();
    const call = upstream.callTool("faulty", "hang", {}, {
      timeoutMs: 30_000,
      signal: controller.signal,
    });
    controller.abort();
    await assert.rejects(call, isToolError("cancelled", "faulty"));
    await assert.rejects(
      upstream.callTool("faulty", "echo", { text: "x" }, { signal: AbortSignal.abort() }),
      isToolError("cancelled", "faulty"),
    );
  } finally {
    await upstream.close();
  }
});

Deno.test("bad calls are refused with kind tool: unknown server, unknown tool, non-object arguments, invalid arguments", async () => {
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") });
  try {
    await upstream.start();
    await assert.rejects(
      upstream.callTool("nope", "echo", {}),
      isToolError("unknown_server", "nope"),
    );
    await assert.rejects(
      upstream.callTool("faulty", "nope", {}),
      isToolError("unknown_tool", "faulty"),
    );
    await assert.rejects(
      upstream.callTool("faulty", "echo", [] as unknown as Record<string, unknown>),
      isToolError("invalid_arguments", "faulty"),
    );
    // The server rejects arguments that do not match the schema: a tool error result.
    const result = await upstream.callTool("faulty", "echo", { text: 42 });
    assert.equal(result.isError, true);
  } finally {
    await upstream.close();
  }
});

Deno.test("stdio servers get PATH, HOME and their configured env only, never the gateway's", async () => {
  Deno.env.set("AIRLOCK_TEST_GATEWAY_SECRET", "do-not-leak");
  const upstream = new UpstreamManager({
    faulty: fixtureServer("faulty", [], { CONFIGURED: "yes" }),
  });
  try {
    await upstream.start();
    const result = await upstream.callTool("faulty", "env", {});
    assert.deepEqual(result.content, [
      { type: "text", text: JSON.stringify(["CONFIGURED", "HOME", "PATH"]) },
    ]);
  } finally {
    Deno.env.delete("AIRLOCK_TEST_GATEWAY_SECRET");
    await upstream.close();
  }
});

Deno.test("the constructor refuses malformed server entries", () => {
  assert.throws(() => new UpstreamManager({ "a.b": { command: "x" } }), TypeError);
  assert.throws(() => new UpstreamManager({ "": { command: "x" } }), TypeError);
  assert.throws(
    () => new UpstreamManager({ both: { command: "x", url: "http://h/" } as never }),
    /exactly one of "command" or "url"/,
  );
  assert.throws(() => new UpstreamManager({ bad: { url: "ftp://h/" } }), /http\(s\)/);
  assert.throws(() => new UpstreamManager({ bad: { url: "not a url" } }), /valid URL/);
});

Deno.test("large results with multi-byte text arrive intact over stdio", async () => {
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") });
  try {
    await upstream.start();
    const text = "airlock é € 😀 ".repeat(200_000); // ~3.4 MB of UTF-8, many pipe chunks
    const [big, small] = await Promise.all([
      upstream.callTool("faulty", "echo", { text }),
      upstream.callTool("faulty", "echo", { text: "small" }),
    ]);
    assert.equal((big.content[0] as { text: string }).text, text);
    assert.deepEqual(small.content, [{ type: "text", text: "small" }]);
  } finally {
    await upstream.close();
  }
});

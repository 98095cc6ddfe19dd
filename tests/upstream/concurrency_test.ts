import assert from "node:assert/strict";

import { type CallToolResult, type ServerConfig, UpstreamManager } from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { newMarker, processesWith } from "./helpers.ts";

const SERVERS = 70;

/** Starts `count` light servers; returns the manager, the start time and the log. */
async function startLight(count: number, marker: string) {
  const servers: Record<string, ServerConfig> = {};
  for (let i = 0; i < count; i++) {
    const name = `light${String(i).padStart(2, "0")}`;
    servers[name] = fixtureServer("light", ["--name", name], { MARKER: marker });
  }
  const events: Record<string, unknown>[] = [];
  const upstream = new UpstreamManager(servers, {
    connectTimeoutMs: 120_000,
    logger: (event) => events.push(event),
  });
  const started = performance.now();
  await upstream.start();
  return { upstream, ms: performance.now() - started, events };
}

Deno.test(`${SERVERS} stdio servers start concurrently, and close() leaves no process`, async () => {
  const marker = newMarker();

  // Baseline: one server alone.
  const single = await startLight(1, marker);
  await single.upstream.close();

  const many = await startLight(SERVERS, marker);
  const { upstream, events } = many;
  try {
    const states = upstream.status().map((s) => s.state);
    assert.deepEqual(states, Array(SERVERS).fill("ready"));
    assert.equal(upstream.catalogue().length, SERVERS);
    assert.equal(processesWith(marker).length, SERVERS);

    // Not serialised: every server began connecting before the first one was ready.
    const kinds = events.map((event) => event.event);
    const lastConnecting = kinds.lastIndexOf("upstream.connecting");
    const firstReady = kinds.indexOf("upstream.ready");
    assert.equal(kinds.filter((kind) => kind === "upstream.connecting").length, SERVERS);
    assert.ok(lastConnecting < firstReady, "all connects began before any finished");

    // Every server answers, all at once.
    const results = await Promise.all(
      upstream.status().map((s) => upstream.callTool(s.name, "ping", {})),
    );
    assert.deepEqual(
      results.map((r: CallToolResult) => (r.content[0] as { text: string }).text),
      upstream.status().map((s) => `pong from ${s.name}`),
    );
  } finally {
    await upstream.close();
  }
  assert.deepEqual(processesWith(marker), []);

  const ratio = many.ms / single.ms;
  console.log(
    `start-up: 1 server ${single.ms.toFixed(0)} ms, ${SERVERS} servers ${many.ms.toFixed(0)} ms ` +
      `(${ratio.toFixed(1)}× one server; serial would be ~${SERVERS}×)`,
  );
});

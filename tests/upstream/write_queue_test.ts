/**
 * The bytes waiting for an upstream server's stdin: bounded, dropped when their call is
 * cancelled before any of it was written, and a server that stops reading is restarted.
 *
 * @module
 */

import assert from "node:assert/strict";

import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

import { type ServerStatus, UpstreamError, UpstreamManager } from "../../upstream/mod.ts";
import { StdioProcessTransport } from "../../upstream/stdio_transport.ts";
import { settlesWithin } from "../../upstream/wait.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { freePort, startBackground, waitFor } from "./helpers.ts";

const MIB = 1024 * 1024;

/**
 * A process that reads nothing from stdin until it gets SIGUSR1, then reads every line and
 * writes `<method> <id or cancelled requestId>` for each to stderr (the transport keeps a
 * tail of it). Until then the gateway's writes fill the pipe and stop, like those to a
 * server whose event loop is stuck.
 */
const LATE_READER = `
let release;
const released = new Promise((resolve) => (release = resolve));
Deno.addSignalListener("SIGUSR1", () => release());
console.error("waiting");
await released;
let pending = "";
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  const lines = (pending + decoder.decode(chunk, { stream: true })).split("\\n");
  pending = lines.pop();
  for (const line of lines) {
    const m = JSON.parse(line);
    console.error(m.method + " " + (m.id ?? m.params?.requestId));
  }
}
`;

function lateReader(options: { maxQueuedBytes?: number } = {}): StdioProcessTransport {
  return new StdioProcessTransport(
    { command: Deno.execPath(), args: ["eval", LATE_READER] },
    { server: "stuck", ...options },
  );
}

/** A `tools/call` request for `echo` with `size` bytes of text. */
function call(id: number, size: number): JSONRPCMessage {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "a".repeat(size) } },
  };
}

function cancel(id: number): JSONRPCMessage {
  return { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id } };
}

/** Lets the reader go and waits until it has logged `count` messages. */
async function release(transport: StdioProcessTransport, count: number): Promise<string[]> {
  Deno.kill(transport.pid!, "SIGUSR1");
  const seen = () => transport.stderrTail.filter((line) => line !== "waiting");
  await waitFor(`${count} messages read`, () => seen().length >= count);
  return seen();
}

async function started(transport: StdioProcessTransport): Promise<void> {
  await transport.start();
  await waitFor("reader up", () => transport.stderrTail.includes("waiting"));
}

/** Whether `promise` settled, without waiting for a promise that never does (old code). */
function settled(promise: Promise<unknown>): Promise<boolean> {
  return settlesWithin(promise, 10_000);
}

Deno.test("messages past the queue's cap are refused at once, naming server and tool, and never sent", async () => {
  const transport = lateReader({ maxQueuedBytes: 10 * MIB });
  try {
    await started(transport);
    const accepted = [1, 2, 3].map((id) => transport.send(call(id, 3 * MIB)));
    for (const send of accepted) send.catch(() => {}); // awaited below
    // 9 MiB wait (less what the pipe took): 3 MiB or 2 MiB more would pass the 10 MiB cap.
    const refused = [
      transport.send(call(4, 3 * MIB)),
      transport.send(call(5, 2 * MIB)),
    ];
    for (const send of refused) send.catch(() => {}); // checked below
    for (const send of refused) {
      assert.ok(await settled(send), "a send past the cap settles at once");
      await assert.rejects(send, (error: unknown) => {
        assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
        assert.equal(error.kind, "tool");
        assert.equal(error.reason, "overloaded");
        assert.equal(error.server, "stuck");
        assert.equal(error.tool, "echo");
        assert.match(error.message, /upstream server "stuck"/);
        assert.match(error.message, /stuck\.echo/);
        // Not how much is queued in all: that would tell of other tenants' calls.
        assert.match(error.message, /its input queue is full/);
        return true;
      });
    }
    assert.ok(transport.queuedBytes <= 10 * MIB, `${transport.queuedBytes} bytes queued`);
    // The SDK cancels refused requests too: the server never saw them, so nothing is written
    // (queued behind a stalled write, each notice would hold its request's arguments).
    const refusedCancels = Promise.all([transport.send(cancel(4)), transport.send(cancel(5))]);
    assert.ok(await settled(refusedCancels), "cancelling a refused request needs no write");
    // A small message still fits; the server gets exactly what was accepted, in order.
    const small = transport.send(call(6, 10));
    const seen = await release(transport, 4);
    await Promise.all([...accepted, small]);
    assert.deepEqual(seen, ["tools/call 1", "tools/call 2", "tools/call 3", "tools/call 6"]);
    assert.equal(transport.queuedBytes, 0);
  } finally {
    await transport.close();
  }
});

Deno.test("a cancelled request none of which was written leaves the queue; the server never sees it", async () => {
  const transport = lateReader();
  try {
    await started(transport);
    const sends = [1, 2, 3, 4].map((id) => transport.send(call(id, 3 * MIB)));
    for (const send of sends) send.catch(() => {}); // awaited below
    // Request 1 is being written (the pipe took its start): its cancellation must follow
    // it. Requests 2 and 4 have not been started: they and their cancellations go.
    const before = transport.queuedBytes;
    const dropped = Promise.all([transport.send(cancel(2)), transport.send(cancel(4))]);
    assert.ok(await settled(dropped), "cancelling an unsent request needs no write");
    const cancel1 = transport.send(cancel(1));
    cancel1.catch(() => {}); // awaited below
    assert.ok(before - transport.queuedBytes >= 6 * MIB, "their bytes are released at once");
    assert.ok(await settled(Promise.all([sends[1], sends[3]])), "their sends resolved");
    const seen = await release(transport, 3);
    await Promise.all([sends[0], sends[2], cancel1]);
    assert.deepEqual(seen, ["tools/call 1", "tools/call 3", "notifications/cancelled 1"]);
    assert.equal(transport.queuedBytes, 0);
  } finally {
    await transport.close();
  }
});

Deno.test("closing a transport with messages still queued fails their sends and keeps none of them", async () => {
  const transport = lateReader();
  await started(transport);
  const sends = [1, 2, 3].map((id) =>
    transport.send(call(id, 3 * MIB)).then(() => "written", (error: Error) => error)
  );
  await transport.close();
  assert.ok(await settled(Promise.all(sends)), "close() settled every send");
  for (const outcome of await Promise.all(sends)) assert.ok(outcome instanceof Error);
  assert.equal(transport.queuedBytes, 0);
  await assert.rejects(transport.send(call(4, 10)), /Not connected/);
});

function statusOf(upstream: UpstreamManager, name: string): ServerStatus {
  const status = upstream.status().find((s) => s.name === name);
  assert.ok(status, `no status for ${name}`);
  return status;
}

Deno.test("a server that stopped reading its input is pinged and restarted though every call was cancelled before its timeout", async () => {
  const events: Record<string, unknown>[] = [];
  const upstream = new UpstreamManager({ faulty: fixtureServer("faulty") }, {
    // A write stuck this long counts like a call that timed out; no call here times out.
    callTimeoutMs: 1000,
    pingTimeoutMs: 300,
    restart: { initialMs: 100, maxMs: 200 },
    logger: (event) => events.push(event),
  });
  try {
    await upstream.start();
    const execution = new AbortController();
    const long = { timeoutMs: 120_000, signal: execution.signal };
    // The freeze is written first; the server stops when it reads it, before the rest.
    const frozen = upstream.callTool("faulty", "freeze", {}, long).catch((e) => e);
    // Fire-and-forget calls, as an execution makes them; the default cap is 32 MiB, so the
    // ninth on are refused at once, and those queued are dropped when the execution ends.
    const big = "a".repeat(4_000_000);
    const calls = Array.from(
      { length: 16 },
      () => upstream.callTool("faulty", "echo", { text: big }, long).catch((e) => e),
    );
    assert.ok(await settled(Promise.all(calls.slice(9))), "calls past the cap settle at once");
    for (const error of await Promise.all(calls.slice(9))) {
      assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
      assert.equal(error.reason, "overloaded");
      assert.match(error.message, /upstream server "faulty".*faulty\.echo/);
    }
    execution.abort(); // the execution answered: its calls are cancelled
    await Promise.all([frozen, ...calls]);
    await waitFor("faulty restarted", () => statusOf(upstream, "faulty").restarts >= 1, 20_000);
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

Deno.test("HTTP: request bodies in flight to a server that does not answer are bounded, and a cancelled call's POST is aborted", async () => {
  const port = await freePort();
  const fixture = fixtureServer("http", ["--port", String(port)]);
  const server = startBackground(fixture.command, fixture.args ?? [], { cwd: fixture.cwd });
  const upstream = new UpstreamManager({ remote: { url: `http://127.0.0.1:${port}/mcp` } });
  try {
    await server.waitForLine(/listening on/);
    await upstream.start();
    const big = "a".repeat(4_000_000);
    const hang = (signal: AbortSignal) =>
      upstream.callTool("remote", "hang", { text: big }, { timeoutMs: 120_000, signal })
        .catch((e) => e);
    // An execution's calls to a tool that never answers: each POST holds its 4 MB body.
    const execution = new AbortController();
    const calls = Array.from({ length: 12 }, () => hang(execution.signal));
    assert.ok(await settled(Promise.all(calls.slice(9))), "calls past the cap settle at once");
    for (const error of await Promise.all(calls.slice(9))) {
      assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${error}`);
      assert.equal(error.reason, "overloaded");
      assert.equal(error.server, "remote");
      assert.match(error.message, /upstream server "remote".*remote\.hang/);
    }
    execution.abort(); // it answered: its calls are cancelled, and their POSTs aborted
    await Promise.all(calls);
    // The budget is free again: a later execution's big call is not refused. (A refusal
    // settles at once; an accepted call to `hang` never does.)
    let accepted = false;
    for (let tries = 0; tries < 50 && !accepted; tries++) {
      const later = new AbortController();
      const call = hang(later.signal);
      accepted = !(await settlesWithin(call, 200));
      later.abort();
      await call;
      if (!accepted) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(accepted, "the cancelled calls' bodies are no longer counted");
  } finally {
    await upstream.close();
    await server.stop();
  }
});

Deno.test("stdio queue: each tenant gets its share and its turn; refusals tell only of its own", async () => {
  let owner: string | undefined;
  const transport = new StdioProcessTransport(
    { command: Deno.execPath(), args: ["eval", LATE_READER] },
    { server: "stuck", maxQueuedBytes: 16 * MIB, ownerOf: () => owner },
  );
  try {
    await started(transport);
    const send = (who: string | undefined, message: JSONRPCMessage) => {
      owner = who;
      try {
        return transport.send(message).then(() => "sent", (e: Error) => e.message);
      } finally {
        owner = undefined;
      }
    };
    // Tenant a: 1 MiB calls past its share (a quarter of 16 MiB; the pipe takes some at once).
    const a = Array.from({ length: 8 }, (_, i) => send("a", call(i + 1, MIB)));
    // Tenant b, after all of them, still gets in, and is written before a's later calls.
    const b = [send("b", call(100, 1000)), send("b", call(101, 1000))];
    const gateway = send(undefined, call(200, 1000));
    const refusals = (await Promise.all(a.map((p) => Promise.race([p, delay(300, "waiting")]))))
      .filter((r) => r !== "sent" && r !== "waiting");
    // Observed before: one queue for everyone, first come first served, refusals naming the
    // total of everyone's bytes.
    assert.ok(refusals.length >= 1, "a's calls past its share are refused");
    for (const message of refusals) {
      assert.match(message, /of this tenant's messages are still waiting .* per tenant/);
    }
    const order = await release(transport, (8 - refusals.length) + 3);
    const ids = order.map((line) => Number(line.split(" ")[1]));
    assert.ok(ids.indexOf(100) < ids.lastIndexOf(8 - refusals.length), ids.join(","));
    assert.deepEqual(await Promise.all([...b, gateway]), ["sent", "sent", "sent"]);
  } finally {
    await transport.close();
  }
});

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(() => r(value), ms));
}

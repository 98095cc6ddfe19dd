/**
 * What one client can make the gateway hold over HTTP: pipelined requests whose responses it
 * never reads, request bodies it never finishes, bodies sent without a key. Each test runs a
 * real `main.ts serve` and measures its resident memory from outside (/proc/<pid>/status),
 * with generous margins: what remains is mostly garbage of refused or dropped requests (a
 * connection closed for pipelining still has the rest of its last read chunk parsed). The
 * unbounded server grew 264 MB in the pipelining test (and still growing), held ~1 MiB per
 * unfinished body and answered a keyless body only once it had all arrived.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  type GatewayProcess,
  startGatewayProcess,
  tenantWithKey,
  writeConfig,
} from "../e2e/process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MB = 1024 * 1024;
const KEY = "memory-test-key";

/** "Did not hang" bound for a reply the server should send at once. */
const HANG_MS = 10_000;

/** Resident memory of process `pid`, in bytes (VmRSS). */
async function rss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  assert(match, "no VmRSS");
  return Number(match[1]) * 1024;
}

/** Starts a gateway with API keys, a 1 MiB body limit and a 4 MiB body budget. */
async function startGateway(): Promise<GatewayProcess> {
  const config = await writeConfig({
    servers: {},
    audit: { path: ":memory:" },
    sandbox: { poolSize: 1 },
    selection: { embedder: "lexical" },
    auth: { tenants: { acme: tenantWithKey(KEY) } },
    http: { maxBodyBytes: MB, maxHeldBodyBytes: 4 * MB, maxHeldBodyBytesPerTenant: 4 * MB },
  });
  return await startGatewayProcess(config);
}

function portOf(gw: GatewayProcess): number {
  return Number(new URL(gw.url).port);
}

/** Writes everything, however long the server takes to read it. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Reads until a whole response head has arrived (or the server closes); its status line and headers. */
async function readHead(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(65536);
  let text = "";
  const deadline = setTimeout(() => closeQuietly(conn), HANG_MS);
  try {
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
    }
  } finally {
    clearTimeout(deadline);
  }
  return text.slice(0, Math.max(0, text.indexOf("\r\n\r\n")));
}

function closeQuietly(conn: Deno.Conn) {
  try {
    conn.close();
  } catch { /* closed already */ }
}

/** `/healthz` from another client answers while the gateway is under load. */
async function healthy(gw: GatewayProcess): Promise<number> {
  const response = await fetch(`${gw.url}/healthz`, { signal: AbortSignal.timeout(HANG_MS) });
  await response.body?.cancel();
  return response.status;
}

/** Pipelines `n` `/healthz` on a fresh connection and reads the answers; how many were 200. */
async function pipelineAndRead(gw: GatewayProcess, n: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
  try {
    const request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    const writing = writeAll(conn, encoder.encode(request.repeat(n)));
    let text = "";
    const buffer = new Uint8Array(65536);
    const deadline = setTimeout(() => closeQuietly(conn), HANG_MS);
    while ((text.match(/HTTP\/1\.1 200/g)?.length ?? 0) < n) {
      const read = await conn.read(buffer).catch(() => null);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read));
    }
    clearTimeout(deadline);
    await writing;
    return text.match(/HTTP\/1\.1 200/g)?.length ?? 0;
  } finally {
    closeQuietly(conn);
  }
}

const settle = () => new Promise((r) => setTimeout(r, 3000));

Deno.test({
  name: "memory: pipelined requests whose responses are never read are bounded per connection",
  // Writes the server never reads stay pending until their connection closes.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startGateway();
    const conns: Deno.Conn[] = [];
    try {
      await healthy(gw);
      const before = await rss(gw.pid);
      // No key needed for any of these; each connection sends MBs of requests at once and
      // reads nothing. Unbounded, this was ~20 KB per /healthz and ~110 KB per /openapi.json.
      const floods: Array<[string, number]> = [
        ["GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 10_000],
        ["GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n", 5_000],
        ["GET /no/such/route HTTP/1.1\r\nHost: localhost\r\n\r\n", 10_000],
        ["HEAD /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n", 10_000],
        // A key-holding client is bounded the same way.
        [
          `GET /v1/tools HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\n\r\n`,
          5_000,
        ],
      ];
      for (const [request, n] of floods) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
        conns.push(conn);
        conn.write(encoder.encode(request.repeat(n))).catch(() => {});
      }
      await settle();
      assertEquals(await healthy(gw), 200);
      const grown = (await rss(gw.pid) - before) / MB;
      console.log(`gateway RSS grew ${grown.toFixed(0)} MB for 5 pipelining connections`);
      assert(grown < 150, `5 connections that never read made the gateway hold ${grown} MB`);
      // A client that pipelines a few requests and reads its answers gets them all.
      assertEquals(await pipelineAndRead(gw, 8), 8);
    } finally {
      for (const conn of conns) closeQuietly(conn);
      await gw.stop();
    }
  },
});

Deno.test({
  name: "memory: a client that sends requests one by one and never reads is disconnected",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startGateway();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
    try {
      // Each request is answered before the next is sent (17 KB each), so no two are ever
      // unanswered at once: only the unsent bytes show that the client does not read.
      const request = encoder.encode("GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n");
      let sent = 0;
      let refused = false;
      while (sent < 5000 && !refused) {
        await writeAll(conn, request).then(() => sent++, () => refused = true);
        await new Promise((r) => setTimeout(r, 1));
      }
      // Unbounded, all 5,000 responses (85 MB) were queued in the gateway.
      assert(refused, `the gateway took ${sent} requests from a client that reads nothing`);
      assertEquals(await healthy(gw), 200);
    } finally {
      closeQuietly(conn);
      await gw.stop();
    }
  },
});

/** Headers of a `POST` with a JSON body of `length` bytes. */
function postHead(path: string, length: number, key?: string, host = "localhost"): string {
  const auth = key ? `Authorization: Bearer ${key}\r\n` : "";
  return `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `${auth}Content-Length: ${length}\r\n\r\n`;
}

/** A JSON body of `length` bytes for `POST /v1/execute`. */
function executeBody(length: number): Uint8Array {
  const start = '{"code":"return 1","intent":"';
  return encoder.encode(start + "a".repeat(length - start.length - 2) + '"}');
}

Deno.test({
  name: "memory: unfinished bodies share one budget; beyond it 503 with Retry-After",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startGateway();
    const conns: Deno.Conn[] = [];
    try {
      await healthy(gw);
      const before = await rss(gw.pid);
      const length = MB - 16;
      const body = executeBody(length);
      const head = encoder.encode(postHead("/v1/execute", length, KEY));
      // 4 MiB of budget: 4 such bodies may be read; the fifth is refused at once.
      for (let i = 0; i < 4; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
        conns.push(conn);
        await writeAll(conn, head);
        await writeAll(conn, body.subarray(0, body.length - 1)); // the last byte never comes
      }
      const refused = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
      conns.push(refused);
      await writeAll(refused, head);
      const reply = await readHead(refused);
      assertMatch(reply, /^HTTP\/1\.1 503/);
      assertMatch(reply, /^retry-after: \d+/im);
      // A chunked body counts as maxBodyBytes: refused too.
      const chunked = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
      conns.push(chunked);
      await writeAll(
        chunked,
        encoder.encode(
          `POST /v1/execute HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\n` +
            'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{"code":"return\r\n',
        ),
      );
      assertMatch(await readHead(chunked), /^HTTP\/1\.1 503/);
      // Many more unfinished bodies hold no more memory than the budget.
      for (let i = 0; i < 200; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
        conns.push(conn);
        await writeAll(conn, head);
        conn.write(body.subarray(0, body.length - 1)).catch(() => {});
      }
      await settle();
      assertEquals(await healthy(gw), 200);
      const grown = (await rss(gw.pid) - before) / MB;
      console.log(`gateway RSS grew ${grown.toFixed(0)} MB for 204 unfinished 1 MiB bodies`);
      assert(grown < 120, `204 unfinished bodies made the gateway hold ${grown} MB`);
      // Once the held bodies are gone, a body is let in again.
      for (const conn of conns) closeQuietly(conn);
      conns.length = 0;
      let status = 0;
      for (let i = 0; i < 50 && status !== 400; i++) {
        const response = await fetch(`${gw.url}/v1/execute`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
          body: "{}",
        });
        await response.body?.cancel();
        status = response.status;
        if (status === 503) await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(status, 400, "an invalid request is read (and refused for what it says)");
    } finally {
      for (const conn of conns) closeQuietly(conn);
      await gw.stop();
    }
  },
});

Deno.test({
  name: "memory: without a valid key no body byte is read on a route that needs one",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startGateway();
    const conns: Deno.Conn[] = [];
    try {
      await healthy(gw);
      // Each request announces a body and sends all of it but the last byte: the refusal must
      // come before the body (the old server read bodies up to 64 KiB whole first, so it
      // answered only at the body deadline, 30 s).
      const cases: Array<[string, string | undefined, RegExp, string?]> = [
        ["/v1/execute", undefined, /^HTTP\/1\.1 401/],
        ["/v1/execute", "not-a-key", /^HTTP\/1\.1 401/],
        ["/mcp", undefined, /^HTTP\/1\.1 401/],
        ["/v1/approvals/some-id", undefined, /^HTTP\/1\.1 401/],
        // A tenant key is not an approver key.
        ["/v1/approvals/some-id", KEY, /^HTTP\/1\.1 403/],
        // DNS rebinding: the Host check comes first, as in the app, even with a valid key.
        ["/v1/execute", KEY, /^HTTP\/1\.1 403/, "evil.example"],
      ];
      for (const [path, key, expected, host] of cases) {
        const length = 60_000;
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
        conns.push(conn);
        await writeAll(conn, encoder.encode(postHead(path, length, key, host)));
        await writeAll(conn, executeBody(length).subarray(0, length - 1));
        const reply = await readHead(conn);
        assertMatch(reply, expected, `${path} with ${key ?? "no key"}: ${reply}`);
        assertMatch(reply, /^connection: close/im);
      }
      // Many anonymous connections: each refused, none holding its body.
      const before = await rss(gw.pid);
      const length = 64 * 1024;
      const body = executeBody(length).subarray(0, length - 1);
      for (let i = 0; i < 3000; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(gw) });
        conns.push(conn);
        await writeAll(conn, encoder.encode(postHead("/v1/execute", length)));
        conn.write(body).catch(() => {});
      }
      await settle();
      assertEquals(await healthy(gw), 200);
      const grown = (await rss(gw.pid) - before) / MB;
      console.log(`gateway RSS grew ${grown.toFixed(0)} MB for 3,000 anonymous 64 KiB bodies`);
      // Each refusal leaves garbage (~40 KB); each read body held ~80 KB more till its deadline.
      assert(grown < 200, `3,000 anonymous bodies made the gateway hold ${grown} MB`);
    } finally {
      for (const conn of conns) closeQuietly(conn);
      await gw.stop();
    }
  },
});

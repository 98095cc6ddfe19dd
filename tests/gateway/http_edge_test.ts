/**
 * The HTTP edge over real sockets: the Host/Origin check (DNS rebinding) on every route, header,
 * body and idle deadlines, the connection cap, recovery from a descriptor flood, shutdown.
 * Raw requests go through `Deno.connect`, since `fetch` picks its own `Host`.
 */

import { Hono } from "hono";
import { defaultMaxConnections, HostGuard, openFileLimit, serveHttp } from "../../api/mod.ts";
import { ConfigError, parseConfig } from "../../gateway/mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { freePort, startTestGateway } from "../helpers.ts";
import { MAIN, REPO, tenantWithKey, writeConfig } from "../e2e/process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** "Did not hang" bound for anything the server should do within a few hundred ms. */
const HANG_MS = 5000;

interface RawReply {
  status: number;
  headers: string;
  body: string;
}

/** Sends `head` (and `body`) on a fresh connection and reads the reply until the server closes. */
async function raw(port: number, head: string, body = ""): Promise<RawReply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(head + body));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    const deadline = setTimeout(() => conn.close(), HANG_MS);
    try {
      while (true) {
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
      }
    } finally {
      clearTimeout(deadline);
    }
    const text = decoder.decode(concat(chunks));
    const end = text.indexOf("\r\n\r\n");
    assert(end > 0, `no complete HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
    const headers = text.slice(0, end);
    let rest = text.slice(end + 4);
    if (/^transfer-encoding:\s*chunked/im.test(headers)) rest = unchunk(rest);
    return { status: Number(headers.split(" ")[1]), headers, body: rest };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the deadline */ }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function unchunk(text: string): string {
  let out = "";
  let at = 0;
  while (at < text.length) {
    const line = text.indexOf("\r\n", at);
    const size = parseInt(text.slice(at, line), 16);
    if (!size) break;
    out += text.slice(line + 2, line + 2 + size);
    at = line + 2 + size + 2;
  }
  return out;
}

/** A request head; `host` undefined leaves the header out. */
function head(
  method: string,
  path: string,
  host: string | undefined,
  extra: Record<string, string> = {},
  version = "HTTP/1.1",
): string {
  const lines = [`${method} ${path} ${version}`];
  if (host !== undefined) lines.push(`Host: ${host}`);
  for (const [name, value] of Object.entries(extra)) lines.push(`${name}: ${value}`);
  lines.push("Connection: close", "", "");
  return lines.join("\r\n");
}

/** Waits until the peer closes `conn` (EOF or reset): "closed", or "open" after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<"closed" | "open"> {
  const buffer = new Uint8Array(65536);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"open">((resolve) => timer = setTimeout(() => resolve("open"), ms));
  const closed = (async () => {
    while (true) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return "closed" as const;
    }
  })();
  const outcome = await Promise.race([closed, timeout]);
  clearTimeout(timer);
  return outcome;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

const MCP_INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "edge-test", version: "1.0.0" },
  },
});

/** One request per route: method, path, extra headers, body. */
const ROUTES: Array<[string, string, Record<string, string>, string]> = [
  ["GET", "/healthz", {}, ""],
  ["GET", "/readyz", {}, ""],
  ["GET", "/metrics", {}, ""],
  ["GET", "/openapi.json", {}, ""],
  ["GET", "/v1/tools", {}, ""],
  ["GET", "/v1/tools/search?q=x", {}, ""],
  ["GET", "/v1/approvals", {}, ""],
  ["GET", "/nowhere", {}, ""],
  ["POST", "/v1/execute", { "content-type": "application/json" }, '{"code":"return 6*7"}'],
  ["POST", "/mcp", {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  }, MCP_INITIALIZE],
];

function withLength(extra: Record<string, string>, body: string): Record<string, string> {
  return body ? { ...extra, "content-length": String(encoder.encode(body).length) } : extra;
}

Deno.test("host guard: loopback names, configured hosts and origins, nothing by suffix", () => {
  const guard = new HostGuard({
    allowedHosts: ["Gateway.Internal", "10.0.0.5:8443", "[fd00::1]"],
    allowedOrigins: ["https://app.example.com/"],
  });
  for (const host of ["localhost", "localhost:8787", "127.0.0.1:1", "[::1]", "[::1]:8787"]) {
    assertEquals(guard.check(host, null), undefined, host);
  }
  for (const host of ["gateway.internal", "GATEWAY.internal:9", "10.0.0.5:8443", "[fd00::1]:1"]) {
    assertEquals(guard.check(host, null), undefined, host);
  }
  const refused = [
    "evil.example.com",
    "localhost.evil.com",
    "127.0.0.1.nip.io",
    "127.0.0.2",
    "localhost.",
    "10.0.0.5",
    "10.0.0.5:8444",
    "[::2]",
    "::1",
    "[::1",
    "localhost:80:80",
    "localhost:port",
    "local host",
    "",
  ];
  for (const host of refused) assert(guard.check(host, null) !== undefined, `Host ${host}`);
  assertEquals(guard.check("localhost", "http://localhost:3000"), undefined);
  assertEquals(guard.check("localhost", "http://[::1]:3000"), undefined);
  assertEquals(guard.check("localhost", "https://app.example.com"), undefined);
  assertEquals(guard.check("localhost", "http://gateway.internal:8080"), undefined);
  for (
    const origin of [
      "null",
      "http://evil.example.com",
      "http://localhost.evil.com",
      "https://app.example.com:444",
      "http://app.example.com",
      "file://",
      "",
    ]
  ) {
    assert(guard.check("localhost", origin) !== undefined, `Origin ${origin}`);
  }
  assertMatch(guard.check(undefined, null)!, /no Host/);
});

Deno.test("config: http keys have defaults, are validated, and name the field", () => {
  const http = parseConfig({}).http;
  assertEquals(http.allowedHosts, []);
  assertEquals(http.allowedOrigins, []);
  assertEquals(http.maxConnections, null);
  assertEquals(http.headersTimeoutMs, 10_000);
  assertEquals(http.requestTimeoutMs, 30_000);
  assertEquals(http.keepAliveTimeoutMs, 5_000);
  assertEquals(http.maxHeldBodyBytes, null);
  const set = parseConfig({
    http: { allowedHosts: ["GW.example:8443"], allowedOrigins: ["https://App.example/"] },
  }).http;
  assertEquals(set.allowedHosts, ["gw.example:8443"]);
  assertEquals(set.allowedOrigins, ["https://app.example"]);
  const bad: Array<[unknown, RegExp]> = [
    [{ allowedHosts: ["http://gw.example"] }, /http\.allowedHosts\.0: must be a host name/],
    [{ allowedOrigins: ["https://app.example/path"] }, /http\.allowedOrigins\.0: must be/],
    [{ maxConnections: 0 }, /http\.maxConnections/],
    [{ headersTimeoutMs: -1 }, /http\.headersTimeoutMs/],
    [{ maxHeldBodyBytes: 0 }, /http\.maxHeldBodyBytes/],
    [
      { maxBodyBytes: 2_000_000, maxHeldBodyBytes: 1_000_000 },
      /http\.maxHeldBodyBytes: must be at least http\.maxBodyBytes/,
    ],
    [{ allowAnyHost: true }, /unknown key "allowAnyHost"/],
  ];
  for (const [value, pattern] of bad) {
    const error = assertThrows(() => parseConfig({ http: value }));
    assert(error instanceof ConfigError);
    assertMatch(error.message, pattern);
  }
});

Deno.test("connection cap: half of the open-file soft limit by default", () => {
  assertEquals(defaultMaxConnections(20_000), 10_000);
  assertEquals(defaultMaxConnections(1024), 512);
  assertEquals(defaultMaxConnections(10), 16);
  assertEquals(defaultMaxConnections(null), 4096);
  const limit = openFileLimit();
  if (limit !== null) assertEquals(defaultMaxConnections(), Math.floor(limit / 2));
});

Deno.test({
  name: "DNS rebinding: every route refuses foreign Host and Origin with 403",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const gw = await startTestGateway({
      http: { allowedHosts: ["gateway.internal"], allowedOrigins: ["https://app.example"] },
    });
    const port = gw.port;
    try {
      const refused: Array<[string, string | undefined, Record<string, string>, string?]> = [
        ["a foreign Host", `evil.example.com:${port}`, {}],
        ["a foreign Host with a loopback Origin", `evil.example.com:${port}`, {
          origin: `http://127.0.0.1:${port}`,
        }],
        ["a loopback Host with a foreign Origin", `127.0.0.1:${port}`, {
          origin: "http://evil.example.com",
        }],
        ["localhost.evil.com", `localhost.evil.com:${port}`, {}],
        ["127.0.0.1.nip.io", `127.0.0.1.nip.io:${port}`, {}],
        ["a foreign IPv6 literal", `[2001:db8::1]:${port}`, {}],
        ["an opaque Origin", `localhost:${port}`, { origin: "null" }],
        ["no Host on HTTP/1.0", undefined, {}, "HTTP/1.0"],
      ];
      for (const [what, host, extra, version] of refused) {
        await t.step(`403 for ${what} on every route`, async () => {
          for (const [method, path, headers, body] of ROUTES) {
            const reply = await raw(
              port,
              head(method, path, host, { ...headers, ...withLength(extra, body) }, version),
              body,
            );
            assertEquals(reply.status, 403, `${method} ${path}: ${reply.body}`);
            const error = JSON.parse(reply.body).error;
            assertEquals(error.kind, "forbidden", `${method} ${path}`);
            assert(typeof error.message === "string" && error.message.length > 0);
          }
        });
      }

      const allowed: Array<[string, string, Record<string, string>]> = [
        ["localhost with a port", `localhost:${port}`, {}],
        ["127.0.0.1 with its Origin", `127.0.0.1:${port}`, { origin: `http://127.0.0.1:${port}` }],
        ["the IPv6 loopback literal", `[::1]:${port}`, { origin: `http://[::1]:${port}` }],
        ["a configured host", `gateway.internal:${port}`, { origin: "http://gateway.internal" }],
        ["a configured origin", `localhost:${port}`, { origin: "https://app.example" }],
      ];
      for (const [what, host, extra] of allowed) {
        await t.step(`${what} is served on every route`, async () => {
          for (const [method, path, headers, body] of ROUTES) {
            const reply = await raw(
              port,
              head(method, path, host, { ...headers, ...withLength(extra, body) }),
              body,
            );
            assert(reply.status !== 403, `${method} ${path}: ${reply.status} ${reply.body}`);
            // /readyz is 503 while the warm pool refills after an execution.
            const expected = path === "/nowhere" ? [404] : path === "/readyz" ? [200, 503] : [200];
            assert(expected.includes(reply.status), `${method} ${path}: ${reply.status}`);
          }
        });
      }

      await t.step("the refused execution did not run; the metrics count it", async () => {
        const reply = await raw(port, head("GET", "/metrics", `localhost:${port}`));
        assertMatch(reply.body, /kind="forbidden"/);
      });
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "deadlines: slow headers, slow body and idle keep-alive connections are closed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const gw = await startTestGateway({
      http: { headersTimeoutMs: 300, requestTimeoutMs: 300, keepAliveTimeoutMs: 300 },
    });
    const port = gw.port;
    const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await t.step("headers one byte at a time (slowloris)", async () => {
        const conn = await connect();
        const text = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + "a".repeat(200);
        let stop = false;
        const drip = (async () => {
          for (const byte of encoder.encode(text)) {
            if (stop) return;
            await conn.write(new Uint8Array([byte])).catch(() => stop = true);
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        assertEquals(await closedWithin(conn, HANG_MS), "closed");
        stop = true;
        await drip;
        closeQuietly(conn);
      });

      await t.step("a connection that sends nothing", async () => {
        const conn = await connect();
        assertEquals(await closedWithin(conn, HANG_MS), "closed");
        closeQuietly(conn);
      });

      await t.step("a body one byte at a time", async () => {
        const conn = await connect();
        await conn.write(encoder.encode(
          "POST /v1/execute HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
            "Content-Length: 1000\r\n\r\n{",
        ));
        let stop = false;
        const drip = (async () => {
          for (let i = 0; i < 200 && !stop; i++) {
            await conn.write(encoder.encode(" ")).catch(() => stop = true);
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        assertEquals(await closedWithin(conn, HANG_MS), "closed");
        stop = true;
        await drip;
        closeQuietly(conn);
      });

      await t.step("keep-alive works, then an idle connection is closed", async () => {
        const conn = await connect();
        const request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
        const buffer = new Uint8Array(65536);
        for (let i = 0; i < 2; i++) {
          await conn.write(encoder.encode(request));
          const n = await conn.read(buffer);
          assert(n !== null, "a response on the kept-alive connection");
          assertMatch(decoder.decode(buffer.subarray(0, n)), /^HTTP\/1\.1 200/);
        }
        assertEquals(await closedWithin(conn, HANG_MS), "closed");
        closeQuietly(conn);
      });

      await t.step("normal requests still work, and nothing is left open", async () => {
        const reply = await gw.execute("return 6 * 7");
        assertEquals(reply.result, 42);
        const deadline = Date.now() + HANG_MS;
        while (gw.server.connections() > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assertEquals(gw.server.connections(), 0);
      });
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "connection cap: connections beyond it are closed at once, not queued",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cap = 5;
    const gw = await startTestGateway({ http: { maxConnections: cap } });
    const conns: Deno.Conn[] = [];
    try {
      for (let i = 0; i < cap + 10; i++) {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port: gw.port }));
      }
      const outcomes = await Promise.all(conns.map((c) => closedWithin(c, 1000)));
      const closed = outcomes.filter((o) => o === "closed").length;
      // The first `cap` are held (headers deadline 10 s); every other one is closed.
      assertEquals(closed, 10, outcomes.join(","));
      assertEquals(gw.server.connections(), cap);
      for (const c of conns) closeQuietly(c);
      const deadline = Date.now() + HANG_MS;
      while (gw.server.connections() > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const reply = await gw.get("/healthz");
      assertEquals(reply.status, 200);
    } finally {
      for (const c of conns) closeQuietly(c);
      await gw.close();
    }
  },
});

Deno.test({
  name: "shutdown: idle, kept-alive and in-flight connections all end; the port is free",
  async fn() {
    const app = new Hono();
    app.get("/fast", (c) => c.text("fast"));
    app.get("/slow", async (c) => {
      await new Promise((r) => setTimeout(r, 200));
      return c.text("slow");
    });
    const server = await serveHttp(app, { shutdownGraceMs: 2000 });
    const port = server.port;
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    const kept = await Deno.connect({ hostname: "127.0.0.1", port });
    await kept.write(encoder.encode("GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    assert(await kept.read(new Uint8Array(4096)) !== null);
    const slow = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 50));
    await server.shutdown();
    await server.finished;
    assertEquals(await slow, "slow", "the in-flight request finished");
    assertEquals(await closedWithin(idle, HANG_MS), "closed");
    assertEquals(await closedWithin(kept, HANG_MS), "closed");
    closeQuietly(idle);
    closeQuietly(kept);
    assertEquals(server.connections(), 0);
    const probe = await Deno.connect({ hostname: "127.0.0.1", port }).then(
      (c) => (c.close(), "accepted"),
      () => "refused",
    );
    assertEquals(probe, "refused");
  },
});

Deno.test({
  name: "descriptor flood: with 256 open files the gateway sheds idle sockets and still executes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prlimit = await Deno.stat("/usr/bin/prlimit").then(() => true, () => false);
    if (!prlimit) {
      console.warn("skipped: no prlimit");
      return;
    }
    const embeddingsDir = await Deno.makeTempDir({ prefix: "airlock-emb-" });
    const config = await writeConfig({
      servers: {},
      audit: { path: ":memory:" },
      selection: { embedder: "lexical", cacheDir: embeddingsDir },
      sandbox: { poolSize: 0 },
      http: { headersTimeoutMs: 500 },
    });
    const port = freePort();
    const child = new Deno.Command("/usr/bin/prlimit", {
      args: [
        "--nofile=256:256",
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        "serve",
        "--config",
        config,
        "--port",
        String(port),
      ],
      cwd: REPO,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let logs = "";
    const drained = (async () => {
      for await (const chunk of child.stderr) logs += decoder.decode(chunk);
    })();
    const url = `http://127.0.0.1:${port}`;
    const conns: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 600; i++) {
        const ready = await fetch(`${url}/readyz`).then((r) => r.json(), () => ({}));
        if (ready.ready) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // Far more connections than the process has descriptors; none ever sends a byte.
      let refused = 0;
      for (let i = 0; i < 400; i++) {
        await Deno.connect({ hostname: "127.0.0.1", port }).then(
          (c) => conns.push(c),
          () => refused++,
        );
      }
      // Without closing any of them, the gateway frees its descriptors by itself.
      let reply: { status: number; body: unknown } = { status: 0, body: null };
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        reply = await fetch(`${url}/v1/execute`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ code: "return 6 * 7" }),
        }).then(async (r) => ({ status: r.status, body: await r.json() }), (e) => ({
          status: 0,
          body: String(e),
        }));
        if (reply.status === 200) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assertEquals(
        reply.status,
        200,
        `${JSON.stringify(reply.body)} (${refused} connects refused)\n${logs.slice(-2000)}`,
      );
      assertEquals((reply.body as { result: unknown }).result, 42);
    } finally {
      for (const c of conns) closeQuietly(c);
      try {
        child.kill("SIGTERM");
      } catch { /* it exited by itself (the old server died of EMFILE) */ }
      await child.status;
      await drained;
      await Deno.remove(config);
      await Deno.remove(embeddingsDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "listener recovery: after accept fails with EMFILE, the server listens again by itself",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prlimit = await Deno.stat("/usr/bin/prlimit").then(() => true, () => false);
    if (!prlimit) {
      console.warn("skipped: no prlimit");
      return;
    }
    const fixture = new URL("./http_flood_server.ts", import.meta.url).pathname;
    const child = new Deno.Command("/usr/bin/prlimit", {
      args: ["--nofile=128:128", Deno.execPath(), "run", "-A", fixture],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let logs = "";
    const drained = (async () => {
      for await (const chunk of child.stderr) logs += decoder.decode(chunk);
    })();
    const reader = child.stdout.getReader();
    const conns: Deno.Conn[] = [];
    try {
      const first = await reader.read();
      const port = Number(decoder.decode(first.value).trim());
      assert(port > 0, `no port: ${logs}`);
      // More connections than the process has descriptors, with a cap that does not stop them.
      for (let i = 0; i < 300; i++) {
        await Deno.connect({ hostname: "127.0.0.1", port }).then((c) => conns.push(c), () => {});
      }
      await new Promise((r) => setTimeout(r, 500));
      for (const c of conns) closeQuietly(c);
      let status = 0;
      const deadline = Date.now() + 15_000;
      while (status !== 200 && Date.now() < deadline) {
        status = await fetch(`http://127.0.0.1:${port}/healthz`, {
          signal: AbortSignal.timeout(1000),
        }).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
      }
      assertEquals(status, 200, logs.slice(-2000));
      assertMatch(logs, /listening again/);
    } finally {
      for (const c of conns) closeQuietly(c);
      reader.releaseLock();
      await child.stdout.cancel();
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await drained;
    }
  },
});

Deno.test("deadlines: a long event stream outlives the body and idle deadlines", async () => {
  const app = new Hono();
  app.get("/events", () => {
    let n = 0;
    let timer: ReturnType<typeof setInterval>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => {
          controller.enqueue(encoder.encode(`data: ${n}\n\n`));
          if (++n === 8) {
            clearInterval(timer);
            controller.close();
          }
        }, 100);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const server = await serveHttp(app, {
    headersTimeoutMs: 200,
    requestTimeoutMs: 200,
    keepAliveTimeoutMs: 200,
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/events`);
    const text = await response.text();
    assertEquals(text.match(/data: \d+/g)?.length, 8, text);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serve: a non-loopback host needs http.allowedHosts", async () => {
  const config = await writeConfig({
    servers: {},
    audit: { path: ":memory:" },
    auth: { tenants: { a: tenantWithKey("secret-key") } },
  });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve", "--config", config, "--host", "0.0.0.0", "--port", "0"],
      cwd: REPO,
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(output.code, 2);
    assertMatch(new TextDecoder().decode(output.stderr), /http\.allowedHosts/);
  } finally {
    await Deno.remove(config);
  }
});

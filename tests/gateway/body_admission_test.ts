/**
 * Request bodies are admitted before a byte of them is read: a route that takes no body reads
 * none, a route that needs a key checks it first (on the path as the router decodes it), and each
 * tenant holds at most its share of the budget every tenant shares. Red team (2026-11-30): 64
 * keyless connections announcing 64 KiB bodies to `/healthz` or to `/%761/execute` (the router's
 * `/v1/execute`) spent a 4 MiB budget, and every tenant's executions got 503.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const encoder = new TextEncoder();

/** Opens `n` connections that announce `length` body bytes on `path` and never send them. */
async function holdBodies(
  port: number,
  path: string,
  n: number,
  length: number,
  key?: string,
): Promise<() => void> {
  const conns: Deno.Conn[] = [];
  const auth = key ? `Authorization: Bearer ${key}\r\n` : "";
  const head = encoder.encode(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\n` +
      `Content-Length: ${length}\r\n\r\n`,
  );
  for (let i = 0; i < n; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(head);
    conns.push(conn);
  }
  await new Promise((r) => setTimeout(r, 300));
  return () =>
    conns.forEach((c) => {
      try {
        c.close();
      } catch { /* closed by the server */ }
    });
}

/** The status line a body-less POST to `path` gets within 2 s, or "" when none came. */
async function answerWithoutBody(port: number, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        "Content-Length: 65536\r\n\r\n",
    ));
    const buffer = new Uint8Array(1024);
    const n = await Promise.race([
      conn.read(buffer),
      new Promise<null>((r) => setTimeout(() => r(null), 2000)),
    ]);
    return n ? new TextDecoder().decode(buffer.subarray(0, n)).split("\r\n")[0] : "";
  } finally {
    conn.close();
  }
}

async function start(http: Record<string, unknown>): Promise<TestGateway> {
  return await startTestGateway({
    auth: {
      tenants: {
        victim: { keys: [hashApiKey("key-v")], requestsPerMinute: 6000 },
        attacker: { keys: [hashApiKey("key-a")], requestsPerMinute: 6000 },
      },
    },
    http,
  });
}

const execute = (gw: TestGateway, key: string) =>
  gw.post("/v1/execute", { code: "return 1" }, { authorization: `Bearer ${key}` });

Deno.test("body admission: no anonymous request holds body bytes, whatever its path", async () => {
  const gw = await start({ maxHeldBodyBytes: 4 * 1024 * 1024 });
  try {
    for (const path of ["/healthz", "/openapi.json", "/nowhere", "/%761/execute", "/%6dcp"]) {
      const release = await holdBodies(gw.port, path, 64, 65536);
      const during = await execute(gw, "key-v");
      release();
      // Observed before: 503 (the shared budget spent by keyless connections).
      assertEquals(during.status, 200, `${path}: ${during.status} ${JSON.stringify(during.body)}`);
    }
  } finally {
    await gw.close();
  }
});

Deno.test("body admission: the key is checked on the path the router sees, before the body", async () => {
  const gw = await start({});
  try {
    for (const path of ["/v1/execute", "/%761/execute", "/v1/%65xecute", "/%6dcp", "/mcp"]) {
      // Observed before: no answer until the body came (the raw path was not recognised).
      assertMatch(await answerWithoutBody(gw.port, path), /^HTTP\/1\.1 401/, path);
    }
    // Routes that take no body answer at once, without reading it.
    for (const path of ["/healthz", "/nowhere"]) {
      assertMatch(await answerWithoutBody(gw.port, path), /^HTTP\/1\.1 404/, path);
    }
  } finally {
    await gw.close();
  }
});

Deno.test("body admission: one tenant's held bodies leave the others their share", async () => {
  const gw = await start({
    maxHeldBodyBytes: 4 * 1024 * 1024,
    maxHeldBodyBytesPerTenant: 1024 * 1024,
  });
  try {
    // The attacker holds its whole share (16 × 64 KiB) and more, with its own key.
    const release = await holdBodies(gw.port, "/v1/execute", 40, 65536, "key-a");
    const attacker = await execute(gw, "key-a");
    const victim = await execute(gw, "key-v");
    release();
    assertEquals(attacker.status, 503, JSON.stringify(attacker.body));
    assert(attacker.headers.has("retry-after"));
    // Observed before: 503 for everyone once the shared budget was spent.
    assertEquals(victim.status, 200, JSON.stringify(victim.body));
  } finally {
    await gw.close();
  }
});

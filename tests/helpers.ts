/**
 * Shared test helpers: a real gateway on an ephemeral port, HTTP helpers, process checks.
 *
 * @module
 */

import {
  createHttpApp,
  gatewayServeOptions,
  type HttpServer,
  McpHttpEndpoint,
  serveHttp,
} from "../api/mod.ts";
import { type Config, Gateway, parseConfig } from "../gateway/mod.ts";
import { type RunResult, Sandbox, type SandboxOptions } from "../sandbox/mod.ts";

/** A gateway served over real HTTP on 127.0.0.1 and an ephemeral port. */
export interface TestGateway {
  url: string;
  port: number;
  gateway: Gateway;
  /** The HTTP server (connection count, cap). */
  server: HttpServer;
  /** POSTs JSON to `path` and returns status and parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpReply>;
  /** GETs `path`. */
  get(path: string, headers?: Record<string, string>): Promise<HttpReply>;
  /** Runs code through `POST /v1/execute`, expecting a 200. */
  execute(code: string, extra?: Record<string, unknown>): Promise<ExecuteReply>;
  close(): Promise<void>;
}

/** A status, headers and a parsed JSON body. */
export interface HttpReply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** The parts of an execute response tests look at. */
export interface ExecuteReply {
  ok: boolean;
  result?: unknown;
  logs: { level: string; text: string }[];
  error?: { kind: string; message: string; line?: number; stack?: string };
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}

/** Starts a gateway with `overrides` merged into an empty configuration. */
export async function startTestGateway(
  overrides: Record<string, unknown> = {},
  options: { poolSize?: number; mcpSessions?: number; vaultKey?: string } = {},
): Promise<TestGateway> {
  const embeddingsDir = await Deno.makeTempDir({ prefix: "airlock-emb-" });
  const config: Config = parseConfig({
    servers: {},
    audit: { path: ":memory:" },
    selection: {
      embedder: "lexical",
      cacheDir: embeddingsDir,
    },
    ...overrides,
    sandbox: { timeoutMs: 3000, memoryMb: 64, ...(overrides.sandbox as object ?? {}) },
  });
  const gateway = new Gateway(config, {
    poolSize: options.poolSize ?? 1,
    logger: () => {},
    vaultKey: options.vaultKey,
  });
  await gateway.start();
  const mcp = new McpHttpEndpoint(gateway, options.mcpSessions);
  const app = createHttpApp(gateway, { mcp });
  // The production server (deadlines, connection cap) with the configuration's `http` settings.
  const server = await serveHttp(app, {
    ...gatewayServeOptions(gateway),
    hostname: "127.0.0.1",
    port: 0,
  });
  const port = server.port;
  const url = `http://127.0.0.1:${port}`;
  const request = async (method: string, path: string, body?: unknown, headers = {}) => {
    const response = await fetch(url + path, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    url,
    port,
    gateway,
    server,
    post: (path, body, headers) => request("POST", path, body, headers),
    get: (path, headers) => request("GET", path, undefined, headers),
    async execute(code, extra = {}) {
      const reply = await request("POST", "/v1/execute", { code, ...extra });
      if (reply.status !== 200) {
        throw new Error(`expected 200, got ${reply.status}: ${JSON.stringify(reply.body)}`);
      }
      return reply.body as ExecuteReply;
    },
    async close() {
      await mcp.close();
      await server.shutdown();
      await gateway.close();
      await Deno.remove(embeddingsDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Pids of live sandbox processes that are children of this process. */
export async function sandboxChildren(): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      if (Number(fields[1]) !== Deno.pid) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes("airlock-runner-")) pids.push(Number(entry.name));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/**
 * Like {@link sandboxChildren}, but only processes that already run Deno: a sandbox is found
 * by its command line from its first exec on, while the start-up steps before Deno (the
 * launcher, or the chain's setsid, setpriv, nice and bash) may still be setting it up.
 */
export async function sandboxDenoChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await sandboxChildren()) {
    try {
      // This Deno, or a copy other users can run (tests/security/sandbox_users_test.ts).
      const exe = Deno.readLinkSync(`/proc/${pid}/exe`);
      if (exe === Deno.execPath() || exe.endsWith("/deno")) pids.push(pid);
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/**
 * Starts `code` (by default: wait 0.8 s, return 1) in `sandbox` and waits, up to 3 s, for
 * its process to run Deno. Returns the pid (0 when none appeared) and the run's outcome,
 * which is never left unhandled (a failed assertion before it is awaited does not turn into
 * an uncaught error).
 */
export async function startWatchedRun(
  sandbox: Sandbox,
  code = "await new Promise((r) => setTimeout(r, 800)); return 1;",
): Promise<{ pid: number; outcome: Promise<RunResult> }> {
  const outcome = sandbox.run({ code });
  outcome.catch(() => {});
  let pids: number[] = [];
  for (let i = 0; i < 300 && pids.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    pids = await sandboxDenoChildren();
  }
  return { pid: pids[0] ?? 0, outcome };
}

/** Waits until no sandbox child is left beyond `allowed` (idle pool processes). */
export async function waitForNoStrays(allowed = 0, timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = await sandboxChildren();
  while (left.length > allowed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = await sandboxChildren();
  }
  return left;
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A permission-less {@link Sandbox} with no warm pool (each run is a fresh process), for
 * tests that run attack code; `overrides` replace the defaults.
 */
export function testSandbox(overrides: Partial<SandboxOptions> = {}): Sandbox {
  return new Sandbox({
    timeoutMs: 15_000,
    memoryMb: 128,
    maxOutputBytes: 1024 * 1024,
    maxLogBytes: 64 * 1024,
    concurrency: 2,
    queue: 200,
    poolSize: 0,
    allowNet: [],
    allowRead: [],
    ...overrides,
  });
}

/** Runs `code` once in a fresh {@link testSandbox}, which is closed afterwards. */
export async function runInTestSandbox(code: string): Promise<RunResult> {
  const sandbox = testSandbox();
  try {
    return await sandbox.run({ code });
  } finally {
    await sandbox.close();
  }
}

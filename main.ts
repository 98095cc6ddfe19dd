/**
 * Airlock's command line.
 *
 * - `serve [--config FILE] [--port N] [--host H]`: HTTP API (and MCP over Streamable HTTP)
 * - `mcp [--config FILE]`: MCP over stdio
 * - `exec FILE [--config FILE] [--tenant ID] [--check]`: one snippet through the whole pipeline
 *   (type-checked first with `--check`), JSON
 *   out (`-` reads stdin; `--tenant` picks the policy when the config has `auth`)
 *
 * On SIGINT/SIGTERM each command drains (see gateway/shutdown.ts) and the process exits only
 * once the gateway has closed: executions answered or ended, their audit records written. The
 * exit code is 0 when nothing was lost and 1 when records were not written (logged with their
 * count). A second signal ends the running executions at once; it never skips the audit.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  createHttpApp,
  createMcpServer,
  gateMessages,
  gatewayServeOptions,
  McpHttpEndpoint,
  serveHttp,
} from "./api/mod.ts";
import {
  closeOutcome,
  ConfigError,
  Gateway,
  loadConfig,
  Shutdown,
  type Tenant,
} from "./gateway/mod.ts";
import { LogWriter } from "./observability/mod.ts";

const DEFAULT_CONFIG = new URL("./examples/airlock.config.json", import.meta.url).pathname;
const USAGE = `usage: main.ts serve [--config FILE] [--port N] [--host H]
       main.ts mcp [--config FILE] [--tenant ID]
       main.ts exec FILE [--config FILE] [--tenant ID] [--check]`;

/** JSON lines on stderr, written behind the responses (see observability/log_writer.ts). */
const logWriter = new LogWriter();
// Whatever ends the process, the buffered lines are written first.
globalThis.addEventListener("unload", () => logWriter.flushSync());

function log(fields: Record<string, unknown>): void {
  logWriter.log(fields);
}

/** Exits after writing the buffered log lines. */
function exit(code: number): never {
  logWriter.flushSync();
  Deno.exit(code);
}

/** How long running executions may finish after SIGINT/SIGTERM (`serve`), in ms. */
const DRAIN_MS = 10_000;
/** The same for `mcp` and `exec`: a local client is waiting on its terminal. */
const LOCAL_DRAIN_MS = 5000;

/**
 * Runs `command` on a started gateway; if it throws, the gateway is closed (upstream servers
 * stopped, the audit written) before the error goes on to main.
 */
async function closingOnError<T>(gateway: Gateway, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    closeOutcome(await gateway.close(0), unlessInfo);
    throw error;
  }
}

/** {@link log} without `info` lines: for commands whose stderr stays quiet when all is well. */
function unlessInfo(fields: Record<string, unknown>): void {
  if (fields.level !== "info") log(fields);
}

/** Who sandbox processes run as, for the start-up line (a root gateway without a range is told). */
function sandboxUsersText(range: [number, number] | undefined): string {
  if (range) return `one id each of ${range[0]}-${range[1]}`;
  return Deno.uid() === 0
    ? 'root without capabilities: set sandbox.uidRange (README, "Sandbox users")'
    : "the gateway's user";
}

async function serve(configPath: string, port: number, host: string): Promise<number> {
  const config = await loadConfig(configPath);
  if (!config.auth && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to listen on ${host}: without an "auth" section the gateway serves loopback only`,
    );
  }
  if (!isLoopback(host) && config.http.allowedHosts.length === 0) {
    // Clients reach a non-loopback gateway by some name; the Host check must know it.
    throw new ConfigError(
      `refusing to listen on ${host}: list the names clients use to reach it in ` +
        `"http.allowedHosts" (requests with any other Host get 403)`,
    );
  }
  const gateway = new Gateway(config, { logger: log });
  await closingOnError(gateway, () => gateway.start());
  const mcp = new McpHttpEndpoint(gateway);
  const app = createHttpApp(gateway, { mcp, logger: log });
  const server = await closingOnError(
    gateway,
    () => serveHttp(app, { ...gatewayServeOptions(gateway), hostname: host, port, logger: log }),
  );
  log({
    level: "info",
    msg: "listening",
    url: `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`,
    config: configPath,
    auth: config.auth ? "api keys" : "none (loopback only)",
    maxConnections: server.maxConnections,
    memoryGuard: gateway.sandbox.stats().memoryGuard,
    sandboxUsers: sandboxUsersText(config.sandbox.uidRange),
  });
  const shutdown = new Shutdown(async (hurry) => {
    // Stop accepting first, then let running executions finish (bounded), then close.
    const closing = gateway.close(DRAIN_MS, { signal: hurry });
    try {
      await mcp.close();
      await server.shutdown();
    } catch (error) {
      // Whatever fails here, the exit still waits for the gateway's records below.
      log({ level: "error", msg: "shutdown: closing the HTTP side failed", error: String(error) });
    }
    return closeOutcome(await closing, log);
  }, log).listen();
  // The HTTP server's end is not the process's: the gateway may still be draining executions
  // and writing their audit records. Only the whole shutdown's end is.
  return await shutdown.finished;
}

/** The tenant of a local command (`exec`, `mcp`): local, or the one named when auth is on. */
function localTenant(gateway: Gateway, tenantId: string | undefined, command: string): Tenant {
  const tenant = gateway.tenants.authRequired
    ? gateway.tenants.get(tenantId ?? "")
    : gateway.tenants.authenticate(undefined);
  if (!tenant) {
    const ids = gateway.tenants.list().map((t) => t.id).join(", ");
    throw new ConfigError(`${command} needs --tenant (or AIRLOCK_TENANT) with one of: ${ids}`);
  }
  return tenant;
}

async function serveStdio(configPath: string, tenantId?: string): Promise<number> {
  const config = await loadConfig(configPath);
  const gateway = new Gateway(config, { logger: log });
  const tenant = localTenant(gateway, tenantId, "mcp");
  await closingOnError(gateway, () => gateway.start());
  const server = createMcpServer(gateway, { tenant, fallbackSessionId: crypto.randomUUID() });
  const transport = new StdioServerTransport();
  // A signal and the client closing stdin end the same way: drain, record, then exit.
  const shutdown = new Shutdown(
    async (hurry) => closeOutcome(await gateway.close(LOCAL_DRAIN_MS, { signal: hurry }), log),
    log,
  ).listen();
  transport.onclose = () => shutdown.begin("stdin closed");
  await closingOnError(gateway, () => server.connect(transport));
  // Every request takes one of the tenant's rate limit, as over HTTP (api/mcp_gate.ts).
  gateMessages(transport, () => gateway.limiter.take(tenant));
  log({ level: "info", msg: "MCP over stdio ready", config: configPath, tenant: tenant.id });
  return await shutdown.finished;
}

async function execFile(
  file: string,
  configPath: string,
  tenantId?: string,
  check?: boolean,
): Promise<number> {
  const config = await loadConfig(configPath);
  const code = file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(file);
  const gateway = new Gateway(config, { poolSize: 0, logger: () => {} });
  const tenant = localTenant(gateway, tenantId, "exec");
  await closingOnError(gateway, () => gateway.start());
  // Ctrl-C (or SIGTERM) while the snippet runs: its tool calls may have reached upstream
  // servers, so the gateway ends it and writes its record before the process exits.
  const shutdown = new Shutdown(
    async (hurry) =>
      closeOutcome(await gateway.close(LOCAL_DRAIN_MS, { signal: hurry }), unlessInfo),
    unlessInfo,
  ).listen();
  let ok = false;
  try {
    const response = await gateway.execute({ code, check }, {
      tenant,
      requestId: crypto.randomUUID(),
      transport: "cli",
    });
    console.log(JSON.stringify(response, null, 2));
    ok = response.ok;
  } catch (error) {
    // Ended by a signal: the shutdown's outcome is the answer, not a stack trace.
    if (!shutdown.begun) throw error;
    log({ level: "error", msg: "execution ended by the shutdown", error: String(error) });
  } finally {
    await shutdown.begin("done");
  }
  const closed = await shutdown.finished;
  return closed !== 0 ? closed : ok ? 0 : 1;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      tenant: { type: "string" },
      check: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...rest] = positionals;
  const configPath = values.config ?? Deno.env.get("AIRLOCK_CONFIG") ?? DEFAULT_CONFIG;
  switch (command) {
    case "serve": {
      const port = Number(values.port ?? Deno.env.get("AIRLOCK_PORT") ?? 8787);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new ConfigError(`--port: ${values.port} is not a port number`);
      }
      return await serve(
        configPath,
        port,
        values.host ?? Deno.env.get("AIRLOCK_HOST") ?? "127.0.0.1",
      );
    }
    case "mcp":
      return await serveStdio(configPath, values.tenant ?? Deno.env.get("AIRLOCK_TENANT"));
    case "exec":
      if (rest.length !== 1) break;
      return await execFile(
        rest[0],
        configPath,
        values.tenant ?? Deno.env.get("AIRLOCK_TENANT"),
        values.check,
      );
  }
  console.error(USAGE);
  return 2;
}

if (import.meta.main) {
  try {
    exit(await main(Deno.args));
  } catch (error) {
    if (error instanceof ConfigError || (error as Error).name === "TypeError") {
      logWriter.flushSync();
      console.error(`airlock: ${(error as Error).message}`);
      exit(2);
    }
    logWriter.flushSync();
    throw error;
  }
}

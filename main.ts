/**
 * Airlock's command line.
 *
 * - `serve [--config FILE] [--port N] [--host H]`: HTTP API (and MCP over Streamable HTTP)
 * - `mcp [--config FILE]`: MCP over stdio
 * - `exec FILE [--config FILE] [--tenant ID] [--check]`: one snippet through the whole pipeline
 *   (type-checked first with `--check`), JSON
 *   out (`-` reads stdin; `--tenant` picks the policy when the config has `auth`)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  bodyAdmission,
  createHttpApp,
  createMcpServer,
  McpHttpEndpoint,
  serveHttp,
} from "./api/mod.ts";
import { ConfigError, Gateway, loadConfig, type Tenant } from "./gateway/mod.ts";
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

async function serve(configPath: string, port: number, host: string): Promise<void> {
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
  await gateway.start();
  const mcp = new McpHttpEndpoint(gateway);
  const app = createHttpApp(gateway, { mcp, logger: log });
  const server = await serveHttp(app, {
    hostname: host,
    port,
    maxConnections: config.http.maxConnections,
    headersTimeoutMs: config.http.headersTimeoutMs,
    requestTimeoutMs: config.http.requestTimeoutMs,
    keepAliveTimeoutMs: config.http.keepAliveTimeoutMs,
    maxBodyBytes: config.http.maxBodyBytes,
    maxHeldBodyBytes: config.http.maxHeldBodyBytes,
    admit: bodyAdmission(gateway),
    logger: log,
  });
  log({
    level: "info",
    msg: "listening",
    url: `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`,
    config: configPath,
    auth: config.auth ? "api keys" : "none (loopback only)",
    maxConnections: server.maxConnections,
    memoryGuard: gateway.sandbox.stats().memoryGuard,
  });
  const stop = async () => {
    log({ level: "info", msg: "shutting down: draining running executions" });
    // Stop accepting first, then let running executions finish (bounded), then close.
    const closing = gateway.close();
    await mcp.close();
    await server.shutdown();
    await closing;
    exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
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

async function serveStdio(configPath: string, tenantId?: string): Promise<void> {
  const config = await loadConfig(configPath);
  const gateway = new Gateway(config, { logger: log });
  const tenant = localTenant(gateway, tenantId, "mcp");
  await gateway.start();
  const server = createMcpServer(gateway, { tenant, fallbackSessionId: crypto.randomUUID() });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => transport.onclose = () => resolve());
  await server.connect(transport);
  log({ level: "info", msg: "MCP over stdio ready", config: configPath, tenant: tenant.id });
  const stop = async () => {
    await gateway.close(5000);
    exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await closed;
  await gateway.close(5000);
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
  await gateway.start();
  try {
    const response = await gateway.execute({ code, check }, {
      tenant,
      requestId: crypto.randomUUID(),
      transport: "cli",
    });
    console.log(JSON.stringify(response, null, 2));
    return response.ok ? 0 : 1;
  } finally {
    await gateway.close();
  }
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
      await serve(configPath, port, values.host ?? Deno.env.get("AIRLOCK_HOST") ?? "127.0.0.1");
      return 0;
    }
    case "mcp":
      await serveStdio(configPath, values.tenant ?? Deno.env.get("AIRLOCK_TENANT"));
      return 0;
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

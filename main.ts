/**
 * Airlock's command line.
 *
 * - `serve [--config FILE] [--port N] [--host H]`: HTTP API (and MCP over Streamable HTTP)
 * - `mcp [--config FILE]`: MCP over stdio
 * - `exec FILE [--config FILE] [--tenant ID]`: one snippet through the whole pipeline, JSON
 *   out (`-` reads stdin; `--tenant` picks the policy when the config has `auth`)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, createHttpApp, Gateway, loadConfig } from "./gateway/mod.ts";

const DEFAULT_CONFIG = new URL("./examples/airlock.config.json", import.meta.url).pathname;
const USAGE = `usage: main.ts serve [--config FILE] [--port N] [--host H]
       main.ts mcp [--config FILE]
       main.ts exec FILE [--config FILE] [--tenant ID]`;

function log(fields: Record<string, unknown>): void {
  console.error(JSON.stringify({ time: new Date().toISOString(), ...fields }));
}

async function serve(configPath: string, port: number, host: string): Promise<void> {
  const config = await loadConfig(configPath);
  if (!config.auth && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to listen on ${host}: without an "auth" section the gateway serves loopback only`,
    );
  }
  const gateway = new Gateway(config);
  await gateway.start();
  const app = createHttpApp(gateway);
  const server = Deno.serve({
    hostname: host,
    port,
    onListen: ({ hostname, port }) =>
      log({
        level: "info",
        msg: "listening",
        url: `http://${hostname}:${port}`,
        config: configPath,
        auth: config.auth ? "api keys" : "none (loopback only)",
        memoryGuard: gateway.sandbox.stats().memoryGuard,
      }),
  }, app.fetch);
  const stop = async () => {
    log({ level: "info", msg: "shutting down" });
    await server.shutdown();
    await gateway.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}

async function execFile(file: string, configPath: string, tenantId?: string): Promise<number> {
  const config = await loadConfig(configPath);
  const code = file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(file);
  const gateway = new Gateway(config, { poolSize: 0, logger: () => {} });
  const tenant = gateway.tenants.authRequired
    ? gateway.tenants.get(tenantId ?? "")
    : gateway.tenants.authenticate(undefined);
  if (!tenant) {
    throw new ConfigError(
      `exec needs --tenant with one of: ${gateway.tenants.list().map((t) => t.id).join(", ")}`,
    );
  }
  await gateway.start();
  try {
    const response = await gateway.execute({ code }, {
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
    case "exec":
      if (rest.length !== 1) break;
      return await execFile(rest[0], configPath, values.tenant);
  }
  console.error(USAGE);
  return 2;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    if (error instanceof ConfigError || (error as Error).name === "TypeError") {
      console.error(`airlock: ${(error as Error).message}`);
      Deno.exit(2);
    }
    throw error;
  }
}

/**
 * A bare `serveHttp` server for the listener-recovery test: run under a small open-file limit
 * with a connection cap above it, so a flood makes accept fail with EMFILE. Prints the port
 * on stdout, logs to stderr.
 *
 * @module
 */

import { Hono } from "hono";
import { serveHttp } from "../../api/mod.ts";

const app = new Hono();
app.get("/healthz", (c) => c.text("ok"));
const server = await serveHttp(app, {
  maxConnections: 100_000,
  headersTimeoutMs: 300,
  listenerCheckMs: 300,
  logger: (event) => console.error(JSON.stringify(event)),
});
console.log(server.port);
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;

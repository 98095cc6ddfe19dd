/**
 * Probes for tests of the shared event loop: how long the gateway's work held it.
 *
 * - {@linkcode probeHealthz}: `/healthz` asked over HTTP again and again while some work runs;
 *   the slowest answer tells the longest the loop was held, end to end.
 * - {@linkcode longestStall}: the longest gap between two runs of a 1 ms interval timer while
 *   some work runs in this process.
 * - {@linkcode withHttpGateway}: a gateway served over HTTP for such probes, with an
 *   `execute` that posts code to `/v1/execute`.
 *
 * @module
 */

import { createHttpApp, serveHttp } from "../api/mod.ts";
import { Gateway, parseConfig } from "../gateway/mod.ts";

/** What {@linkcode probeHealthz} measured. */
export interface ProbeResult<T> {
  /** What `work` returned. */
  value: T;
  /** Slowest /healthz answer, in ms. */
  max: number;
  /** /healthz answers received. */
  count: number;
}

/** Runs `work` while /healthz at `url` is asked in a loop; the slowest answer in ms. */
export async function probeHealthz<T>(
  url: string,
  work: () => Promise<T>,
): Promise<ProbeResult<T>> {
  let done = false;
  let max = 0;
  let count = 0;
  const probe = (async () => {
    while (!done) {
      const started = performance.now();
      const reply = await fetch(`${url}/healthz`);
      await reply.body?.cancel();
      max = Math.max(max, performance.now() - started);
      count++;
    }
  })();
  let value: T;
  try {
    value = await work();
  } finally {
    done = true;
    // The answer in flight when the work ended counts too.
    await probe;
  }
  return { value, max, count };
}

/**
 * The longest the event loop went without running a 1 ms interval timer while `work` ran, in
 * ms (the stretch from the last tick to the end of `work` included): a synchronous stretch of
 * the work, or of the gateway's work when client and server share this process.
 */
export async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

/** Posts `code` to the gateway's `/v1/execute` and returns the parsed JSON reply. */
// deno-lint-ignore no-explicit-any
export type Execute = (code: string) => Promise<any>;

/**
 * Runs `fn` against a gateway (pool of 1, no log) served on 127.0.0.1 and an ephemeral port,
 * then closes both. `config` is merged into an in-memory audit and a lexical selection with a
 * fresh cache directory; `session`, when given, is sent as `x-airlock-session`.
 */
export async function withHttpGateway(
  config: Record<string, unknown>,
  session: string | undefined,
  fn: (execute: Execute, url: string) => Promise<void>,
): Promise<void> {
  const gateway = new Gateway(
    parseConfig({
      audit: { path: ":memory:" },
      selection: { embedder: "lexical", cacheDir: await Deno.makeTempDir() },
      ...config,
    }),
    { poolSize: 1, logger: () => {} },
  );
  await gateway.start();
  const server = await serveHttp(createHttpApp(gateway), { hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${server.port}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (session !== undefined) headers["x-airlock-session"] = session;
  const execute: Execute = (code) =>
    fetch(`${url}/v1/execute`, { method: "POST", headers, body: JSON.stringify({ code }) })
      .then((r) => r.json());
  try {
    await fn(execute, url);
  } finally {
    await server.shutdown();
    await gateway.close();
  }
}

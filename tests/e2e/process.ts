/**
 * Starts the real gateway process (`main.ts serve`) for end-to-end tests.
 *
 * @module
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { freePort } from "../helpers.ts";

/** The repository's main.ts. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The repository root. */
export const REPO = new URL("../../", import.meta.url).pathname;

/** A running gateway process. */
export interface GatewayProcess {
  url: string;
  /** Its process id (to read its memory from /proc). */
  pid: number;
  /** Everything it wrote to stderr so far (structured logs). */
  logs(): string;
  /** Sends SIGTERM and waits for the exit status. */
  stop(): Promise<Deno.CommandStatus>;
  /** Sends `signal` (a second SIGTERM during a shutdown, say) and returns at once. */
  kill(signal: Deno.Signal): void;
}

/** Writes a configuration to a temporary file. */
export async function writeConfig(config: unknown): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "airlock-config-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config, null, 2));
  // Gateways read it at start; it goes when the test process ends.
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(file);
    } catch { /* already gone */ }
  });
  return file;
}

/** `auth.tenants` entry for a key given in clear (tests only). */
export function tenantWithKey(key: string, rest: Record<string, unknown> = {}) {
  return { keys: [hashApiKey(key)], ...rest };
}

/** Starts `main.ts serve` with `configPath` and waits until `/readyz` says ready. */
export async function startGatewayProcess(configPath: string): Promise<GatewayProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--config", configPath, "--port", String(port)],
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const decoder = new TextDecoder();
  const drained = (async () => {
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  for (let i = 0; i < 1200 && !exited; i++) {
    try {
      const response = await fetch(`${url}/readyz`);
      const body = await response.json();
      if (body.ready) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (exited) throw new Error(`gateway exited early:\n${stderr}`);
  return {
    url,
    pid: child.pid,
    logs: () => stderr,
    kill(signal) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const s = await status;
      await drained;
      return s;
    },
  };
}

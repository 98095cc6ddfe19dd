/**
 * A cluster on one machine: Redis, PostgreSQL, two Airlock replicas (`replica-a.json`,
 * `replica-b.json`) and nginx in front (round robin, no affinity), all on loopback.
 *
 * `deno task cluster` starts it and prints where to send requests (API keys `demo-key`, 600
 * requests a minute... see the README's "Running several replicas"), until Ctrl-C. The cluster
 * tests and `bench/cluster.ts` use {@linkcode startCluster}.
 *
 * @module
 */

import {
  freePort,
  type NginxService,
  type PostgresService,
  type RedisService,
  startNginx,
  startPostgres,
  startRedis,
  waitForPort,
} from "./services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A replica process. */
export interface Replica {
  /** `a`, `b`, … (as in the audit's `replica` column). */
  name: string;
  /** Its own port (nginx sends to it). */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Kills it and everything it started (as a machine dying would), at once. */
  kill(): Promise<void>;
}

/** A running cluster. */
export interface Cluster {
  /** nginx: where clients go. */
  url: string;
  replicas: Replica[];
  redis: RedisService;
  postgres: PostgresService;
  nginx: NginxService;
  /** The PII vault key the replicas share (hex). */
  vaultKey: string;
  /** Stops everything and removes the files. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startCluster}. */
export interface ClusterOptions {
  /** How many replicas (1 or 2; default 2). */
  replicas?: number;
  /** Root the `files` server may use (default `./examples/data`). */
  dataDir?: string;
  /** nginx's port (default: a free one). */
  port?: number;
  /** Replica stderr: `inherit` (default for the task) or `null`. */
  logs?: "inherit" | "null";
  /** Extra settings merged into each replica's configuration (top-level keys). */
  overrides?: Record<string, unknown>;
}

/** Waits until `url` answers 200 (the replica is ready), or throws after `timeoutMs`. */
async function waitReady(url: string, child: Deno.ChildProcess, timeoutMs = 120_000) {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the replica at ${url} exited while starting`);
    try {
      const response = await fetch(`${url}/readyz`);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the replica at ${url} was not ready within ${timeoutMs} ms`);
}

/** Starts Redis, PostgreSQL, the replicas and nginx; everything on loopback. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.replicas ?? 2;
  const dir = await Deno.makeTempDir({ prefix: "airlock-cluster-" });
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const [redis, postgres] = await Promise.all([
      startRedis({ persist: true, maxmemoryMb: 256 }),
      startPostgres(),
    ]);
    started.push(redis, postgres);
    const vaultKey = [...crypto.getRandomValues(new Uint8Array(32))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const codeHashKey = [...crypto.getRandomValues(new Uint8Array(32))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const replicas: Replica[] = [];
    const starting = ["a", "b"].slice(0, count).map(async (name) => {
      const config = JSON.parse(
        await Deno.readTextFile(new URL(`./replica-${name}.json`, import.meta.url)),
      );
      if (options.dataDir) config.servers.files.args[2] = options.dataDir;
      config.selection.cacheDir = `${dir}/${name}/embeddings`;
      config.audit.path = `${dir}/${name}/audit.db`;
      Object.assign(config, options.overrides ?? {});
      const path = `${dir}/replica-${name}.json`;
      await Deno.writeTextFile(path, JSON.stringify(config, null, 2));
      const port = freePort();
      // setsid: the replica leads its own process group, so `kill` takes its sandboxes and
      // upstream servers with it, as a dying machine would.
      const child = new Deno.Command("setsid", {
        args: [
          Deno.execPath(),
          "run",
          "-A",
          `${ROOT}main.ts`,
          "serve",
          "--config",
          path,
          "--port",
          String(port),
        ],
        cwd: ROOT,
        env: {
          AIRLOCK_STATE_URL: redis.url,
          AIRLOCK_AUDIT_URL: postgres.url,
          AIRLOCK_VAULT_KEY: vaultKey,
          // One code hash key for both replicas, so their audit rows group one program alike.
          AIRLOCK_AUDIT_HASH_KEY: codeHashKey,
          DENO_NO_UPDATE_CHECK: "1",
        },
        stdin: "null",
        stdout: "null",
        stderr: options.logs ?? "inherit",
      }).spawn();
      let killed = false;
      const kill = async () => {
        if (killed) return;
        killed = true;
        try {
          Deno.kill(-child.pid, "SIGKILL");
        } catch {
          // Gone already.
        }
        await child.status;
      };
      const replica: Replica = { name, port, url: `http://127.0.0.1:${port}`, kill };
      started.push({ stop: kill });
      await waitForPort(port, child, `replica ${name}`).catch(async (error) => {
        await kill();
        throw error;
      });
      await waitReady(replica.url, child);
      replicas.push(replica);
    });
    await Promise.all(starting);
    replicas.sort((x, y) => x.name.localeCompare(y.name));
    const nginx = await startNginx(replicas.map((r) => r.port), options.port);
    started.push(nginx);
    return { url: nginx.url, replicas, redis, postgres, nginx, vaultKey, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

if (import.meta.main) {
  const cluster = await startCluster({ port: Number(Deno.env.get("AIRLOCK_PORT") ?? 8800) });
  console.log(`
Airlock cluster ready:
  nginx (round robin)  ${cluster.url}
  replicas             ${cluster.replicas.map((r) => `${r.name}: ${r.url}`).join(", ")}
  Redis                ${cluster.redis.url}
  PostgreSQL (audit)   ${cluster.postgres.url}

  curl -s ${cluster.url}/v1/execute -H 'authorization: Bearer demo-key' \\
    -H 'content-type: application/json' -d '{"code":"return 1 + 1"}'

Ctrl-C stops everything.`);
  const stop = async () => {
    await cluster.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

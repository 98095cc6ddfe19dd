/**
 * Real Redis, PostgreSQL and nginx servers for a cluster on one machine (`deno task cluster`,
 * the cluster tests and benchmark): each on a free loopback port, with its files in a
 * temporary directory, stopped (and the directory removed) by `stop()`. Programs come from
 * Debian's packages: `apt-get install -y redis-server postgresql nginx`.
 *
 * @module
 */

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Where Debian puts PostgreSQL's server programs (not on PATH). */
const PG_DIRS = [
  "/usr/lib/postgresql/17/bin",
  "/usr/lib/postgresql/16/bin",
  "/usr/lib/postgresql/15/bin",
];

/** The path of `program` on PATH or in `extraDirs`, or undefined. */
export function findProgram(program: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...extraDirs, ...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      const path = `${dir}/${program}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** PostgreSQL's `initdb`/`pg_ctl`/`postgres` directory, or undefined. */
export function postgresBin(): string | undefined {
  const initdb = findProgram("initdb", PG_DIRS);
  return initdb ? initdb.slice(0, initdb.lastIndexOf("/")) : undefined;
}

/** A started server. */
export interface Service {
  /** The loopback port. */
  port: number;
  /** Stops the server (waits for it to exit) and removes its files. Idempotent. */
  stop(): Promise<void>;
}

/** A Redis server. */
export interface RedisService extends Service {
  /** `redis://127.0.0.1:<port>/0`. */
  url: string;
  /** Stops the process, keeping the port and directory (for a restart). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty unless started with `persist`). */
  restart(): Promise<void>;
}

/** Waits until something accepts TCP connections on `port` (or `child` exits). */
export async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  what: string,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited while starting`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not listen on ${port} within 20 s`);
}

/**
 * Starts `redis-server` on a free loopback port. Nothing persisted by default (tests); with
 * `persist`, an append-only file fsynced every second (`appendfsync everysec`), so a restart
 * keeps rate-limit buckets, leases and cache epochs up to about the last second (the cluster).
 * Policy `noeviction` always (state is not a cache: README, "Sizing Redis"); with `maxmemoryMb`,
 * that much memory at most (tenants × their ~64 MiB budgets + headroom).
 */
export async function startRedis(
  options: { persist?: boolean; maxmemoryMb?: number } = {},
): Promise<RedisService> {
  const program = findProgram("redis-server");
  if (!program) throw new Error("redis-server is not installed (apt-get install redis-server)");
  const dir = await Deno.makeTempDir({ prefix: "airlock-redis-" });
  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command(program, {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        options.persist ? "yes" : "no",
        "--appendfsync",
        "everysec",
        "--dir",
        dir,
        "--protected-mode",
        "yes",
        "--maxmemory-policy",
        "noeviction",
        ...(options.maxmemoryMb ? ["--maxmemory", `${options.maxmemoryMb}mb`] : []),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, child, "redis-server");
  };
  const kill = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    try {
      c.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await c.status;
  };
  await start();
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill,
    restart: start,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Polls `check` every 50 ms until it is true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return await check();
}

/** A PostgreSQL server with an empty database. */
export interface PostgresService extends Service {
  /** `postgres://airlock@127.0.0.1:<port>/airlock` (trust authentication on loopback). */
  url: string;
}

/**
 * The user to run PostgreSQL as: it refuses to run as root, so as root it runs as `postgres`
 * (Debian's package creates it) or `nobody`; otherwise as the current user.
 */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (Deno.uid() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
      l.startsWith(`${name}:`)
    );
    if (line) {
      const [, , uid, gid] = line.split(":");
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error("running as root, and there is no postgres or nobody user to run PostgreSQL as");
}

/** Starts PostgreSQL (`initdb` + `postgres`) on a free loopback port, without durability. */
export async function startPostgres(): Promise<PostgresService> {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql)");
  const user = postgresUser();
  // As root the server runs as another user, who cannot enter the test run's private TMPDIR.
  const dir = await Deno.makeTempDir({ prefix: "airlock-pg-", dir: user ? "/tmp" : undefined });
  const port = freePort();
  const as = (program: string, args: string[]) =>
    user
      ? new Deno.Command("setpriv", {
        args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", program, ...args],
        stdout: "piped",
        stderr: "piped",
      })
      : new Deno.Command(program, { args, stdout: "piped", stderr: "piped" });
  try {
    if (user) await Deno.chown(dir, user.uid, user.gid);
    const init = await as(`${bin}/initdb`, [
      "-D",
      `${dir}/data`,
      "-U",
      "airlock",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
      "--no-instructions",
    ]).output();
    if (!init.success) {
      throw new Error(`initdb failed: ${new TextDecoder().decode(init.stderr).slice(0, 2000)}`);
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  const child = as(`${bin}/postgres`, [
    "-D",
    `${dir}/data`,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=50",
  ]).spawn();
  // Drain its output so it never blocks on a full pipe.
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGINT"); // fast shutdown: backends end too
    } catch {
      // Exited already.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitForPort(port, child, "postgres");
    // Accepting TCP is not accepting queries: wait until a database can be created.
    const deadline = Date.now() + 20_000;
    while (true) {
      const made = await new Deno.Command(`${bin}/psql`, {
        args: [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-U",
          "airlock",
          "-d",
          "postgres",
          "-c",
          "CREATE DATABASE airlock",
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (made.success) break;
      if (Date.now() > deadline) {
        throw new Error(`postgres: ${new TextDecoder().decode(made.stderr).slice(0, 500)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `postgres://airlock@127.0.0.1:${port}/airlock`, stop };
}

/** An nginx in front of the replicas. */
export interface NginxService extends Service {
  /** `http://127.0.0.1:<port>`. */
  url: string;
}

/**
 * Starts nginx on a free loopback port (or `port`) with `examples/cluster/nginx.conf`, its
 * `upstream` pointing at `backends` (`127.0.0.1:<port>` each), round robin, no affinity.
 */
export async function startNginx(backends: number[], port = freePort()): Promise<NginxService> {
  const program = findProgram("nginx");
  if (!program) throw new Error("nginx is not installed (apt-get install nginx)");
  const dir = await Deno.makeTempDir({ prefix: "airlock-nginx-" });
  const template = await Deno.readTextFile(new URL("./nginx.conf", import.meta.url));
  const config = template
    .replace(/^\s*server 127\.0\.0\.1:\d+.*\n/gm, "")
    .replace(
      /upstream airlock \{\n/,
      `upstream airlock {\n${
        backends.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;\n`).join("")
      }`,
    )
    .replace(/listen 127\.0\.0\.1:\d+;/, `listen 127.0.0.1:${port};`)
    // As root, nginx's workers would switch to nobody, who cannot enter this private directory.
    .replace(/^# user$/m, Deno.uid() === 0 ? "user root;" : "");
  await Deno.writeTextFile(`${dir}/nginx.conf`, config);
  await Deno.mkdir(`${dir}/tmp`);
  await Deno.mkdir(`${dir}/logs`); // nginx opens its default error log before reading -e
  const child = new Deno.Command(program, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", "stderr", "-g", `pid ${dir}/nginx.pid;`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errors: string[] = [];
  child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (errors.length < 50 && errors.push(t)) }),
  ).catch(() => {});
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM"); // fast: open streams (MCP, SSE) would hold a graceful stop
    } catch {
      // Exited already.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitForPort(port, child, "nginx");
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}: ${errors.join("").slice(0, 1000)}`);
  }
  return { port, url: `http://127.0.0.1:${port}`, stop };
}

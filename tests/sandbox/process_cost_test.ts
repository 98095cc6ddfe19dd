/**
 * What a sandbox process costs the gateway outside its execution: the warm template's
 * write-ahead logs are folded in once (so each private copy is smaller and opens without
 * a WAL), and a process waiting in the pool is not disk-polled, while the disk cap still
 * holds from the moment the code arrives.
 */

import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals } from "../assert.ts";
import { sandboxChildren, startWatchedRun, waitForNoStrays } from "../helpers.ts";
import { checkpointTemplate } from "../../sandbox/template_checkpoint.ts";
import { Sandbox, sandboxCacheDir } from "../../sandbox/mod.ts";
import { MIN_SEMI_SPACE_MB } from "../../sandbox/flags.ts";

function makeSandbox(poolSize: number): Sandbox {
  return new Sandbox({
    timeoutMs: 5000,
    memoryMb: 64,
    maxOutputBytes: 1024 * 1024,
    maxLogBytes: 64 * 1024,
    concurrency: 2,
    queue: 8,
    poolSize,
    allowNet: [],
    allowRead: [],
  });
}

async function waitForPool(sandbox: Sandbox, ready: number): Promise<void> {
  for (let i = 0; i < 400 && sandbox.stats().poolReady < ready; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assertEquals(sandbox.stats().poolReady, ready, "the pool filled");
}

Deno.test("template: a database left with a WAL is checkpointed into a plain file, rows kept", async () => {
  const dir = await Deno.makeTempDir();
  const copy = await Deno.makeTempDir();
  try {
    // A connection left open keeps its writes in the WAL: copy the files as they are then,
    // which is what a killed warm-up process leaves behind.
    const db = new DatabaseSync(`${dir}/cache_v2`);
    db.exec("PRAGMA journal_mode=WAL; CREATE TABLE t (k TEXT, v BLOB)");
    const insert = db.prepare("INSERT INTO t VALUES (?, ?)");
    for (let i = 0; i < 200; i++) insert.run(`k${i}`, new Uint8Array(2000).fill(i));
    for (const name of ["cache_v2", "cache_v2-wal"]) {
      await Deno.copyFile(`${dir}/${name}`, `${copy}/${name}`);
    }
    db.close();
    assert((await Deno.stat(`${copy}/cache_v2-wal`)).size > 100_000, "the copy has a WAL");

    assertEquals(checkpointTemplate(copy), 0);

    const names = [...Deno.readDirSync(copy)].map((e) => e.name).sort();
    assertEquals(names, ["cache_v2"], "no -wal or -shm file is left");
    const folded = new DatabaseSync(`${copy}/cache_v2`, { readOnly: true });
    const row = folded.prepare("SELECT count(*) AS n FROM t").get() as { n: number };
    folded.close();
    assertEquals(row.n, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(copy, { recursive: true });
  }
});

Deno.test("template: a directory without databases, or without the directory, is left alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/note`, "x");
    assertEquals(checkpointTemplate(dir), 0);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["note"]);
    assertEquals(checkpointTemplate(`${dir}/missing`), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("template: the warm template that processes copy holds no write-ahead log", async () => {
  const sandbox = makeSandbox(1);
  await sandbox.start();
  try {
    await waitForPool(sandbox, 1);
    const template = await sandboxCacheDir();
    const files = [...Deno.readDirSync(template)].filter((e) => e.isFile).map((e) => e.name);
    assert(files.some((n) => n.startsWith("v8_code_cache")), `template files: ${files}`);
    assertEquals(files.filter((n) => n.endsWith("-wal") || n.endsWith("-shm")), []);
    // The warm-up's code cache is in the database itself, so processes still start warm.
    const cache = files.find((n) => n.startsWith("v8_code_cache"))!;
    assert((await Deno.stat(`${template}/${cache}`)).size > 64 * 1024, "the code cache is kept");
    const result = await sandbox.run({ code: "return 6 * 7" });
    assertEquals(result.result, 42);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("template: the warm template caches Node's modules too, so a process starts warm", async () => {
  // The warm-up starts Node (the harness hardens it before it reports ready), so Node's
  // modules are in the template: without them every process would compile them (Deno
  // 2.9.6: ~79 ms of CPU per process instead of ~50).
  const sandbox = makeSandbox(1);
  await sandbox.start();
  try {
    await waitForPool(sandbox, 1);
    const template = await sandboxCacheDir();
    const cache = [...Deno.readDirSync(template)].find((e) => e.name.startsWith("v8_code_cache"));
    assert(cache, "the template has a code cache");
    const db = new DatabaseSync(`${template}/${cache.name}`, { readOnly: true });
    const row = db.prepare(
      "SELECT count(*) AS n FROM codecache WHERE specifier LIKE 'ext:deno_node/%'",
    ).get() as { n: number };
    db.close();
    assert(row.n > 20, `Node modules in the template's code cache: ${row.n}`);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

/** The private cache directory (DENO_DIR) of a live process. */
function denoDirOf(pid: number): string {
  const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
  return environ.find((v) => v.startsWith("DENO_DIR="))!.slice("DENO_DIR=".length);
}

Deno.test("disk: a process waiting in the pool is not polled; the cap holds once its code arrives", async () => {
  const sandbox = makeSandbox(1);
  await sandbox.start();
  try {
    await waitForPool(sandbox, 1);
    const before = await sandboxChildren();
    assert(before.length >= 1, "a pool process is running");
    // Past the 64 MiB cap without writing it: a sparse file counts by its length.
    for (const pid of before) {
      const file = await Deno.open(`${denoDirOf(pid)}/filler`, { write: true, create: true });
      await file.truncate(80 * 1024 * 1024);
      file.close();
    }
    // Several polling periods (100 ms): a polled process would be killed by now.
    await new Promise((r) => setTimeout(r, 600));
    assertEquals(sandbox.stats().poolReady, 1, "the idle process is still in the pool");
    const alive = await sandboxChildren();
    for (const pid of before) assert(alive.includes(pid), `process ${pid} is alive`);
    // With the code running, the same directory is over the cap and the process stops.
    const result = await sandbox.run({ code: "await new Promise((r) => setTimeout(r, 3000))" });
    assertEquals(result.warm, true);
    assertEquals(result.error?.kind, "output_limit", JSON.stringify(result));
    assert(/bytes to disk/.test(result.error!.message), result.error!.message);
  } finally {
    await sandbox.close();
  }
  assertEquals(await waitForNoStrays(), []);
});

Deno.test("cache: a process writes no transpiled code to its cache directory", async () => {
  const sandbox = makeSandbox(0);
  try {
    const { pid, outcome } = await startWatchedRun(
      sandbox,
      // TypeScript, so Deno transpiles it; the wait keeps the process alive to be looked at.
      "const wait: number = 1500;\nawait new Promise((r) => setTimeout(r, wait));\nreturn 1;",
    );
    assert(pid > 0, "a sandbox process is running");
    const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
    const denoDir = environ.find((v) => v.startsWith("DENO_DIR="))!.slice("DENO_DIR=".length);
    // The code is running (its wait started), so it was transpiled by now.
    await new Promise((r) => setTimeout(r, 700));
    const emitted: string[] = [];
    const walk = (dir: string) => {
      try {
        for (const entry of Deno.readDirSync(dir)) {
          if (entry.isDirectory) walk(`${dir}/${entry.name}`);
          else emitted.push(`${dir}/${entry.name}`);
        }
      } catch { /* no such directory: nothing emitted */ }
    };
    walk(`${denoDir}/gen`);
    // Observed before: gen/data/<hash>.js for the warm-up probe and for the code, written
    // (about 0.6 ms) before the code ran, for a process that is discarded after it.
    assertEquals(emitted, []);
    assertEquals((await outcome).result, 1);
  } finally {
    await sandbox.close();
  }
});

Deno.test("start-up: a sandbox process's young generation holds its start-up garbage", async () => {
  // Without --min-semi-space-size, two scavenges ran before every process was ready (about
  // 2-3 ms of its 45 ms of CPU, bench/load.ts); the flag is what the gateway actually runs.
  const sandbox = makeSandbox(0);
  try {
    const { pid, outcome } = await startWatchedRun(
      sandbox,
      "await new Promise((r) => setTimeout(r, 500));\nreturn 1;",
    );
    assert(pid > 0, "a sandbox process is running");
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    const v8 = argv.find((a) => a.startsWith("--v8-flags="));
    assertEquals(
      v8,
      `--v8-flags=--max-old-space-size=64,--min-semi-space-size=${MIN_SEMI_SPACE_MB}`,
    );
    assertEquals((await outcome).result, 1);
  } finally {
    await sandbox.close();
  }
});

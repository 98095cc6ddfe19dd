/**
 * Folds the write-ahead logs of a warm template cache into their databases, once per
 * generation, so that each process's private copy is smaller and opens without a WAL.
 *
 * Deno keeps its caches (V8 code cache, module analysis) in SQLite databases in WAL mode.
 * The warm-up process leaves its writes in the `-wal` files, beside 4 KB databases, and
 * every process's private cache used to be a copy of all of them, six files, after which each
 * new process re-read the WALs to rebuild their indexes. Measured (2026-11-30): 0.56 MB in six
 * files before, 0.41 MB in three after (with the runner of 2026-11-29: a 1.8 MB
 * `v8_code_cache_v2-wal`, 2.0 MB in all, against 0.8 MB after), and a process opens plain
 * databases.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

const WAL_SUFFIX = "-wal";

/**
 * Checkpoints (`PRAGMA wal_checkpoint(TRUNCATE)`) every SQLite database in `dir` that has a
 * `-wal` file beside it, then closes it, which removes the WAL and its `-shm` index. Call it
 * only when no process uses `dir` (the template after its warm-up process has exited).
 *
 * Never throws: a database that cannot be checkpointed is left as it was (its WAL is then
 * copied with it, as before), and the count of those is returned.
 *
 * @param dir a directory (not searched recursively)
 * @returns how many databases could not be checkpointed
 */
export function checkpointTemplate(dir: string): number {
  let failed = 0;
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
  } catch {
    return 0; // no template: nothing to fold
  }
  for (const name of names) {
    if (!name.endsWith(WAL_SUFFIX)) continue;
    const database = `${dir}/${name.slice(0, -WAL_SUFFIX.length)}`;
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(database);
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch {
      failed++;
    } finally {
      try {
        // The last connection to close removes the (now empty) WAL and the -shm index.
        db?.close();
      } catch { /* already closed */ }
    }
  }
  return failed;
}

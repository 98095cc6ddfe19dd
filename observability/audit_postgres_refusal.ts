/**
 * Whether a failed PostgreSQL audit write was refused for what the records hold (write them
 * one by one and set aside the one refused) or failed for the database (unreachable, shutting
 * down, out of disk: retry them all later, drop none).
 *
 * @module
 */

/**
 * SQLSTATE classes that depend on the values written, not on the database's state:
 * `22` data exception (bytes not in the encoding, a JSON escape `jsonb` cannot hold, a time
 * or number out of range), `23` integrity constraint violation, `54` program limit exceeded
 * (a statement or value too large).
 */
const REFUSED_CLASSES = new Set(["22", "23", "54"]);

/**
 * Whether `error`, thrown by writing audit records, is about the records themselves: a
 * PostgreSQL error of a class in {@linkcode REFUSED_CLASSES}, the client's own
 * `MAX_PARAMETERS_EXCEEDED`, or a value JavaScript cannot serialise (a `TypeError` or
 * `RangeError` thrown before anything is sent). Connection errors (`ECONNREFUSED`,
 * `CONNECTION_CLOSED`, `CONNECT_TIMEOUT`, class `08`), an administrator's shutdown (`57`),
 * a full disk (`53`) and anything unknown are not: those records are retried, never dropped.
 */
export function refusedRecord(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  if (code === "MAX_PARAMETERS_EXCEEDED") return true;
  // Only a server's error has a five-character SQLSTATE; client codes are words.
  return (error as Error).name === "PostgresError" && /^[0-9A-Z]{5}$/.test(code) &&
    REFUSED_CLASSES.has(code.slice(0, 2));
}

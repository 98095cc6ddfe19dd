/**
 * The code hash in the audit: an HMAC-SHA-256 (RFC 2104) of the code under a key the audit
 * does not hold, so executions of the same program can be grouped, but whoever reads the
 * audit cannot confirm a guess at a program by hashing it (a fixed template with a secret or
 * an identity number in it is about 10⁹ tries for a plain SHA-256).
 *
 * The key comes from `audit.codeHashKey` or `AIRLOCK_AUDIT_HASH_KEY`. Without one, a SQLite
 * audit keeps a generated key in a file beside its database (`<path>.key`, mode 0600), so
 * hashes stay comparable across restarts; a PostgreSQL audit, shared by replicas that could
 * not agree on a file, gets a key for this process only (hashes then group executions of one
 * process), and the gateway says so at start.
 *
 * @module
 */

import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Prefix of a code hash: what it is, so a reader can tell it from a plain digest. */
export const CODE_HASH_PREFIX = "hmac-sha256:";
/** Shortest key accepted, in characters (a key is text; 32 hex digits are 128 bits). */
export const MIN_CODE_HASH_KEY_CHARS = 32;

/** Where the key of a {@linkcode CodeHasher} came from. */
export type CodeHashKeySource = "configured" | "file" | "process";

/** Hashes code for the audit under one key. */
export class CodeHasher {
  /** Where the key came from. */
  readonly source: CodeHashKeySource;
  readonly #key: string;

  /** @param key the HMAC key (UTF-8); see {@linkcode codeHasherFor} for where keys come from */
  constructor(key: string, source: CodeHashKeySource) {
    this.#key = key;
    this.source = source;
  }

  /** A hasher with a random key for this process only. */
  static ephemeral(): CodeHasher {
    return new CodeHasher(randomBytes(32).toString("hex"), "process");
  }

  /** `"hmac-sha256:<64 hex digits>"` of `code`'s UTF-8 bytes. */
  hash(code: string): string {
    return CODE_HASH_PREFIX + createHmac("sha256", this.#key).update(code, "utf8").digest("hex");
  }
}

/**
 * The hasher for an audit: the configured key when there is one; else, for a SQLite audit
 * at `sqlitePath`, the key in `<sqlitePath>.key` (made, 32 random bytes as hex, mode 0600,
 * when missing); else one for this process only.
 *
 * @throws Error when the key file exists but holds fewer than
 *   {@linkcode MIN_CODE_HASH_KEY_CHARS} characters, or cannot be read or written
 */
export function codeHasherFor(options: { key?: string; sqlitePath?: string }): CodeHasher {
  if (options.key !== undefined) return new CodeHasher(options.key, "configured");
  if (options.sqlitePath === undefined || options.sqlitePath === ":memory:") {
    return CodeHasher.ephemeral();
  }
  const path = `${options.sqlitePath}.key`;
  let key: string;
  try {
    key = readFileSync(path, "utf8").trim();
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
    mkdirSync(dirname(path), { recursive: true });
    key = randomBytes(32).toString("hex");
    try {
      // `wx`: two gateways starting on one database at once keep the first one's key.
      writeFileSync(path, key + "\n", { mode: 0o600, flag: "wx" });
    } catch (raced) {
      if ((raced as { code?: string }).code !== "EEXIST") throw raced;
      key = readFileSync(path, "utf8").trim();
    }
  }
  if (key.length < MIN_CODE_HASH_KEY_CHARS) {
    throw new Error(
      `the audit's code hash key file ${path} holds fewer than ${MIN_CODE_HASH_KEY_CHARS} ` +
        "characters",
    );
  }
  return new CodeHasher(key, "file");
}

/**
 * Last words of a key name that make it name something about what its first words name, not
 * that thing: a measure, a time, a flag (`phone_count`, `password_changed_at`,
 * `ssn_verified`, `token_expires`). Shared by the secret detector (a credential word followed
 * by one of these names no credential) and by the keyed read of structured values (a key
 * ending in one gives no context), so that the two never disagree on what a key is about.
 *
 * Not here: words that still name the thing (`number`, `hash`, `value`, `id`: `session_id`
 * is a cookie, `password_hash` a crackable secret).
 *
 * @module
 */

/** Words, lower case, as key names split at case changes and non-alphanumerics give them. */
export const ABOUT_WORDS: ReadonlySet<string> = new Set([
  // Measures and shapes.
  "count",
  "counts",
  "total",
  "totals",
  "length",
  "len",
  "size",
  "type",
  "types",
  "kind",
  "format",
  // When it was set or changed, and for how long it holds.
  "at",
  "on",
  "date",
  "time",
  "timestamp",
  "ts",
  "ttl",
  "expiry",
  "expires",
  "expiration",
  "expired",
  "age",
  "updated",
  "created",
  "changed",
  "modified",
  // Flags.
  "verified",
  "validated",
  "confirmed",
  "exists",
  "present",
  "visible",
  "visibility",
  "hidden",
  "masked",
]);

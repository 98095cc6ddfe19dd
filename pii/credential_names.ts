// Which key names are a credential's (`api_key`, `clientSecret`, `X-Auth-Token`,
// `DB_PASSWORD`) and of which kind, and the name read back from a `:` or `=`.

import { codeAt, isAlnum } from "./chars.ts";
import { ABOUT_WORDS } from "./about_words.ts";

/** Most characters between a key and its value (aligned config: `password          = …`). */
export const MAX_LEAD = 40;

/** Cheap pre-test: a key name without any of these cannot be a credential name. */
const KEY_HINT = /pass|pwd|pw|psk|secret|token|key|auth|bearer|credential|pat|sess|sid|sig/i;

/** Parts of a key name that mark its value as a password. */
const PASSWORD_WORDS = new Set([
  "password",
  "passwords",
  "passwds",
  "passphrases",
  "passwd",
  "passphrase",
  "passcode",
  "pass",
  "pwd",
  "pw",
  // Redis's own names for its password (`redis-server --requirepass …`, `masterauth`), as a
  // Kubernetes container's `args` gives them (red team l1).
  "requirepass",
  "masterauth",
  // A Wi-Fi or IPsec pre-shared key (`psk="…"` in wpa_supplicant.conf, hostapd's
  // `wpa_psk=`): the network's password (red team n1, N1-17).
  "psk",
]);

/** Parts of a key name that mark its value as a credential other than a password. */
const KEY_WORDS = new Set([
  "secret",
  "secrets",
  "token",
  "tokens",
  "key",
  "apikey",
  "apikeys",
  "auth",
  "authorization",
  "bearer",
  "credential",
  "credentials",
  "pat",
  // An OAuth token under its provider's name (Composer's `auth.json`:
  // `{"github-oauth": {"github.com": <token>}}`, red team n1, N1-17).
  "oauth",
  // Session identifiers (`cookie: session=…`, `connect.sid=…`, `PHPSESSID=…`) log a user in.
  // `session` and `sess` alone count only before `=` (see SESSION_WORDS).
  "sid",
  "sessionid",
  "sessid",
  "phpsessid",
  "jsessionid",
]);

/**
 * Parts before `keys` that make it credentials (`api_keys`, `accessKeys`, `primary_keys`):
 * `keys` alone is mostly code's list of an object's names (`const keys = Object.keys(o)`,
 * `knownKeys = warnOnInvalidKey(…`, `--recv-keys <fingerprint>`).
 */
const KEYS_QUALIFIERS = new Set([
  "api",
  "access",
  "secret",
  "private",
  "signing",
  "auth",
  "master",
  "client",
  "service",
  "encryption",
  "primary",
  "secondary",
  "account",
]);

/**
 * Parts that name a session: a credential in a cookie or query (`session=…`, `_gh_sess=…`),
 * but before `:` mostly a type or an object (`session: ClientHttp2Session`).
 */
const SESSION_WORDS = new Set(["session", "sess"]);

/**
 * Parts that name a request signature (`&sig=…` of an Azure SAS URL, `X-Amz-Signature=…`):
 * whoever holds the URL holds the access it signs. Only before a `=` that touches the name
 * and is no `==` (a query string); before `:` mostly a field about signing.
 */
const SIGNATURE_WORDS = new Set(["sig", "signature"]);

/**
 * Parts before `token` that make it a position in a listing, not a credential
 * (`nextPageToken`, `NextContinuationToken`, `page_token`, `syncToken`): masking one breaks
 * paging in mask mode (red team d2).
 */
const PAGING_WORDS = new Set([
  "next",
  "prev",
  "previous",
  "page",
  "paging",
  "pagination",
  "continuation",
  "cursor",
  "sync",
  "resume",
  "marker",
]);

/** A credential word glued onto a prefix (`PGPASSWORD`, `clientsecret`, `accesstoken`). */
const GLUED_PASSWORD = /(?:password|passwd|passphrase|passcode)s?$/;
const GLUED_TOKEN = /(?:secret|token|apikey|privatekey|secretkey|accesskey|sessionid)s?$/;

/**
 * Parts after the credential word that make the key name something about a credential, not
 * the credential: `secret_name`, `secret_version`, `passwordField`, `token_type`,
 * `password_min_length`, `key_file`: the words any key name can end in to be about something
 * ({@linkcode ABOUT_WORDS}), and those a credential has besides its value.
 */
const CREDENTIAL_ABOUT_WORDS: ReadonlySet<string> = new Set([
  ...ABOUT_WORDS,
  // What a credential has besides its value: a name, a version, an algorithm, a policy, a
  // place it is kept, a rule it must meet.
  "name",
  "names",
  "version",
  "versions",
  "field",
  "fields",
  "algorithm",
  "algorithms",
  "algo",
  "alg",
  "label",
  "prompt",
  "placeholder",
  "hint",
  "policy",
  "rotation",
  "lifetime",
  "path",
  "file",
  "filename",
  "dir",
  "ref",
  "arn",
  "uri",
  "url",
  "endpoint",
  "header",
  "param",
  "mode",
  "strength",
  "min",
  "max",
  "regex",
  "pattern",
  "enabled",
  "required",
  // When it was rotated or reset (`token_rotated`, `password_reset`, `secret_last`).
  "rotated",
  "reset",
  "set",
  "since",
  "last",
]);

/** Parts after a credential word that name its stored hash (`password_hash`, `tokenDigest`). */
const HASH_WORDS = new Set(["hash", "hashes", "hashed", "digest"]);

/**
 * Words before `key` that name another kind of key than a credential: database, cache and
 * API keys that identify a record or a request (`sort_key`, `cacheKey`, `primary_key`,
 * `idempotency_key`), and public keys.
 */
const OTHER_KEYS = new Set([
  "sort",
  "cache",
  "foreign",
  "partition",
  "idempotency",
  "range",
  "hash",
  "row",
  "shard",
  "routing",
  "lookup",
  "dedup",
  "dedupe",
  "deduplication",
  "object",
  "unique",
  "index",
  "composite",
  "group",
  "message",
  "translation",
  "i18n",
  "storage",
  "redis",
  "map",
  "dict",
  "public",
  "publishable",
  "site",
]);

/**
 * The kind of credential a key name names: a `password` (judged by the looser password
 * thresholds), a `token`, an `aws` secret access key (40 base64 characters), a `session` or a
 * request `signature` (credentials only in some positions), or `null` for none.
 */
export type KeyKind = "password" | "token" | "aws" | "session" | "signature" | null;

/** Key names already classified (at most 1024, then forgotten at once). */
const keyKinds = new Map<string, KeyKind>();

/**
 * The {@linkcode KeyKind} of a key name (`api_key`, `clientSecret`, `X-Auth-Token`,
 * `DB_PASSWORD`): a credential word as one of its parts, and no word after it that makes the
 * name about the credential (`secret_name`, `token_type`). Memoised.
 */
export function keyKind(name: string): KeyKind {
  if (!KEY_HINT.test(name)) return null;
  let kind = keyKinds.get(name);
  if (kind === undefined) {
    kind = classifyKeyName(name);
    if (keyKinds.size >= 1024) keyKinds.clear();
    keyKinds.set(name, kind);
  }
  return kind;
}

function classifyKeyName(name: string): KeyKind {
  const parts = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/);
  let kind: KeyKind = null;
  let last = -1;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (PASSWORD_WORDS.has(part) || GLUED_PASSWORD.test(part)) kind = "password";
    else if (
      KEY_WORDS.has(part) || GLUED_TOKEN.test(part) ||
      (part === "keys" && i > 0 && KEYS_QUALIFIERS.has(parts[i - 1]))
    ) {
      if (kind !== "password") kind = "token";
    } else if (SESSION_WORDS.has(part)) kind ??= "session";
    else if (SIGNATURE_WORDS.has(part)) kind ??= "signature";
    else continue;
    last = i;
  }
  if (kind === null) return null;
  // AWS Secrets Manager's `SecretString` holds the secret itself (a password, or JSON whose
  // own names are judged in turn), though `string` is elsewhere a word about a value.
  if (parts[last] === "secret" && parts[last + 1] === "string" && last + 2 === parts.length) {
    return "password";
  }
  // Something about the credential (its name, version), or a key of another kind. A stored
  // password hash (`$2b$12$…`, `$argon2id$…`) can be cracked offline: it is judged as a token
  // (high entropy), so `"passwordHash": "argon2id"` (the algorithm's name) stays.
  for (let i = last + 1; i < parts.length; i++) {
    if (HASH_WORDS.has(parts[i])) return "token";
    if (CREDENTIAL_ABOUT_WORDS.has(parts[i])) return null;
    // A key's or a token's id (`KeyId`, `key_id`, `token_id`, `secret_id`) names it (KMS,
    // Secrets Manager): an approver must see which one a call deletes (red team i2). A
    // session's id is the session's credential.
    if ((parts[i] === "id" || parts[i] === "ids") && kind !== "session") return null;
  }
  const word = parts[last];
  if ((word === "key" || word === "keys") && last > 0 && OTHER_KEYS.has(parts[last - 1])) {
    return null;
  }
  if ((word === "token" || word === "tokens") && last > 0 && PAGING_WORDS.has(parts[last - 1])) {
    return null;
  }
  if (/secret_?access_?key/i.test(name)) return "aws";
  return kind;
}

/**
 * Between a key name and its `:` or `=`: quotes, `\` (JSON in JSON), spaces, tabs, and a
 * closing `]` of a subscript (`os.environ["DB_PASSWORD"] = …`, `$cfg['password'] = …`,
 * php-fpm's `env[DB_PASSWORD] = …`, PHP's `print_r` `[password] => …`: red team n1, N1-1 and
 * N1-17, each came back raw).
 */
function isNameQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96 || c === 32 || c === 9 || c === 92 || c === 93;
}

/** A character of a key name: a letter, a digit, `_`, `-` or `.`. */
export function isKeyNameChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46;
}

/** Where the key name before the `:` or `=` at `at` starts (read as {@linkcode triggerKind} does). */
export function nameStartAt(text: string, at: number): number {
  let k = at;
  while (k > 0 && at - k < MAX_LEAD && isNameQuote(text.charCodeAt(k - 1))) k--;
  const nameEnd = k;
  while (k > 0 && nameEnd - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
  return k;
}

/** The credential kind of the key name just before the `:` or `=` at `at`, or null. */
export function triggerKind(text: string, at: number): Exclude<KeyKind, "session" | "signature"> {
  // Key name: skip closing quotes, escapes and padding (bounded), then read the name
  // backwards (bounded).
  let k = at;
  while (k > 0 && at - k < MAX_LEAD && isNameQuote(text.charCodeAt(k - 1))) k--;
  const nameEnd = k;
  // At most 48 characters back: a longer dotted/underscored name is judged by its tail.
  while (k > 0 && nameEnd - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
  // Every credential word has at least two letters (`pw`).
  if (nameEnd - k < 2) return null;
  const kind = keyKind(text.slice(k, nameEnd));
  if (kind !== "session" && kind !== "signature") return kind;
  // A query's `sig=…` touches its name and is no comparison (`sig == signal.SIGINT`).
  if (kind === "signature" && (nameEnd !== at || codeAt(text, at + 1) === 61)) return null;
  return text.charCodeAt(at) === 61 ? "token" : null;
}

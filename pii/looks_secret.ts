// Whether a value after a credential name looks secret: long and random enough, by the
// thresholds tuned in tests/pii/tune_entropy.ts (see pii/README.md, "Tuning the secret
// thresholds"), and no placeholder, path, URL or object name.

import { isLetter } from "./chars.ts";
import { shannonEntropy } from "./checksums.ts";
import { dashedName, objectName } from "./object_names.ts";

/**
 * Thresholds for keyword-adjacent values, chosen by the grid search in
 * tests/pii/tune_entropy.ts (maximum F1 on its labelled samples; see pii/README.md).
 */
export const SECRET_THRESHOLDS: Readonly<{ token: SecretThresholds; password: SecretThresholds }> =
  Object.freeze({
    token: { minLength: 16, minEntropy: 3.3, maxVowelRatio: 0.25, minDigitRatio: 0.05 },
    password: { minLength: 6, minEntropy: 2.0, maxVowelRatio: 0.2, minDigitRatio: 0.05 },
  });

/**
 * What stands in for a credential (`${DB_PASSWORD}`, `<your-token>`, `changeme`, `***`, an
 * Airlock placeholder `[REDACTED_SECRET]`): never a secret itself.
 */
const PLACEHOLDER =
  /^(?:\[(?:REDACTED_[A-Z]+|[A-Z]+_\d+_[a-z0-9]+)\]|\$\{|\$[A-Z_][A-Z0-9_]*$|%[A-Z_]+%|\{\{|<[\w .-]*>|<[A-Za-z_ .-]*$|process\.env|os\.environ|env\.|your[_-]|example|changeme|redacted|placeholder|dummy|xxx|\*\*\*|null$|none$|undefined$|true$|false$|required$|optional$|string$|hidden$)/i;
/**
 * An absolute path (`/etc/app/config.yml`, `~/keys/`): a place, not a credential, unless a
 * segment of it looks random ({@linkcode randomSegment}).
 */
const PATH = /^~?(?:\/[\w.-]+)+\/?$/;

/** Shortest segment judged random by {@linkcode randomSegment} (UTF-16 units). */
const RANDOM_SEGMENT = 12;

/**
 * Whether a segment of a path or a URL's host, `[from, to)` of `value`, looks random, not
 * like a name: at least {@linkcode RANDOM_SEGMENT} characters of base64's (letters, digits,
 * `+`, `=`, `_`, `-`), holding capitals, small letters and digits, and changing between
 * those classes at least once every three characters (`u7Kq2Lm9XzPw4RtY8vBn3Cd`, not
 * `Report2024`, `MyProject2`, `node_modules`, a hex hash). Red team m1: a base64 secret starts
 * with `/` one time in 64, and the rule "a path is no password" returned it raw; a URL's
 * host (`redis://Xk9mQ2pL7vRtYw3z`) was never judged. Reads the segment once.
 */
function randomSegment(value: string, from: number, to: number): boolean {
  if (to - from < RANDOM_SEGMENT) return false;
  let upper = 0, lower = 0, digits = 0, changes = 0, last = 0;
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    const cls = c >= 65 && c <= 90 ? 1 : c >= 97 && c <= 122 ? 2 : c >= 48 && c <= 57 ? 3 : 0;
    if (cls === 0 && c !== 43 && c !== 61 && c !== 95 && c !== 45) return false;
    if (cls === 1) upper++;
    else if (cls === 2) lower++;
    else if (cls === 3) digits++;
    if (cls !== 0 && last !== 0 && cls !== last) changes++;
    if (cls !== 0) last = cls;
  }
  return upper > 0 && lower > 0 && digits > 0 && changes * 3 >= to - from;
}

/**
 * Whether some segment of `value` between `from` and `to`, split at `/` (and `.`, `:`, `@`
 * of a host), looks random ({@linkcode randomSegment}).
 */
function holdsRandomSegment(value: string, from: number, to: number): boolean {
  let s = from;
  for (let i = from; i <= to; i++) {
    const c = i < to ? value.charCodeAt(i) : 47;
    if (c === 47 || c === 46 || c === 58 || c === 64) {
      if (randomSegment(value, s, i)) return true;
      s = i + 1;
    }
  }
  return false;
}

/**
 * Where the host (and port) of a URL `scheme://[userinfo@]host/…` in `value` stands: after
 * `://` and the authority's last `@`, to the first `/`, `?` or `#`, or the value's end (its
 * user information is the URL credential detector's); null when `value` is no URL.
 */
function hostOf(value: string): [number, number] | null {
  const sep = value.indexOf("://");
  if (sep <= 0 || sep > 16) return null;
  let s = sep + 3;
  let e = s;
  for (; e < value.length && "/?#".indexOf(value[e]) === -1; e++) {
    if (value.charCodeAt(e) === 64) s = e + 1;
  }
  return [s, e];
}

/** The measurements the keyword-adjacent secret decision is made on. */
export interface SecretFeatures {
  /** Characters. */
  length: number;
  /** Shannon entropy, bits per character. */
  entropy: number;
  /** Share of letters that are vowels (about 0.38 in English words, 0.19 at random). */
  vowelRatio: number;
  /** Share of characters that are digits or symbols other than `_ - . /`. */
  digitRatio: number;
}

/** Measures `value` for {@linkcode looksSecret}. */
export function secretFeatures(value: string): SecretFeatures {
  let letters = 0, vowels = 0, digits = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isLetter(c)) {
      letters++;
      const l = c | 32;
      if (l === 97 || l === 101 || l === 105 || l === 111 || l === 117) vowels++;
    } else if (c !== 95 && c !== 45 && c !== 46 && c !== 47) digits++;
  }
  return {
    length: value.length,
    entropy: shannonEntropy(value),
    vowelRatio: letters === 0 ? 0 : vowels / letters,
    digitRatio: value.length === 0 ? 0 : digits / value.length,
  };
}

/** Thresholds of one keyword class (see {@linkcode SECRET_THRESHOLDS}). */
export interface SecretThresholds {
  /** Minimum length. */
  minLength: number;
  /** Minimum Shannon entropy, bits per character. */
  minEntropy: number;
  /** A value whose vowel ratio is at most this looks machine-made… */
  maxVowelRatio: number;
  /** …as does one whose digit/symbol ratio is at least this. */
  minDigitRatio: number;
}

/** True when features `f` pass thresholds `t`. */
export function passesThresholds(f: SecretFeatures, t: SecretThresholds): boolean {
  return f.length >= t.minLength && f.entropy >= t.minEntropy &&
    (f.vowelRatio <= t.maxVowelRatio || f.digitRatio >= t.minDigitRatio);
}

/** A URL of any scheme whose authority holds no `@` (no user information). */
const SCHEME_URL = /^[a-z][a-z0-9+.-]{1,15}:\/\/[^\s@/?#]*(?:[/?#][^\s@]*)?$/i;

/**
 * Decides whether a keyword-adjacent value is a secret. `password` selects the password
 * thresholds (human-chosen values are shorter and less random than generated tokens).
 */
export function looksSecret(value: string, password: boolean): boolean {
  const t = password ? SECRET_THRESHOLDS.password : SECRET_THRESHOLDS.token;
  if (value.length < t.minLength || PLACEHOLDER.test(value)) return false;
  if (/^[0-9]+$/.test(value) && !password) return false;
  // A path of names is a place (`/srv/www/prod`); one with a random segment is a secret
  // that starts with `/` (`/u7Kq2Lm9XzPw4RtY8vBn3Cd`, red team m1).
  if (PATH.test(value) && !holdsRandomSegment(value, 0, value.length)) return false;
  // A URL of any scheme without user information (`ssh://host/x`, `s3://bucket/key`,
  // `postgres://db.prod/ledger`) names a place; its password, when it has one, is the URL
  // credential detector's (red team i2: under `key` a deletion's target was hidden). Not
  // when its host looks random (`redis://Xk9mQ2pL7vRtYw3z`, red team m1): no host is named so.
  if (/^(?:https?|ftp|file):\/\//i.test(value) || SCHEME_URL.test(value)) {
    const host = hostOf(value);
    if (host === null || !holdsRandomSegment(value, host[0], host[1])) return false;
  }
  if (!password && (objectName(value) || dashedName(value))) return false;
  return passesThresholds(secretFeatures(value), t);
}

/**
 * Whether a value given where only a password goes (a tool's password flag, `sshpass -p`,
 * a password variable before a command, the user information before `@host`) is one: any
 * value but a variable, a command substitution or a placeholder (`$PW`, `${PW}`, `$(cat f)`,
 * `<password>`, `changeme`, `***`). Its randomness is not judged: the place says what it is
 * (`mysqladmin -pSecret`). `literal`: the value was single-quoted in a shell
 * (`redis-cli -a '$ecretPassw0rd'`), where `$` and a backtick are characters, not a variable
 * (red team l1).
 */
export function givenSecret(value: string, literal = false): boolean {
  // Single-quoted, a `$` starts a placeholder only as a variable is written (`'$DB_PASS'`,
  // `'${PW}'`), not a word of mixed case (`'$ecretPassw0rd'`).
  if (literal && value.charCodeAt(0) === 36) return !/^\$(?:\{|[A-Z_][A-Z0-9_]*$)/.test(value);
  return value.length > 0 && !PLACEHOLDER.test(value) && !/^(?:\$[\w{(]|`)/.test(value);
}

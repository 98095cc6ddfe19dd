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
/** An absolute path (`/etc/app/config.yml`, `~/keys/`): a place, not a credential. */
const PATH = /^~?(?:\/[\w.-]+)+\/?$/;

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
  if (/^(?:https?|ftp|file):\/\//i.test(value) || PATH.test(value)) return false;
  // A URL of any scheme without user information (`ssh://host/x`, `s3://bucket/key`,
  // `postgres://db.prod/ledger`) names a place; its password, when it has one, is the URL
  // credential detector's (red team i2: under `key` a deletion's target was hidden).
  if (SCHEME_URL.test(value)) return false;
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

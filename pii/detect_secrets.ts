// Secrets: known key formats (found by their literal prefixes, then validated), and
// values of unknown format that follow a keyword (key, token, secret, password, bearer…)
// and look random enough. The randomness thresholds come from
// tests/pii/tune_entropy.ts (see pii/README.md, "Tuning the secret thresholds").

import type { Finding } from "./types.ts";
import { codeAt, isAlnum, isDigit, isLetter, isTokenChar, isUpper, labelBefore } from "./chars.ts";
import { shannonEntropy } from "./checksums.ts";
import { matchPem } from "./detect_pem.ts";

/** Literal prefixes of known key formats; each hit is validated by {@linkcode matchKnown}. */
const KNOWN_PREFIX =
  /AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposre]-|[sr]k_(?:live|test)_|sk-|AIza|eyJ|-----BEGIN /g;

/**
 * Thresholds for keyword-adjacent values, chosen by the grid search in
 * tests/pii/tune_entropy.ts (maximum F1 on its labelled samples; see pii/README.md).
 */
export const SECRET_THRESHOLDS: Readonly<{ token: SecretThresholds; password: SecretThresholds }> =
  Object.freeze({
    token: { minLength: 16, minEntropy: 3.3, maxVowelRatio: 0.25, minDigitRatio: 0.05 },
    password: { minLength: 6, minEntropy: 2.0, maxVowelRatio: 0.2, minDigitRatio: 0.05 },
  });

const MAX_VALUE = 512;

/** Appends secrets found in `text` to `out`. */
export function findSecrets(text: string, out: Finding[]): void {
  findKnown(text, out);
  findKeywordValues(text, out);
  if (text.includes("://")) findUrlPasswords(text, out);
}

const URL_PASSWORD_PLACEHOLDER =
  /^(?:pass(?:word)?|secret|changeme|x+|\*+|<.*>|\$\{.*\}|\$[A-Z_]+)$/i;

/** The password in `scheme://user:password@host` (database URLs, git remotes). */
function findUrlPasswords(text: string, out: Finding[]): void {
  let at = text.indexOf("://");
  while (at !== -1) {
    let j = at + 3;
    let colon = -1;
    while (j < text.length && j - at < 256) {
      const c = text.charCodeAt(j);
      if (c === 64 /* @ */ || c === 47 || c === 63 || c === 35 || c <= 32) break;
      if (c === 58 && colon === -1) colon = j;
      j++;
    }
    if (codeAt(text, j) === 64 && colon !== -1 && j > colon + 1) {
      const value = text.slice(colon + 1, j);
      if (!URL_PASSWORD_PLACEHOLDER.test(value)) {
        out.push({ type: "secret", start: colon + 1, end: j, value });
      }
    }
    at = text.indexOf("://", Math.max(j, at + 3));
  }
}

function findKnown(text: string, out: Finding[]): void {
  const re = new RegExp(KNOWN_PREFIX.source, "g");
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    if (m[0] === "-----BEGIN ") {
      // Only the key body is secret (pii/detect_pem.ts), not whatever the armour wraps.
      const pem = codeAt(text, start - 1) === 45 ? undefined : matchPem(text, start);
      if (pem) {
        out.push({
          type: "secret",
          start: pem.start,
          end: pem.end,
          value: text.slice(pem.start, pem.end),
        });
        re.lastIndex = pem.end;
      } else re.lastIndex = runEnd(text, start + m[0].length);
      continue;
    }
    const end = matchKnown(text, start, m[0]);
    if (end > 0) {
      out.push({ type: "secret", start, end, value: text.slice(start, end) });
      re.lastIndex = end;
      if (m[0] === "AKIA" || m[0] === "ASIA") {
        const pair = awsSecretAfter(text, end);
        if (pair) {
          out.push({ type: "secret", start: pair.start, end: pair.end, value: pair.value });
          re.lastIndex = pair.end;
        }
      }
    } else {
      // Skip the rest of this token so a long run of prefixes stays linear.
      re.lastIndex = runEnd(text, start + m[0].length);
    }
  }
}

/** Separators allowed between an AWS access key id and its secret: space, tab, `,;:|=` and quotes. */
const AWS_PAIR_GAP = /^[\s,;:|="'`]{1,8}$/;
const AWS_SECRET_CHARS = /^[A-Za-z0-9/+]{40}$/;

/**
 * An AWS secret access key written right after its access key id without a key name
 * (`AKIA… wJalr…`, a CSV row of credentials): 40 base64 characters with upper- and
 * lower-case letters (so a 40-digit hex hash is not one), within 8 separator characters
 * of the id's end. Reads at most 49 characters: linear overall.
 */
function awsSecretAfter(
  text: string,
  idEnd: number,
): { start: number; end: number; value: string } | undefined {
  let start = idEnd;
  while (start < text.length && start - idEnd < 8 && AWS_PAIR_GAP.test(text[start])) start++;
  if (start === idEnd || !AWS_PAIR_GAP.test(text.slice(idEnd, start))) return undefined;
  const end = start + 40;
  const value = text.slice(start, end);
  if (!AWS_SECRET_CHARS.test(value)) return undefined;
  if (isTokenChar(codeAt(text, end)) || codeAt(text, end) === 61 /* = */) {
    return undefined;
  }
  if (!/[a-z]/.test(value) || !/[A-Z]/.test(value)) return undefined;
  return { start, end, value };
}

function runEnd(text: string, i: number): number {
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

function countWhile(text: string, i: number, ok: (c: number) => boolean, max: number): number {
  let j = i;
  while (j < text.length && j - i <= max && ok(text.charCodeAt(j))) j++;
  return j - i;
}

const base62 = (c: number) => isAlnum(c);
const base64url = (c: number) => isAlnum(c) || c === 45 || c === 95;
const base32 = (c: number) => isUpper(c) || (c >= 50 && c <= 55);

/** End of the known-format secret (not PEM) whose prefix is at `start`, or -1. */
function matchKnown(text: string, start: number, prefix: string): number {
  const before = codeAt(text, start - 1);
  if (isTokenChar(before) && !labelledKey(text, start, prefix)) return -1;
  const body = start + prefix.length;
  let len: number;
  let ok: (c: number) => boolean;
  if (prefix === "AKIA" || prefix === "ASIA") {
    len = countWhile(text, body, base32, 16);
    if (len !== 16) return -1;
    // An access key id is 16 base32 characters: a lower-case letter, `0`, `1`, `8`, `9`
    // after them is written onto it (`…EXAMPLEold`), not more of it.
    ok = base32;
  } else if (prefix === "github_pat_") {
    len = countWhile(text, body, (c) => base62(c) || c === 95, 255);
    if (len < 22 || len > 255) return -1;
    ok = base62;
  } else if (prefix.startsWith("gh")) {
    len = countWhile(text, body, base62, 255);
    if (len < 36 || len > 255) return -1;
    ok = base62;
  } else if (prefix.startsWith("xox")) {
    len = countWhile(text, body, (c) => base62(c) || c === 45, 255);
    if (len < 10 || len > 255 || !hasDigit(text, body, body + len)) return -1;
    ok = base62;
  } else if (prefix.endsWith("live_") || prefix.endsWith("test_")) {
    len = countWhile(text, body, base62, 247);
    if (len < 16 || len > 247) return -1;
    ok = base62;
  } else if (prefix === "sk-") {
    len = countWhile(text, body, base64url, 255);
    if (len < 20 || len > 255) return -1;
    const v = text.slice(body, body + len);
    if (!/[0-9]/.test(v) || !/[a-z]/.test(v) || !/[A-Z]/.test(v)) return -1;
    ok = base64url;
  } else if (prefix === "AIza") {
    len = countWhile(text, body, base64url, 35);
    // Exactly 35 characters; a `-` or `_` after them starts a word written onto the key
    // (`AIza…_old`), while a letter or digit would make a longer token.
    if (len === 36 && (text.charCodeAt(body + 35) === 45 || text.charCodeAt(body + 35) === 95)) {
      return body + 35;
    }
    if (len !== 35) return -1;
    ok = base64url;
  } else {
    return matchJwt(text, start);
  }
  const end = body + len;
  return ok(codeAt(text, end)) ? -1 : end;
}

/**
 * A key written onto a label (`key-AKIA…`, `aws_AKIA…`, `token-ghp_…`): letters joined by
 * `-` or `_`, or, for the prefixes whose capitals cannot be the end of an English word
 * (`AKIA`, `ASIA`, `AIza`, `eyJ`), touching it (`keyAKIA…`). A lower-case prefix touching
 * letters is the inside of a word (`task-…` holds `sk-`).
 */
function labelledKey(text: string, start: number, prefix: string): boolean {
  const label = labelBefore(text, start);
  return label === 1 || (label === 2 && (isUpper(prefix.charCodeAt(0)) || prefix === "eyJ"));
}

function hasDigit(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (isDigit(text.charCodeAt(i))) return true;
  return false;
}

/** A JWT: header.payload[.signature], header and payload base64url JSON objects. */
function matchJwt(text: string, start: number): number {
  const h = countWhile(text, start, base64url, 4096);
  if (h < 10 || h > 4096 || codeAt(text, start + h) !== 46) return -1;
  const p0 = start + h + 1;
  const p = countWhile(text, p0, base64url, 65536);
  if (p < 4 || p > 65536 || text.slice(p0, p0 + 3) !== "eyJ") return -1;
  let end = p0 + p;
  if (codeAt(text, end) === 46) {
    const s = countWhile(text, end + 1, base64url, 4096);
    if (s > 4096) return -1;
    end += 1 + s;
  }
  if (base64url(codeAt(text, end))) return -1;
  const header = decodeBase64Url(text.slice(start, start + h));
  if (header === null || !/^\s*\{/.test(header) || !/"(?:alg|typ)"/.test(header)) return -1;
  return end;
}

function decodeBase64Url(s: string): string | null {
  try {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    return atob(b64 + "===".slice((b64.length + 3) % 4));
  } catch {
    return null;
  }
}

// --- keyword-adjacent values -------------------------------------------------------

const PASSWORD_KEYWORD = /^(?:pass|pwd)/i;
const SCHEME = /^(?:bearer|basic|token|digest)\s+/i;
const PLACEHOLDER =
  /^(?:\$\{|\$[A-Z_][A-Z0-9_]*$|%[A-Z_]+%|\{\{|<|process\.env|os\.environ|env\.|your[_-]|example|changeme|redacted|placeholder|dummy|xxx|\*\*\*|null$|none$|undefined$|true$|false$|required$|optional$|string$|hidden$)/i;
const PATH = /^~?(?:\/[\w.-]+)+\/?$/;

// Letters, digits and the punctuation seen in keys and passwords; not quotes, brackets,
// commas, semicolons or `&`, which end a value in code, JSON and query strings. (`|` and a
// URL password's `;`, `(`, `&` stay: real passwords hold them, and redacting one whole matters
// more than what a single token without spaces could hide from an approver; see the README's
// "Human approval".) A table, because every character of every keyword value goes through it.
const VALUE_CHARS = (() => {
  const table = new Uint8Array(128);
  for (let c = 33; c < 127; c++) {
    if ("\"'`,;&()[]{}<>\\".indexOf(String.fromCharCode(c)) === -1) table[c] = 1;
  }
  return table;
})();

function isValueChar(c: number): boolean {
  return c < 128 && VALUE_CHARS[c] === 1;
}

/** What `/\s/` matches (JavaScript white space and line terminators), without a regex call. */
function isJsSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Characters between a key and its value: white space, quotes, `:`, `=`, `>`. */
function isValueLead(c: number): boolean {
  return isJsSpace(c) || c === 34 || c === 39 || c === 96 || c === 58 || c === 61 || c === 62;
}

/** Cheap pre-test: a key name without any of these cannot be a credential name. */
const KEY_HINT = /pass|pwd|secret|token|key|auth|bearer|credential|pat/i;

/** Parts of a key name that mark its value as a credential. */
const KEY_WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "pass",
  "pwd",
  "secret",
  "secrets",
  "token",
  "tokens",
  "key",
  "apikey",
  "auth",
  "authorization",
  "bearer",
  "credential",
  "credentials",
  "pat",
]);

/**
 * True when a key name (`api_key`, `clientSecret`, `X-Auth-Token`, `DB_PASSWORD`) has a
 * credential word as one of its parts; returns "password" for password-like names.
 */
const keyKinds = new Map<string, "password" | "token" | "aws" | null>();

function keyKind(name: string): "password" | "token" | "aws" | null {
  if (!KEY_HINT.test(name)) return null;
  let kind = keyKinds.get(name);
  if (kind === undefined) {
    kind = classifyKeyName(name);
    if (keyKinds.size >= 1024) keyKinds.clear();
    keyKinds.set(name, kind);
  }
  return kind;
}

function classifyKeyName(name: string): "password" | "token" | "aws" | null {
  if (/secret_?access_?key/i.test(name)) return "aws";
  const parts = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/);
  let kind: "password" | "token" | null = null;
  for (const part of parts) {
    if (!KEY_WORDS.has(part)) continue;
    if (PASSWORD_KEYWORD.test(part)) return "password";
    kind = "token";
  }
  return kind;
}

function isNameQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96 || c === 32 || c === 9;
}

function isKeyNameChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46;
}

/**
 * Values after `name: value`, `name=value`, `"name": "value"`, `name => value` where the
 * name is a credential word. Triggered by each ':' and '=' (cheap to find), with the key
 * name read backwards from there.
 */
function findKeywordValues(text: string, out: Finding[]): void {
  // Two `indexOf` cursors rather than `/[:=]/g.exec`: native scans between triggers, and
  // no regular-expression call per trigger when every character is one (`::::`, `a:a:`).
  // Each cursor only moves forward, so the text is scanned once per character searched.
  const info = { judged: false };
  let colon = text.indexOf(":");
  let equals = text.indexOf("=");
  let i = 0;
  while (true) {
    if (colon !== -1 && colon < i) colon = text.indexOf(":", i);
    if (equals !== -1 && equals < i) equals = text.indexOf("=", i);
    const at = colon === -1 ? equals : equals === -1 ? colon : Math.min(colon, equals);
    if (at === -1) break;
    i = at + 1;
    const kind = triggerKind(text, at);
    if (kind === null) continue;
    const before = out.length;
    const end = matchValue(text, at + 1, kind, out, info);
    if (end <= 0) continue;
    i = end;
    if (out.length > before || !info.judged) continue;
    // Not a secret. A credential named inside it (`token: a_long_note_secret=Xk9…`) gets
    // one judgement of its own: the last such name, so each character is read at most
    // twice (judging every `=` of `key=key=key=…` again was quadratic up to the cap).
    let last = -1;
    let lastKind: KeyKind = null;
    for (let j = at + 1; j < end; j++) {
      const d = text.charCodeAt(j);
      if (d !== 58 && d !== 61) continue;
      const inner = triggerKind(text, j);
      if (inner !== null) {
        last = j;
        lastKind = inner;
      }
    }
    if (lastKind !== null) i = Math.max(i, matchValue(text, last + 1, lastKind, out, info));
  }
  // `Bearer <token>` also appears without a key name (curl -H, logs).
  let b = text.indexOf("earer ");
  while (b !== -1) {
    const c = codeAt(text, b - 1);
    if ((c === 66 || c === 98) && !isLetter(codeAt(text, b - 2))) {
      matchValue(text, b + 6, "token", out);
    }
    b = text.indexOf("earer ", b + 6);
  }
}

type KeyKind = "password" | "token" | "aws" | null;

/** The credential kind of the key name just before the `:` or `=` at `at`, or null. */
function triggerKind(text: string, at: number): KeyKind {
  // Key name: skip closing quotes/spaces, then read the name backwards (bounded).
  let k = at;
  while (k > 0 && at - k < 3 && isNameQuote(text.charCodeAt(k - 1))) k--;
  const nameEnd = k;
  // At most 48 characters back: a longer dotted/underscored name is judged by its tail.
  while (k > 0 && nameEnd - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
  // Every credential word has at least three letters.
  if (nameEnd - k < 3) return null;
  return keyKind(text.slice(k, nameEnd));
}

/**
 * Reads the value starting around `from`; pushes it when it looks secret, and sets
 * `info.judged` when the value was judged (not empty, not over {@linkcode MAX_VALUE}).
 * Returns where the keyword scan resumes, -1 when there is no value: past the value
 * whether or not it was a secret, so a `:` or `=` inside it is not a trigger of the main
 * scan (see {@linkcode findKeywordValues} for the one nested judgement).
 */
function matchValue(
  text: string,
  from: number,
  kind: "password" | "token" | "aws",
  out: Finding[],
  info: { judged: boolean } = { judged: false },
): number {
  info.judged = false;
  let j = from;
  while (j < text.length && j - from < 8 && isValueLead(text.charCodeAt(j))) j++;
  const first = codeAt(text, j) | 32;
  if (first === 98 || first === 116 || first === 100) {
    const scheme = SCHEME.exec(text.slice(j, j + 10)); // Bearer, Basic, Token, Digest
    if (scheme) j += scheme[0].length;
  }
  const vs = j;
  while (j < text.length && j - vs <= MAX_VALUE && isValueChar(text.charCodeAt(j))) j++;
  if (j - vs > MAX_VALUE) return j;
  let ve = j;
  // Sentence punctuation.
  while (ve > vs && (text.charCodeAt(ve - 1) === 46 || text.charCodeAt(ve - 1) === 58)) ve--;
  if (ve === vs) return -1;
  const value = text.slice(vs, ve);
  // AWS secret access keys have a fixed shape: 40 base64 characters.
  info.judged = true;
  const aws = kind === "aws" && /^[A-Za-z0-9/+]{40}$/.test(value);
  if (aws || looksSecret(value, kind === "password")) {
    out.push({ type: "secret", start: vs, end: ve, value });
  }
  return ve;
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

/**
 * Decides whether a keyword-adjacent value is a secret. `password` selects the password
 * thresholds (human-chosen values are shorter and less random than generated tokens).
 */
export function looksSecret(value: string, password: boolean): boolean {
  const t = password ? SECRET_THRESHOLDS.password : SECRET_THRESHOLDS.token;
  if (value.length < t.minLength || PLACEHOLDER.test(value)) return false;
  if (/^[0-9]+$/.test(value) && !password) return false;
  if (/^(?:https?|ftp|file):\/\//i.test(value) || PATH.test(value)) return false;
  return passesThresholds(secretFeatures(value), t);
}

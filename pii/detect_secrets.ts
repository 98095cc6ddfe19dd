// Secrets: known key formats (found by their literal prefixes, then validated), and
// values of unknown format that follow a keyword (key, token, secret, password, bearer…)
// and look random enough. The randomness thresholds come from
// tests/pii/tune_entropy.ts (see pii/README.md, "Tuning the secret thresholds").

import type { Finding } from "./types.ts";
import { codeAt, isAlnum, isDigit, isLetter, isLower, isTokenChar, isUpper } from "./chars.ts";
import { shannonEntropy } from "./checksums.ts";

/** Literal prefixes of known key formats; each hit is validated by {@linkcode matchKnown}. */
const KNOWN_PREFIX =
  /AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposre]-|[sr]k_(?:live|test)_|sk-|AIza|eyJ|-----BEGIN /g;

/** Keywords after which an unknown-format value may be a secret. */
const KEYWORD =
  /pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|auth(?:orization)?|bearer|credentials?|key/gi;

/**
 * Thresholds for keyword-adjacent values, tuned on data by tests/pii/tune_entropy.ts:
 * Shannon entropy (bits per character) and class-transition rate (share of adjacent
 * character pairs that switch between lower case, upper case, digit and symbol).
 */
export const SECRET_THRESHOLDS = Object.freeze({
  /** Tokens (key, token, secret, bearer…): minimum length. */
  tokenMinLength: 16,
  /** Tokens: minimum entropy in bits per character. */
  tokenMinEntropy: 3.3,
  /** Tokens: minimum class-transition rate. */
  tokenMinTransitions: 0.3,
  /** Passwords: minimum length. */
  passwordMinLength: 6,
  /** Passwords: minimum entropy in bits per character. */
  passwordMinEntropy: 2.3,
  /** Passwords: minimum class-transition rate. */
  passwordMinTransitions: 0.1,
});

const MAX_VALUE = 512;
const PEM_MAX = 65536;

/** Appends secrets found in `text` to `out`. */
export function findSecrets(text: string, out: Finding[]): void {
  findKnown(text, out);
  findKeywordValues(text, out);
}

function findKnown(text: string, out: Finding[]): void {
  const re = new RegExp(KNOWN_PREFIX.source, "g");
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    const end = matchKnown(text, start, m[0]);
    if (end > 0) {
      out.push({ type: "secret", start, end, value: text.slice(start, end) });
      re.lastIndex = end;
    } else {
      // Skip the rest of this token so a long run of prefixes stays linear.
      re.lastIndex = runEnd(text, start + m[0].length);
    }
  }
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

/** End of the known-format secret whose prefix is at `start`, or -1. */
function matchKnown(text: string, start: number, prefix: string): number {
  const before = codeAt(text, start - 1);
  if (prefix.startsWith("-----")) {
    return before === 45 ? -1 : matchPem(text, start);
  }
  if (isTokenChar(before)) return -1;
  const body = start + prefix.length;
  let len: number;
  let ok: (c: number) => boolean;
  if (prefix === "AKIA" || prefix === "ASIA") {
    len = countWhile(text, body, base32, 16);
    if (len !== 16) return -1;
    ok = base62;
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
    if (len !== 35) return -1;
    ok = base64url;
  } else {
    return matchJwt(text, start);
  }
  const end = body + len;
  return ok(codeAt(text, end)) ? -1 : end;
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

const PEM_HEADER = /^-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;

/** A PEM private-key block, through its END line (or its body when END is missing). */
function matchPem(text: string, start: number): number {
  const head = PEM_HEADER.exec(text.slice(start, start + 80));
  if (head === null) return -1;
  const bodyStart = start + head[0].length;
  const endMark = text.indexOf("-----END ", bodyStart);
  if (endMark !== -1 && endMark - bodyStart <= PEM_MAX) {
    const close = text.indexOf("-----", endMark + 9);
    if (close !== -1 && close - endMark < 80) return close + 5;
  }
  // Truncated block: take the base64 body lines.
  let j = bodyStart;
  while (j < text.length && j - bodyStart < PEM_MAX) {
    const c = text.charCodeAt(j);
    if (isAlnum(c) || c === 43 || c === 47 || c === 61 || c === 10 || c === 13 || c === 32) j++;
    else if (c === 58 || c === 45 || c === 44) j++; // Proc-Type / DEK-Info header lines
    else break;
  }
  while (j > bodyStart && /\s/.test(text[j - 1])) j--;
  return j;
}

// --- keyword-adjacent values -------------------------------------------------------

const PASSWORD_KEYWORD = /^(?:pass|pwd)/i;
const SCHEME = /^(?:bearer|basic|token|digest)\s+/i;
const PLACEHOLDER =
  /^(?:\$|%|\{\{|<|process\.env|os\.environ|env\.|your[_-]|example|changeme|redacted|placeholder|dummy|xxx|\*\*\*|null$|none$|undefined$|true$|false$|required$|optional$|string$|hidden$)/i;

function isValueChar(c: number): boolean {
  // Letters, digits and the punctuation seen in keys and passwords; not quotes,
  // brackets, commas or semicolons, which end a value in code and JSON.
  return isAlnum(c) ||
    (c > 32 && c < 127 && "\"'`,;()[]{}<>\\".indexOf(String.fromCharCode(c)) === -1);
}

function findKeywordValues(text: string, out: Finding[]): void {
  const re = new RegExp(KEYWORD.source, "gi");
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const ks = m.index;
    const first = text.charCodeAt(ks);
    const prev = codeAt(text, ks - 1);
    // Keyword must start a word or a camelCase part: `apiKey` yes, `monkey` no.
    if (isLetter(prev) && !(isLower(prev) && isUpper(first))) continue;
    let j = ks + m[0].length;
    // Identifier tail: `_KEY`, `Token`, `s`, `_secret`.
    const tail = countWhile(text, j, (c) => isAlnum(c) || c === 95 || c === 45 || c === 46, 32);
    if (tail > 32) continue;
    j += tail;
    // Separator: quotes, colon, equals, arrows, spaces; and an optional auth scheme.
    const sepStart = j;
    while (j < text.length && j - sepStart < 8 && /[\s"'`:=>]/.test(text[j])) j++;
    if (j === sepStart) continue;
    if (/^is\s/i.test(text.slice(j, j + 3))) j += 3;
    const scheme = SCHEME.exec(text.slice(j, j + 10));
    if (scheme) j += scheme[0].length;
    const vs = j;
    while (j < text.length && j - vs <= MAX_VALUE && isValueChar(text.charCodeAt(j))) j++;
    if (j - vs > MAX_VALUE) {
      re.lastIndex = j;
      continue;
    }
    let ve = j;
    while (ve > vs && /[.:!?]/.test(text[ve - 1])) ve--; // sentence punctuation
    if (ve === vs) continue;
    const value = text.slice(vs, ve);
    const password = PASSWORD_KEYWORD.test(m[0]);
    if (looksSecret(value, password)) {
      out.push({ type: "secret", start: vs, end: ve, value });
      re.lastIndex = ve;
    }
  }
}

/** Share of adjacent character pairs that switch class (lower, upper, digit, other). */
export function classTransitions(s: string): number {
  if (s.length < 2) return 0;
  let changes = 0;
  let prev = charClass(s.charCodeAt(0));
  for (let i = 1; i < s.length; i++) {
    const cls = charClass(s.charCodeAt(i));
    if (cls !== prev) changes++;
    prev = cls;
  }
  return changes / (s.length - 1);
}

function charClass(c: number): number {
  return isLower(c) ? 0 : isUpper(c) ? 1 : isDigit(c) ? 2 : 3;
}

/**
 * Decides whether a keyword-adjacent value is a secret. `password` selects the password
 * thresholds (human-chosen values are shorter and less random than generated tokens).
 */
export function looksSecret(value: string, password: boolean): boolean {
  if (PLACEHOLDER.test(value)) return false;
  const t = SECRET_THRESHOLDS;
  const minLength = password ? t.passwordMinLength : t.tokenMinLength;
  if (value.length < minLength) return false;
  if (/^[0-9]+$/.test(value) && !password) return false;
  if (/^(?:https?|ftp|file):\/\//i.test(value) || value.startsWith("/")) return false;
  const entropy = shannonEntropy(value);
  const transitions = classTransitions(value);
  return password
    ? entropy >= t.passwordMinEntropy && transitions >= t.passwordMinTransitions
    : entropy >= t.tokenMinEntropy && transitions >= t.tokenMinTransitions;
}

// Secrets of known formats, found by their literal prefixes and then validated: cloud and
// provider tokens (AWS, GitHub, Slack, Stripe, OpenAI, Google, GitLab, npm, …), JWTs,
// webhook URLs, and PEM or DER keys (pii/detect_pem.ts).

import type { Finding } from "./types.ts";
import { codeAt, isAlnum, isDigit, isHex, isTokenChar, isUpper, labelBefore } from "./chars.ts";
import { ENCODED_PEM_PREFIX, matchEncodedKey, matchPem } from "./detect_pem.ts";

/**
 * Literal prefixes of known key formats; each hit is validated by {@linkcode matchKnown}, or
 * pii/detect_pem.ts for keys: PEM armour, a PEM file in base64 (`LS0tLS1CRUdJTi`), and a DER
 * key's base64 (`M`, then a letter from `A` to `I`: an ASN.1 SEQUENCE; 16 characters are read
 * to check its header).
 */
const KNOWN_PREFIX =
  /AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposre]-|[sr]k_(?:live|test)_|sk-|AIza|eyJ|-----BEGIN |LS0tLS1CRUdJTi|M[A-I][A-Za-z0-9+/]{14}|gl(?:pat|dt|rt|ptt|soat|cbt)-|npm_|hf_|SG\.|GOCSPX-|shp(?:at|ca|pa|ss)_|do[opr]_v1_|pypi-|hooks\.slack\.com\/services\/|\/api\/webhooks\//g;

/**
 * Provider token formats found by prefix (red team d2, 2026-11-30: each came back raw
 * alone and in URLs): the characters of the body, its least and greatest length, and
 * whether it must hold a digit (a random body of 20 or more characters almost always does;
 * a word or identifier written after the prefix seldom does).
 */
const PROVIDER_FORMATS: Readonly<
  Record<string, { chars: (c: number) => boolean; min: number; max: number; digit: boolean }>
> = Object.freeze({
  // GitLab personal, deploy, runner, trigger, SCIM and CI build tokens.
  "gl": {
    chars: (c: number) => isAlnum(c) || c === 45 || c === 95,
    min: 20,
    max: 255,
    digit: false,
  },
  "npm_": { chars: (c: number) => isAlnum(c), min: 36, max: 36, digit: true },
  "hf_": { chars: (c: number) => isAlnum(c), min: 30, max: 64, digit: true },
  "GOCSPX-": {
    chars: (c: number) => isAlnum(c) || c === 45 || c === 95,
    min: 24,
    max: 64,
    digit: false,
  },
  // Shopify access tokens: 32 hex digits.
  "shp": { chars: isHex, min: 32, max: 32, digit: false },
  // DigitalOcean personal, OAuth and refresh tokens: 64 hex digits.
  "do": { chars: isHex, min: 64, max: 64, digit: false },
  // PyPI API tokens: a macaroon in base64url, well over 50 characters.
  "pypi-": {
    chars: (c: number) => isAlnum(c) || c === 45 || c === 95,
    min: 50,
    max: 4096,
    digit: false,
  },
});

/**
 * Appends to `out` the secrets of known formats in `text`: each {@linkcode KNOWN_PREFIX} hit
 * validated by its format, an AWS secret key written right after its id. Linear: after a
 * prefix that is no key, the rest of its token is skipped.
 */
export function findKnown(text: string, out: Finding[]): void {
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
    if (m[0].charCodeAt(0) === 77 /* M */ || m[0] === ENCODED_PEM_PREFIX) {
      const key = matchEncodedKey(text, start);
      if (key.span) {
        const { start: from, end } = key.span;
        out.push({ type: "secret", start: from, end, value: text.slice(from, end) });
      }
      // Past the body read; after a mere header check, one character on, so a key prefix
      // later in the same run (`MAINTENANCEKEYAKIA…`) is still seen.
      re.lastIndex = key.resume;
      continue;
    }
    if (m[0].endsWith("/")) {
      const hook = matchWebhook(text, start, m[0]);
      if (hook) {
        out.push({
          type: "secret",
          start: hook.start,
          end: hook.end,
          value: text.slice(hook.start, hook.end),
        });
        re.lastIndex = hook.end;
      }
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
  const provider = providerFormat(prefix);
  // A provider token may stand as a segment of a URL path (`/packages/npm_…`).
  if (
    isTokenChar(before) && !(provider && before === 47) && !labelledKey(text, start, prefix)
  ) return -1;
  if (provider) {
    const body = start + prefix.length;
    const len = countWhile(text, body, provider.chars, provider.max);
    if (len < provider.min || len > provider.max) return -1;
    if (provider.digit && !hasDigit(text, body, body + len)) return -1;
    const end = body + len;
    return isAlnum(codeAt(text, end)) ? -1 : end;
  }
  if (prefix === "SG.") return matchSendGrid(text, start);
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

/** The {@linkcode PROVIDER_FORMATS} entry of a matched prefix, if it is one. */
function providerFormat(prefix: string) {
  if (prefix.startsWith("gl")) return PROVIDER_FORMATS["gl"];
  if (prefix.startsWith("shp")) return PROVIDER_FORMATS["shp"];
  if (prefix.startsWith("do") && prefix.endsWith("_v1_")) return PROVIDER_FORMATS["do"];
  return PROVIDER_FORMATS[prefix];
}

/** A SendGrid API key: `SG.`, 22 base64url characters, `.`, 43 base64url characters. */
function matchSendGrid(text: string, start: number): number {
  const a = start + 3;
  if (countWhile(text, a, base64url, 22) !== 22 || codeAt(text, a + 22) !== 46) return -1;
  const b = a + 23;
  if (countWhile(text, b, base64url, 43) !== 43) return -1;
  return b + 43;
}

/**
 * The secret part of a webhook URL whose prefix is at `start`: the path after
 * `hooks.slack.com/services/` (`T…/B…/token`), or the id and token after a Discord
 * `/api/webhooks/` (`123…/token`, only on a discord host). Whoever holds it can post as
 * the integration. Reads at most 160 characters; `undefined` when the shape is not there.
 */
function matchWebhook(
  text: string,
  start: number,
  prefix: string,
): { start: number; end: number } | undefined {
  const from = start + prefix.length;
  if (prefix.startsWith("hooks")) {
    const m = /^T[A-Z0-9]{6,16}\/B[A-Z0-9]{6,16}\/[A-Za-z0-9]{20,40}/.exec(
      text.slice(from, from + 80),
    );
    return m && !isAlnum(codeAt(text, from + m[0].length))
      ? { start: from, end: from + m[0].length }
      : undefined;
  }
  if (!/discord(?:app)?\.com$/.test(text.slice(Math.max(0, start - 16), start))) return undefined;
  const m = /^[0-9]{15,21}\/[A-Za-z0-9_-]{60,100}/.exec(text.slice(from, from + 160));
  return m && !base64url(codeAt(text, from + m[0].length))
    ? { start: from, end: from + m[0].length }
    : undefined;
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
  if (text.slice(p0, p0 + 3) !== "eyJ") return matchJwe(text, start, h);
  const p = countWhile(text, p0, base64url, 65536);
  if (p < 4 || p > 65536) return -1;
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

/**
 * A JWE in compact form (red team n1, N1-4: NextAuth's session token, Auth0's encrypted
 * tokens came back raw): five base64url parts, `header.key.iv.ciphertext.tag` (the key empty
 * for direct encryption), the header a JSON object naming `enc`. `h` is the header's length.
 * Each part is bounded; reads them once.
 */
function matchJwe(text: string, start: number, h: number): number {
  let end = start + h;
  for (let part = 1; part < 5; part++) {
    if (codeAt(text, end) !== 46) return -1;
    const n = countWhile(text, end + 1, base64url, 65536);
    if (n > 65536 || (n === 0 && part !== 1)) return -1;
    end += 1 + n;
  }
  if (base64url(codeAt(text, end)) || codeAt(text, end) === 46) return -1;
  const header = decodeBase64Url(text.slice(start, start + h));
  if (header === null || !/^\s*\{/.test(header) || !/"enc"/.test(header)) return -1;
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

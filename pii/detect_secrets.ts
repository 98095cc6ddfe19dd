// Secrets: known key formats (found by their literal prefixes, then validated), and
// values of unknown format that follow a keyword (key, token, secret, password, bearer…)
// and look random enough. The randomness thresholds come from
// tests/pii/tune_entropy.ts (see pii/README.md, "Tuning the secret thresholds").

import type { Finding } from "./types.ts";
import {
  codeAt,
  isAlnum,
  isDigit,
  isHex,
  isLetter,
  isTokenChar,
  isUpper,
  labelBefore,
} from "./chars.ts";
import { shannonEntropy } from "./checksums.ts";
import { ABOUT_WORDS } from "./about_words.ts";
import { ENCODED_PEM_PREFIX, matchEncodedKey, matchPem } from "./detect_pem.ts";
import {
  assignmentReading,
  endsShellValue,
  type LineWords,
  newLineWords,
  ShellReading,
} from "./shell_syntax.ts";

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
 * Thresholds for keyword-adjacent values, chosen by the grid search in
 * tests/pii/tune_entropy.ts (maximum F1 on its labelled samples; see pii/README.md).
 */
export const SECRET_THRESHOLDS: Readonly<{ token: SecretThresholds; password: SecretThresholds }> =
  Object.freeze({
    token: { minLength: 16, minEntropy: 3.3, maxVowelRatio: 0.25, minDigitRatio: 0.05 },
    password: { minLength: 6, minEntropy: 2.0, maxVowelRatio: 0.2, minDigitRatio: 0.05 },
  });

/** Appends secrets found in `text` to `out`. */
export function findSecrets(text: string, out: Finding[]): void {
  findKnown(text, out);
  findKeywordValues(text, out);
  if (text.includes("://")) findUrlPasswords(text, out);
  if (text.includes("%")) findEncodedKeywordValues(text, out);
}

/** Percent-encoded quotes, `:`, `=`, `&`, `;`, `,`, brackets and braces: the syntax of pairs. */
const ENCODED_SYNTAX = /%(?:2[267Cc]|3[AaBbDd]|5[BbDd]|7[BbDd])/g;

/**
 * Keyword values written in a URL-encoded structure (`q=%7B%22password%22%3A%22…%22%7D`,
 * `data=password%3DS3cr3t…`; red team d2): the keyword scan runs again over the text with
 * the syntax characters of {@linkcode ENCODED_SYNTAX} decoded (not `%20` or `+`: a value
 * never spans white space), and each finding is mapped back to the characters as written.
 * Linear: one replacement pass and one more keyword scan, only when the text holds one.
 */
function findEncodedKeywordValues(text: string, out: Finding[]): void {
  ENCODED_SYNTAX.lastIndex = 0;
  if (!ENCODED_SYNTAX.test(text)) return;
  // origin[k]: where decoded character k starts in `text` (and origin[length] = its end).
  const origin: number[] = [];
  let last = 0;
  const decoded = text.replace(ENCODED_SYNTAX, (m: string, offset: number) => {
    for (let k = last; k < offset; k++) origin.push(k);
    origin.push(offset);
    last = offset + m.length;
    return String.fromCharCode(parseInt(m.slice(1), 16));
  });
  for (let k = last; k <= text.length; k++) origin.push(k);
  const found: Finding[] = [];
  findKeywordValues(decoded, found);
  for (const f of found) {
    const start = origin[f.start];
    const end = origin[f.end];
    out.push({ type: "secret", start, end, value: text.slice(start, end) });
  }
}

const URL_PASSWORD_PLACEHOLDER =
  /^(?:pass(?:word)?|secret|changeme|x+|\*+|<.*>|\$\{.*\}|\$[A-Z_]+)$/i;

/**
 * The last `@` of the URL authority from `from` (before `/`, `?`, `#` or white space, at
 * most 256 characters on), or -1.
 */
function lastAuthorityAt(text: string, from: number): number {
  let last = -1;
  for (let j = from; j < text.length && j - from < 256; j++) {
    const c = text.charCodeAt(j);
    if (c === 47 || c === 63 || c === 35 || c <= 32) break;
    if (c === 64) last = j;
  }
  return last;
}

/** The password in `scheme://user:password@host` (database URLs, git remotes). */
function findUrlPasswords(text: string, out: Finding[]): void {
  let at = text.indexOf("://");
  while (at !== -1) {
    // The authority runs to `/`, `?`, `#` or white space; its user information ends at
    // its LAST `@`, as browsers and curl read it (red team g1: `token:Xk9m@Q2pL7vRt@evil…`
    // hid the host behind the password).
    const last = lastAuthorityAt(text, at + 3);
    const j = last === -1 ? at + 3 : last;
    let colon = -1;
    for (let k = at + 3; k < j; k++) {
      if (text.charCodeAt(k) === 58) {
        colon = k;
        break;
      }
    }
    if (last !== -1 && colon !== -1 && j > colon + 1) {
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

const SCHEME = /^(?:bearer|basic|token|digest)\s+/i;
const PLACEHOLDER =
  /^(?:\[(?:REDACTED_[A-Z]+|[A-Z]+_\d+_[a-z0-9]+)\]|\$\{|\$[A-Z_][A-Z0-9_]*$|%[A-Z_]+%|\{\{|<[\w .-]*>|<[A-Za-z_ .-]*$|process\.env|os\.environ|env\.|your[_-]|example|changeme|redacted|placeholder|dummy|xxx|\*\*\*|null$|none$|undefined$|true$|false$|required$|optional$|string$|hidden$)/i;
const PATH = /^~?(?:\/[\w.-]+)+\/?$/;

/**
 * A relative path (`logs/2024/01/15/app.log`, `src/components/Button.tsx`,
 * `backups/db-2024-11-30T12:00:00Z.tar.gz`): parts of word characters and the punctuation
 * object stores' keys hold (`.`, `-`, `:`, `@`, `=`, `+`, `,`).
 */
const RELATIVE_PATH = /^[\w.:@=+,-]+(?:\/[\w.:@=+,-]+)+\/?$/;
/**
 * A file name's extension: a dot, a letter, up to four more letters or digits, in either
 * case (`.JPG`, `.MP4` as cameras write them; red team g1). Base64 has no dot.
 */
const EXTENSION = /\.[a-z][a-z0-9]{0,4}$/i;
/**
 * Extensions of files so common that a name ending in one is a file's name however random its
 * stem (`x7Kq9PzLm2.tar.gz`, `Xk9mQ2pL7vR4nW8sT3yU.pem`): no credential format ends so.
 */
const FILE_EXTENSION =
  /\.(?:json|ya?ml|toml|xml|csv|tsv|txt|md|log|pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|mp[34]|zip|gz|tgz|bz2|xz|zst|tar|7z|sql|db|sqlite|bak|dump|parquet|avro|bin|pem|crt|cer|der|p12|pfx|pub|key|js|ts|tsx|jsx|py|go|rs|java|html?|css|sh|conf|ini|env|lock)$/i;

/**
 * A cache or key-value store key (`user:1234:profile`, `cache:v2:products:list`,
 * `orders:2024-01-15`; red team f1): colon-separated parts, each a lower-case word, a
 * number or date, or a short word with a version number (`v2`). A credential in two parts
 * (`id:secret`) has a random part, which mixes letters and digits otherwise.
 */
const CACHE_KEY = /^(?:[a-z_]+[0-9]{0,3}|[0-9][0-9-]*)(?::(?:[a-z_]+[0-9]{0,3}|[0-9][0-9-]*))+$/;

/**
 * A piece of a name read as words (red team g1: `Reports/Q1-Summary`, `user:1234:Profile`,
 * `orders:2024-01-15:US`, `GoPro/GX010045` were taken for base64): runs of a capitalised or
 * small word, capitals, or digits, at most three of them and at most one a lone letter
 * (`Q1`, `GoPro`, `IMG`, `Summary`). Base64 changes case many times inside one piece
 * (`Xk9mQ2pL7vRt`: ten runs, six lone letters).
 */
const WORD_RUN = /[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[A-Z]/g;

function readsAsWords(piece: string): boolean {
  let runs = 0;
  let lone = 0;
  for (const m of piece.matchAll(WORD_RUN)) {
    runs++;
    if (m[0].length === 1 && !isDigit(m[0].charCodeAt(0))) lone++;
    if (runs > 3 || lone > 1) return false;
  }
  return runs > 0;
}

/**
 * Whether every part of `value`, split at the punctuation names hold (`/`, `:`, `_`, `-`,
 * `.`, `@`, `=`, `+`, `,`), is letters and digits that read as words
 * ({@linkcode readsAsWords}), with at least one word of three letters.
 */
function partsReadAsWords(value: string): boolean {
  if (!/[A-Za-z]{3}/.test(value)) return false;
  for (const piece of value.split(/[/:_.@=+,-]+/)) {
    if (piece === "") continue;
    if (!/^[A-Za-z0-9]+$/.test(piece) || !readsAsWords(piece)) return false;
  }
  return true;
}

/**
 * A snake_case name of lower-case words and numbers (`order_id_2024_v3x`, `team_winter_id`):
 * a record's or a column's name, such as a database's primary key holds (since red team f1
 * `primaryKey` is a credential name, as Azure's `listKeys` writes it, and the value alone
 * tells a name from a key).
 */
const SNAKE_NAME = /^[a-z]{2,}(?:_(?:[a-z]{2,}|[0-9]+|[a-z][0-9][a-z0-9]?))+$/;

/**
 * Whether a value after a token name (`key`, above all: an S3 object's `Key`, a key-value
 * store's key) is an object name, not a credential (red team d2: `key:
 * backups/2026-11-30/prod.sql.gz` was redacted): a relative path whose last part has a
 * file extension or whose parts hold no capital letter or read as words, colon-separated
 * parts that read as words, or a file name with an extension (a common one, or one after a
 * stem without a digit before a capital letter, or whose parts read as words). Base64 (an
 * AWS secret key holds `/` and `+`) changes case many times in most parts and has no dot.
 */
function objectName(value: string): boolean {
  if ((CACHE_KEY.test(value) || SNAKE_NAME.test(value)) && /[a-z]{3}/.test(value)) return true;
  if (RELATIVE_PATH.test(value)) {
    return EXTENSION.test(value) || FILE_EXTENSION.test(value) || !/[A-Z]/.test(value) ||
      partsReadAsWords(value);
  }
  // Colon-separated parts (`user:1234:Profile`) read as words.
  if (/^[\w.-]+(?::[\w.-]+)+$/.test(value) && partsReadAsWords(value)) return true;
  if (!/^[\w:-]+(?:\.[A-Za-z][A-Za-z0-9]{0,4}){1,3}$/.test(value)) return false;
  return FILE_EXTENSION.test(value) || !/^[\w:-]*[0-9][\w:-]*[A-Z]/.test(value) ||
    partsReadAsWords(value);
}

/**
 * Characters of a value judged, in UTF-16 units. A longer value (an STS session token, an
 * opaque bearer token, a key's DER body) is judged on its first `JUDGE_MAX` characters and,
 * when they look secret, redacted whole: until 2026-11-30 a value over 512 characters was
 * skipped whole and came back raw.
 */
const JUDGE_MAX = 512;

/** Most characters between a key and its value (aligned config: `password          = …`). */
const MAX_LEAD = 40;

/** What `/\s/` matches (JavaScript white space and line terminators), without a regex call. */
function isJsSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** White space or a control character: what ends every value. */
function endsToken(c: number): boolean {
  return c <= 32 || c === 127 || (c >= 128 && isJsSpace(c));
}

/** Characters between a key and its value: white space, `:`, `=`, `>`, `\` (escaped JSON). */
function isValueLead(c: number): boolean {
  return isJsSpace(c) || c === 58 || c === 61 || c === 62 || c === 92;
}

/** `"`, `'` or a backtick. */
function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

/** Cheap pre-test: a key name without any of these cannot be a credential name. */
const KEY_HINT = /pass|pwd|pw|secret|token|key|auth|bearer|credential|pat|sess|sid|sig/i;

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

type KeyKind = "password" | "token" | "aws" | "session" | "signature" | null;

/**
 * True when a key name (`api_key`, `clientSecret`, `X-Auth-Token`, `DB_PASSWORD`) has a
 * credential word as one of its parts; returns "password" for password-like names.
 */
const keyKinds = new Map<string, KeyKind>();

function keyKind(name: string): KeyKind {
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

/** Between a key name and its `:` or `=`: quotes, `\` (JSON in JSON), spaces, tabs. */
function isNameQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96 || c === 32 || c === 9 || c === 92;
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
  // The words of the line before each name, read once (pii/shell_syntax.ts).
  const lineWords = newLineWords();
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
    const ctx = valueContext(text, nameStartAt(text, at), at, lineWords);
    const end = matchValue(text, at + 1, kind, out, info, ctx);
    if (end <= 0) continue;
    i = end;
    if (out.length > before || !info.judged) continue;
    // Not a secret. A credential named inside it (`token: a_long_note_secret=Xk9…`) gets
    // one judgement of its own: the last such name, so each character is read at most
    // twice (judging every `=` of `key=key=key=…` again was quadratic up to the cap).
    let last = -1;
    let lastKind: Exclude<KeyKind, "session" | "signature"> = null;
    for (let j = at + 1; j < end; j++) {
      const d = text.charCodeAt(j);
      if (d !== 58 && d !== 61) continue;
      const inner = triggerKind(text, j);
      if (inner !== null) {
        last = j;
        lastKind = inner;
      }
    }
    if (lastKind !== null) {
      const innerCtx = valueContext(text, nameStartAt(text, last), last, lineWords);
      i = Math.max(i, matchValue(text, last + 1, lastKind, out, info, innerCtx));
    }
  }
  if (text.includes("--")) findFlagValues(text, out);
  if (text.includes(" -p") || text.includes("\t-p")) findMysqlPasswords(text, out);
  if (text.includes(">")) findXmlValues(text, out);
  findNamedPairs(text, out);
  findSqlPasswords(text, out);
  if (text.includes("curl")) findCurlUsers(text, out);
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

/**
 * Values of command-line flags written with a space (`--password hunter2`,
 * `--api-key Xk9…`); `--password=…` is a `=` trigger. A next flag (`--password --user`) or
 * a redirection (`--password-stdin < file`) is no value. Reads at most 48 name characters
 * per `--`, and each value once.
 */
function findFlagValues(text: string, out: Finding[]): void {
  let at = text.indexOf("--");
  // The credential kind a `--name` flag gave (`aws ssm put-parameter --name /prod/db/password
  // --value …`; red team g1) and where it was, so a `--value` after it on the same command
  // (within {@linkcode FLAG_PAIR_REACH} characters, no line break between) is judged under it.
  let namedKind: "password" | "token" | "aws" | null = null;
  let namedAt = -1;
  // A `--value` not yet judged, for a `--name` written after it.
  let valueAt = -1;
  while (at !== -1) {
    let k = at + 2;
    while (k < text.length && k - at < 50 && isKeyNameChar(text.charCodeAt(k))) k++;
    const gap = codeAt(text, k);
    let next = k + 1;
    const flag = text.slice(at + 2, k);
    if ((gap === 32 || gap === 9 || gap === 61) && (flag === "name" || flag === "value")) {
      if (flag === "name") {
        namedKind = flagNameKind(text, k + 1);
        namedAt = at;
        if (
          namedKind !== null && valueAt !== -1 && at - valueAt <= FLAG_PAIR_REACH &&
          !/[\n\r]/.test(text.slice(valueAt, at))
        ) {
          matchValue(text, valueAt, namedKind, out, undefined, ValueContext.Command);
          namedKind = null;
        }
        valueAt = -1;
      } else if (
        namedKind !== null && at - namedAt <= FLAG_PAIR_REACH &&
        !/[\n\r]/.test(text.slice(namedAt, at))
      ) {
        next = Math.max(
          next,
          matchValue(text, k + 1, namedKind, out, undefined, ValueContext.Command),
        );
        namedKind = null;
      } else valueAt = k + 1;
    } else if ((gap === 32 || gap === 9) && k - at >= 4 && isLetter(codeAt(text, at + 2))) {
      const kind = keyKind(flag);
      const first = codeAt(text, k + 1);
      if (
        kind !== null && kind !== "session" && kind !== "signature" && first !== 45 &&
        !endsToken(first)
      ) {
        next = Math.max(next, matchValue(text, k + 1, kind, out, undefined, ValueContext.Command));
      }
    }
    at = text.indexOf("--", Math.max(next, at + 2));
  }
}

/** Most characters from a `--name` flag to the `--value` judged under it. */
const FLAG_PAIR_REACH = 512;

/**
 * The credential kind named by the value of a `--name` flag from `from`
 * (`/prod/db/password`, `prod.api_key`, `'DB_PASSWORD'`): its last part after `/`, judged
 * as a key name. Reads at most 130 characters.
 */
function flagNameKind(text: string, from: number): "password" | "token" | "aws" | null {
  const m = /^["']?([\w./:-]{1,128})/.exec(text.slice(from, from + 130));
  if (!m) return null;
  const kind = keyKind(m[1].slice(m[1].lastIndexOf("/") + 1));
  return kind === "session" || kind === "signature" ? null : kind;
}

/** Programs whose `-p` is a password written onto the flag (`mysql -uroot -pS3cr3t`). */
const MYSQL_CLIENT = /mysql|mariadb/gi;

/**
 * `-p<password>` of the MySQL and MariaDB clients (`mysql`, `mysqldump`, `mysqladmin`,
 * `mariadb`): only after one of them is named on the same line, at most 256 characters
 * before, since elsewhere `-p` is mostly a port (`-p8080`, `-p 22`). The last client name
 * and the last line break before each `-p` are kept by cursors that only move forward:
 * linear.
 */
function findMysqlPasswords(text: string, out: Finding[]): void {
  const client = new RegExp(MYSQL_CLIENT.source, "gi");
  let lastClient = -1;
  let nextClient = client.exec(text);
  let lastBreak = -1;
  let nextBreak = text.indexOf("\n");
  let at = text.indexOf("-p");
  let resume = 0;
  while (at !== -1) {
    while (nextClient !== null && nextClient.index < at) {
      lastClient = nextClient.index;
      nextClient = client.exec(text);
    }
    while (nextBreak !== -1 && nextBreak < at) {
      lastBreak = nextBreak;
      nextBreak = text.indexOf("\n", nextBreak + 1);
    }
    const before = codeAt(text, at - 1);
    const first = codeAt(text, at + 2);
    if (
      at >= resume && (before === 32 || before === 9) && first !== -1 && first !== 45 &&
      first !== 61 && !endsToken(first) && lastClient > lastBreak && at - lastClient <= 256
    ) {
      resume = matchValue(text, at + 2, "password", out, undefined, ValueContext.Command);
    }
    at = text.indexOf("-p", at + 2);
  }
}

/**
 * Values of XML elements named as credentials (`<password>Tr0ub4dor</password>`,
 * `<api_key>…`): triggered by each `>` whose tag name, read back at most 48 characters, is
 * a credential name other than a bare `key` (a property list's `<key>` names an entry).
 */
function findXmlValues(text: string, out: Finding[]): void {
  let at = text.indexOf(">");
  let resume = 0;
  while (at !== -1) {
    if (at >= resume) {
      let k = at;
      while (k > 0 && at - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
      // A property list's `<key>` holds a name (`<key>CFBundleName</key>`), not a key; when
      // the name is a credential's, the `<string>` after it is its value.
      const name = text.slice(k, at);
      if (k < at && codeAt(text, k - 1) === 60 && name.toLowerCase() === "key") {
        resume = Math.max(resume, plistValue(text, at + 1, out));
      } else if (k < at && codeAt(text, k - 1) === 60) {
        const kind = keyKind(name);
        if (kind !== null && kind !== "session" && kind !== "signature") {
          resume = Math.max(resume, matchValue(text, at + 1, kind, out));
        }
      }
    }
    at = text.indexOf(">", at + 1);
  }
}

/** Where the key name before the `:` or `=` at `at` starts (read as {@linkcode triggerKind} does). */
function nameStartAt(text: string, at: number): number {
  let k = at;
  while (k > 0 && at - k < MAX_LEAD && isNameQuote(text.charCodeAt(k - 1))) k--;
  const nameEnd = k;
  while (k > 0 && nameEnd - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
  return k;
}

/**
 * The value of a property list entry whose `<key>` (its content from `from`) names a
 * credential: `<key>password</key><string>…</string>`. Returns where the scan resumes.
 * Reads at most 64 + 6 + 40 + 8 characters ahead.
 */
function plistValue(text: string, from: number, out: Finding[]): number {
  const m = /^([\w.-]{2,64})<\/key>\s{0,40}<string>/i.exec(text.slice(from, from + 160));
  if (!m) return from;
  const kind = keyKind(m[1]);
  if (kind === null || kind === "session" || kind === "signature") return from;
  return matchValue(text, from + m[0].length, kind, out);
}

/**
 * Names of the entry that says which setting a pair is (`name`, `key`, `label`, or one of
 * them after the kind of setting: CloudFormation's `ParameterKey`, `OptionName`,
 * `setting_name`), then `:` or `=`.
 */
const PAIR_NAME = /(?:name|key|label)["'\\ \t]{0,8}[:=][ \t]{0,8}(?:\\?["'])?([\w./:-]{2,64})/gi;
/** A `value` entry (`ParameterValue`, `setting_value` too), its `:` or `=` included. */
const PAIR_VALUE = /value["'\\ \t]{0,8}[:=]/gi;

/**
 * The kinds of setting a pair's entry may name before `name`, `key`, `label` or `value`
 * (`ParameterKey`, `OptionName`, `setting_value`), with an optional `_` or `-` after.
 */
const PAIR_PREFIXES = [
  "parameter",
  "option",
  "setting",
  "property",
  "attribute",
  "variable",
  "var",
  "env",
  "config",
];

/**
 * Where the pair entry whose word (`name`, `key`, `label`, `value`) starts at `i` begins: at
 * a kind of setting before it ({@linkcode PAIR_PREFIXES}) or at the word itself, where no
 * word character, `.` or `-` touches it; -1 where one does (`hostname:`, `monkey=`). The
 * patterns above find the word alone: a look-behind and the optional kind in front of it, tried
 * at every position of the text, took two thirds of the secret detector's time (the mixed
 * benchmark text went from 75 to 47 MB/s).
 */
function pairStart(text: string, i: number): number {
  const sep = codeAt(text, i - 1);
  const end = sep === 95 || sep === 45 ? i - 1 : i;
  for (const prefix of PAIR_PREFIXES) {
    const start = end - prefix.length;
    if (
      start >= 0 && !touchesName(codeAt(text, start - 1)) &&
      text.slice(start, end).toLowerCase() === prefix
    ) return start;
  }
  return touchesName(sep) ? -1 : i;
}

/** A character that joins a name: a word character, `.` or `-`. */
function touchesName(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95 || c === 46 ||
    c === 45;
}

/**
 * The next pair entry of `re` (a global {@linkcode PAIR_NAME} or {@linkcode PAIR_VALUE}) in
 * `text` from `re.lastIndex`, as `exec` would give it with the entry's kind in front and
 * nothing touching it (see {@linkcode pairStart}); `null` when there is none.
 */
function nextPair(re: RegExp, text: string): RegExpExecArray | null {
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = pairStart(text, m.index);
    if (start >= 0) {
      if (start < m.index) {
        const whole = text.slice(start, m.index + m[0].length);
        m[0] = whole;
        m.index = start;
      }
      return m;
    }
    re.lastIndex = m.index + 1;
  }
  return null;
}
/** Where an entry's object ends: a brace or bracket, a tag's end, a YAML list's next item. */
const PAIR_STOP = /[{}\]>]|\n[ \t]*-[ \t]/g;
/** Most characters between the name of a pair and its `value`. */
const PAIR_REACH = 256;

/**
 * Name/value pairs written as text (red team f1): Kubernetes env (`- name: DB_PASSWORD\n
 * value: …`, `{"name":"DB_PASSWORD","value":"…"}`), SSM parameters (`"Name":
 * "/prod/db/password", "Value": "…"`), .NET `<add key="DbPassword" value="…"/>`, Spring
 * `<property name="db.password" value="…"/>`, Android `<string name="api_key">…</string>`.
 * A `name`, `key` or `label` whose value is a credential name, then within the same object
 * (before a brace, a bracket, a tag's end or a YAML list's next item, and within
 * {@linkcode PAIR_REACH} characters) a `value`: that value is judged under the name; with
 * none, a `value` written before the name in the same object; with none, the content of the
 * element the name stands in. The `value` and stop positions come
 * from cursors that only move forward: linear.
 */
function findNamedPairs(text: string, out: Finding[]): void {
  const names = new RegExp(PAIR_NAME.source, "gi");
  const values = new RegExp(PAIR_VALUE.source, "gi");
  const stops = new RegExp(PAIR_STOP.source, "g");
  let value: RegExpExecArray | null = null;
  let valueDone = false;
  let stop: RegExpExecArray | null = null;
  let stopDone = false;
  // The last `value` and the last stop before the name, for a value written before its
  // name (`{"value": "…", "name": "DB_PASSWORD"}`, `<add value="…" key="DbPassword"/>`,
  // `- value: …\n  name: DB_PASSWORD`; red team g1): two more cursors that only move
  // forward.
  const backValues = new RegExp(PAIR_VALUE.source, "gi");
  const backStops = new RegExp(PAIR_STOP.source, "g");
  let nextBackValue = nextPair(backValues, text);
  let backValue: RegExpExecArray | null = null;
  let nextBackStop = backStops.exec(text);
  let backStop = -1;
  let judgedTo = 0;
  let m: RegExpExecArray | null;
  while ((m = nextPair(names, text)) !== null) {
    const pos = m.index + m[0].length;
    const after = codeAt(text, pos);
    if (after !== -1 && !isQuote(after) && !endsToken(after) && after !== 44 && after !== 92) {
      continue;
    }
    const kind = keyKind(m[1]);
    if (kind === null || kind === "session" || kind === "signature") continue;
    while (!valueDone && (value === null || value.index < pos)) {
      values.lastIndex = Math.max(values.lastIndex, pos);
      value = nextPair(values, text);
      if (value === null) valueDone = true;
    }
    while (!stopDone && (stop === null || stop.index < pos)) {
      stops.lastIndex = Math.max(stops.lastIndex, pos);
      stop = stops.exec(text);
      if (stop === null) stopDone = true;
    }
    while (nextBackValue !== null && nextBackValue.index < m.index) {
      backValue = nextBackValue;
      nextBackValue = nextPair(backValues, text);
    }
    while (nextBackStop !== null && nextBackStop.index < m.index) {
      backStop = nextBackStop.index;
      nextBackStop = backStops.exec(text);
    }
    const stopAt = stop === null ? text.length : stop.index;
    if (value !== null && value.index < stopAt && value.index - pos <= PAIR_REACH) {
      const end = matchValue(text, value.index + value[0].length, kind, out);
      judgedTo = Math.max(judgedTo, end);
      if (end > names.lastIndex) names.lastIndex = end;
    } else if (
      backValue !== null && backValue.index > backStop && m.index - backValue.index <= PAIR_REACH &&
      backValue.index >= judgedTo
    ) {
      // Each value is judged this way at most once (`judgedTo`): linear.
      judgedTo = Math.max(
        judgedTo,
        matchValue(text, backValue.index + backValue[0].length, kind, out),
        backValue.index + 1,
      );
    } else if (
      stop !== null && text.charCodeAt(stopAt) === 62 && stopAt - pos <= PAIR_REACH &&
      codeAt(text, stopAt - 1) !== 47
    ) {
      const end = matchValue(text, stopAt + 1, kind, out);
      if (end > names.lastIndex) names.lastIndex = end;
    }
  }
}

/**
 * SQL setting a password: `ALTER USER x WITH PASSWORD '…'`; `IDENTIFIED BY '…'`, and
 * Oracle's `IDENTIFIED BY "…"` or unquoted `IDENTIFIED BY Tr0ub4dor3x` (not `BY PASSWORD
 * '*hash'` or `BY VALUES '…'`, whose own quotes follow); MySQL's `SET PASSWORD FOR
 * 'app'@'%' = '…'` (or `= PASSWORD('…')`, read within 128 characters of `FOR`). An `N'…'`
 * string of SQL Server is read from its quote.
 */
const SQL_PASSWORD =
  /\b(?:password[ \t]{1,8}(?=N?')|identified[ \t]{1,8}(?:with[ \t]{1,8}\w{1,64}[ \t]{1,8})?by[ \t]{1,8}(?!(?:password|values)\b)(?=N?['"]|[^\s'"(]{1,512}(?:[;,)]|\s|$))|set[ \t]{1,8}password[ \t]{1,8}for[ \t]{1,8}[^=;\n]{1,128}=[ \t]{0,8}(?:password[ \t]{0,8}\([ \t]{0,8})?(?=N?'))N?/gi;

/** Passwords of SQL statements ({@linkcode SQL_PASSWORD}). */
function findSqlPasswords(text: string, out: Finding[]): void {
  const re = new RegExp(SQL_PASSWORD.source, "gi");
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const end = matchValue(text, m.index + m[0].length, "password", out);
    if (end > re.lastIndex) re.lastIndex = end;
  }
}

/** Most characters of a `curl` command read for its `-u`. */
const CURL_REACH = 1024;

/**
 * `curl -u user:password` (and `-uuser:password`, `--user`): the part after the first `:`
 * of the flag's value, only on a line (or lines continued with `\`) that names `curl` at
 * most {@linkcode CURL_REACH} characters before (elsewhere `-u` is a user id, `sort -u`,
 * `git push -u`). Each `curl` reads at most {@linkcode CURL_REACH} characters: linear.
 */
function findCurlUsers(text: string, out: Finding[]): void {
  const re = /\bcurl\b/g;
  let m: RegExpExecArray | null;
  // The next line break, from a cursor that only moves forward (a search from each `curl`
  // to a far line break would be quadratic).
  let nextBreak = text.indexOf("\n");
  while ((m = re.exec(text)) !== null) {
    if (nextBreak !== -1 && nextBreak < m.index) nextBreak = text.indexOf("\n", m.index);
    let lineEnd = nextBreak;
    // A command continued over lines (`curl -sS \` newline `  -u admin:…`) is one line;
    // a bounded walk, not a search for a far line break.
    while (
      lineEnd !== -1 && lineEnd - m.index < CURL_REACH &&
      (codeAt(text, lineEnd - 1) === 92 ||
        (codeAt(text, lineEnd - 1) === 13 && codeAt(text, lineEnd - 2) === 92))
    ) {
      let n = lineEnd + 1;
      while (n < text.length && n - m.index < CURL_REACH && text.charCodeAt(n) !== 10) n++;
      lineEnd = n < text.length && text.charCodeAt(n) === 10 ? n : -1;
    }
    if (lineEnd === -1 || lineEnd - m.index > CURL_REACH) {
      lineEnd = Math.min(text.length, m.index + CURL_REACH);
    }
    const line = text.slice(m.index, lineEnd);
    // `-u user:pw`, `-uuser:pw`, `--user user:pw`, `--user=user:pw`.
    const u = /[ \t](?:-u[ \t=]{0,4}|--user[ \t=]{1,4})["']?[^\s:"']{1,64}:/.exec(line);
    if (u) {
      const end = matchValue(
        text,
        m.index + u.index + u[0].length,
        "password",
        out,
        undefined,
        ValueContext.Command,
      );
      re.lastIndex = Math.max(lineEnd, end);
    } else re.lastIndex = lineEnd;
  }
}

/** The credential kind of the key name just before the `:` or `=` at `at`, or null. */
function triggerKind(text: string, at: number): Exclude<KeyKind, "session" | "signature"> {
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

/**
 * Reads the value starting around `from`; pushes it when it looks secret, and sets
 * `info.judged` when the value was judged (not empty). Returns where the keyword scan
 * resumes, -1 when there is no value: past the value whether or not it was a secret, so a
 * `:` or `=` inside it is not a trigger of the main scan (see {@linkcode findKeywordValues}
 * for the one nested judgement).
 *
 * Where a value ends depends on how it is written (red team, 2026-11-30: a fixed set of
 * stop characters cut `Tr0ub4dor&3` to `Tr0ub4dor` and left `Xy;9kQ2mLp7` whole):
 * - quoted (`"…"`, `'…'`, a backtick, or an escaped `\"` in JSON inside JSON): to the matching
 *   quote, whatever it holds but white space;
 * - unquoted ({@linkcode unquotedEnd}): to white space or the end, or where the syntax around
 *   it resumes (`&name=`, `;`+space, a closing quote or bracket, an escape).
 * A value never spans white space, so it cannot hide a command from an approver (red team
 * c3). Judged on at most {@linkcode JUDGE_MAX} characters, redacted whole.
 */
function matchValue(
  text: string,
  from: number,
  kind: "password" | "token" | "aws",
  out: Finding[],
  info: { judged: boolean } = { judged: false },
  ctx: ValueContext = ValueContext.None,
): number {
  info.judged = false;
  let j = from;
  let quote = -1;
  let depth = 0; // backslashes before the opening quote
  while (j < text.length && j - from < MAX_LEAD) {
    const c = text.charCodeAt(j);
    if (isQuote(c)) {
      quote = c;
      while (j - depth > from && codeAt(text, j - depth - 1) === 92) depth++;
      j++;
      break;
    }
    // SQL Server's national string (`PASSWORD = N'…'`): the value is inside the quotes.
    if (c === 78 && codeAt(text, j + 1) === 39 && j > from && isValueLead(text.charCodeAt(j - 1))) {
      j++;
      continue;
    }
    if (!isValueLead(c)) break;
    j++;
  }
  const first = codeAt(text, j) | 32;
  if (first === 98 || first === 116 || first === 100) {
    const scheme = SCHEME.exec(text.slice(j, j + 10)); // Bearer, Basic, Token, Digest
    if (scheme) j += scheme[0].length;
  }
  const vs = j;
  let ve = quote === -1 ? unquotedEnd(text, vs, ctx) : quotedEnd(text, vs, quote, depth);
  if (ve === vs && quote !== -1 && kind === "password") {
    // White space inside the quotes: words, which under a password name may be a
    // passphrase (`PASSWORD="correct horse battery staple"`).
    const pe = passphraseEnd(text, vs, quote);
    if (pe > vs) {
      info.judged = true;
      out.push({ type: "secret", start: vs, end: pe, value: text.slice(vs, pe) });
      return pe;
    }
  }
  if (quote === -1) {
    // Sentence punctuation.
    while (ve > vs && (text.charCodeAt(ve - 1) === 46 || text.charCodeAt(ve - 1) === 58)) ve--;
    // A call or an index is code: its name is no credential (`crypto.randomBytes(16)`).
    const code = codeEnd(text, isOpener(codeAt(text, vs)) ? vs + 1 : vs, ve);
    if (code < ve) {
      info.judged = true;
      return code;
    }
  }
  if (ve === vs) return -1;
  info.judged = true;
  // A password that starts with a bracket (`(Kd8#f2Lq`) is judged without it, so code such
  // as `(await` is not judged more random for its bracket; it is redacted whole.
  const skip = quote === -1 && isOpener(text.charCodeAt(vs)) ? 1 : 0;
  const judged = text.slice(vs + skip, Math.min(ve, vs + JUDGE_MAX));
  // AWS secret access keys have a fixed shape: 40 base64 characters.
  const aws = kind === "aws" && ve - vs === 40 && /^[A-Za-z0-9/+]{40}$/.test(judged);
  if (aws || looksSecret(judged, kind === "password")) {
    out.push({ type: "secret", start: vs, end: ve, value: text.slice(vs, ve) });
  } else if (
    kind === "password" && quote === -1 && codeAt(text, ve) === 32 &&
    ctx === ValueContext.None && startsConfigLine(text, from - 1)
  ) {
    // The rest of the line, unquoted (`password: correct horse battery staple`, and a value
    // under a password key, judged as `key: value`).
    const pe = passphraseEnd(text, vs, -1);
    if (pe > vs) {
      out.push({ type: "secret", start: vs, end: pe, value: text.slice(vs, pe) });
      return pe;
    }
  }
  return ve;
}

/** Longest passphrase judged, in UTF-16 units. */
const PASSPHRASE_MAX = 128;

/**
 * Words that prose has and a passphrase of random words seldom does: with one of them, the
 * words after a password name are a message or a prompt (`"must be at least 8 characters"`,
 * `"Enter your password"`), not the password.
 */
const PROSE_WORDS = new Set(
  ("a an the is are was were be been being to of for and or not no in on at by with from " +
    "as if it its this that these your you my our their his her we they he she me must " +
    "should will can could may please enter required optional set changed change reset " +
    "successfully success invalid incorrect wrong expired updated characters character " +
    "minimum maximum least most new old user username field value here see use used using " +
    "than contain contains containing letters digits symbols number numbers password " +
    "passwords secret token hidden none null empty changeme example placeholder sent link " +
    "stored saved missing provided unchanged generated rotated expires strong weak accepted " +
    "rejected ok failed match matches mismatch login account email via when then after " +
    "before about below above only also all any each every same different")
    .split(" "),
);

/**
 * Programs that make unquoted words after a password name a command wherever they stand:
 * the ones that gain privilege, destroy, fetch or run more (no diceware list needs them).
 */
const COMMAND_PROGRAMS = new Set(
  ("sudo su doas rm rmdir curl wget bash sh zsh dash ksh fish chmod chown chgrp mkfs dd " +
    "reboot shutdown halt poweroff systemctl kill killall pkill nc ncat netcat eval exec " +
    "xargs nohup crontab iptables mysql psql dropdb createdb mongosh redis-cli kubectl " +
    "docker git ssh scp rsync python python3 perl ruby node npm npx pip")
    .split(" "),
);

/**
 * Verbs of the shell and of SQL that start a command (`drop table users cascade`,
 * `delete from users`, `mv a b`): first, they make the words a command, not a passphrase.
 */
const COMMAND_VERBS = new Set(
  ("drop delete truncate select insert update alter grant revoke create replace merge " +
    "call execute exec mv cp ln cat echo tee touch mkdir chroot mount umount export unset " +
    "source apt apt-get yum dnf brew make")
    .split(" "),
);

/**
 * The end of a passphrase from `vs` (red team d2: `PASSWORD="correct horse battery staple"`
 * came back raw): to the closing `quote` (or, with -1, to the end of the line), at most
 * {@linkcode PASSPHRASE_MAX} units, holding 3 to 10 words separated by single spaces, each
 * of 2 to 24 letters, digits or symbols without sentence punctuation, at least three
 * different, one of four or more characters, none of them {@linkcode PROSE_WORDS}. `vs`
 * when it is not one.
 */
function passphraseEnd(text: string, vs: number, quote: number): number {
  let end = vs;
  while (end < text.length && end - vs <= PASSPHRASE_MAX) {
    const c = text.charCodeAt(end);
    if (c === quote || c === 10 || c === 13) break;
    end++;
  }
  if (end - vs > PASSPHRASE_MAX || end - vs < 12) return vs;
  if (quote !== -1 && codeAt(text, end) !== quote) return vs;
  const words = text.slice(vs, end).split(" ");
  if (words.length < 3 || words.length > 10) return vs;
  let long = false;
  for (const w of words) {
    if (!/^[A-Za-z0-9!@#$%^&*_+=~-]{2,24}$/.test(w) || PROSE_WORDS.has(w.toLowerCase())) {
      return vs;
    }
    // Unquoted, a flag, a variable or a shell operator is a command, not a word of the value;
    // so is a program an agent runs (`sudo`, `rm`, `curl`) anywhere, or a verb of the shell
    // or SQL first (`drop table users cascade`, `reboot now`; red team g1).
    if (quote === -1 && /^[-$]|&&|\|\|/.test(w)) return vs;
    if (
      quote === -1 && (COMMAND_PROGRAMS.has(w.toLowerCase()) ||
        (w === words[0] && COMMAND_VERBS.has(w.toLowerCase())))
    ) return vs;
    if (w.length >= 4) long = true;
  }
  if (!long || new Set(words.map((w) => w.toLowerCase())).size < 3) return vs;
  return end;
}

/**
 * The end of a quoted value from `vs`: the closing `quote` (for a quote opened after `depth`
 * backslashes, the same quote after at most as many; otherwise one not escaped), or a plain
 * token up to the end of the text (a cut log line); `vs` (no value) when white space or `${`
 * comes first.
 */
function quotedEnd(text: string, vs: number, quote: number, depth: number): number {
  let backslashes = 0;
  for (let j = vs; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === quote) {
      if (depth === 0 && backslashes % 2 === 0) return j;
      if (depth > 0 && backslashes <= depth) return j - backslashes;
    }
    // White space before the closing quote: not one quoted token (`"token: ".repeat(…)`
    // closes a string; `"correct horse"` is words). A template's `${` is code.
    if (endsToken(c) || (c === 36 && codeAt(text, j + 1) === 123)) return vs;
    backslashes = c === 92 ? backslashes + 1 : 0;
  }
  // No closing quote before the end (a cut log line, or a quote that closed a string):
  // only a plain token, up to the first character that ends values in code.
  let j = vs;
  while (j < text.length && "\"'`,;&()[]{}<>\\".indexOf(text[j]) === -1) j++;
  return j;
}

/**
 * The end of an unquoted value from `vs`. It runs to white space or the end of the text,
 * and holds `;`, `&`, `,`, `(`, `[`, `{`, `<`, `'`, `\` as passwords do (`Xy;9kQ2mLp7`,
 * `Tr0ub4dor&3`, `ab\9x`), except where they are the syntax around the value:
 * - `&`, `;` or `,` before white space, the end, a character no value starts with (`"`,
 *   `&&`), or a next `name=` / `name:` (`?token=…&user=ann`, `token:…,user:ann`);
 * - a quote before white space, the end or punctuation (`'PASSWORD=…'`, `"k=…","x"`);
 * - a closing bracket that closes nothing opened in the value, before white space, the end
 *   or punctuation (`{token: …}`, `f(password=…);`), not before more of the value
 *   (`Kd8)f2Lq!x`, `a1b2c3)d4e5`);
 * - `\n`, `\r`, `\t`, `\"`, `\'`, `\u`: an escape of the string the value is written in;
 * - an HTML tag (`</td>`, `<br>`).
 * A value starting with a bracket or `<` is a structure or a placeholder only as
 * {@linkcode structureAt} says; otherwise a password starting with it (`(Kd8#f2Lq`). Reads
 * each character once (twice after an opening bracket), plus at most 49 ahead at a `&`,
 * `;`, `,` and 11 at a `<`.
 */
function unquotedEnd(text: string, vs: number, ctx: ValueContext = ValueContext.None): number {
  const first = codeAt(text, vs);
  const opener = isOpener(first);
  if (opener && structureAt(text, vs)) return vs;
  // A regular expression literal (`/^[A-Za-z0-9]{40}$/`), not a path.
  if (first === 47 && "^([|\\".indexOf(String.fromCharCode(codeAt(text, vs + 1))) !== -1) return vs;
  // A crypt or PHC hash string (`$2b$12$…`, `$argon2id$v=19$m=65536,t=3,p=4$…`): its `,` and
  // `=` are its own syntax, so it runs to white space (or a quote or bracket closing it).
  const phc = first === 36 && /^\$[a-z0-9-]{1,32}\$/.test(text.slice(vs, vs + 35));
  const shell = ctx === ValueContext.Command
    ? ShellReading.Command
    : ctx === ValueContext.Assignment
    ? ShellReading.Assignment
    : ShellReading.None;
  // A URL's password ends at the last `@` of the authority (as browsers and curl read it:
  // `token:Xk9m@Q2pL7vRt@evil.example`), so the host after it stays visible.
  const lastAt = ctx === ValueContext.UserInfo ? lastAuthorityAt(text, vs) : -1;
  let open = 0;
  let j = vs;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (endsToken(c)) break;
    if (shell !== ShellReading.None && endsShellValue(text, j, shell)) break;
    if (phc) {
      if (isQuote(c) || c === 41 || c === 93 || c === 125) break;
      continue;
    }
    // A template's `${…}` or `{{…}}`: code, not part of a literal.
    if ((c === 36 || c === 123) && codeAt(text, j + 1) === 123) break;
    if (
      c === 47 /* / */ &&
      (ctx === ValueContext.UserInfo || ctx === ValueContext.Path || dotSegmentAt(text, j + 1))
    ) break;
    if (ctx === ValueContext.UserInfo && (c === 63 || c === 35 || (c === 64 && j >= lastAt))) {
      break;
    }
    if (isQuote(c)) {
      if (closesHere(codeAt(text, j + 1))) break;
    } else if (c === 92) {
      const n = codeAt(text, j + 1);
      if (n === 110 || n === 114 || n === 116 || n === 117 || isQuote(n)) break;
    } else if (c === 38 || c === 59 || c === 44) {
      if (!continuesValue(text, j + 1)) break;
    } else if (c === 40 || c === 91 || c === 123) open++;
    else if (c === 41 || c === 93 || c === 125) {
      // A bracket that closes nothing opened in the value ends it only where the syntax
      // goes on after it (`{token: …}`, `f(password=…);`): in `a1b2c3)d4e5` or `Kd8)f2Lq!x`
      // it is a character of the password (red team d2: the head was cut off and judged
      // too short, the tail left raw).
      if (open === 0 && (closesHere(codeAt(text, j + 1)) || codeResumes(text, j + 1))) break;
      if (open > 0) open--;
    } else if (c === 60 && j > vs && isTag(text, j)) break;
  }
  return j;
}

/**
 * Where a keyword value stands, by what is written before its name (red team f1: a value
 * run to white space hid the rest of a URL or a path from an approver, `[SECRET]` standing
 * for `ghs_…@evil.example/loot.git` or `Q7Xk…/../../../.ssh/authorized_keys`):
 * - `UserInfo`: the name follows `://` (`https://x-access-token:ghs_…@host/path`), so the
 *   value is a URL's password: it ends at `@`, `/`, `?` or `#`, where the host or the path
 *   begins (the URL-credential finding covers the same characters);
 * - `Path`: the name follows `/` (`/reports/apikey=Q7Xk9mP2vR/../x`), so the value is a path
 *   segment: it ends at the next `/`.
 */
const enum ValueContext {
  None,
  UserInfo,
  Path,
  /** A lone shell or .env assignment (pii/shell_syntax.ts, `ShellReading.Assignment`). */
  Assignment,
  /** A command line's value (pii/shell_syntax.ts, `ShellReading.Command`). */
  Command,
}

/**
 * The {@linkcode ValueContext} of a value whose key name starts at `k`, before the `:` or
 * `=` at `at`; `words` is the scan's line reader (names asked about in text order).
 */
function valueContext(text: string, k: number, at: number, words: LineWords): ValueContext {
  if (codeAt(text, k - 1) !== 47) {
    const reading = assignmentReading(text, k, at, words);
    return reading === ShellReading.Command
      ? ValueContext.Command
      : reading === ShellReading.Assignment
      ? ValueContext.Assignment
      : ValueContext.None;
  }
  return codeAt(text, k - 2) === 47 && codeAt(text, k - 3) === 58
    ? ValueContext.UserInfo
    : ValueContext.Path;
}

/**
 * Whether a `.` or `..` path segment starts at `k` (after a `/`): path traversal, which no
 * credential holds (base64 has no `.`), so a value ends at the `/` before it whatever its
 * context.
 */
function dotSegmentAt(text: string, k: number): boolean {
  if (codeAt(text, k) !== 46) return false;
  const n = codeAt(text, k + 1) === 46 ? k + 2 : k + 1;
  const c = codeAt(text, n);
  return c === 47 || c === 92 || c === -1 || endsToken(c) || isQuote(c);
}

/**
 * Whether the key name before the `:` at `at` starts a configuration line (`password: …`,
 * `  - password: …`, YAML or an INI-like file): only there may an unquoted value run on
 * over spaces as a passphrase. After `=` (a shell assignment, `PGPASSWORD=postgres dropdb
 * …`), a flag (`--password root -e …`) or inside a line, the words after the first are a
 * command or more text, never the value (red team f1). Reads at most 48 + 40 + 16 back.
 */
function startsConfigLine(text: string, at: number): boolean {
  if (codeAt(text, at) !== 58) return false;
  let k = at;
  while (
    k > 0 && at - k < MAX_LEAD && (codeAt(text, k - 1) === 32 || isQuote(codeAt(text, k - 1)))
  ) k--;
  const nameEnd = k;
  while (k > 0 && nameEnd - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
  const nameStart = k;
  while (
    k > 0 && nameStart - k < 16 && (codeAt(text, k - 1) === 32 || codeAt(text, k - 1) === 9 ||
      codeAt(text, k - 1) === 45 || isQuote(codeAt(text, k - 1)))
  ) k--;
  return k === 0 || codeAt(text, k - 1) === 10 || codeAt(text, k - 1) === 13;
}

/**
 * Whether code goes on at `k`, after a closing bracket (`=e}onRunEnd(e){…` in minified
 * code): a name of 2 to 32 letters, `_` or `$` (no digit, as a password's characters
 * between symbols mostly hold), then `(`, `{`, `.`, `=` or `:`. A password goes on
 * otherwise (`Kd8)f2Lq!x`, `a1b2c3)d4e5`, `Kd8)f2Lq.x`).
 */
function codeResumes(text: string, k: number): boolean {
  let j = k;
  while (
    j - k < 32 && (isLetter(codeAt(text, j)) || codeAt(text, j) === 95 || codeAt(text, j) === 36)
  ) {
    j++;
  }
  if (j - k < 2) return false;
  const c = codeAt(text, j);
  return c === 40 || c === 123 || c === 46 || c === 61 || c === 58;
}

/** `(`, `[`, `{` or `<`. */
function isOpener(c: number): boolean {
  return c === 40 || c === 91 || c === 123 || c === 60;
}

/**
 * Whether the bracket or `<` at `vs` opens a structure or a placeholder, not a password
 * that starts with it (`(Kd8#f2Lq`, `[Kd8#f2Lq`, `<Kd8#f2Lq`; red team d2): a `{`, or a
 * bracket followed by white space, the end, a quote or another bracket (`["a", …`, `[[`),
 * or closed before white space (`[REDACTED_SECRET]`, `(none)`, `<your-token>`). Reads to the next white space at
 * most (the value's own characters, read again once).
 */
function structureAt(text: string, vs: number): boolean {
  const opener = text.charCodeAt(vs);
  // A brace opens an object or a block (`password: {type: String, …}`): never a password.
  if (opener === 123) return true;
  const next = codeAt(text, vs + 1);
  if (next === -1 || endsToken(next) || isQuote(next) || isOpener(next)) return true;
  const closer = opener === 40 ? 41 : opener === 91 ? 93 : 62;
  for (let j = vs + 1; j < text.length && j - vs <= JUDGE_MAX; j++) {
    const c = text.charCodeAt(j);
    if (endsToken(c)) return false;
    // A string inside: a call or a tuple (`(r"%s\VC"`, `["a",`).
    if (c === closer || isQuote(c)) return true;
  }
  return false;
}

/** Whether `c`, after a quote inside an unquoted value, shows the quote closing a string. */
function closesHere(c: number): boolean {
  return c === -1 || endsToken(c) || c === 44 || c === 59 || c === 58 || c === 41 ||
    c === 93 || c === 125 || c === 62 || c === 38 || c === 92 || isQuote(c);
}

/** Characters a password goes on with after `&`, `;` or `,` (not a quote, bracket or `&`). */
function continuesValue(text: string, k: number): boolean {
  const c = codeAt(text, k);
  if (!isAlnum(c) && "!#$%*+-./=?@^_|~".indexOf(String.fromCharCode(c)) === -1) return false;
  // A next `name=` or `name:` (a query string, a cookie, an object written without spaces).
  if (!isLetter(c) && c !== 95) return true;
  let j = k + 1;
  while (
    j - k < 48 &&
    (isKeyNameChar(codeAt(text, j)) || codeAt(text, j) === 91 || codeAt(text, j) === 93)
  ) j++;
  const after = codeAt(text, j);
  return after !== 61 && after !== 58;
}

/** An HTML tag at `j` (`<br>`, `</td>`, `<p class`): `<`, `/` or up to 10 letters, then `>`, `/` or a space. */
function isTag(text: string, j: number): boolean {
  if (codeAt(text, j + 1) === 47) return true;
  let k = j + 1;
  while (k - j <= 10 && isLetter(codeAt(text, k))) k++;
  const c = codeAt(text, k);
  return k > j + 1 && (c === 62 || c === 47 || c === 32);
}

/**
 * Where an unquoted value `[vs, ve)` that is code ends (`ve` when it is none): an identifier
 * or dotted path called, indexed or given type arguments (`getpass()`, `os.getenv("PW")`,
 * `scryptSync(password, …`, `req.headers['x-token']`, `this.#cache.get(key)`, `Array<Buffer>`)
 * is no credential, and no literal holding brackets. It is code when the path is dotted, the bracket
 * opens a quote or closes at once or at the value's end, or a name of three or more
 * characters, a word or without digits, is followed by an argument that starts with a letter
 * (or a digit, after a name without digits: `range(0`). A literal such as `Xy(9kQ2mLp7`,
 * `Tr0ub(4dor`, `Xk9(mQ2pL7v`, `Zq8(k2)x` is none of these.
 */
function codeEnd(text: string, vs: number, ve: number): number {
  let k = vs;
  let dotted = false;
  let digits = false;
  let lower = 0; // current run of small letters
  let word = false; // a run of three: a word, as names of code hold
  while (k < ve) {
    const c = text.charCodeAt(k);
    if (isAlnum(c) || c === 95 || c === 36 || (c === 35 && k > vs)) {
      if (isDigit(c)) digits = true;
      lower = c >= 97 && c <= 122 ? lower + 1 : 0;
      if (lower >= 3) word = true;
      k++;
    } else if (
      c === 46 && k > vs && (isLetter(codeAt(text, k + 1)) || "#_$".includes(text[k + 1]))
    ) {
      dotted = true;
      k++;
    } else break;
  }
  const bracket = codeAt(text, k);
  if (k === vs || k >= ve || (bracket !== 40 && bracket !== 91 && bracket !== 60)) return ve;
  const closer = bracket === 40 ? 41 : bracket === 91 ? 93 : 62;
  // A letter or digit right after the bracket closes is no code (`Zq8(k2)x`).
  let close = k + 1;
  while (close < ve && text.charCodeAt(close) !== closer) close++;
  if (close < ve - 1 && isAlnum(text.charCodeAt(close + 1))) return ve;
  const next = codeAt(text, k + 1);
  const code = dotted || isQuote(next) || next === closer ||
    text.charCodeAt(ve - 1) === closer ||
    (k - vs >= 3 && (word || !digits) &&
      (isLetter(next) || next === 95 || next === 36 || next === 40 || next === 91 ||
        (isDigit(next) && !digits)));
  return code ? k : ve;
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
 * Whether `value` is a name of lower-case words joined by `-` or `_` (two to eight parts of
 * small letters and digits, two of them words of three or more letters: `db-master-prod-v3`,
 * `ledger-eu-west-1`): a resource's name. Random tokens seldom hold two such words.
 */
function dashedName(value: string): boolean {
  if (value.length > 96 || !/^[a-z0-9]+(?:[-_][a-z0-9]+){1,7}$/.test(value)) return false;
  let words = 0;
  for (const part of value.split(/[-_]/)) if (/^[a-z]{3,}$/.test(part)) words++;
  return words >= 2;
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
  // A URL of any scheme without user information (`ssh://host/x`, `s3://bucket/key`,
  // `postgres://db.prod/ledger`) names a place; its password, when it has one, is the URL
  // credential detector's (red team i2: under `key` a deletion's target was hidden).
  if (SCHEME_URL.test(value)) return false;
  if (!password && (objectName(value) || dashedName(value))) return false;
  return passesThresholds(secretFeatures(value), t);
}

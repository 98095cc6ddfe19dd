// findPii: runs the detectors for the wanted types and resolves overlaps.

import { type Finding, PII_TYPES, type PiiType } from "./types.ts";
import { findEmails, mayHoldEmail } from "./detect_email.ts";
import { findNumbers } from "./detect_numbers.ts";
import { findIpv6, mayHoldIpv6 } from "./detect_ipv6.ts";
import { findSecrets } from "./detect_secrets.ts";
import { type FoldedText, foldText } from "./fold.ts";
import { lastAuthorityAt } from "./url_passwords.ts";
import { randomToken } from "./cookie_values.ts";
import { composeMaps, decodeEscapes, decodePercent } from "./escapes.ts";
import { findInStructure } from "./structured_text.ts";
import { decodeQuotedPrintable } from "./quoted_printable.ts";
import { findUrlPathTokens } from "./url_path_tokens.ts";

/** When two findings start at the same offset, the more specific type wins. */
const PRIORITY: Readonly<Record<PiiType, number>> = {
  secret: 0,
  email: 1,
  iban: 2,
  credit_card: 3,
  ssn: 4,
  phone: 5,
  ip: 6,
};

/**
 * Finds personal data and secrets in `text`. Returns findings sorted by offset and
 * non-overlapping (on overlap the earlier, then longer, then more specific wins).
 * `types` narrows the search (default: every type). Runs in time linear in `text`.
 *
 * The detectors read the text folded (fold.ts: invisible characters dropped, Unicode spaces,
 * dashes, full-width and other compatibility forms and other scripts' digits written as the
 * ASCII they show) and with its escapes decoded (escapes.ts: `\u003c`, `\u00a0`, `\/`, `\n`,
 * `&#64;`, `&commat;`…), folded again after decoding. A finding's offsets and value are the original's, from
 * the first to the last character of the value as written (escapes and invisible characters
 * inside included, an escape at either end whole).
 */
export function findPii(text: string, types: readonly PiiType[] = PII_TYPES): Finding[] {
  if (typeof text !== "string" || text.length === 0) return [];
  // Folded first as well, so an escape written full-width or with invisible characters in it
  // (`＼ｕ００４０`) decodes as its plain form does; folded again after, for what the escapes
  // stand for (`\u00a0`, `&nbsp;`).
  // Quoted-printable first (quoted_printable.ts): its soft breaks cut values in two.
  let map: FoldedText | undefined = decodeQuotedPrintable(text);
  const folded0 = foldText(map === undefined ? text : map.text);
  if (folded0 !== undefined) map = map === undefined ? folded0 : composeMaps(map, folded0);
  const decoded = decodeEscapes(map === undefined ? text : map.text);
  if (decoded !== undefined) {
    map = map === undefined ? decoded : composeMaps(map, decoded);
    const folded = foldText(map.text);
    if (folded !== undefined) map = composeMaps(map, folded);
  }
  const found = map === undefined
    ? findIn(text, types)
    : mapBack(findIn(map.text, types), map, text);
  // What the key above a value adds in YAML, INI and tables (structured_text.ts).
  return findInStructure(text, types, found);
}

/** `findings` in `map.text` moved to the offsets and values of `text`, the original. */
function mapBack(findings: Finding[], map: FoldedText, text: string): Finding[] {
  for (const f of findings) {
    f.start = map.startOf(f.start);
    f.end = map.endOf(f.end - 1);
    f.value = text.slice(f.start, f.end);
  }
  return findings;
}

/**
 * E-mail addresses in `text`, also one written percent-encoded throughout
 * (`ann%2Elee%40example%2Ecom`: read decoded, escapes.ts {@linkcode decodePercent}).
 */
function findEmailsIn(text: string, out: Finding[]): void {
  const percent = text.indexOf("%") === -1 ? undefined : decodePercent(text);
  if (percent === undefined) {
    findEmails(text, out);
    return;
  }
  const found: Finding[] = [];
  findEmails(percent.text, found);
  for (const f of mapBack(found, percent, text)) out.push(f);
}

/** The detectors over `text` as it is (ASCII is what they recognise). */
function findIn(text: string, types: readonly PiiType[]): Finding[] {
  if (text.length === 0) return [];
  const want = new Set(types);
  const raw: Finding[] = [];
  if (want.has("email") && mayHoldEmail(text)) findEmailsIn(text, raw);
  const numbers = {
    phone: want.has("phone"),
    ssn: want.has("ssn"),
    card: want.has("credit_card"),
    ip: want.has("ip"),
    iban: want.has("iban"),
  };
  if (numbers.phone || numbers.ssn || numbers.card || numbers.ip || numbers.iban) {
    findNumbers(text, numbers, raw);
  }
  if (want.has("ip") && mayHoldIpv6(text)) findIpv6(text, raw);
  if (want.has("secret")) {
    findSecrets(text, raw);
    findUrlUserTokens(text, raw);
    findUrlPathTokens(text, raw);
  }
  for (const f of raw) if (f.type === "secret") trimUrlScheme(text, f);
  return resolveOverlaps(raw);
}

/**
 * Appends to `out` a URL's user name when it is a random token (`https://<token>@host/…`, as
 * git hosts and error trackers take one) and has no password (the URL credential detector's).
 * It is no e-mail address (detect_email.ts), so it is found here, apart from the host: the
 * host stays readable (red team m1). Each authority is read once, at most 256 units: linear.
 */
function findUrlUserTokens(text: string, out: Finding[]): void {
  for (let at = text.indexOf("://"); at !== -1; at = text.indexOf("://", at + 3)) {
    const last = lastAuthorityAt(text, at + 3);
    if (last === -1) continue;
    const user = text.slice(at + 3, last);
    if (user.indexOf(":") === -1 && randomToken(user)) {
      out.push({ type: "secret", start: at + 3, end: last, value: user });
    }
    at = last - 2;
  }
}

/** A URL's scheme and `//`, then an authority's user information (no `/ ? #`, no blank). */
const SCHEME_THEN_USER = /^[A-Za-z][A-Za-z0-9+.-]{0,15}:\/\/(?=[^/?#\s]+$)/;

/**
 * A secret that is a URL's scheme and user information, ending at the `@` before its host
 * (`password: https://Xk9mQ2pL7vRt@evil.example/`: a keyword's value ends at that `@`), is
 * the user information alone: the scheme stays readable, as the host does (red team m1).
 */
function trimUrlScheme(text: string, f: Finding): void {
  if (text.charCodeAt(f.end) !== 64 || f.end - f.start > 512) return;
  const m = SCHEME_THEN_USER.exec(f.value);
  if (m === null || m[0].length >= f.value.length) return;
  f.start += m[0].length;
  f.value = text.slice(f.start, f.end);
}

function resolveOverlaps(raw: Finding[]): Finding[] {
  if (raw.length <= 1) return raw;
  raw.sort((a, b) =>
    a.start - b.start || (b.end - b.start) - (a.end - a.start) ||
    PRIORITY[a.type] - PRIORITY[b.type]
  );
  const kept: Finding[] = [];
  let lastEnd = -1;
  for (const f of raw) {
    if (f.start >= lastEnd) {
      kept.push(f);
      lastEnd = f.end;
    } else if (f.type === "secret" && kept[kept.length - 1].type !== "secret") {
      // A secret overlapping something else (a JWT that happens to contain a digit
      // run, a key value after `token=`) replaces it: the secret is the larger leak.
      const prev = kept[kept.length - 1];
      // A password written before `@host` without a scheme (`password:Xk9m@evil.example`)
      // is also an address's shape: the password is hidden and the host it opens stays
      // readable (detect_secrets.ts ends the value at that `@`).
      const userInfo = prev.type === "email" && f.start === prev.start &&
        prev.value.charCodeAt(f.end - f.start) === 64;
      if (f.end >= prev.end || userInfo) {
        kept[kept.length - 1] = f;
        lastEnd = f.end;
      }
    }
  }
  return kept;
}

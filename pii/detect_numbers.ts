// Numeric detectors: phone numbers, SSNs, payment cards, IPv4 addresses and IBANs.
//
// One linear pass finds runs of digits. Each run that is not glued to a word (`abc123`,
// UUID fragments, `v1.2`) starts a "cluster": digit groups joined by phone/card style
// separators (space, hyphen, dot, parentheses). Every sub-span of a cluster is a
// candidate, tried longest first, and only shapes that can be a phone number reach the
// phone validator (libphonenumber's verdict, compiled: see phone_validator.ts).

import type { Finding, PiiType } from "./types.ts";
import {
  codeAt,
  GLUE_SUFFIX,
  GLUE_TOKEN,
  glueAfter,
  isAlnum,
  isDigit,
  isLetter,
  isLower,
  isUpper,
  isWordChar,
  labelBefore,
} from "./chars.ts";
import { cardNumberValid, IBAN_LENGTHS, ibanValid, ssnValid } from "./checksums.ts";
import { validNationalNumberOfDigits } from "./phone_validator.ts";
import { decodeForm } from "./fold.ts";
import { ipv4Special, isNetwork, prefixAfter } from "./special_addresses.ts";
import { hostNameAfter, shortHostName } from "./host_names.ts";

/** Which numeric types to look for. */
export interface NumberTypes {
  phone: boolean;
  ssn: boolean;
  card: boolean;
  ip: boolean;
  iban: boolean;
}

/** Longest digit run that can be part of a value; longer runs are skipped whole. */
const MAX_GROUP_DIGITS = 19;
/** Groups per cluster; a longer cluster is cut (keeps the per-cluster work constant). */
const MAX_GROUPS = 32;
/**
 * Most digits of a trunk-0 national number (with its 0): a German mobile number is 0 and
 * 10 or 11 digits (`0176 12345678`); GB and FR numbers are 0 and 9 or 10.
 */
const MAX_TRUNK_ZERO_DIGITS = 12;
/** Groups per candidate span. */
const MAX_SPAN_GROUPS = 8;

/** Separators allowed between digit groups (`/` only between a card number's groups). */
const SEPARATORS = new Set([" ", "-", ".", "\u00a0", "(", ")", ") ", " (", ")-", "-(", " - ", "/"]);

/**
 * libphonenumber's validity verdict for the digits of a number written after a `+`
 * (`region` undefined) or in the national format of `region`; for a national number, the
 * national number it reads must also be a suffix of the digits.
 * The compiled validator answers in about a microsecond on every input the detector
 * builds, so the memo is one entry: the overlapping spans of a long cluster of equal
 * groups (`00 00 00 …`) ask the same question many times in a row.
 */
function phoneValid(number: string, region?: "US" | "GB" | "DE" | "FR"): boolean {
  if (number === lastNumber && region === lastRegion) return lastVerdict;
  const national = validNationalNumberOfDigits(number, region === undefined, region);
  lastNumber = number;
  lastRegion = region;
  lastVerdict = national !== undefined && (region === undefined || number.endsWith(national));
  return lastVerdict;
}

let lastNumber = "";
let lastRegion: string | undefined;
let lastVerdict = false;

/**
 * Countries whose national format (leading trunk 0) we accept without a `+`. Any one
 * will do, so the order is only about speed: Germany's plan (4 to 15 digits, few leading
 * digits excluded) accepts most trunk-0 numbers, so it is asked first.
 */
const TRUNK_ZERO_REGIONS = ["DE", "GB", "FR"] as const;

/** The text of the last trunk-0 span judged (separators included), and its verdict. */
let lastTrunkZero = "";
let lastTrunkZeroVerdict = false;

/**
 * Groups `s..e` are a trunk-0 national number valid in one of
 * {@linkcode TRUNK_ZERO_REGIONS}. The one-entry memo is compared in place in the text,
 * so a repeated span (`00 00 00 …`) costs no string.
 */
function trunkZeroValid(text: string, groups: Group[], s: number, e: number): boolean {
  const start = groups[s].start;
  const end = groups[e].end;
  if (end - start === lastTrunkZero.length && text.startsWith(lastTrunkZero, start)) {
    return lastTrunkZeroVerdict;
  }
  const digits = spanDigits(text, groups, s, e);
  lastTrunkZeroVerdict = TRUNK_ZERO_REGIONS.some((region) => phoneValid(digits, region));
  lastTrunkZero = text.slice(start, end);
  return lastTrunkZeroVerdict;
}

/**
 * Drops the memos and the cluster digits: they may be slices of the text just scanned,
 * which must not stay alive (a tool result can be megabytes) until the next scan.
 */
function forgetText(): void {
  lastNumber = "";
  lastTrunkZero = "";
  digitsOf = undefined;
  clusterDigits = "";
}

// Context words, each after a non-word character or a `_` (`customer_ssn`, `home_phone`), or
// (`*_CAMEL`, case-sensitive) inside a camelCase name (`homePhone`, `AssemblyVersion`). Our
// own placeholders never count: `[REDACTED_SSN]` is excluded by name, and in `[SSN_1_tag]`
// the word runs on into `_1`. Tested by {@linkcode hasContext}.
const BOUNDARY = "(?:[^A-Za-z0-9_]|(?<!REDACTED)_)";
const PHONE_WORDS = new RegExp(
  BOUNDARY + "(?:phone|t[eé]l[eé]phon|telefon|tel\\b|tel[.:]|mobil|m[oó]vil|cell|celular|" +
    "handy|call|fax|contact|sms|whatsapp|wa\\.me/|dial|text me|reach me)",
  "i",
);
const PHONE_CAMEL = /[a-z](?:Phone|Tel\b|Telephone|Mobile|Cell|Fax)/;
const SSN_WORDS = new RegExp(
  BOUNDARY + "(?:ssn(?:\\b|_(?![0-9]))|social[ _-]?security|soc\\. ?sec|ss#|ss no|tin\\b)",
  "i",
);
const SSN_CAMEL = /[a-z](?:Ssn|SSN|SocialSecurity)/;
/**
 * Words before a dotted quad that make it a version or a section number, not an address;
 * `version` also after `_` and inside a name (`app_version`, `AssemblyFileVersion("4.2.1.0")`).
 */
const VERSION_WORDS =
  /[^A-Za-z0-9_](?:version|ver\.|release|build|firmware|oid\b|section|sec\.|§|fig\.|figure|chapter|table|clause|step|item|v\s*$)|_version/i;
const VERSION_CAMEL = /[a-z0-9]Version/;

/**
 * True when one of `words` (or `camel`) occurs in the `n` characters before `start`. The
 * window keeps one extra leading character (a space at the start of the text) so that the
 * boundary before a word is judged on real text, not on where the slice happens to begin.
 */
function hasContext(text: string, start: number, n: number, words: RegExp, camel: RegExp): boolean {
  const from = start - n - 1;
  const window = from < 0 ? " " + text.slice(0, start) : text.slice(from, start);
  return words.test(window) || camel.test(window);
}

interface Group {
  start: number;
  end: number;
  /** Separator before this group ("" for the first). */
  sep: string;
  /** Whether {@linkcode sep} has a parenthesis. */
  paren: boolean;
  /** Digits in the cluster before this group (its offset in the cluster's digits). */
  offset: number;
}

/**
 * Appends numeric findings of the wanted types in `text` to `out`. The scan reads URL and
 * form encodings decoded (`?card=4111+1111+…`, `%20`, `%2B1415…`: fold.ts
 * {@linkcode decodeForm}); offsets and values are the text's, the value as written.
 */
export function findNumbers(text: string, want: NumberTypes, out: Finding[]): void {
  const form = decodeForm(text);
  if (form === undefined) {
    scanNumbers(text, want, out);
    return;
  }
  const found: Finding[] = [];
  scanNumbers(form.text, want, found);
  for (const f of found) {
    const start = form.startOf(f.start);
    const end = form.endOf(f.end - 1);
    out.push({ type: f.type, start, end, value: text.slice(start, end) });
  }
}

function scanNumbers(text: string, want: NumberTypes, out: Finding[]): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) {
      i++;
      continue;
    }
    i = scanCluster(text, i, want, out);
  }
  forgetText();
}

/** Skips the word (letters, digits, underscores, inner `-`/`.`) that contains `i`. */
function skipWord(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWordChar(c)) i++;
    else if ((c === 45 || c === 46) && isWordChar(codeAt(text, i + 1))) i += 2;
    else break;
  }
  return i;
}

function scanCluster(text: string, i: number, want: NumberTypes, out: Finding[]): number {
  const prev = codeAt(text, i - 1);
  // Two capitals then digits: an IBAN, also right after a lower-case label (`ibanDE89…`).
  const beforeIban = codeAt(text, i - 3);
  if (
    isUpper(prev) && isUpper(codeAt(text, i - 2)) && (!isAlnum(beforeIban) || isLower(beforeIban))
  ) {
    const iban = matchIban(text, i - 2);
    if (iban.valid && want.iban) {
      out.push({ type: "iban", start: i - 2, end: iban.end, value: text.slice(i - 2, iban.end) });
    }
    // An IBAN-shaped run with a bad checksum is still one account-number-like token:
    // skip it whole rather than finding phone numbers in its groups.
    if (iban.end > 0) return iban.end;
  }
  // Digits glued to a word are part of it (`abc123`, UUID fragments, `v1.2`), unless the
  // word is a label of letters written onto the value (`card-4111…`, `id_4111…`,
  // `x.4111…`, `card4111…`, `ip-10.1.2.3`): it hides nothing from a reader, so not from
  // us either. The label is letters only: a word holding digits is an identifier.
  // `_` is never part of how a number is written, so whatever it joins on the left is
  // another word (`W2_2025_123-45-6789.pdf`, `order_ab12_4111…`), digits or not.
  // An address written with dashes as a host name's first label (`ip-10-0-1-23.ec2.internal`,
  // `ec2-54-123-45-67.compute-1.amazonaws.com`): after any label joined by `-`.
  // A label holding digits before it (`ec2-`, `node42-`) is read to its end first.
  if (want.ip) {
    let at = i;
    if (isLetter(prev)) {
      while (isAlnum(codeAt(text, at))) at++;
      at = codeAt(text, at) === 45 && isDigit(codeAt(text, at + 1)) ? at + 1 : -1;
    } else if (prev !== 45 && isWordChar(prev)) at = -1;
    const end = at < 0 ? -1 : matchDashedHostIpv4(text, at, out);
    if (end >= 0) return end;
  }
  let glued = 0; // 0: standing alone, 1: after a label joined by `-`/`_`/`.`, 2: touching
  if (prev === 95) glued = 1;
  else if (isWordChar(prev) || ((prev === 45 || prev === 46) && isWordChar(codeAt(text, i - 2)))) {
    glued = labelBefore(text, i);
    if (glued === 0) return skipWord(text, i);
  }
  const n = text.length;
  // The commonest case, a short number standing alone (`12:30`, `v2 `, `x=5;`): one group
  // of under eight digits matches nothing, so return before allocating a cluster.
  let d = i;
  while (d < n && isDigit(text.charCodeAt(d))) d++;
  const next = codeAt(text, d);
  if (d - i < 8 && !isSeparatorChar(next)) {
    // Nor does one with a word glued on (`1_`, `12px`); one that runs on into a token
    // (`12ab3`) is skipped whole.
    if (!isWordChar(next)) return d;
    return glueAfter(text, d, d - i) === GLUE_TOKEN ? skipWord(text, i) : d;
  }
  const groups: Group[] = [];
  let j = i;
  let sep = "";
  let offset = 0;
  while (true) {
    const gs = j;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    const glue = j - gs > MAX_GROUP_DIGITS ? GLUE_TOKEN : glueAfter(text, j, j - gs);
    if (glue === GLUE_TOKEN) {
      // Too long to be a value, or the digits run on into an identifier (`123abc4`, a hex
      // digest, `15T10:30`): this group belongs to something else.
      if (groups.length === 0) return skipWord(text, gs);
      j = gs - sep.length;
      break;
    }
    const paren = sep.length > 0 && (sep.includes("(") || sep.includes(")"));
    groups.push({ start: gs, end: j, sep, paren, offset });
    offset += j - gs;
    // A word written onto the value (`…1111x`, `…1120_W2_2025.pdf`) ends it.
    if (glue === GLUE_SUFFIX || groups.length >= MAX_GROUPS) break;
    // Separator: up to three characters, then a digit.
    let k = j;
    while (k < n && k - j < 3 && isSeparatorChar(text.charCodeAt(k))) k++;
    if (k === j || !isDigit(codeAt(text, k))) break;
    sep = text.slice(j, k);
    if (!SEPARATORS.has(sep)) break;
    j = k;
  }
  // A group that a `-` and more digits would have continued, but the cluster stopped
  // (a run too long to be a group, or past MAX_GROUPS): the value is part of a longer number.
  // A dotted run with a word after a `-` is a version (`1.3.0.1-motley`, `1.2.3.4-rc`).
  const dash = codeAt(text, j) === 45;
  const afterDash = codeAt(text, j + 1);
  if (
    dash && (isDigit(afterDash) ||
      (isLetter(afterDash) && groups.length > 1 && groups[groups.length - 1].sep === "."))
  ) return skipWord(text, j);
  if (groups.length > 0) {
    // A dotted run after letters is a version (`python3.11.2.1`), after a dot part of a
    // name (`host.10.1.2.3`): an address needs its label joined by `-` or `_`.
    const dotted = groups.length > 1 && groups[1].sep === ".";
    if (dotted && (glued === 2 || (glued === 1 && prev === 46))) return skipWord(text, j);
    classifyCluster(text, groups, want, out, glued === 2);
  }
  return Math.max(j, i + 1);
}

function isSeparatorChar(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 160 || c === 40 || c === 41 || c === 47;
}

/**
 * Finds the values among a cluster's groups. `touching`: the first group's digits touch
 * letters before them (`card4111 …`, `AA1 01 2345 6784`).
 */
function classifyCluster(
  text: string,
  groups: Group[],
  want: NumberTypes,
  out: Finding[],
  touchingFirst: boolean,
) {
  let touching = touchingFirst;
  let s = 0;
  while (s < groups.length) {
    // Digits touching letters begin a value (`card4111 1111 1111 1111`) or are one group
    // of an identifier written in groups, which the groups joined to it in the same way
    // continue: in the UPS tracking number `1Z 999 AA1 01 2345 6784`, `01 2345 6784` is
    // no phone number. A group after another separator may start one (`B2 415-555-2671`).
    if (
      touching && s > 0 && (s + 1 === groups.length || groups[s + 1].sep === groups[s].sep)
    ) {
      s++;
      continue;
    }
    if (s + 1 < groups.length && groups[s + 1].sep === ".") {
      // A dotted run: an IPv4 address, a dotted phone number, or a version/decimal.
      let e = s;
      while (e + 1 < groups.length && groups[e + 1].sep === ".") e++;
      const ip = e - s === 3 && want.ip && tryIpv4(text, groups, s, out);
      if (!ip && (e - s === 2 || e - s === 3) && want.phone) {
        let digitCount = 0;
        for (let g = s; g <= e; g++) digitCount += size(groups, g);
        tryPhone(text, groups, s, e, digitCount, out);
      }
      s = e + 1;
      continue;
    }
    let matched = -1;
    let limit = s;
    let digits = groups[s].end - groups[s].start;
    while (
      limit + 1 < groups.length && limit + 1 - s < MAX_SPAN_GROUPS &&
      groups[limit + 1].sep !== "."
    ) {
      const next = groups[limit + 1];
      if (digits + next.end - next.start > MAX_GROUP_DIGITS) break;
      digits += next.end - next.start;
      limit++;
    }
    // A nine-digit group after an SSN word is the SSN, not the start of a longer number
    // (`GET /api/ssn/078051120 200`: a status code after it made it a phone number).
    if (
      want.ssn && size(groups, s) === 9 &&
      hasContext(text, groups[s].start, 32, SSN_WORDS, SSN_CAMEL) &&
      classifySpan(text, groups, s, s, 9, want, out)
    ) matched = s;
    // Longest span first; spans under 8 digits cannot be anything (IPv4 is handled above).
    for (let e = limit; e >= s && matched < 0 && digits >= 8; e--) {
      // classifySpan's first test, here: most spans of a long cluster fail it, and a
      // call per span was most of the time on runs such as `00 00 00 …`.
      const possible = s === 0 || digits === 9 || digits === 10 || digits === 11 ||
        (digits >= 13 && digits <= 19) ||
        (digits === 12 && text.charCodeAt(groups[s].start) === 48);
      if (possible && classifySpan(text, groups, s, e, digits, want, out)) matched = e;
      digits -= groups[e].end - groups[e].start;
    }
    // A value found: what follows it is no longer the inside of an identifier.
    if (matched >= 0) touching = false;
    s = matched >= 0 ? matched + 1 : s + 1;
  }
}

function tryIpv4(text: string, groups: Group[], s: number, out: Finding[]): boolean {
  for (let g = s; g < s + 4; g++) {
    const len = groups[g].end - groups[g].start;
    if (len > 3) return false;
    if (len > 1 && text.charCodeAt(groups[g].start) === 48) return false; // leading zero
    if (Number(text.slice(groups[g].start, groups[g].end)) > 255) return false;
  }
  const start = groups[s].start;
  const end = groups[s + 3].end;
  if (codeAt(text, start - 1) === 43) return false; // +1.415.555.2671
  // `1.2.3.4.5` is longer than an address, `1.2.3.4.dev0` a version; an address in a host
  // name's first labels (`54.123.45.67.nip.io`, `9.113.0.203.in-addr.arpa`) is one.
  if (
    codeAt(text, end) === 46 && isWordChar(codeAt(text, end + 1)) && !hostNameAfter(text, end)
  ) return false;
  if (hasContext(text, start, 16, VERSION_WORDS, VERSION_CAMEL)) return true; // a version, not PII
  // `^1.4.1.2`, `~1.4.1.2`, `~=1.4.1.2`: a version range (npm, pip), never an address.
  const before = codeAt(text, start - 1);
  if (before === 94 || before === 126 || (before === 61 && codeAt(text, start - 2) === 126)) {
    return true;
  }
  const o = [0, 1, 2, 3].map((k) => Number(text.slice(groups[s + k].start, groups[s + k].end)));
  // Loopback, unspecified, broadcast, multicast, netmasks, and networks (`192.168.0.0/16`)
  // identify no one (special_addresses.ts).
  if (ipv4Special(o[0], o[1], o[2], o[3])) return true;
  const prefix = prefixAfter(text, end);
  if (prefix >= 0 && isNetwork([o[0] << 8 | o[1], o[2] << 8 | o[3]], prefix)) return true;
  out.push({ type: "ip", start, end, value: text.slice(start, end) });
  return true;
}

/**
 * An IPv4 address written with dashes as a host name's first label, from `i`: four octets
 * (no leading zeros, at most 255) joined by single `-`, then a host name's remaining labels
 * ({@linkcode hostNameAfter}). Pushes the address (the dashed text) unless it is a special
 * one, and returns the index after it; -1 when it is not one.
 */
function matchDashedHostIpv4(text: string, i: number, out: Finding[]): number {
  let j = i;
  const octets: number[] = [];
  for (let g = 0; g < 4; g++) {
    if (g > 0) {
      if (codeAt(text, j) !== 45) return -1;
      j++;
    }
    const s = j;
    while (j - s < 4 && isDigit(codeAt(text, j))) j++;
    const len = j - s;
    if (len === 0 || len > 3 || (len > 1 && text.charCodeAt(s) === 48)) return -1;
    const octet = Number(text.slice(s, j));
    if (octet > 255) return -1;
    octets.push(octet);
  }
  if (!hostNameAfter(text, j) && !shortHostName(text, i, j)) return -1;
  if (!ipv4Special(octets[0], octets[1], octets[2], octets[3])) {
    out.push({ type: "ip", start: i, end: j, value: text.slice(i, j) });
  }
  return j;
}

/** The cluster whose digits {@linkcode clusterDigits} holds (compared by identity). */
let digitsOf: Group[] | undefined;
let clusterDigits = "";

/**
 * The digits of groups `s..e`, sliced from the cluster's digits, which are joined once
 * on first use: the overlapping spans of a long cluster would otherwise join the same
 * groups again for every span.
 */
function spanDigits(text: string, groups: Group[], s: number, e: number): string {
  return digitsOfCluster(text, groups).slice(groups[s].offset, groups[e].offset + size(groups, e));
}

/** Anything but a digit: the separators between a cluster's groups. */
const NON_DIGITS = /[^0-9]+/g;

/** All digits of the cluster `groups`, joined on first use (one native replace). */
function digitsOfCluster(text: string, groups: Group[]): string {
  if (digitsOf !== groups) {
    const from = groups[0].start;
    const to = groups[groups.length - 1].end;
    clusterDigits = groups.length === 1
      ? text.slice(from, to)
      : text.slice(from, to).replace(NON_DIGITS, "");
    digitsOf = groups;
  }
  return clusterDigits;
}

/** Digits in group `g`. */
function size(groups: Group[], g: number): number {
  return groups[g].end - groups[g].start;
}

/**
 * Tries groups `s..e` as an SSN, a card number, then a phone number. Shapes are checked
 * on group sizes first; strings are built only for spans that pass them.
 */
function classifySpan(
  text: string,
  groups: Group[],
  s: number,
  e: number,
  digitCount: number,
  want: NumberTypes,
  out: Finding[],
): boolean {
  const count = e - s + 1;
  // Past the first group only an SSN (9), a national phone number (10–11, or 12 after a
  // trunk 0) or a card (13–19) can match; `+`/`00` numbers start at the first group.
  const trunk12 = digitCount === 12 && text.charCodeAt(groups[s].start) === 48;
  if (s > 0 && (digitCount < 9 || (digitCount === 12 && !trunk12) || digitCount > 19)) {
    return false;
  }
  // The same digit-count and shape conditions as below, tested before any loop over the
  // separators: most spans of a long cluster fail all three.
  if (
    !(want.ssn && digitCount === 9) &&
    !(want.card && digitCount >= 13 && digitCount <= 19 && cardShape(groups, s, e)) &&
    !(want.phone && (s === 0 || digitCount === 10 || digitCount === 11 || trunk12))
  ) return false;
  const start = groups[s].start;
  const end = groups[e].end;
  const plus = s === 0 && codeAt(text, start - 1) === 43;
  const sep = count > 1 ? groups[s + 1].sep : "";
  let oneSep = true;
  for (let g = s + 2; g <= e && oneSep; g++) oneSep = groups[g].sep === sep;
  const plainSep = oneSep && (sep === "" || sep === " " || sep === "-");
  // A grouped SSN is the whole run of groups in its separator style, and a grouped card
  // number does not continue its pattern of fours: `4000 0000 0000 0002 0000` is one
  // longer number, while in `6011 6638 4613 9821 020 7117 1752` a phone number follows.
  const joinedBefore = sep !== "" && s > 0 && groups[s].sep === sep;
  const joinedAfter = sep !== "" && e + 1 < groups.length && groups[e + 1].sep === sep;

  if (want.ssn && !plus && plainSep && digitCount === 9 && !joinedBefore && !joinedAfter) {
    const shaped = count === 3 && size(groups, s) === 3 && size(groups, s + 1) === 2;
    if (shaped || (count === 1 && hasContext(text, start, 32, SSN_WORDS, SSN_CAMEL))) {
      const digits = spanDigits(text, groups, s, e);
      if (ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))) {
        out.push({ type: "ssn", start, end, value: text.slice(start, end) });
        return true;
      }
    }
  }
  // A card number is also written in fours split by `/` (`4111/1111/1111/1111`); nothing
  // else is (dates and paths are not a Luhn-valid issuer number in fours).
  const cardSep = plainSep || (oneSep && sep === "/" && count === 4);
  if (
    want.card && !plus && cardSep && digitCount >= 13 && digitCount <= 19 &&
    cardShape(groups, s, e) &&
    !(joinedBefore && size(groups, s - 1) === 4) && !(joinedAfter && size(groups, e + 1) === 4)
  ) {
    if (cardNumberValid(spanDigits(text, groups, s, e))) {
      out.push({ type: "credit_card", start, end, value: text.slice(start, end) });
      return true;
    }
  }
  return want.phone && tryPhone(text, groups, s, e, digitCount, out);
}

/** Card numbers are printed as one run, in fours, or 4-6-5 / 4-6-4 (Amex, Diners). */
function cardShape(groups: Group[], s: number, e: number): boolean {
  const count = e - s + 1;
  if (count === 1) return true;
  if (count < 3) return false;
  if (count === 3 && size(groups, s) === 4 && size(groups, s + 1) === 6) {
    return size(groups, e) >= 4;
  }
  for (let g = s; g < e; g++) if (size(groups, g) !== 4) return false;
  return size(groups, e) <= 4;
}

/**
 * A number written in a phone's shape after a `+`: a calling code of 1 to 3 digits, then
 * two to four groups of 2 to 4 digits (the first may be bracketed: `+1 (384) 555-0156`),
 * separated by spaces, dashes or dots. People and test systems write numbers in ranges
 * the numbering plan marks unassigned or reserved, and a missed one is a leak; dates,
 * versions and order numbers do not start with `+` in this shape.
 */
function plusPhoneShape(groups: Group[], s: number, e: number): boolean {
  const count = e - s + 1;
  if (count < 3 || count > 5 || size(groups, s) > 3) return false;
  for (let g = s + 1; g <= e; g++) {
    const n = size(groups, g);
    // A bracketed trunk `(0)` after the calling code is the one short group allowed.
    if ((n < 2 && !(n === 1 && groups[g].paren)) || n > 4) return false;
    if (!/^[ .\-()]{1,3}$/.test(groups[g].sep)) return false;
  }
  return size(groups, e) >= 3;
}

function tryPhone(
  text: string,
  groups: Group[],
  s: number,
  e: number,
  digitCount: number,
  out: Finding[],
): boolean {
  const count = e - s + 1;
  let start = groups[s].start;
  const end = groups[e].end;
  const prefix = codeAt(text, start - 1);
  const plus = prefix === 43 && s === 0;
  // 00 44 20 7946 0958: the international call prefix instead of `+`.
  const zeroZero = !plus && s === 0 && text.startsWith("00", start) && size(groups, s) <= 4;
  // Digit counts first: they reject most spans of a long cluster at once.
  const bodyLength = zeroZero ? digitCount - 2 : digitCount;
  const first = text.charCodeAt(start);
  if (
    plus || zeroZero
      ? bodyLength < 8 || bodyLength > 15
      : digitCount < 10 || digitCount > (first === 48 ? MAX_TRUNK_ZERO_DIGITS : 11)
  ) {
    return false;
  }
  // Parentheses only around the first group or two; no `/` (`415/555/2671` is a path).
  for (let g = s + 3; g <= e; g++) if (groups[g].paren) return false;
  for (let g = s + 1; g <= e; g++) if (groups[g].sep.includes("/")) return false;
  if (plus || zeroZero) {
    // No calling code starts with 0, so libphonenumber rejects `+0…` at once; so do we,
    // before building any string (`00 00 00 …` has four such spans per cluster).
    const body = !zeroZero ? start : size(groups, s) > 2 ? start + 2 : groups[s + 1].start;
    if (text.charCodeAt(body) === 48) return false;
    const digits = spanDigits(text, groups, s, e);
    if (
      !phoneValid(zeroZero ? digits.slice(2) : digits) && !(plus && plusPhoneShape(groups, s, e))
    ) {
      return false;
    }
    if (plus) start--;
    out.push({ type: "phone", start, end, value: text.slice(start, end) });
    return true;
  }
  let spaced = false;
  if (first === 48 /* 0 */) {
    // Trunk-prefixed national numbers (GB, DE, FR): groups of at least two digits; of
    // three when there are 12 digits (a German mobile number, `0176 1234 5678`: no plan
    // writes 12 digits in pairs, hex dumps do: `<Buffer 01 02 03 04 05 06 07 08>`).
    const minGroup = digitCount === 12 ? 3 : 2;
    for (let g = s; g <= e; g++) if (size(groups, g) < minGroup) return false;
  } else {
    // North American numbering plan: 3-3-4 or 1-3-3-4 (or one run next to a phone word).
    const sz = (k: number) => size(groups, s + k);
    const nanp = count === 1 ||
      (digitCount === 10 && count === 3 && sz(0) === 3 && sz(1) === 3) ||
      (digitCount === 10 && count === 2 && sz(0) === 3) ||
      (digitCount === 11 && count === 4 && sz(0) === 1 && sz(1) === 3 && sz(2) === 3);
    if (!nanp || (digitCount === 11 && first !== 49 /* 1 */)) return false;
    // Groups split by spaces alone (`212 555 1234`) are as often three numbers (ids, a
    // duration, columns of a table) as one phone number: like one run of digits, they need
    // a phone word before them. Brackets, `-` and `.` are a phone's own format.
    spaced = true;
    for (let g = s + 1; g <= e && spaced; g++) {
      spaced = groups[g].sep === " " || groups[g].sep === "\u00a0";
    }
  }
  if (prefix === 40 /* ( */ && count > 1 && groups[s + 1].sep.startsWith(")")) {
    start--; // `(415) 555-2671`; an unclosed `(` is the prose around the number
    if (codeAt(text, start - 1) === 43) return false; // `+(…`: handled from the `+`
  }
  if ((count === 1 || spaced) && !hasContext(text, start, 32, PHONE_WORDS, PHONE_CAMEL)) {
    return false;
  }
  // `(471) 555 0135`: a bracketed area code then 3-4 digits is written only for a phone
  // number, even when the plan marks the range unassigned or reserved.
  const bracketed = prefix === 40 && count === 3 && digitCount === 10 &&
    groups[s + 1].sep.startsWith(")") && size(groups, s) === 3;
  const valid = bracketed ||
    (first === 48
      ? trunkZeroValid(text, groups, s, e)
      : phoneValid(spanDigits(text, groups, s, e), "US"));
  if (!valid) return false;
  out.push({ type: "phone", start, end, value: text.slice(start, end) });
  return true;
}

/**
 * The IBAN-shaped run starting at `p` (printed compact or in groups of four, split by
 * spaces or hyphens): its end (-1 when the shape is wrong) and whether its checksum holds.
 */
function matchIban(text: string, p: number): { end: number; valid: boolean } {
  const length = IBAN_LENGTHS[text.slice(p, p + 2)];
  if (length === undefined) return { end: -1, valid: false };
  let compact = "";
  let j = p;
  while (compact.length < length && j < text.length) {
    const c = text.charCodeAt(j);
    if (isDigit(c) || isUpper(c)) {
      compact += text[j];
      j++;
    } else if (
      (c === 32 || c === 160 || c === 45) && compact.length % 4 === 0 && compact.length > 0 &&
      isAlnum(codeAt(text, j + 1))
    ) {
      j++;
    } else break;
  }
  // A capital or digit after the country's length makes a longer token; a lower-case word
  // after it (`DE89…3000old`) is written onto the account number, as after a value above.
  const after = codeAt(text, j);
  if (compact.length !== length || isDigit(after) || isUpper(after)) {
    return { end: -1, valid: false };
  }
  return { end: j, valid: ibanValid(compact) };
}

/** The type names used by {@linkcode findNumbers}, for callers mapping from PiiType. */
export const NUMBER_TYPES: readonly PiiType[] = ["phone", "ssn", "credit_card", "ip", "iban"];

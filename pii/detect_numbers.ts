// Numeric detectors: phone numbers, SSNs, payment cards, IPv4 addresses and IBANs.
//
// One linear pass finds runs of digits. Each run that is not glued to a word (`abc123`,
// UUID fragments, `v1.2`) starts a "cluster": digit groups joined by phone/card style
// separators (space, hyphen, dot, parentheses). Every sub-span of a cluster is a
// candidate, tried longest first, and only shapes that can be a phone number reach
// libphonenumber.

import { parsePhoneNumberFromString } from "libphonenumber-js";
import type { Finding, PiiType } from "./types.ts";
import { codeAt, isAlnum, isDigit, isUpper, isWordChar } from "./chars.ts";
import { cardNumberValid, IBAN_LENGTHS, ibanValid, ssnValid } from "./checksums.ts";

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
/** Groups per candidate span. */
const MAX_SPAN_GROUPS = 8;

/** Separators allowed between digit groups. */
const SEPARATORS = new Set([" ", "-", ".", "\u00a0", "(", ")", ") ", " (", ")-", "-(", " - "]);

/** Memo of libphonenumber verdicts: the same numbers recur within a response. */
const phoneVerdicts = new Map<string, boolean>();
const PHONE_MEMO_SIZE = 4096;

/** libphonenumber's validity verdict for `number` (E.164 with `+`, or national). */
function phoneValid(number: string, region?: "US" | "GB" | "DE" | "FR"): boolean {
  const key = (region ?? "") + number;
  const memo = phoneVerdicts.get(key);
  if (memo !== undefined) return memo;
  const parsed = parsePhoneNumberFromString(number, region);
  const valid = parsed !== undefined && parsed.isValid() &&
    (region === undefined || number.endsWith(parsed.nationalNumber));
  if (phoneVerdicts.size >= PHONE_MEMO_SIZE) phoneVerdicts.clear();
  phoneVerdicts.set(key, valid);
  return valid;
}

/** Countries whose national format (leading trunk 0) we accept without a `+`. */
const TRUNK_ZERO_REGIONS = ["GB", "DE", "FR"] as const;

// Context words, each preceded by a non-word character (so that our own placeholders such as
// `[REDACTED_SSN]` or `[PHONE_1]` never count as context). Tested by {@linkcode hasContext}.
const PHONE_WORDS =
  /[^A-Za-z0-9_](?:phone|tel\b|tel[.:]|mobile|cell|call|fax|contact|sms|whatsapp|dial|text me|reach me)/i;
const SSN_WORDS = /[^A-Za-z0-9_](?:ssn\b|social security|soc\. sec|ss#|ss no|tin\b)/i;
/** Words before a dotted quad that make it a version or a section number, not an address. */
const VERSION_WORDS =
  /[^A-Za-z0-9_](?:version|ver\.|release|build|firmware|oid\b|section|sec\.|§|fig\.|figure|chapter|table|clause|step|item|v\s*$)/i;

/**
 * True when one of `words` occurs in the `n` characters before `start`. The window keeps
 * one extra leading character (a space at the start of the text) so that the boundary
 * before a word is judged on real text, not on where the slice happens to begin.
 */
function hasContext(text: string, start: number, n: number, words: RegExp): boolean {
  const from = start - n - 1;
  const window = from < 0 ? " " + text.slice(0, start) : text.slice(from, start);
  return words.test(window);
}

interface Group {
  start: number;
  end: number;
  /** Separator before this group ("" for the first). */
  sep: string;
}

/** Appends numeric findings of the wanted types in `text` to `out`. */
export function findNumbers(text: string, want: NumberTypes, out: Finding[]): void {
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
  if (isUpper(prev) && isUpper(codeAt(text, i - 2)) && !isAlnum(codeAt(text, i - 3))) {
    const iban = matchIban(text, i - 2);
    if (iban.valid && want.iban) {
      out.push({ type: "iban", start: i - 2, end: iban.end, value: text.slice(i - 2, iban.end) });
    }
    // An IBAN-shaped run with a bad checksum is still one account-number-like token:
    // skip it whole rather than finding phone numbers in its groups.
    if (iban.end > 0) return iban.end;
    return skipWord(text, i);
  }
  if (isWordChar(prev) || ((prev === 45 || prev === 46) && isWordChar(codeAt(text, i - 2)))) {
    return skipWord(text, i);
  }
  const groups: Group[] = [];
  let j = i;
  let sep = "";
  const n = text.length;
  while (true) {
    const gs = j;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    if (j - gs > MAX_GROUP_DIGITS || isWordChar(codeAt(text, j))) {
      // Too long to be a value, or glued to a word: this group belongs to something else.
      if (groups.length === 0) return skipWord(text, gs);
      j = gs - sep.length;
      break;
    }
    groups.push({ start: gs, end: j, sep });
    if (groups.length >= MAX_GROUPS) break;
    // Separator: up to three characters, then a digit.
    let k = j;
    while (k < n && k - j < 3 && isSeparatorChar(text.charCodeAt(k))) k++;
    if (k === j || !isDigit(codeAt(text, k))) break;
    sep = text.slice(j, k);
    if (!SEPARATORS.has(sep)) break;
    j = k;
  }
  // `4111-1111-1111-1111-abcd`, `2024-01-15_run`: the digits are part of an identifier.
  const after = codeAt(text, j);
  if ((after === 45 || after === 95) && isWordChar(codeAt(text, j + 1))) return skipWord(text, j);
  if (groups.length > 0) classifyCluster(text, groups, want, out);
  return Math.max(j, i + 1);
}

function isSeparatorChar(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 160 || c === 40 || c === 41;
}

function classifyCluster(text: string, groups: Group[], want: NumberTypes, out: Finding[]) {
  let s = 0;
  while (s < groups.length) {
    if (s + 1 < groups.length && groups[s + 1].sep === ".") {
      // A dotted run: an IPv4 address, a dotted phone number, or a version/decimal.
      let e = s;
      while (e + 1 < groups.length && groups[e + 1].sep === ".") e++;
      const ip = e - s === 3 && want.ip && tryIpv4(text, groups, s, out);
      if (!ip && (e - s === 2 || e - s === 3) && want.phone) tryPhone(text, groups, s, e, out);
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
    // Longest span first; spans under 8 digits cannot be anything (IPv4 is handled above).
    for (let e = limit; e >= s && matched < 0 && digits >= 8; e--) {
      if (classifySpan(text, groups, s, e, want, out)) matched = e;
      digits -= groups[e].end - groups[e].start;
    }
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
  // `1.2.3.4.5` is longer than an address; `127.0.0.1.nip.io` is a host name.
  if (codeAt(text, end) === 46 && isWordChar(codeAt(text, end + 1))) return false;
  if (hasContext(text, start, 12, VERSION_WORDS)) return true; // a version, not PII
  out.push({ type: "ip", start, end, value: text.slice(start, end) });
  return true;
}

function spanDigits(text: string, groups: Group[], s: number, e: number): string {
  let d = "";
  for (let g = s; g <= e; g++) d += text.slice(groups[g].start, groups[g].end);
  return d;
}

function classifySpan(
  text: string,
  groups: Group[],
  s: number,
  e: number,
  want: NumberTypes,
  out: Finding[],
): boolean {
  const count = e - s + 1;
  let digitCount = 0;
  for (let g = s; g <= e; g++) digitCount += groups[g].end - groups[g].start;
  // Shortest candidates: an international phone number (8 digits), an SSN (9).
  if (digitCount < 8) return false;
  const digits = spanDigits(text, groups, s, e);
  const start = groups[s].start;
  const end = groups[e].end;
  const prefix = codeAt(text, start - 1);
  const plus = prefix === 43 && s === 0;
  const sizes: number[] = [];
  for (let g = s; g <= e; g++) sizes.push(groups[g].end - groups[g].start);
  const seps = new Set<string>();
  for (let g = s + 1; g <= e; g++) seps.add(groups[g].sep);
  const oneSep = seps.size <= 1;
  const plainSep = oneSep && (seps.has(" ") || seps.has("-") || seps.size === 0);
  // A grouped SSN is the whole run of groups in its separator style, and a grouped card
  // number does not continue its pattern of fours: `4000 0000 0000 0002 0000` is one
  // longer number, while in `6011 6638 4613 9821 020 7117 1752` a phone number follows.
  const sep = count > 1 ? groups[s + 1].sep : null;
  const joinedBefore = sep !== null && s > 0 && groups[s].sep === sep;
  const joinedAfter = sep !== null && e + 1 < groups.length && groups[e + 1].sep === sep;
  const wholeRun = !joinedBefore && !joinedAfter;
  const size = (g: number) => groups[g].end - groups[g].start;
  const cardAlone = !(joinedBefore && size(s - 1) === 4) && !(joinedAfter && size(e + 1) === 4);
  if (want.ssn && !plus && plainSep && wholeRun) {
    const shaped = count === 3 && sizes[0] === 3 && sizes[1] === 2 && sizes[2] === 4;
    const bare = count === 1 && sizes[0] === 9 && hasContext(text, start, 24, SSN_WORDS);
    if (
      (shaped || bare) &&
      ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))
    ) {
      out.push({ type: "ssn", start, end, value: text.slice(start, end) });
      return true;
    }
  }
  if (want.card && !plus && plainSep && cardAlone && digits.length >= 13 && cardShape(sizes)) {
    if (cardNumberValid(digits)) {
      out.push({ type: "credit_card", start, end, value: text.slice(start, end) });
      return true;
    }
  }
  if (want.phone) return tryPhone(text, groups, s, e, out);
  return false;
}

/** Card numbers are printed as one run, in fours, or 4-6-5 / 4-6-4 (Amex, Diners). */
function cardShape(sizes: number[]): boolean {
  if (sizes.length === 1) return true;
  if (sizes.length === 3 && sizes[0] === 4 && sizes[1] === 6 && sizes[2] >= 4) return true;
  for (let g = 0; g < sizes.length - 1; g++) if (sizes[g] !== 4) return false;
  return sizes.length >= 3 && sizes[sizes.length - 1] <= 4;
}

function tryPhone(text: string, groups: Group[], s: number, e: number, out: Finding[]): boolean {
  let start = groups[s].start;
  const end = groups[e].end;
  const digits = spanDigits(text, groups, s, e);
  const sizes: number[] = [];
  for (let g = s; g <= e; g++) sizes.push(groups[g].end - groups[g].start);
  const prefix = codeAt(text, start - 1);
  let international = false;
  if (prefix === 43 /* + */ && s === 0) {
    start--;
    international = true;
  } else if (prefix === 40 /* ( */ && s < e && groups[s + 1].sep.startsWith(")")) {
    start--; // `(415) 555-2671`; an unclosed `(` is the prose around the number
  }
  if (prefix === 40 && codeAt(text, start - 1) === 43) return false;
  if (!international && digits.startsWith("00") && sizes[0] <= 4 && s === 0) {
    international = true; // 00 44 20 7946 0958: international call prefix
  }
  // Only dashes, dots and spaces inside the span; parentheses only around the first group.
  for (let g = s + 1; g <= e; g++) {
    const sep = groups[g].sep;
    if ((sep.includes("(") || sep.includes(")")) && g > s + 2) return false;
  }
  if (international) {
    const body = digits.startsWith("00") && prefix !== 43 ? digits.slice(2) : digits;
    if (body.length < 8 || body.length > 15) return false;
    if (!phoneValid("+" + body)) return false;
    out.push({ type: "phone", start, end, value: text.slice(start, end) });
    return true;
  }
  if (digits.length < 10 || digits.length > 11) return false;
  const formatted = sizes.length > 1;
  if (!formatted && !hasContext(text, start, 32, PHONE_WORDS)) return false;
  let valid = false;
  if (digits[0] === "0") {
    // Trunk-prefixed national numbers (GB, DE, FR): groups of at least two digits.
    if (digits.length < 10 || digits.length > 11 || sizes.some((n) => n < 2)) return false;
    valid = TRUNK_ZERO_REGIONS.some((region) => phoneValid(digits, region));
  } else {
    // North American numbering plan: 3-3-4 or 1-3-3-4 (or one run next to a phone word).
    const shape = sizes.join(",");
    const nanp =
      (digits.length === 10 && (shape === "3,3,4" || shape === "10" || shape === "3,7")) ||
      (digits.length === 11 && digits[0] === "1" && (shape === "1,3,3,4" || shape === "11"));
    if (!nanp) return false;
    valid = phoneValid(digits, "US");
  }
  if (!valid) return false;
  out.push({ type: "phone", start, end, value: text.slice(start, end) });
  return true;
}

/**
 * The IBAN-shaped run starting at `p` (printed compact or in groups of four): its end
 * (-1 when the shape is wrong) and whether its checksum holds.
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
      (c === 32 || c === 160) && compact.length % 4 === 0 && compact.length > 0 &&
      isAlnum(codeAt(text, j + 1))
    ) {
      j++;
    } else break;
  }
  if (compact.length !== length || isAlnum(codeAt(text, j))) return { end: -1, valid: false };
  return { end: j, valid: ibanValid(compact) };
}

/** The type names used by {@linkcode findNumbers}, for callers mapping from PiiType. */
export const NUMBER_TYPES: readonly PiiType[] = ["phone", "ssn", "credit_card", "ip", "iban"];

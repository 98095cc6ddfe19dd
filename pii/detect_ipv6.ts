// IPv6 addresses: found from each ':' by expanding over hex digits, colons and (for an
// embedded IPv4 tail) dots, then parsed strictly. Times (12:30:45), MAC addresses and
// C++ scopes (`std::vector`) fail the parse or the word-boundary test.

import type { Finding } from "./types.ts";
import { codeAt, isDigit, isHex, isLetter, isWordChar, labelBefore } from "./chars.ts";
import { ipv6Special, isNetwork, prefixAfter } from "./special_addresses.ts";
import { decodeForm } from "./fold.ts";

const MAX_LENGTH = 45;

/** Whether `text` can hold an IPv6 address: a `:`, or a `%3A` (three native scans). */
export function mayHoldIpv6(text: string): boolean {
  return text.includes(":") || text.includes("%3A") || text.includes("%3a");
}

/**
 * Appends every IPv6 address in `text` to `out`, also one whose colons are percent-encoded
 * (`?ip=2001%3Adb8%3A%3A1`: read decoded, fold.ts {@linkcode decodeForm}, and found as
 * written).
 */
export function findIpv6(text: string, out: Finding[]): void {
  const form = text.includes("%3A") || text.includes("%3a") ? decodeForm(text) : undefined;
  if (form === undefined) {
    scanText(text, out);
    return;
  }
  const found: Finding[] = [];
  scanText(form.text, found);
  for (const f of found) {
    const start = form.startOf(f.start);
    const end = form.endOf(f.end - 1);
    out.push({ type: f.type, start, end, value: text.slice(start, end) });
  }
}

function scanText(text: string, out: Finding[]): void {
  let colon = text.indexOf(":");
  let scanned = 0;
  while (colon !== -1) {
    scanned = scanAt(text, colon, scanned, out);
    colon = text.indexOf(":", Math.max(scanned, colon + 1));
  }
}

function isIpv6Char(c: number): boolean {
  return isHex(c) || c === 58;
}

/**
 * Tries the address around the ':' at `colon`. `scanned` is where the previous attempt
 * stopped reading; nothing before it needs reading again. Returns the new such offset.
 */
function scanAt(text: string, colon: number, scanned: number, out: Finding[]): number {
  let start = colon;
  while (start > 0 && isIpv6Char(text.charCodeAt(start - 1))) {
    start--;
    if (colon - start > MAX_LENGTH || start < scanned - MAX_LENGTH) break;
  }
  let end = colon + 1;
  while (end < text.length && (isIpv6Char(text.charCodeAt(end)) || text.charCodeAt(end) === 46)) {
    end++;
    if (end - start > MAX_LENGTH) break;
  }
  if (end - start > MAX_LENGTH) {
    // Longer than any address: skip the whole run of address characters.
    while (end < text.length && (isIpv6Char(text.charCodeAt(end)) || text.charCodeAt(end) === 46)) {
      end++;
    }
    return end;
  }
  const resume = end;
  // A sentence may end right after an address: drop trailing dots and a lone colon.
  while (end > colon + 1 && text.charCodeAt(end - 1) === 46) end--;
  if (text.charCodeAt(end - 1) === 58 && text.charCodeAt(end - 2) !== 58) end--;
  const before = codeAt(text, start - 1);
  const after = codeAt(text, end);
  // A label joined by `_` (`ip_fe80::1`) is written onto the address, not part of it.
  if (before === 95 && labelBefore(text, start) !== 1) return resume;
  if ((isWordChar(before) && before !== 95) || before === 46 || before === 58) return resume;
  // A word written onto the address after `_` (`…:7334_x`, `fe80::1_eth0`) or `-` does not
  // hide it; letters touching it (`fe80::not-hex`, `[2001:db8::zzzz]`) make a malformed one.
  if (isLetter(after) || (after === 46 && isDigit(codeAt(text, end + 1)))) return resume;
  if (after === 58 && codeAt(text, end + 1) === 58) return resume;
  const candidate = text.slice(start, end);
  if (!ipv6Valid(candidate)) return resume;
  // Loopback, unspecified, multicast, and networks (`2001:db8::/32`) identify no one
  // (special_addresses.ts).
  // Only an address that starts with `::`, `0`, `ff` or `fd00`, or has a prefix length after it, can
  // be one of these: the others (most) skip the parse into words.
  const first = candidate.charCodeAt(0);
  const prefix = prefixAfter(text, end);
  if (
    first === 58 || first === 48 || prefix >= 0 ||
    ((first | 32) === 102 && ((candidate.charCodeAt(1) | 32) === 102 ||
      candidate.slice(0, 4).toLowerCase() === "fd00"))
  ) {
    const words = ipv6Words(candidate);
    if (ipv6Special(words) || isNetwork(words, prefix)) return resume;
  }
  out.push({ type: "ip", start, end, value: candidate });
  return resume;
}

/**
 * The eight 16-bit words of an address {@linkcode ipv6Valid} accepts (an IPv4 tail is two
 * words). Allocates; called once per valid address only.
 */
function ipv6Words(s: string): number[] {
  const lastColon = s.lastIndexOf(":");
  const tail: number[] = [];
  let body = s;
  if (s.indexOf(".", lastColon) !== -1) {
    const [a, b, c, d] = s.slice(lastColon + 1).split(".").map(Number);
    tail.push(a << 8 | b, c << 8 | d);
    body = s.slice(0, lastColon + 1); // `::ffff:`, `::`, `1:2:3:4:5:6:`
  }
  const parse = (part: string) => part === "" ? [] : part.split(":").map((h) => parseInt(h, 16));
  const double = body.indexOf("::");
  let words: number[];
  if (double === -1) {
    words = parse(body.endsWith(":") ? body.slice(0, -1) : body);
  } else {
    const left = parse(body.slice(0, double));
    const rightText = body.slice(double + 2);
    const right = parse(rightText.endsWith(":") ? rightText.slice(0, -1) : rightText);
    const zeros = 8 - tail.length - left.length - right.length;
    words = [...left, ...new Array(Math.max(0, zeros)).fill(0), ...right];
  }
  return [...words, ...tail];
}

/**
 * Strict IPv6 text form: eight groups of 1–4 hex digits, at most one `::`, optionally an
 * IPv4 tail. Requires a decimal digit or three groups so that `dead::beef`-like words in
 * code are not taken for addresses.
 */
export function ipv6Valid(s: string): boolean {
  // Index arithmetic instead of split(): every ':' of the input can bring a candidate here,
  // and the arrays were most of the cost.
  if (s.length < 3 || s.length > MAX_LENGTH) return false;
  let body = s;
  let tailGroups = 0;
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) !== -1) {
    if (!ipv4Valid(s.slice(lastColon + 1))) return false;
    body = s.slice(0, lastColon + 1) + "0";
    tailGroups = 1; // the IPv4 tail stands for two groups; counted as one "0" plus one
  }
  const double = body.indexOf("::");
  if (double !== -1 && body.indexOf("::", double + 1) !== -1) return false;
  let parts: number;
  if (double === -1) {
    parts = countGroups(body, 0, body.length);
  } else {
    const left = double === 0 ? 0 : countGroups(body, 0, double);
    const right = double + 2 === body.length ? 0 : countGroups(body, double + 2, body.length);
    parts = left < 0 || right < 0 ? -1 : left + right;
  }
  if (parts < 0) return false;
  const groups = parts + tailGroups;
  if (double === -1 ? groups !== 8 : groups > 7) return false;
  if (double !== -1 && parts === 0) return false; // bare "::"
  return parts >= 3 || hasDecimalDigit(s);
}

/**
 * Number of `:`-separated groups in `s[from, to)` when each is 1–4 hex digits, else -1
 * (what `s.slice(from, to).split(":")` then a check of every part would give).
 */
function countGroups(s: string, from: number, to: number): number {
  let groups = 0;
  let length = 0;
  for (let i = from; i <= to; i++) {
    if (i === to || s.charCodeAt(i) === 58) {
      if (length === 0 || length > 4) return -1;
      groups++;
      length = 0;
    } else if (isHex(s.charCodeAt(i))) {
      length++;
    } else {
      return -1;
    }
  }
  return groups;
}

function hasDecimalDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) return true;
  return false;
}

/** Dotted-quad IPv4 without leading zeros. */
export function ipv4Valid(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return false;
  }
  return true;
}

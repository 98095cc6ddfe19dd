// Text a tool returns base64-encoded (GitHub's contents API `content`, a Gmail message's
// `payload.body.data` in base64url, an MCP resource `blob` of a text type, `kubectl get secret
// -o yaml` data, a log line): found as a run of the base64 alphabet, decoded, and when it
// decodes to text that holds something, redacted in its decoded form and encoded again the way
// it was written (red team n1, N1-18: every detector missed such text, `atob` gave it back).
//
// Random binary (an image, a key, a hash) does not decode to UTF-8 text and is left exactly as
// it was; so is text that holds nothing. Each run is decoded once, at most a few levels deep
// (base64 inside decoded base64, as a Kubernetes Secret of a JSON file holds it): linear.

import type { Finding, PiiType } from "./types.ts";

/** Shortest run read as base64, in characters (12 bytes: an address, a short password line). */
export const MIN_BASE64_UNITS = 16;
/**
 * Longest run decoded and redacted, in characters (2 MiB; GitHub's contents API inlines files
 * up to 1 MB). A longer run that decodes to text is hidden whole: it cannot be read here.
 */
export const MAX_BASE64_UNITS = 2 * 1024 * 1024;
/** Levels of base64 inside decoded base64 that are read (the outer text is level 0). */
export const MAX_BASE64_DEPTH = 2;
/** Shortest line after which a line break may continue a run (MIME 76, GitHub 60, PEM 64). */
const MIN_WRAPPED_LINE = 40;

/**
 * A finding that stands for a base64 run whose decoded text holds findings: `inner` are the
 * findings of `decoded` (themselves possibly encoded runs), and the run is written again by
 * {@linkcode encodeLike} from the redacted decoded text. A run too long to read has
 * `decoded === undefined` and is replaced whole.
 */
export interface EncodedFinding extends Finding {
  /** The run's decoded text (`undefined`: too long, hidden whole). */
  decoded: string | undefined;
  /** Findings of `decoded`, sorted and non-overlapping. */
  inner: Finding[];
  /** How the run was written, to write it again alike. */
  form: Base64Form;
}

/** How a run was written: alphabet, padding and line wrapping. */
export interface Base64Form {
  /** `-` and `_` instead of `+` and `/`. */
  url: boolean;
  /** Ends with `=` padding. */
  padded: boolean;
  /** Characters per line when wrapped (0: one line). */
  line: number;
  /** The line break between lines (`\n`, `\r\n`, or the JSON escape `\\n`). */
  eol: string;
}

/** True when `f` is an {@linkcode EncodedFinding}. */
export function isEncoded(f: Finding): f is EncodedFinding {
  return (f as EncodedFinding).form !== undefined;
}

// Sextet of each base64/base64url character, -1 for others; `+` and `-` are 62, `/` and `_` 63.
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  SEXTET["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
}
SEXTET[45] = 62; // -
SEXTET[95] = 63; // _

function sextet(c: number): number {
  return c < 128 ? SEXTET[c] : -1;
}

/** The line break at `at` that may continue a wrapped run: its length, or 0. */
function eolAt(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === 10) return 1;
  if (c === 13 && text.charCodeAt(at + 1) === 10) return 2;
  let n = 0;
  if (c === 92 && text.charCodeAt(at + 1) === 110) n = 2; // `\n` escaped in JSON text
  else if (
    c === 92 && text.charCodeAt(at + 1) === 114 && text.charCodeAt(at + 2) === 92 &&
    text.charCodeAt(at + 3) === 110
  ) n = 4; // `\r\n` escaped
  else return 0;
  return n + concatenated(text, at + n);
}

/**
 * Length of a rendered string's line join at `at` (`" +⏎    "`: how `console.log` of an object
 * writes a string with line breaks, one quoted piece per line), or 0.
 */
function concatenated(text: string, at: number): number {
  const q = text.charCodeAt(at);
  if ((q !== 34 && q !== 39) || text.charCodeAt(at + 1) !== 32) return 0;
  if (text.charCodeAt(at + 2) !== 43 || text.charCodeAt(at + 3) !== 10) return 0;
  let k = at + 4;
  while (k < text.length && k - at < 68 && text.charCodeAt(k) === 32) k++;
  return text.charCodeAt(k) === q ? k + 1 - at : 0;
}

/**
 * Findings of the base64 runs in `text` that decode to text holding something `detect` finds,
 * as {@linkcode EncodedFinding}s, sorted. `detect` is `findPii` (passed in: find.ts imports
 * nothing of this file). Runs that touch a word character or a `%`/`\` escape on either side are
 * part of something else and skipped. Linear in `text`: each character is scanned once and each
 * run decoded once per level.
 */
export function findEncodedRuns(
  text: string,
  types: readonly PiiType[],
  detect: (text: string, types: readonly PiiType[]) => Finding[],
  depth = 0,
  covered: readonly Finding[] = [],
): EncodedFinding[] {
  const out: EncodedFinding[] = [];
  let c = 0; // the first of `covered` that may hold the next run
  if (depth >= MAX_BASE64_DEPTH || text.length < MIN_BASE64_UNITS) return out;
  const n = text.length;
  // Candidate lines: runs of the alphabet at least MIN_BASE64_UNITS long. Such a run starting
  // in [i, i + 15] covers i + 15, so one character per 16 is read where there is none (most
  // text), and each run is walked once (back at most 15 characters, then forward).
  const M = MIN_BASE64_UNITS;
  for (let i = 0; i + M <= n;) {
    if (sextet(text.charCodeAt(i + M - 1)) < 0) {
      i += M;
      continue;
    }
    let start = i + M - 1;
    while (start > i && sextet(text.charCodeAt(start - 1)) >= 0) start--;
    let lineEnd = start + 1;
    while (lineEnd < n && sextet(text.charCodeAt(lineEnd)) >= 0) lineEnd++;
    if (lineEnd - start < M) {
      i = lineEnd;
      continue;
    }
    // One line of the run, then more lines while each full line is as long as the first.
    let end = lineEnd;
    const first = lineEnd - start;
    let line = 0;
    let eol = "";
    if (first >= MIN_WRAPPED_LINE && first % 4 === 0) {
      let at = lineEnd;
      for (;;) {
        const br = eolAt(text, at);
        if (br === 0) break;
        let e = at + br;
        while (e < n && sextet(text.charCodeAt(e)) >= 0) e++;
        const len = e - at - br;
        const sep = text.slice(at, at + br);
        if (len === 0 || len > first || (eol !== "" && sep !== eol)) break;
        eol = sep;
        line = first;
        end = e;
        at = e;
        if (len < first) break; // the last, shorter line
      }
    }
    // Padding, on the last line.
    let padEnd = end;
    while (padEnd < n && padEnd - end < 2 && text.charCodeAt(padEnd) === 61) padEnd++;
    i = padEnd;
    if (!standsAlone(text, start, padEnd)) continue;
    // A run inside a finding (a key after `token=`, a JWT) is hidden whole already.
    while (c < covered.length && covered[c].end <= start) c++;
    if (c < covered.length && covered[c].start <= start && covered[c].end >= padEnd) continue;
    const run = text.slice(start, end);
    const found = readRun(run, line, eol, padEnd > end, types, detect, depth);
    if (found === undefined) continue;
    found.start = start;
    found.end = padEnd;
    found.value = text.slice(start, padEnd);
    out.push(found);
  }
  return out;
}

/** A run is not glued to a `%`-escape, a `\`-escape or a `.`-joined token (a JWT's parts). */
function standsAlone(text: string, start: number, end: number): boolean {
  const before = text.charCodeAt(start - 1);
  const after = text.charCodeAt(end);
  if (before === 37 || before === 92 || before === 46) return false; // % \ .
  if (after === 46 && sextet(text.charCodeAt(end + 1)) >= 0) return false;
  return !(after === 61); // more padding than base64 has
}

/** The run `run` (wrapped lines included) read; `undefined` when it holds nothing to hide. */
function readRun(
  run: string,
  line: number,
  eol: string,
  padded: boolean,
  types: readonly PiiType[],
  detect: (text: string, types: readonly PiiType[]) => Finding[],
  depth: number,
): EncodedFinding | undefined {
  const flat = line === 0 ? run : run.split(eol).join("");
  if (flat.length % 4 === 1 || !headIsText(flat)) return undefined;
  const decoded = flat.length > MAX_BASE64_UNITS ? undefined : decodeText(flat);
  if (decoded === undefined && flat.length <= MAX_BASE64_UNITS) return undefined;
  // Read after decoding (random runs stop at their first bytes): one alphabet, not a path.
  let url = false, std = false;
  for (let k = 0; k < flat.length; k++) {
    const c = flat.charCodeAt(k);
    if (c === 45 || c === 95) url = true;
    else if (c === 43 || c === 47) std = true;
  }
  if (url && std) return undefined; // a path or a name, not one alphabet
  const form: Base64Form = { url, padded, line, eol };
  if (decoded === undefined) {
    return { type: "secret", start: 0, end: 0, value: "", decoded: undefined, inner: [], form };
  }
  const inner = mergeRuns(
    detect(decoded, types),
    findEncodedRuns(decoded, types, detect, depth + 1),
  );
  if (inner.length === 0) return undefined;
  return { type: "secret", start: 0, end: 0, value: "", decoded, inner, form };
}

/** The first bytes decoded could begin UTF-8 text (no control character, no continuation). */
function headIsText(flat: string): boolean {
  const a = sextet(flat.charCodeAt(0)), b = sextet(flat.charCodeAt(1));
  const c = sextet(flat.charCodeAt(2)), d = sextet(flat.charCodeAt(3));
  const b0 = (a << 2) | (b >> 4);
  const b1 = ((b & 15) << 4) | (c >> 2);
  const b2 = ((c & 3) << 6) | d;
  return textByte(b0) && b0 < 0x80 || b0 >= 0xc2 && b0 <= 0xf4 ? okTail(b1) && okTail(b2) : false;
}

/** A byte that may follow the first in UTF-8 text (ASCII text or a continuation). */
function okTail(b: number): boolean {
  return b >= 0x80 ? b <= 0xf4 : textByte(b);
}

/** An ASCII byte of text: printable, tab, line feed, carriage return or form feed. */
function textByte(b: number): boolean {
  return b >= 0x20 ? b !== 0x7f : b === 9 || b === 10 || b === 13 || b === 12;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes decoded from a run before they are read as UTF-8, reused (grown as needed). */
let buffer = new Uint8Array(4096);

/**
 * `flat` decoded as UTF-8 text without control characters; `undefined` if it is not that. The
 * bytes are checked as they come (UTF-8's lead and continuation bytes, no control byte), so
 * random binary stops after a few bytes; only a run that passes is decoded to a string.
 */
function decodeText(flat: string): string | undefined {
  const size = Math.floor(flat.length * 3 / 4);
  if (buffer.length < size) buffer = new Uint8Array(Math.max(size, buffer.length * 2));
  const bytes = buffer;
  let k = 0, acc = 0, bits = 0, follow = 0;
  for (let j = 0; j < flat.length; j++) {
    acc = ((acc << 6) | sextet(flat.charCodeAt(j))) & 0xffffff;
    bits += 6;
    if (bits < 8) continue;
    bits -= 8;
    const b = (acc >> bits) & 0xff;
    if (follow > 0) {
      if ((b & 0xc0) !== 0x80) return undefined;
      follow--;
    } else if (b >= 0x80) {
      if (b < 0xc2 || b > 0xf4) return undefined;
      follow = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
    } else if (!textByte(b)) return undefined;
    bytes[k++] = b;
  }
  try {
    return STRICT_UTF8.decode(bytes.subarray(0, k));
  } catch {
    return undefined;
  }
}

/**
 * `text` encoded again as `form` says (alphabet, padding, line length and break): the form of
 * a run read by {@linkcode findEncodedRuns}, so a caller that decodes it gets the redacted text.
 */
export function encodeLike(text: string, form: Base64Form): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let k = 0; k < bytes.length; k += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  }
  let out = btoa(bin);
  if (form.url) out = out.replaceAll("+", "-").replaceAll("/", "_");
  if (!form.padded) out = out.replace(/=+$/, "");
  if (form.line > 0) {
    const lines: string[] = [];
    for (let k = 0; k < out.length; k += form.line) lines.push(out.slice(k, k + form.line));
    out = lines.join(form.eol);
  }
  return out;
}

/**
 * `findings` and `runs` (both sorted, non-overlapping) as one sorted, non-overlapping list: a
 * run whose span holds findings takes their place (what its decoded text holds is hidden inside
 * it); a run that a finding covers whole, or that a finding crosses, is dropped (the finding is
 * already a value of its own).
 */
export function mergeRuns(findings: Finding[], runs: EncodedFinding[]): Finding[] {
  if (runs.length === 0) return findings;
  const out: Finding[] = [];
  let k = 0;
  for (const r of runs) {
    while (k < findings.length && findings[k].end <= r.start) out.push(findings[k++]);
    let j = k;
    let crossed = false;
    while (j < findings.length && findings[j].start < r.end) {
      if (findings[j].start < r.start || findings[j].end > r.end) crossed = true;
      j++;
    }
    const within = j - k;
    if (crossed || (within === 1 && findings[k].start === r.start && findings[k].end === r.end)) {
      continue; // the findings stay, in order, with the next run or at the end
    }
    k = j; // findings inside the run: replaced by it
    out.push(r);
  }
  while (k < findings.length) out.push(findings[k++]);
  return out;
}

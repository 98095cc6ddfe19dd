// A value under an object key is judged with the key as its context: the detectors read
// `password: S3cr3t!Pass`, `ssn 078051120` or a bare ten-digit run after `phone` in text,
// and `{"password": "S3cr3t!Pass"}` must not be weaker than the same line as text (red
// team d1: a config file read by the code and returned parsed came back with every
// keyword secret, SSN and phone number raw).
//
// Detection reads `key: value` (the key's tail, then the head of the value, where a key's
// context reaches) besides the value alone, and the value keeps what either finds. Alone
// is needed too: a key can also take context away, as it would in text (`version` before a
// dotted quad makes it a version number, a URL as the key makes an address after it look
// like the URL's user, a `password` value judged up to a `=` cuts a card number after it in
// two), and a value must never be redacted less under a key than on its own.
//
// Most keys (`id`, `name`, `notes`) give no context, and reading every value twice doubled the
// cost of redacting a typical response. Whether a key gives context is asked of the detectors
// themselves, once per key: do they find one of a few probe values after it (a token-like
// secret, an SSN without dashes, a bare ten-digit phone number: none found alone, each found
// only after a word of its detector's context)? Asking the detectors, not a copy of their word
// lists, keeps the answer right as their context rules change.

import type { Finding, PiiType } from "./types.ts";
import { findPii } from "./find.ts";

/**
 * Longest tail of a key put before its value, in UTF-16 code units. The detectors read at
 * most 48 characters of a credential key name and 32 before a number, so a longer key is
 * judged by its tail exactly as the text would be; a cap keeps each leaf's extra scan
 * constant however long its key.
 */
export const MAX_KEY_CONTEXT_UNITS = 64;

/**
 * Longest head of a value read after its key, in UTF-16 code units. A key's context reaches
 * a keyword value (at most 8 leading and 512 value characters, and one credential name
 * inside it judged again) and numbers within 32 characters: about 1,100 units. Past the
 * head the value alone is what counts, so a long value (a file's content under `content`)
 * costs one more scan of 2 Ki units, not of itself.
 */
export const KEY_CONTEXT_HEAD_UNITS = 2048;

/**
 * Findings of a cut head that end this close to the cut are dropped: the cut may have made
 * them (a long digit run's first 16 digits passing Luhn). Nothing the key's context adds
 * lies there, and whatever the value holds there the value alone finds.
 */
const HEAD_MARGIN_UNITS = 256;

/**
 * Values found only after a context a key can give (see the module comment), each with the
 * one detector type asked about it (so a probe runs one detector, not all).
 */
export const CONTEXT_PROBES: readonly (readonly [string, PiiType])[] = Object.freeze(
  [
    ["Xk9mQ2pL7vR4nW8sT3yU", "secret"], // a keyword secret, after a credential name
    ["078051120", "ssn"], // an SSN without dashes, after an SSN word
    ["4155550134", "phone"], // a bare digit run as a phone number, after a phone word
  ] as const,
);

/**
 * Keys remembered with their verdict (by their tail, digit runs as one `0`); forgotten all at
 * once when full.
 */
const MAX_REMEMBERED_KEYS = 4096;
const verdicts = new Map<string, boolean>();
const DIGIT_RUNS = /[0-9]+/g;

/**
 * Whether the detectors find one of the {@linkcode CONTEXT_PROBES} after `key: ` (its tail,
 * as {@linkcode contextPrefix} writes it): then a value under `key` is read after it too.
 * Remembered per key, so a key costs its probes once (at most three scans of about 90
 * units). False without a key.
 */
export function givesContext(key: string | undefined): boolean {
  if (key === undefined || key.length === 0) return false;
  // Keys that differ only in their digits (`password_1`, `password_2`, …) share one verdict,
  // so a value of many numbered keys pays for its probes once, not per key (2,000 numbered
  // credential keys in 60 K characters took the inline redaction from 10 to 33 ms).
  const tail = tailOf(key).replace(DIGIT_RUNS, "0");
  let verdict = verdicts.get(tail);
  if (verdict === undefined) {
    const prefix = tail + ": ";
    // A probe found alone (a detector changed) counts as context: slower, never weaker.
    verdict = CONTEXT_PROBES.some(([probe, type]) =>
      findPii(prefix + probe, [type]).some((f) => f.end > prefix.length)
    );
    if (verdicts.size >= MAX_REMEMBERED_KEYS) verdicts.clear();
    verdicts.set(tail, verdict);
  }
  return verdict;
}

/**
 * The text detection reads before a value found under `key`: the key's last
 * {@linkcode MAX_KEY_CONTEXT_UNITS} units (not starting inside a surrogate pair) and `": "`,
 * as a config file or a log line writes the pair. `""` without a key (the root, an array not
 * under any key) or with an empty one.
 */
export function contextPrefix(key: string | undefined): string {
  if (key === undefined || key.length === 0) return "";
  return tailOf(key) + ": ";
}

/** The last {@linkcode MAX_KEY_CONTEXT_UNITS} units of `key`, no surrogate pair split. */
function tailOf(key: string): string {
  if (key.length <= MAX_KEY_CONTEXT_UNITS) return key;
  let from = key.length - MAX_KEY_CONTEXT_UNITS;
  const code = key.charCodeAt(from);
  if (code >= 0xdc00 && code <= 0xdfff) from++;
  return key.slice(from);
}

/**
 * The second text detection reads for a non-empty value under `key` (see the module
 * comment): `key: ` and the value's first {@linkcode KEY_CONTEXT_HEAD_UNITS} units (not
 * ending inside a surrogate pair); `undefined` when there is no key, no value, or the key
 * gives no context ({@linkcode givesContext}).
 */
export function keyedText(text: string, key: string | undefined): string | undefined {
  if (text.length === 0 || !givesContext(key)) return undefined;
  return contextPrefix(key) + headOf(text);
}

/**
 * The findings of a value: `alone`, of the text by itself, and `keyed`, of its
 * {@linkcode keyedText} under `key` (both sorted and non-overlapping, as
 * {@linkcode findPii} returns them). What is found in the key is dropped; one that begins
 * in the key and runs into the value is cut at the value's start; where findings of the two
 * overlap, they become one spanning both (of the type of the one that starts first, the
 * longer on a tie, the keyed one on a tie of both: that is the text's verdict). Sorted and
 * non-overlapping; linear in the number of findings.
 */
export function mergeKeyed(
  alone: readonly Finding[],
  keyed: readonly Finding[],
  key: string | undefined,
  text: string,
): Finding[] {
  if (keyed.length === 0) return alone as Finding[];
  const offset = contextPrefix(key).length;
  const cut = text.length > KEY_CONTEXT_HEAD_UNITS
    ? headOf(text).length - HEAD_MARGIN_UNITS
    : Infinity;
  const moved: Finding[] = [];
  for (const f of keyed) {
    if (f.end <= offset) continue;
    const start = Math.max(f.start, offset) - offset;
    const end = f.end - offset;
    if (end > cut) break;
    moved.push({ type: f.type, start, end, value: "" });
  }
  if (moved.length === 0) return alone as Finding[];
  // Two sorted lists merged by start (then longer, then keyed first); overlaps joined.
  const out: Finding[] = [];
  let a = 0;
  let k = 0;
  while (a < alone.length || k < moved.length) {
    const takeKeyed = a >= alone.length || (k < moved.length && (
      moved[k].start < alone[a].start ||
      (moved[k].start === alone[a].start && moved[k].end >= alone[a].end)
    ));
    const f = takeKeyed ? moved[k++] : alone[a++];
    const last = out[out.length - 1];
    if (last !== undefined && f.start < last.end) {
      if (f.end > last.end) last.end = f.end;
      continue;
    }
    out.push({ type: f.type, start: f.start, end: f.end, value: "" });
  }
  for (const f of out) f.value = text.slice(f.start, f.end);
  return out;
}

/**
 * {@linkcode findPii} over a value found under object key `key` (or under no key, then the
 * same as `findPii(text, types)`): what the value holds alone, and what it holds judged as
 * `key: text` would be (see {@linkcode mergeKeyed}). Linear in the length of `text`: the
 * second scan reads at most {@linkcode MAX_KEY_CONTEXT_UNITS} +
 * {@linkcode KEY_CONTEXT_HEAD_UNITS} units.
 */
export function findPiiUnder(
  text: string,
  key: string | undefined,
  types?: readonly PiiType[],
): Finding[] {
  const alone = findPii(text, types);
  const keyed = keyedText(text, key);
  if (keyed === undefined) return alone;
  return mergeKeyed(alone, findPii(keyed, types), key, text);
}

/** The first {@linkcode KEY_CONTEXT_HEAD_UNITS} units of `text`, no surrogate pair split. */
function headOf(text: string): string {
  if (text.length <= KEY_CONTEXT_HEAD_UNITS) return text;
  const code = text.charCodeAt(KEY_CONTEXT_HEAD_UNITS - 1);
  const end = code >= 0xd800 && code <= 0xdbff
    ? KEY_CONTEXT_HEAD_UNITS - 1
    : KEY_CONTEXT_HEAD_UNITS;
  return text.slice(0, end);
}

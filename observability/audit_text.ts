/**
 * Audit text both audit logs can store and read back alike. PostgreSQL refuses U+0000 in
 * text and in JSON (`invalid byte sequence for encoding "UTF8": 0x00`), SQLite stores it but
 * reads the text back cut at the NUL, and neither can hold a lone UTF-16 surrogate (text
 * columns get U+FFFD when it is encoded; JSON keeps a `\udXXX` escape that PostgreSQL's
 * `jsonb` refuses). Both logs store what {@linkcode storableText} gives, so a record reads
 * the same from either and nothing a tenant or an upstream server puts into one can make
 * PostgreSQL refuse it.
 *
 * @module
 */

/** What stands in for a character neither log can store: the Unicode replacement character. */
export const REPLACEMENT = "\uFFFD";

/**
 * `text` with each U+0000 and each lone surrogate replaced by U+FFFD (one UTF-16 unit for
 * one, so a text already cut to a length in UTF-16 units stays within it). Cut first, then
 * call this: a cut through a surrogate pair leaves a lone half, which becomes U+FFFD too.
 * One linear scan; returns `text` itself when there is nothing to replace.
 */
export function storableText(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes("\u0000") ? wellFormed.replaceAll("\u0000", REPLACEMENT) : wellFormed;
}

/** What ends a text the audit cut ({@linkcode cutText}), so that a reader knows it was. */
export const CUT_MARKER = " … [truncated]";

/**
 * Longest open start of a PII placeholder or mask the cut can meet, in UTF-16 units: the
 * longest whole one, `[SECRET_<10 digits>_<7 letters>]`, is 27 units.
 */
const MAX_PLACEHOLDER_CHARS = 32;

/**
 * `text` when it has at most `max` UTF-16 units; otherwise its start and
 * {@linkcode CUT_MARKER}, `max` units at most in all. The cut never splits a placeholder or
 * a mask (`[CARD_1_hqkzmta]`, `[REDACTED_SSN]`): a `[` and the capital letter, letters,
 * digits and underscores after it, left open at the cut, are dropped with it (a reader would
 * take `[CARD_1_h` for a value, or a placeholder of another vault); nor a surrogate pair.
 * Looks back at most {@linkcode MAX_PLACEHOLDER_CHARS} units from the cut.
 * @throws RangeError when `max` is shorter than the marker
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < CUT_MARKER.length) {
    throw new RangeError(`cannot cut to ${max} units: the marker alone has ${CUT_MARKER.length}`);
  }
  let end = max - CUT_MARKER.length;
  for (let i = end - 1; i >= 0 && i >= end - MAX_PLACEHOLDER_CHARS; i--) {
    const unit = text.charCodeAt(i);
    if (unit === 0x5b /* [ */) {
      // Placeholders and masks start with a capital letter: `[see note` is left as it is.
      if (i + 1 === end || isCapital(text.charCodeAt(i + 1))) end = i;
      break;
    }
    if (!isPlaceholderUnit(unit)) break;
  }
  // A high surrogate at the cut would be left without its pair.
  if (end > 0 && (text.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
  return text.slice(0, end) + CUT_MARKER;
}

function isCapital(unit: number): boolean {
  return unit >= 0x41 && unit <= 0x5a;
}

/** Letters, digits and `_`: what a placeholder or a mask holds between its brackets. */
function isPlaceholderUnit(unit: number): boolean {
  return isCapital(unit) || (unit >= 0x61 && unit <= 0x7a) || (unit >= 0x30 && unit <= 0x39) ||
    unit === 0x5f;
}

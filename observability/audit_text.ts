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

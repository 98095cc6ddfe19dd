// Generic value words: field names that say a value is there, not what it is (red team round
// 4, f1: `{"db_password": {"value": …}}`, `{"phone": {"number": …}}` came back raw). Their own
// file because both pairs.ts and keyed.ts read them, and pairs.ts imports keyed.ts.

/**
 * Field names that say only that a value is there, not what it is: a field so named is judged
 * under its object's key (when it has one, pairs.ts), and a key whose last word is one of them
 * (`ssnNumber`, `password_value`) is read without it when only that gives context (keyed.ts).
 * None of them gives context of its own (checked in tests/pii/structure_context_test.ts), so
 * nothing is lost.
 */
export const GENERIC_FIELDS: ReadonlySet<string> = new Set([
  "value",
  "values",
  "val",
  "number",
  "num",
  "data",
  "text",
  "string",
  "str",
  "content",
  "contents",
  "raw",
  "plain",
  "plaintext",
  "current",
  "default",
  "body",
  "payload",
  "v",
]);
/** Longest of {@linkcode GENERIC_FIELDS}, in UTF-16 code units. */
export const MAX_GENERIC_UNITS = 9;

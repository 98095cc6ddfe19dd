/**
 * Text normalisation for tool selection: identifier splitting, word tokens with a light
 * stemmer, and the name normalisation used to match code against tool names.
 *
 * @module
 */
import { MAX_QUERY_EMBED_CHARS } from "./query_queue.ts";

/** Words too common in tool descriptions and queries to help ranking. */
const STOPWORDS = new Set(
  ("a an and are as at be by can for from has have if in into is it its of on or that the " +
    "this to was will with you your i me my we our all any do does should would could please " +
    "which what when where who how then them they their there these those also only via e g " +
    "etc use used using want need let get some one")
    .split(" "),
);

/** JavaScript keywords and common sandbox names that say nothing about which tool is wanted. */
const CODE_NOISE = new Set(
  ("const let var await async return function new if else for while of in true false null " +
    "undefined this typeof instanceof try catch finally throw console log tools call map " +
    "filter reduce length push json parse stringify object array string number boolean " +
    "promise result results data value item items x y i j k n e res err")
    .split(" "),
);

/**
 * Longest identifier split into words; the rest is ignored. No tool name is this long, and
 * the case-boundary patterns below backtrack on long capital runs, so capping the input
 * keeps every call linear in what it is given.
 */
const MAX_IDENTIFIER_CHARS = 128;

/** Splits `readFile`, `read_file`, `read-file`, `HTTPServer` into lowercase words. */
export function splitIdentifier(identifier: string): string[] {
  return identifier.slice(0, MAX_IDENTIFIER_CHARS)
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** Lowercase with every non-alphanumeric removed: `readFile`, `read_file`, `read-file` → `readfile`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Strips common English suffixes so `files`/`file` and `listing`/`list` meet. */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return word.slice(0, -3) + "y";
  if (word.endsWith("sses")) return word.slice(0, -2);
  if (word.endsWith("ing") && word.length > 5) return word.slice(0, -3);
  if (word.endsWith("ed") && word.length > 4) return word.slice(0, -2);
  if (word.endsWith("es") && /(?:ch|sh|x|ss)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us")) {
    return word.slice(0, -1);
  }
  return word;
}

/** Index terms of free text: identifiers split, stopwords dropped, words stemmed. */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[^A-Za-z0-9_-]+/)) {
    for (const word of splitIdentifier(raw)) {
      if (STOPWORDS.has(word)) continue;
      out.push(stem(word));
    }
  }
  return out;
}

/**
 * Most characters of code {@link codeQueryText} reads. The query is cut to
 * {@link MAX_QUERY_EMBED_CHARS} anyway; code that is mostly keywords or noise words must not
 * make the builder walk all of a 512 Ki program on the shared event loop for nothing.
 */
export const MAX_QUERY_CODE_CHARS = 64 * 1024;

/**
 * The words of the identifiers and string literals in code, for use as a query:
 * `await github.listIssues({ repo })` → `github list issues repo`. Keywords are dropped.
 *
 * The code is untrusted and this runs on the event loop every tenant shares, before the
 * request can be refused, so the work is bounded whatever the code's size: at most
 * {@link MAX_QUERY_CODE_CHARS} of the code are read, and building stops once the query has
 * `maxChars` characters (default {@link MAX_QUERY_EMBED_CHARS}: what the encoder reads; the
 * words past it would only be thrown away). Linear in what it reads.
 */
export function codeQueryText(code: string, maxChars = MAX_QUERY_EMBED_CHARS): string {
  const words: string[] = [];
  let length = 0;
  const identifier = /[A-Za-z_$][\w$]*/g;
  const read = code.length > MAX_QUERY_CODE_CHARS ? code.slice(0, MAX_QUERY_CODE_CHARS) : code;
  for (let match = identifier.exec(read); match; match = identifier.exec(read)) {
    const token = match[0];
    if (CODE_NOISE.has(token.toLowerCase())) continue;
    for (const word of splitIdentifier(token)) {
      if (CODE_NOISE.has(word)) continue;
      words.push(word);
      length += word.length + 1;
      if (length > maxChars) return words.join(" ").slice(0, maxChars);
    }
  }
  return words.join(" ");
}

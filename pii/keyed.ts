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
//
// A key adds only what it means (red team d2: under `key` an object's path became a secret,
// `{"phone_count": 4155550134}` a phone, `password_changed_at` a timestamp secret):
// - only the types whose probe it gives: under `password` the keyed read keeps secrets, not
//   a phone or an SSN the key does not speak of;
// - a key is one name, whose last word says what it holds: `phone_count`, `ssn_verified`,
//   `password_changed_at` hold a count, a flag, a time, though the detectors, which read free
//   text, find `phone` or `password` within reach before the value (`ABOUT_WORDS`);
// - `key` alone is the weakest credential word: object stores, caches and KV servers call an
//   object's name its key (`{"Key": "logs/2024/01/15/app.log"}`): a path or a file name
//   after a token word is a name, not a secret. The detectors judge that themselves
//   (`objectName` in object_names.ts), in text as under a key: a rule of its own here
//   had let base64 key material with a `/` (`{"key": "wJalrXUtnFEMI/K7MDENG/…"}`) through
//   raw.
//
// Some parts of a value are read under the key apart, after the head (value_parts.ts): a URL's
// secret-looking parts under a key that gives a secret's context (the detectors read a URL
// after a credential word as a place), and the session cookies' values in cookie text under a
// `Cookie`/`Set-Cookie` name (red team l1). The same keyed text goes to every path (sync,
// inline, workers), and `mergeKeyed` moves what is found in a part back to its place.

import type { Finding, PiiType } from "./types.ts";
import { findPii } from "./find.ts";
import { ABOUT_WORDS } from "./about_words.ts";
import { GENERIC_FIELDS, MAX_GENERIC_UNITS } from "./generic_fields.ts";
import {
  COOKIE_CONTEXT,
  cookieSessionParts,
  namesCookieText,
  type Span,
  urlSecretParts,
} from "./value_parts.ts";

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
 * The words of `tail` (split at case changes and at anything not a letter or digit; words of
 * digits alone skipped: `phone_2` is `phone`), lower case.
 */
function wordsOf(tail: string): string[] {
  return tail.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && !/^[0-9]+$/.test(w));
}

/**
 * Whether the last word of `tail` ({@linkcode wordsOf}) is one of {@linkcode ABOUT_WORDS},
 * after at least one other word.
 */
function namesSomethingAbout(tail: string): boolean {
  const words = wordsOf(tail);
  return words.length >= 2 && ABOUT_WORDS.has(words[words.length - 1]);
}

/**
 * Last words of a key that say what a value beside a secret, an SSN or a phone number is,
 * when the key is alone (`{"passwords": {"prod": {"name": "db", "version": "3"}}}`): besides
 * {@linkcode ABOUT_WORDS} (`type`, `created`), a credential's other attributes and the words
 * of a record's metadata. A key ending in one (or in its plural: `hosts`, `policies`,
 * `aliases`), or naming a command or a hook ({@linkcode ownMeaning}), keeps its own meaning
 * in a container whose key gives context ({@linkcode takesContext}). Words of what a
 * credential is for (`app`, `cluster`, `service`) are not here: `{"passwords": {"app": …}}`
 * is the app's password (`database` and `server` are, as a connection's attributes, since red
 * team h1).
 */
const OWN_MEANING_WORDS: ReadonlySet<string> = new Set([
  ...ABOUT_WORDS,
  "name",
  "label",
  "title",
  "alias",
  "nickname",
  "description",
  "desc",
  "summary",
  "purpose",
  "reason",
  "version",
  "algorithm",
  "alg",
  "policy",
  "rule",
  "hint",
  "comment",
  "note",
  "remark",
  "status",
  "state",
  "scope",
  "provider",
  "in",
  // Fields that say what they hold beside a credential (red team h1: under `passwords.prod`,
  // `host`, `user`, `cmd`, `target` and `when` were read as passwords and hidden from an
  // approver; red team j1: `exec`, `hosts`, `instance`, `arn`, `commandLine`, `ExecStart`,
  // `on_rotate` too).
  // Hosts and addresses.
  "host",
  "hostname",
  "fqdn",
  "domain",
  "server",
  "ip",
  "addr",
  "address",
  "port",
  // URLs and endpoints.
  "url",
  "uri",
  "link",
  "href",
  "endpoint",
  // Resources and where they are.
  "arn",
  "instance",
  "resource",
  "identifier",
  "uuid",
  "guid",
  "ref",
  "reference",
  "role",
  "project",
  "tenant",
  "namespace",
  "region",
  "zone",
  "location",
  "database",
  "schema",
  "bucket",
  // Paths.
  "path",
  "file",
  "filename",
  "dir",
  "directory",
  "folder",
  // Who.
  "user",
  "username",
  "login",
  "account",
  "owner",
  "email",
  // Commands and what they act on (see also COMMAND_WORDS).
  "cmd",
  "command",
  "args",
  "arg",
  "argument",
  "argv",
  "exec",
  "execute",
  "executable",
  "cmdline",
  "commandline",
  "script",
  "shell",
  "run",
  "entrypoint",
  "hook",
  "callback",
  "handler",
  "action",
  "program",
  "target",
  "source",
  "dest",
  "destination",
  // When, and flags.
  "when",
  "rotated",
  "since",
  "until",
  "schedule",
  "cron",
  "interval",
  "enabled",
  "required",
  "mode",
  "id",
]);

/**
 * Words of a key that make it name a command wherever they are in it: `commandLine`,
 * `ExecStart`, `exec_start_pre`, `scriptPath`, `pre_exec`.
 */
const COMMAND_WORDS: ReadonlySet<string> = new Set([
  "cmd",
  "command",
  "cmdline",
  "commandline",
  "exec",
  "script",
  "entrypoint",
  "argv",
]);

/** First words of an event hook's key (`on_rotate`, `onRotate`, `pre_start`, `after_deploy`). */
const HOOK_PREFIXES: ReadonlySet<string> = new Set(["on", "pre", "post", "before", "after"]);
/**
 * Last words of an event hook's key after one of {@linkcode HOOK_PREFIXES}: events, as verbs
 * (`pre_prod`, `on_prem`, `before_rotation` are no hooks: `{"passwords": {"before_rotation":
 * …}}` holds the old password).
 */
const HOOK_EVENTS: ReadonlySet<string> = new Set([
  "rotate",
  "start",
  "stop",
  "restart",
  "reload",
  "change",
  "create",
  "update",
  "delete",
  "destroy",
  "deploy",
  "install",
  "uninstall",
  "build",
  "commit",
  "push",
  "merge",
  "expire",
  "renew",
  "refresh",
  "error",
  "fail",
  "failure",
  "success",
  "exit",
  "boot",
  "init",
  "load",
  "connect",
  "disconnect",
  "login",
  "logout",
  "sync",
  "upgrade",
  "migrate",
  "backup",
  "restore",
  "apply",
  "up",
  "down",
  "save",
  "ready",
  "shutdown",
  "receive",
  "send",
  "request",
  "response",
  "message",
  "event",
  "run",
]);

/** How a word ends that writes its plural with `-es`. */
const SIBILANT_END = /(?:s|x|z|ch|sh)$/;

/** Whether `word` or its singular (`hosts`, `policies`, `aliases`, `addresses`) is one of `set`. */
function hasForm(set: ReadonlySet<string>, word: string): boolean {
  if (set.has(word)) return true;
  const n = word.length;
  if (n < 3 || word.charCodeAt(n - 1) !== 115 || word.charCodeAt(n - 2) === 115) return false;
  if (set.has(word.slice(0, -1))) return true;
  // `-es` only after a sibilant (`addresses`, `aliases`, `boxes`, `patches`): `ones` is no
  // plural of `on` (red team l1).
  if (n > 3 && word.endsWith("es") && SIBILANT_END.test(word.slice(0, -2))) {
    if (set.has(word.slice(0, -2))) return true;
  }
  return n > 4 && word.endsWith("ies") && set.has(word.slice(0, -3) + "y");
}

/**
 * Whether a key of `words` ({@linkcode wordsOf}) that gives no context says what its value is:
 * its last word is one of {@linkcode OWN_MEANING_WORDS} (or that word's plural), one of its
 * words names a command ({@linkcode COMMAND_WORDS}), or it names an event hook (a first word
 * of {@linkcode HOOK_PREFIXES}, a last of {@linkcode HOOK_EVENTS}). At most a key's tail's
 * words are read: constant work.
 */
function ownMeaning(words: readonly string[]): boolean {
  const n = words.length;
  if (n === 0) return false;
  const last = words[n - 1];
  if (hasForm(OWN_MEANING_WORDS, last)) return true;
  for (const word of words) if (COMMAND_WORDS.has(word)) return true;
  return n >= 2 && HOOK_PREFIXES.has(words[0]) && hasForm(HOOK_EVENTS, last);
}

/**
 * Keys remembered with their verdict (by their tail, digit runs as one `0`); forgotten all at
 * once when full.
 */
const MAX_REMEMBERED_KEYS = 4096;
/** A key's verdict: the types it gives, and how much of its tail is cut off to give them. */
interface Verdict {
  types: readonly PiiType[];
  /**
   * UTF-16 units cut from the end of the key's tail to read it (see {@linkcode shorterOf}):
   * 0 for the key as it is, 1 for `passwords` read as `password`, 7 for `ssnNumber`.
   */
  cut: number;
  /**
   * Whether a value under the key may be judged under a key above it instead: the key gives
   * no context and its last word says nothing of what the value is ({@linkcode takesContext}).
   */
  open: boolean;
}
const verdicts = new Map<string, Verdict>();
const DIGIT_RUNS = /[0-9]+/g;
const NONE: readonly PiiType[] = Object.freeze([]);
const NO_CONTEXT: Verdict = Object.freeze({ types: NONE, cut: 0, open: true });
const OWN_MEANING: Verdict = Object.freeze({ types: NONE, cut: 0, open: false });

/**
 * `tail` without what keeps the detectors, which read free text, from knowing it: the plural
 * `s` of its last word (`passwords`, `api_keys`, `SSNs`; not after an `s`: `access`, `pass`),
 * or a last word that is a generic value word after another word (`ssnNumber`,
 * `customer_ssn_value`: {@linkcode GENERIC_FIELDS}, with the `_`, `-`, `.`, `:` or space before
 * it), or a collection's word (`ssnList`, `phoneMap`, `tokenArray`, `secretSet`,
 * `phonesById`: {@linkcode COLLECTION_WORDS}). `undefined` when it has none, and for a bare
 * `keys`: a list of names far more often than of credentials (see the module comment on
 * `key`). Reads at most the tail's last two words.
 */
function shorterOf(tail: string): string | undefined {
  const n = tail.length;
  const last = n > 0 ? tail.charCodeAt(n - 1) | 32 : 0;
  const before = n > 1 ? tail.charCodeAt(n - 2) | 32 : 0;
  if (n >= 3 && last === 115 && before >= 97 && before <= 122 && before !== 115) {
    const singular = tail.slice(0, -1);
    return singular.toLowerCase() === "key" ? undefined : singular;
  }
  let i = lastWordAt(tail, n);
  if (i === 0 || i === n) return undefined;
  const word = tail.slice(i).toLowerCase();
  if (word === "id") {
    // `ById`, `_by_id`: the word before must be `by`.
    let j = i;
    while (j > 0 && SEPARATORS.has(tail.charCodeAt(j - 1))) j--;
    const by = lastWordAt(tail, j);
    if (by === 0 || tail.slice(by, j).toLowerCase() !== "by") return undefined;
    i = by;
  } else if (!GENERIC_FIELDS.has(word) && !COLLECTION_WORDS.has(word)) return undefined;
  let j = i;
  while (j > 0 && SEPARATORS.has(tail.charCodeAt(j - 1))) j--;
  return j >= 2 ? tail.slice(0, j) : undefined;
}

/**
 * Where the last word of `tail.slice(0, end)` starts: letters back to a non-letter or to a
 * capital after a small letter, at most {@linkcode MAX_GENERIC_UNITS} + 1 of them.
 */
function lastWordAt(tail: string, end: number): number {
  let i = end;
  while (i > 0 && isLetter(tail.charCodeAt(i - 1)) && end - i <= MAX_GENERIC_UNITS) {
    i--;
    const code = tail.charCodeAt(i);
    if (code >= 65 && code <= 90 && i > 0 && isSmall(tail.charCodeAt(i - 1))) break;
  }
  return i;
}

/**
 * Last words of a key that say only that it holds many values (`ssnList`, `phone_map`), read
 * without them as the plural `s` is ({@linkcode shorterOf}); `ById` too.
 */
const COLLECTION_WORDS: ReadonlySet<string> = new Set([
  "list",
  "map",
  "array",
  "arr",
  "set",
  "dict",
]);
/** `_`, `-`, `.`, `:` and space: what separates the words of a key. */
const SEPARATORS: ReadonlySet<number> = new Set([95, 45, 46, 58, 32]);
function isLetter(code: number): boolean {
  return (code | 32) >= 97 && (code | 32) <= 122;
}
function isSmall(code: number): boolean {
  return code >= 97 && code <= 122;
}

/** The types of the {@linkcode CONTEXT_PROBES} the detectors find after `tail: `. */
function probedTypes(tail: string): readonly PiiType[] {
  const prefix = tail + ": ";
  // A probe found alone (a detector changed) counts as context: slower, never weaker.
  return Object.freeze(
    CONTEXT_PROBES.filter(([probe, type]) =>
      findPii(prefix + probe, [type]).some((f) => f.end > prefix.length)
    ).map(([, type]) => type),
  );
}

/**
 * The verdict on `key` (see {@linkcode contextTypes}): remembered per tail, so a key costs
 * its probes once (at most nine scans of about 90 units: its own, then its shorter forms',
 * two at most: `phonesList` as `phones`, then `phone`).
 */
function verdictOf(key: string | undefined): Verdict {
  if (key === undefined || key.length === 0) return NO_CONTEXT;
  // Keys that differ only in their digits (`password_1`, `password_2`, …) share one verdict,
  // so a value of many numbered keys pays for its probes once, not per key (2,000 numbered
  // credential keys in 60 K characters took the inline redaction from 10 to 33 ms).
  const tail = tailOf(key).replace(DIGIT_RUNS, "0");
  let verdict = verdicts.get(tail);
  if (verdict === undefined) {
    verdict = judge(tail);
    if (verdicts.size >= MAX_REMEMBERED_KEYS) verdicts.clear();
    verdicts.set(tail, verdict);
  }
  return verdict;
}

/** The verdict on a key's tail, not remembered: see {@linkcode verdictOf}. */
function judge(tail: string): Verdict {
  const words = wordsOf(tail);
  const last = words.length > 0 ? words[words.length - 1] : "";
  // A key whose last word names something about the thing (`phone_count`) gives no context.
  if (words.length >= 2 && ABOUT_WORDS.has(last)) return OWN_MEANING;
  let form = tail;
  for (let step = 0; step <= 2; step++) {
    const types = probedTypes(form);
    if (types.length > 0) {
      return Object.freeze({ types, cut: tail.length - form.length, open: false });
    }
    const shorter = shorterOf(form);
    if (shorter === undefined || namesSomethingAbout(shorter)) break;
    form = shorter;
  }
  // Nor does it take one from above when it says what the value is (`type`, `names`,
  // `created`, `commandLine`, `on_rotate`); `prod`, `primary`, `stripe` say nothing.
  return ownMeaning(words) ? OWN_MEANING : NO_CONTEXT;
}

/**
 * The types of the {@linkcode CONTEXT_PROBES} the detectors find after `key: ` (its tail, as
 * {@linkcode contextPrefix} writes it; a key that gives none is read as its shorter form when
 * that does, `passwords` as `password`, `ssnNumber` as `ssn`: {@linkcode shorterOf}): a value under `key` is read after it too, and what that read
 * adds of these types is kept (see {@linkcode mergeKeyed}). None for a key whose last word
 * names something about the thing (`phone_count`, {@linkcode ABOUT_WORDS}). Remembered per
 * key, so a key costs its probes once (at most six scans of about 90 units). Empty without a
 * key.
 */
export function contextTypes(key: string | undefined): readonly PiiType[] {
  return verdictOf(key).types;
}

/**
 * Whether a value under `key` is read after it too: the key gives the context of some type
 * ({@linkcode contextTypes}). False without a key.
 */
export function givesContext(key: string | undefined): boolean {
  return contextTypes(key).length > 0;
}

/**
 * Whether a value under `key` is judged under the key of a container above it instead (see
 * pii/pairs.ts): `key` gives no context ({@linkcode givesContext}) and says nothing of what
 * the value is (`prod`, `primary`, `stripe`, `home`, `0`; not `type`, `names`, `hosts`,
 * `phone_count`, `commandLine`, `ExecStart`, `on_rotate`: {@linkcode ownMeaning}). True
 * without a key (an array's item under none). Remembered per key with its context.
 */
export function takesContext(key: string | undefined): boolean {
  return verdictOf(key).open;
}

/** The types {@linkcode CONTEXT_PROBES} ask about: a keyed read keeps them only as the key gives them. */
const PROBED: ReadonlySet<PiiType> = new Set(CONTEXT_PROBES.map(([, type]) => type));

/**
 * The text detection reads before a value found under `key`: the key's last
 * {@linkcode MAX_KEY_CONTEXT_UNITS} units (not starting inside a surrogate pair; its shorter
 * form when the key is read as that, see {@linkcode contextTypes}) and `": "`,
 * as a config file or a log line writes the pair. `""` without a key (the root, an array not
 * under any key) or with an empty one.
 */
export function contextPrefix(key: string | undefined): string {
  if (key === undefined || key.length === 0) return "";
  const tail = tailOf(key);
  return tail.slice(0, tail.length - verdictOf(key).cut) + ": ";
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
 * ending inside a surrogate pair) when the key gives context ({@linkcode givesContext}), then
 * one line for each part of the value read apart ({@linkcode partsOf}: a URL's secret-looking
 * parts under a credential key, a session cookie's value in cookie text), each after `key: `
 * or {@linkcode COOKIE_CONTEXT}`: `; `undefined` when there is no key, no value, or nothing to
 * read.
 */
export function keyedText(text: string, key: string | undefined): string | undefined {
  if (text.length === 0 || key === undefined || key.length === 0) return undefined;
  // Most keys give no context and name no cookie text: nothing more is read for them.
  if (!givesContext(key) && !namesCookieText(key)) return undefined;
  return layoutOf(text, key)?.text;
}

/** A part of a value read apart in a keyed text ({@linkcode keyedText}). */
interface PartRead extends Span {
  /** Where the part starts in the keyed text. */
  readonly at: number;
}

/** A keyed text and where its pieces are: see {@linkcode keyedText}. */
interface Layout {
  /** The keyed text. */
  readonly text: string;
  /** End of the `key: head` read in it (0 when the key gives no context). */
  readonly main: number;
  /** The parts read apart, in order. */
  readonly parts: readonly PartRead[];
}

/**
 * The parts of `text` read apart under `key`, with what is read before each: the value of
 * each session cookie when `key` names cookie text (value_parts.ts `namesCookieText`,
 * `cookieSessionParts`), after {@linkcode COOKIE_CONTEXT}; the secret-looking parts of a URL
 * when `key` gives a secret's context (value_parts.ts `urlSecretParts`), after the key.
 * Linear in the length of `text` (at most its first 2 Ki units are read).
 */
function partsOf(text: string, key: string): [string, Span[]] | undefined {
  if (namesCookieText(key)) return [COOKIE_CONTEXT + ": ", cookieSessionParts(text)];
  if (!contextTypes(key).includes("secret")) return undefined;
  return [contextPrefix(key), urlSecretParts(text)];
}

/** The {@linkcode Layout} of `text` under `key`; `undefined` when nothing is read. */
function layoutOf(text: string, key: string): Layout | undefined {
  const gives = givesContext(key);
  if (!gives && !namesCookieText(key)) return undefined;
  let out = gives ? contextPrefix(key) + headOf(text) : "";
  const main = out.length;
  const parts: PartRead[] = [];
  const apart = partsOf(text, key);
  if (apart !== undefined) {
    const [prefix, spans] = apart;
    for (const span of spans) {
      out += "\n" + prefix;
      parts.push({ start: span.start, end: span.end, at: out.length });
      out += text.slice(span.start, span.end);
    }
  }
  return out.length === 0 ? undefined : { text: out, main, parts };
}

/**
 * The findings of a value: `alone`, of the text by itself, and `keyed`, of its
 * {@linkcode keyedText} under `key` (both sorted and non-overlapping, as
 * {@linkcode findPii} returns them). What is found in the key is dropped; one that begins
 * in the key and runs into the value is cut at the value's start; a keyed finding of a probed
 * type the key does not give ({@linkcode contextTypes}) is dropped; where findings of the two
 * overlap, they become one spanning both (of the type of the one that starts first, the
 * longer on a tie, the keyed one on a tie of both: that is the text's verdict). A secret found
 * in a part read apart ({@linkcode keyedText}) is moved to the part's place in the value; nothing
 * else found there counts. Sorted and non-overlapping; linear in the length of the value's head
 * and in the number of findings (the parts' findings sorted: at most a few dozen).
 */
export function mergeKeyed(
  alone: readonly Finding[],
  keyed: readonly Finding[],
  key: string | undefined,
  text: string,
): Finding[] {
  if (keyed.length === 0 || key === undefined) return alone as Finding[];
  const layout = layoutOf(text, key);
  if (layout === undefined) return alone as Finding[];
  const offset = layout.main > 0 ? contextPrefix(key).length : 0;
  const cut = text.length > KEY_CONTEXT_HEAD_UNITS
    ? headOf(text).length - HEAD_MARGIN_UNITS
    : Infinity;
  const given = contextTypes(key);
  const moved: Finding[] = [];
  let p = 0;
  for (const f of keyed) {
    if (f.start < layout.main) {
      if (f.end <= offset) continue;
      const start = Math.max(f.start, offset) - offset;
      const end = Math.min(f.end, layout.main) - offset;
      if (end > cut) continue;
      // A key adds only what it means (module comment): the probed types it gives.
      if (PROBED.has(f.type) && !given.includes(f.type)) continue;
      moved.push({ type: f.type, start, end, value: "" });
      continue;
    }
    // A part read apart: only a secret found in it counts (it was read for one).
    const parts = layout.parts;
    while (p < parts.length && parts[p].at + (parts[p].end - parts[p].start) <= f.start) p++;
    if (p >= parts.length) break;
    const part = parts[p];
    if (f.type !== "secret" || f.end <= part.at) continue;
    const start = part.start + Math.max(f.start - part.at, 0);
    const end = Math.min(part.start + (f.end - part.at), part.end);
    if (end > start) moved.push({ type: f.type, start, end, value: "" });
  }
  // The parts' findings follow the head's in the keyed text, not in the value.
  if (layout.parts.length > 0) moved.sort((a, b) => a.start - b.start || b.end - a.end);
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

/** Longest object key whose findings are remembered, in UTF-16 code units. */
export const MAX_REMEMBERED_NAME_UNITS = 256;
/** Findings of keys, by types, context and key; forgotten all at once when full. */
const nameFindings = new Map<string, readonly Finding[]>();

/**
 * What an object key's findings are remembered by: its types, the context its object's key
 * gives (`under`) and itself; `undefined` for a key longer than
 * {@linkcode MAX_REMEMBERED_NAME_UNITS} (not remembered).
 */
export function nameId(
  name: string,
  under: string | undefined,
  types?: readonly PiiType[],
): string | undefined {
  if (name.length > MAX_REMEMBERED_NAME_UNITS) return undefined;
  // The same types and the same `under` come for every key of a walk: both remembered.
  let typesKey = "";
  if (types !== undefined) {
    typesKey = typeKeys.get(types) ?? types.join(",");
    typeKeys.set(types, typesKey);
  }
  if (under !== lastUnder) {
    lastUnder = under;
    // Cookie text reads parts of a name apart: its names are remembered apart too.
    lastPrefix = givesContext(under)
      ? contextPrefix(under)
      : namesCookieText(under)
      ? "\u0002" + COOKIE_CONTEXT
      : "";
  }
  return typesKey + "\u0001" + lastPrefix + "\u0001" + name;
}
const typeKeys = new WeakMap<readonly PiiType[], string>();
let lastUnder: string | undefined;
let lastPrefix = "";

/** The remembered findings of the key `id` ({@linkcode nameId}) names, if any. */
export function rememberedName(id: string): readonly Finding[] | undefined {
  return nameFindings.get(id);
}

/** Remembers `findings` ({@linkcode findPiiUnder} of the key `id` names); up to 4,096 keys. */
export function rememberName(id: string, findings: readonly Finding[]): readonly Finding[] {
  const frozen = Object.freeze(findings.slice());
  if (nameFindings.size >= MAX_REMEMBERED_KEYS) nameFindings.clear();
  nameFindings.set(id, frozen);
  return frozen;
}

/**
 * {@linkcode findPiiUnder} of an object key `name` (itself data, judged under `under`, the key
 * of its object), remembered for up to 4,096 keys of at most
 * {@linkcode MAX_REMEMBERED_NAME_UNITS} units: a result's rows repeat the same few keys, and
 * scanning each again made redacting a 5,000-row result about 2.5 times as slow. The
 * findings returned are shared: not to be modified.
 */
export function findPiiInName(
  name: string,
  under: string | undefined,
  types?: readonly PiiType[],
): readonly Finding[] {
  const id = nameId(name, under, types);
  if (id === undefined) return findPiiUnder(name, under, types);
  return rememberedName(id) ?? rememberName(id, findPiiUnder(name, under, types));
}

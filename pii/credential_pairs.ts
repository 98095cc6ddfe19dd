// Credentials written as pairs of text: a `name`/`key`/`label` entry naming a credential and
// the `value` beside it (Kubernetes env, SSM parameters, .NET and Spring settings), XML
// elements named as credentials, and property lists' `<key>`/`<string>`.

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { isKeyNameChar, keyKind } from "./credential_names.ts";
import { matchValue } from "./secret_value.ts";
import { endsToken, isQuote } from "./value_end.ts";

/**
 * Values of XML elements named as credentials (`<password>Tr0ub4dor</password>`,
 * `<api_key>…`): triggered by each `>` whose tag name, read back at most 48 characters, is
 * a credential name other than a bare `key` (a property list's `<key>` names an entry).
 * Each tag name is read back at most 48 characters and each value once: linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findXmlValues(text: string, out: Finding[]): void {
  let at = text.indexOf(">");
  let resume = 0;
  while (at !== -1) {
    if (at >= resume) {
      let k = at;
      while (k > 0 && at - k < 48 && isKeyNameChar(text.charCodeAt(k - 1))) k--;
      // A property list's `<key>` holds a name (`<key>CFBundleName</key>`), not a key; when
      // the name is a credential's, the `<string>` after it is its value.
      const name = text.slice(k, at);
      if (k < at && codeAt(text, k - 1) === 60 && name.toLowerCase() === "key") {
        resume = Math.max(resume, plistValue(text, at + 1, out));
      } else if (k < at && codeAt(text, k - 1) === 60) {
        const kind = keyKind(name);
        if (kind !== null && kind !== "session" && kind !== "signature") {
          resume = Math.max(resume, matchValue(text, at + 1, kind, out));
        }
      }
    }
    at = text.indexOf(">", at + 1);
  }
}

/**
 * The value of a property list entry whose `<key>` (its content from `from`) names a
 * credential: `<key>password</key><string>…</string>`. Returns where the scan resumes.
 * Reads at most 64 + 6 + 40 + 8 characters ahead.
 */
function plistValue(text: string, from: number, out: Finding[]): number {
  const m = /^([\w.-]{2,64})<\/key>\s{0,40}<string>/i.exec(text.slice(from, from + 160));
  if (!m) return from;
  const kind = keyKind(m[1]);
  if (kind === null || kind === "session" || kind === "signature") return from;
  return matchValue(text, from + m[0].length, kind, out);
}

/**
 * Names of the entry that says which setting a pair is (`name`, `key`, `label`, or one of
 * them after the kind of setting: CloudFormation's `ParameterKey`, `OptionName`,
 * `setting_name`), then `:` or `=`.
 */
const PAIR_NAME = /(?:name|key|label)["'\\ \t]{0,8}[:=][ \t]{0,8}(?:\\?["'])?([\w./:-]{2,64})/gi;
/** A `value` entry (`ParameterValue`, `setting_value` too), its `:` or `=` included. */
const PAIR_VALUE = /value["'\\ \t]{0,8}[:=]/gi;

/**
 * The kinds of setting a pair's entry may name before `name`, `key`, `label` or `value`
 * (`ParameterKey`, `OptionName`, `setting_value`), with an optional `_` or `-` after.
 */
const PAIR_PREFIXES = [
  "parameter",
  "option",
  "setting",
  "property",
  "attribute",
  "variable",
  "var",
  "env",
  "config",
];

/**
 * Where the pair entry whose word (`name`, `key`, `label`, `value`) starts at `i` begins: at
 * a kind of setting before it ({@linkcode PAIR_PREFIXES}) or at the word itself, where no
 * word character, `.` or `-` touches it; -1 where one does (`hostname:`, `monkey=`). The
 * patterns above find the word alone: a look-behind and the optional kind in front of it, tried
 * at every position of the text, took two thirds of the secret detector's time (the mixed
 * benchmark text went from 75 to 47 MB/s).
 */
function pairStart(text: string, i: number): number {
  const sep = codeAt(text, i - 1);
  const end = sep === 95 || sep === 45 ? i - 1 : i;
  for (const prefix of PAIR_PREFIXES) {
    const start = end - prefix.length;
    if (
      start >= 0 && !touchesName(codeAt(text, start - 1)) &&
      text.slice(start, end).toLowerCase() === prefix
    ) return start;
  }
  return touchesName(sep) ? -1 : i;
}

/** A character that joins a name: a word character, `.` or `-`. */
function touchesName(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95 || c === 46 ||
    c === 45;
}

/**
 * The next pair entry of `re` (a global {@linkcode PAIR_NAME} or {@linkcode PAIR_VALUE}) in
 * `text` from `re.lastIndex`, as `exec` would give it with the entry's kind in front and
 * nothing touching it (see {@linkcode pairStart}); `null` when there is none.
 */
function nextPair(re: RegExp, text: string): RegExpExecArray | null {
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = pairStart(text, m.index);
    if (start >= 0) {
      if (start < m.index) {
        const whole = text.slice(start, m.index + m[0].length);
        m[0] = whole;
        m.index = start;
      }
      return m;
    }
    re.lastIndex = m.index + 1;
  }
  return null;
}
/** Where an entry's object ends: a brace or bracket, a tag's end, a YAML list's next item. */
const PAIR_STOP = /[{}\]>]|\n[ \t]*-[ \t]/g;
/** Most characters between the name of a pair and its `value`. */
const PAIR_REACH = 256;

/**
 * Name/value pairs written as text (red team f1): Kubernetes env (`- name: DB_PASSWORD\n
 * value: …`, `{"name":"DB_PASSWORD","value":"…"}`), SSM parameters (`"Name":
 * "/prod/db/password", "Value": "…"`), .NET `<add key="DbPassword" value="…"/>`, Spring
 * `<property name="db.password" value="…"/>`, Android `<string name="api_key">…</string>`.
 * A `name`, `key` or `label` whose value is a credential name, then within the same object
 * (before a brace, a bracket, a tag's end or a YAML list's next item, and within
 * {@linkcode PAIR_REACH} characters) a `value`: that value is judged under the name; with
 * none, a `value` written before the name in the same object; with none, the content of the
 * element the name stands in. The `value` and stop positions come
 * from cursors that only move forward: linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findNamedPairs(text: string, out: Finding[]): void {
  const names = new RegExp(PAIR_NAME.source, "gi");
  const values = new RegExp(PAIR_VALUE.source, "gi");
  const stops = new RegExp(PAIR_STOP.source, "g");
  let value: RegExpExecArray | null = null;
  let valueDone = false;
  let stop: RegExpExecArray | null = null;
  let stopDone = false;
  // The last `value` and the last stop before the name, for a value written before its
  // name (`{"value": "…", "name": "DB_PASSWORD"}`, `<add value="…" key="DbPassword"/>`,
  // `- value: …\n  name: DB_PASSWORD`; red team g1): two more cursors that only move
  // forward.
  const backValues = new RegExp(PAIR_VALUE.source, "gi");
  const backStops = new RegExp(PAIR_STOP.source, "g");
  let nextBackValue = nextPair(backValues, text);
  let backValue: RegExpExecArray | null = null;
  let nextBackStop = backStops.exec(text);
  let backStop = -1;
  let judgedTo = 0;
  let m: RegExpExecArray | null;
  while ((m = nextPair(names, text)) !== null) {
    const pos = m.index + m[0].length;
    const after = codeAt(text, pos);
    if (after !== -1 && !isQuote(after) && !endsToken(after) && after !== 44 && after !== 92) {
      continue;
    }
    const kind = keyKind(m[1]);
    if (kind === null || kind === "session" || kind === "signature") continue;
    while (!valueDone && (value === null || value.index < pos)) {
      values.lastIndex = Math.max(values.lastIndex, pos);
      value = nextPair(values, text);
      if (value === null) valueDone = true;
    }
    while (!stopDone && (stop === null || stop.index < pos)) {
      stops.lastIndex = Math.max(stops.lastIndex, pos);
      stop = stops.exec(text);
      if (stop === null) stopDone = true;
    }
    while (nextBackValue !== null && nextBackValue.index < m.index) {
      backValue = nextBackValue;
      nextBackValue = nextPair(backValues, text);
    }
    while (nextBackStop !== null && nextBackStop.index < m.index) {
      backStop = nextBackStop.index;
      nextBackStop = backStops.exec(text);
    }
    const stopAt = stop === null ? text.length : stop.index;
    if (value !== null && value.index < stopAt && value.index - pos <= PAIR_REACH) {
      const end = matchValue(text, value.index + value[0].length, kind, out);
      judgedTo = Math.max(judgedTo, end);
      if (end > names.lastIndex) names.lastIndex = end;
    } else if (
      backValue !== null && backValue.index > backStop && m.index - backValue.index <= PAIR_REACH &&
      backValue.index >= judgedTo
    ) {
      // Each value is judged this way at most once (`judgedTo`): linear.
      judgedTo = Math.max(
        judgedTo,
        matchValue(text, backValue.index + backValue[0].length, kind, out),
        backValue.index + 1,
      );
    } else if (
      stop !== null && text.charCodeAt(stopAt) === 62 && stopAt - pos <= PAIR_REACH &&
      codeAt(text, stopAt - 1) !== 47
    ) {
      const end = matchValue(text, stopAt + 1, kind, out);
      if (end > names.lastIndex) names.lastIndex = end;
    }
  }
}

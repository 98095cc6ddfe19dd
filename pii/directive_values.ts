// Credentials in configuration syntaxes where a name and its value are separated by white
// space, not `:` or `=` (red team n1, N1-1 and N1-17: each came back raw):
// - a directive line `name value` (redis.conf `requirepass …`, `masterauth …`, keepalived
//   `auth_pass …`, rndc.key `secret "…";`, a multi-line .netrc's `password …`);
// - a setter's `NAME value` (Dockerfile `ENV`, csh `setenv`, fish `set -x`, Apache `SetEnv`,
//   nginx `fastcgi_param`, `aws configure set …`, `npm config set …`, `git config …`,
//   `doppler secrets set …`);
// - a password after a login (`.netrc`'s `machine h login u password …`, HAProxy's
//   `user u insecure-password …`) and an IPsec secret (`: PSK "…"`);
// - a pgbouncer user list's `"user" "password"` line.
//
// @module

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { isKeyNameChar, keyKind } from "./credential_names.ts";
import { matchValue, type ValueKind } from "./secret_value.ts";

/** Longest line read as a directive (UTF-16 units): longer ones are text, not config. */
const DIRECTIVE_LINE_MAX = 512;

/** Most blanks of indentation before a directive's name. */
const INDENT_MAX = 40;

/** Longest directive or variable name read (UTF-16 units). */
const NAME_MAX = 64;

/**
 * Appends to `out` the secrets of {@linkcode findDirectiveLines},
 * {@linkcode findSetterValues} and {@linkcode findLoginPasswords} in `text`. Each reads the
 * text once (see each for its bound).
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findDirectiveValues(text: string, out: Finding[]): void {
  findDirectiveLines(text, out);
  // Each regular expression opens with a literal (the setter's word, `:`), which the engine
  // finds fast; one that opened with a class was tried at every position and cost more than
  // the rest of the secret scan.
  findSetterValues(text, out);
  if (text.includes("password")) findLoginPasswords(text, out);
  findIpsecSecrets(text, out);
}

/** A space or a tab. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** The credential kind of a name, judged as a keyword value's, or null (sessions are not). */
function credentialKind(name: string): ValueKind | null {
  const kind = keyKind(name);
  return kind === "password" || kind === "token" || kind === "aws" ? kind : null;
}

/**
 * Lines that are exactly `name value` (optionally indented, then `;` and blanks at most):
 * a credential name as a configuration directive, the value its one argument
 * (`requirepass …`, `auth_pass …`, `secret "…";`, `password …`). The value is judged as after
 * `name:` ({@linkcode matchValue}), so `token expired` or `password changed` stay. A line
 * with more words than two is prose or a command, never read here (an approver's view keeps
 * `kubectl delete secret <name> -n prod`). Each line is read once, at most
 * {@linkcode DIRECTIVE_LINE_MAX} units of it: linear.
 */
function findDirectiveLines(text: string, out: Finding[]): void {
  let s = 0;
  while (s < text.length) {
    let e = text.indexOf("\n", s);
    if (e === -1) e = text.length;
    if (e - s <= DIRECTIVE_LINE_MAX) directiveLine(text, s, e, out);
    s = e + 1;
  }
}

/** {@linkcode findDirectiveLines} for the line `[s, e)`. */
function directiveLine(text: string, s: number, e: number, out: Finding[]): void {
  let j = s;
  while (j < e && j - s < INDENT_MAX && isBlank(text.charCodeAt(j))) j++;
  if (codeAt(text, j) === 34) return userlistLine(text, j, e, out);
  const ns = j;
  while (j < e && j - ns < NAME_MAX && isKeyNameChar(text.charCodeAt(j))) j++;
  const ne = j;
  if (ne - ns < 2 || !isBlank(codeAt(text, ne))) return;
  const kind = credentialKind(text.slice(ns, ne));
  if (kind === null) return;
  while (j < e && isBlank(text.charCodeAt(j))) j++;
  const vs = j;
  const q = codeAt(text, vs);
  if (q === 34 || q === 39) {
    j = text.indexOf(String.fromCharCode(q), vs + 1);
    if (j === -1 || j >= e) return;
    j++;
  } else {
    while (j < e && text.charCodeAt(j) > 32 && text.charCodeAt(j) !== 59) j++;
  }
  if (j === vs) return;
  // Nothing but `;`, blanks and a carriage return after the value.
  for (let k = j; k < e; k++) {
    const c = text.charCodeAt(k);
    if (c !== 59 && c !== 13 && !isBlank(c)) return;
  }
  matchValue(text, ne, kind, out);
}

/** A pgbouncer `userlist.txt` line: `"user" "password"`, nothing else. */
const USERLIST_LINE = /^"[^"\s]{1,64}"[ \t]+"[^"\r\n]{1,256}"[ \t]*\r?$/;

/**
 * {@linkcode findDirectiveLines} for a line from `j` (its `"`) to `e` that is a pgbouncer
 * user list's (`"app" "<password>"`, red team n1, N1-17): the second string, judged as a
 * password (`md5…` and `SCRAM-SHA-256$…` hashes are, a word is not).
 */
function userlistLine(text: string, j: number, e: number, out: Finding[]): void {
  if (!USERLIST_LINE.test(text.slice(j, e))) return;
  matchValue(text, text.indexOf('"', j + 1) + 1, "password", out);
}

/**
 * A setter's word and what it is followed by: Dockerfile `ENV`, csh `setenv`, Apache
 * `SetEnv`, nginx `fastcgi_param` (and uwsgi's, scgi's), fish `set -x`/`-gx`/`-Ux`, a
 * CLI's `config set`, `configure set`, `config --global` (git), `config` (poetry), and
 * `secrets set` (doppler). Flags between are skipped. Every part is bounded or separated
 * by a blank it cannot hold: linear.
 */
const SETTER =
  /(?:ENV|setenv|SetEnv|fastcgi_param|uwsgi_param|scgi_param|set[ \t]+-[a-zA-Z]{0,4}x[a-zA-Z]{0,4}|config(?:ure)?(?:[ \t]+(?:set|--?[a-z][a-z-]{0,24}))*|secrets?[ \t]+set)[ \t]+/g;

/** Longest variable or setting name read after a setter (`//registry.npmjs.org/:_authToken`). */
const SETTING_MAX = 256;

/**
 * Values after a setter ({@linkcode SETTER}) and a credential's name: `ENV DB_PASSWORD …`,
 * `setenv API_TOKEN …`, `set -x DB_PASSWORD …`, `SetEnv DB_PASSWORD …`,
 * `fastcgi_param DB_PASSWORD …;`, `aws configure set aws_secret_access_key …`,
 * `npm config set //registry.npmjs.org/:_authToken …`, `git config --global github.token …`.
 * The name is the setting's last part after a `/`, `:` or `@` (npm's registry-scoped keys);
 * the value is judged as after `name=` ({@linkcode matchValue}), and never runs past white
 * space, so what follows it stays readable. One regular-expression pass; each match reads at
 * most {@linkcode SETTING_MAX} units more, and the search resumes after what it read.
 */
function findSetterValues(text: string, out: Finding[]): void {
  SETTER.lastIndex = 0;
  for (let m = SETTER.exec(text); m !== null; m = SETTER.exec(text)) {
    // The setter is a word: at the text's start or after a blank, a line break, `;`, `&`,
    // `|` or `(` (not `MYENV`, `reconfig`).
    const b = codeAt(text, m.index - 1);
    if (
      b !== -1 && !isBlank(b) && b !== 10 && b !== 13 && b !== 59 && b !== 38 && b !== 124 &&
      b !== 40
    ) {
      SETTER.lastIndex = m.index + 1;
      continue;
    }
    const ws = m.index + m[0].length;
    let j = ws;
    let tail = ws; // where the name's last part starts
    while (j < text.length && j - ws < SETTING_MAX) {
      const c = text.charCodeAt(j);
      if (c === 47 || c === 58 || c === 64) tail = j + 1;
      else if (!isKeyNameChar(c)) break;
      j++;
    }
    SETTER.lastIndex = Math.max(j, ws);
    if (!isBlank(codeAt(text, j)) || j - tail < 2 || j - tail > NAME_MAX) continue;
    const kind = credentialKind(text.slice(tail, j));
    if (kind === null) continue;
    const end = matchValue(text, j, kind, out);
    if (end > j) SETTER.lastIndex = end;
  }
}

/**
 * A login, then its password: `.netrc`'s `login <user> [account <a>] password …` and
 * HAProxy's `user <name> insecure-password …` (or `password …`). The user word is bounded,
 * and has no blank: linear.
 */
const LOGIN_PASSWORD =
  /(?:^|[ \t])(?:login|user)[ \t]+[^ \t\r\n]{1,128}(?:[ \t]+account[ \t]+[^ \t\r\n]{1,128})?[ \t]+(?:insecure-)?password(?=[ \t])/g;

/**
 * Passwords after a login ({@linkcode LOGIN_PASSWORD}), judged as after `password:` (not as
 * given: prose has the same words, `the login page's password form`).
 */
function findLoginPasswords(text: string, out: Finding[]): void {
  LOGIN_PASSWORD.lastIndex = 0;
  for (let m = LOGIN_PASSWORD.exec(text); m !== null; m = LOGIN_PASSWORD.exec(text)) {
    const at = m.index + m[0].length;
    const end = matchValue(text, at, "password", out);
    LOGIN_PASSWORD.lastIndex = Math.max(at, end);
  }
}

/**
 * An IPsec secret (strongSwan/Libreswan `ipsec.secrets`: `<ids> : PSK "…"`, `: XAUTH "…"`,
 * `: EAP "…"`; the `:` after the line's start or a blank): quoted, where only a secret goes.
 */
const IPSEC_SECRET = /:[ \t]+(?:PSK|XAUTH|EAP|NTLM)[ \t]+(?=["'])/g;

/** The secrets of {@linkcode IPSEC_SECRET} lines, read as given. */
function findIpsecSecrets(text: string, out: Finding[]): void {
  IPSEC_SECRET.lastIndex = 0;
  for (let m = IPSEC_SECRET.exec(text); m !== null; m = IPSEC_SECRET.exec(text)) {
    const b = codeAt(text, m.index - 1);
    if (b !== -1 && b !== 10 && b !== 13 && !isBlank(b)) continue;
    const at = m.index + m[0].length;
    const end = matchValue(text, at, "given", out);
    IPSEC_SECRET.lastIndex = Math.max(at, end);
  }
}

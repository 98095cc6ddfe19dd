// Commands that store or pipe a secret, where the secret is an argument no credential name
// stands before (red team n1, N1-10: each came back raw): `gh secret set NAME --body <v>`,
// `dotnet user-secrets set NAME <v>`, a here-string into `wrangler secret put` or
// `passwd --stdin`, `echo <v> | docker login --password-stdin` (Docker's recommended form),
// `| gcloud secrets create --data-file=-`, `| chpasswd` (`user:<v>`), macOS
// `security add-generic-password -w <v>`, `lftp -u user,<v>`, `nmcli … password <v>`, GitHub
// Actions' `::add-mask::<v>`, and the Windows registry (`REG ADD … /v Password /d <v>`, and
// `reg query`'s `Password  REG_SZ  <v>` lines, judged under the value's name).
//
// @module

import type { Finding } from "./types.ts";
import { keyKind } from "./credential_names.ts";
import { matchValue } from "./secret_value.ts";

/**
 * The forms whose value is given (only a secret goes there), each up to where the value
 * starts. A program's name, then at most 256 characters of its line (no `|`, `&`, `;`)
 * before the flag, read lazily once per name: linear.
 */
const GIVEN_SECRET =
  /::add-mask::|gh[ \t]+secret[ \t]+set(?=[ \t])[^\r\n|&;]{0,256}?[ \t](?:--body|-b)(?:[ \t]+|=)|user-secrets[ \t]+set[ \t]+(?:"[^"\r\n]{1,128}"|'[^'\r\n]{1,128}'|[^ \t\r\n"']{1,128})[ \t]+|(?:secrets?[ \t]+put|passwd[ \t]+--stdin)(?=[ \t])[^\r\n|&;]{0,256}?<<<[ \t]*|security[ \t]+(?:add|set)-[a-z]{1,16}-password(?=[ \t])[^\r\n|&;]{0,256}?[ \t]-w[ \t]+|lftp(?=[ \t])[^\r\n|&;]{0,256}?[ \t]-u[ \t]+[^, \t\r\n]{1,64},|nmcli(?=[ \t])[^\r\n|&;]{0,256}?[ \t](?:password|wifi-sec\.psk|802-11-wireless-security\.psk)[ \t]+/g;

/**
 * `echo [-n] <v> | …` where the command the pipe feeds reads a secret from its input:
 * `--password-stdin`, `--data-file=-` (gcloud), `chpasswd` (then `user:<v>`), `passwd --stdin`,
 * `secret put`/`secrets set`. The word is bounded; the pipe's command is read at most 256
 * characters on.
 */
const ECHO_INTO =
  /echo[ \t]+(?:-[neE]{1,3}[ \t]+)?("[^"\r\n]{1,256}"|'[^'\r\n]{1,256}'|[^ \t\r\n|&;"']{1,256})[ \t]*\|[^\r\n;&]{0,256}?(--password-stdin|--data-file[= ]-(?![\w-])|\bchpasswd\b|passwd[ \t]+--stdin|secrets?[ \t]+(?:put|set))/g;

/**
 * A literal every form below holds, any case: one pass decides whether any is read (the
 * forms' expressions, tried at every position, cost more than the rest of the secret scan).
 */
const CMD_HINT = /add-mask|secret|<<<|security|lftp|nmcli|echo|reg/i;

/** `REG ADD`: its line (at most {@linkcode REG_LINE_MAX} units) is read for `/v` and `/d`. */
const REG_ADD = /reg(?:\.exe)?[ \t]+add(?=[ \t])/gi;

/** Longest `REG ADD` line read (UTF-16 units). */
const REG_LINE_MAX = 512;

/** `/v <name>` in a `REG ADD` line (optionally quoted). */
const REG_NAME = /[ \t]\/v[ \t]+"?([^" \t\r\n]{1,64})/i;

/** `/d ` in a `REG ADD` line: the value follows. */
const REG_DATA = /[ \t]\/d[ \t]+/i;

/** A `reg query` line: indented name, a string type, the value. */
const REG_QUERY_LINE = /^[ \t]+([A-Za-z0-9_.-]{2,64})[ \t]+REG_(?:SZ|EXPAND_SZ|MULTI_SZ)[ \t]+/gm;

/**
 * Appends to `out` the secrets of the commands and lines above in `text`; each search resumes
 * after what it read.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findSecretCommands(text: string, out: Finding[]): void {
  if (!CMD_HINT.test(text)) return;
  {
    GIVEN_SECRET.lastIndex = 0;
    for (let m = GIVEN_SECRET.exec(text); m !== null; m = GIVEN_SECRET.exec(text)) {
      const at = m.index + m[0].length;
      GIVEN_SECRET.lastIndex = Math.max(at, matchValue(text, at, "given", out));
    }
  }
  if (text.includes("echo") && text.includes("|")) {
    ECHO_INTO.lastIndex = 0;
    for (let m = ECHO_INTO.exec(text); m !== null; m = ECHO_INTO.exec(text)) {
      let start = m.index + m[0].indexOf(m[1], 4);
      let word = m[1];
      const q = word.charCodeAt(0);
      if (q === 34 || q === 39) {
        start++;
        word = word.slice(1, -1);
      }
      // chpasswd reads `user:password`.
      if (m[2] === "chpasswd") {
        const colon = word.indexOf(":");
        if (colon === -1) continue;
        start += colon + 1;
        word = word.slice(colon + 1);
      }
      const found: Finding[] = [];
      matchValue(word, 0, "given", found);
      for (const f of found) {
        out.push({ type: "secret", start: start + f.start, end: start + f.end, value: f.value });
      }
    }
  }
  findRegAdd(text, out);
  if (text.includes("REG_")) {
    REG_QUERY_LINE.lastIndex = 0;
    for (let m = REG_QUERY_LINE.exec(text); m !== null; m = REG_QUERY_LINE.exec(text)) {
      const kind = keyKind(m[1]);
      if (kind !== "password" && kind !== "token" && kind !== "aws") continue;
      const at = m.index + m[0].length;
      REG_QUERY_LINE.lastIndex = Math.max(at, matchValue(text, at, kind, out));
    }
  }
}

/**
 * `REG ADD … /v <name> … /d <value>`: the value judged under the name. Each `REG ADD` reads
 * its line once, bounded, and the search resumes after it: linear.
 */
function findRegAdd(text: string, out: Finding[]): void {
  REG_ADD.lastIndex = 0;
  for (let m = REG_ADD.exec(text); m !== null; m = REG_ADD.exec(text)) {
    const from = m.index + m[0].length;
    let to = from;
    while (to < text.length && to - from < REG_LINE_MAX) {
      const c = text.charCodeAt(to);
      if (c === 10 || c === 13 || c === 124 || c === 38 || c === 59) break;
      to++;
    }
    REG_ADD.lastIndex = to;
    const line = text.slice(from, to);
    const name = REG_NAME.exec(line);
    const data = REG_DATA.exec(line);
    if (name === null || data === null) continue;
    const kind = keyKind(name[1]);
    if (kind !== "password" && kind !== "token" && kind !== "aws") continue;
    matchValue(text, from + data.index + data[0].length, kind, out);
  }
}

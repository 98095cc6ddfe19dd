// Keyword values: `name: value`, `name=value`, `"name": "value"`, `name => value` where the
// name is a credential's (pii/credential_names.ts), and `Bearer <token>` without a name.

import type { Finding } from "./types.ts";
import { codeAt, isLetter } from "./chars.ts";
import { newLineWords } from "./shell_syntax.ts";
import { type KeyKind, nameStartAt, triggerKind } from "./credential_names.ts";
import { matchValue, valueContext } from "./secret_value.ts";

/**
 * Values after `name: value`, `name=value`, `"name": "value"`, `name => value` where the
 * name is a credential word. Triggered by each ':' and '=' (cheap to find), with the key
 * name read backwards from there. Linear: each character is read at most twice (see below).
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findNamedValues(text: string, out: Finding[]): void {
  // Two `indexOf` cursors rather than `/[:=]/g.exec`: native scans between triggers, and
  // no regular-expression call per trigger when every character is one (`::::`, `a:a:`).
  // Each cursor only moves forward, so the text is scanned once per character searched.
  const info = { judged: false };
  // The words of the line before each name, read once (pii/shell_syntax.ts).
  const lineWords = newLineWords();
  let colon = text.indexOf(":");
  let equals = text.indexOf("=");
  let i = 0;
  while (true) {
    if (colon !== -1 && colon < i) colon = text.indexOf(":", i);
    if (equals !== -1 && equals < i) equals = text.indexOf("=", i);
    const at = colon === -1 ? equals : equals === -1 ? colon : Math.min(colon, equals);
    if (at === -1) break;
    i = at + 1;
    const kind = triggerKind(text, at);
    if (kind === null) continue;
    const before = out.length;
    const ctx = valueContext(text, nameStartAt(text, at), at, lineWords);
    const end = matchValue(text, at + 1, kind, out, info, ctx);
    if (end <= 0) continue;
    i = end;
    if (out.length > before || !info.judged) continue;
    // Not a secret. A credential named inside it (`token: a_long_note_secret=Xk9…`) gets
    // one judgement of its own: the last such name, so each character is read at most
    // twice (judging every `=` of `key=key=key=…` again was quadratic up to the cap).
    let last = -1;
    let lastKind: Exclude<KeyKind, "session" | "signature"> = null;
    for (let j = at + 1; j < end; j++) {
      const d = text.charCodeAt(j);
      if (d !== 58 && d !== 61) continue;
      const inner = triggerKind(text, j);
      if (inner !== null) {
        last = j;
        lastKind = inner;
      }
    }
    if (lastKind !== null) {
      const innerCtx = valueContext(text, nameStartAt(text, last), last, lineWords);
      i = Math.max(i, matchValue(text, last + 1, lastKind, out, info, innerCtx));
    }
  }
}

/**
 * `Bearer <token>` written without a key name (`curl -H "Authorization: Bearer …"`, logs):
 * the token after `Bearer ` (or `bearer `) is judged as a token. One `indexOf` scan.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findBearerValues(text: string, out: Finding[]): void {
  let b = text.indexOf("earer ");
  while (b !== -1) {
    const c = codeAt(text, b - 1);
    if ((c === 66 || c === 98) && !isLetter(codeAt(text, b - 2))) {
      matchValue(text, b + 6, "token", out);
    }
    b = text.indexOf("earer ", b + 6);
  }
}

// A credential's name as a quoted argument, its value the next argument (red team n1, N1-1:
// WordPress's `define( 'DB_PASSWORD', '…' )`, PowerShell's
// `SetEnvironmentVariable('DB_PASSWORD', '…')`, `os.getenv("SECRET_KEY", "…")`, a tuple
// `("api_key", "…")`, SQL `VALUES ('password', '…')`), and PHP's `var_dump` of an array
// (`["password"]=>⏎  string(16) "…"`, N1-17): both came back raw. The subscript forms
// (`env["DB_PASSWORD"] = …`, `[password] => …`) are the keyword scan's (a closing `]` is read
// as a quote before the `=`: credential_names.ts).
//
// @module

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { isKeyNameChar, keyKind, triggerKind } from "./credential_names.ts";
import { matchValue } from "./secret_value.ts";
import { isQuote } from "./value_end.ts";

/** Longest quoted name read back from its closing quote (UTF-16 units). */
const NAME_MAX = 48;

/** Most blanks read around the `,` between two arguments. */
const GAP_MAX = 16;

/**
 * Appends to `out` the values of {@linkcode findQuotedArguments} and
 * {@linkcode findVarDumpValues}.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findArgumentPairs(text: string, out: Finding[]): void {
  findQuotedArguments(text, out);
  if (text.includes("]=>")) findVarDumpValues(text, out);
}

/** A space or a tab. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * `'NAME', '…'` and `"NAME", "…"`: a whole quoted string that is a credential's name, a
 * `,`, and a quoted value, judged as after `NAME=` ({@linkcode matchValue}). Triggered by
 * each `,` (one `indexOf` cursor); each reads at most {@linkcode GAP_MAX} blanks and
 * {@linkcode NAME_MAX} name characters back and the value on, and the search resumes after
 * the value: linear.
 */
function findQuotedArguments(text: string, out: Finding[]): void {
  let i = text.indexOf(",");
  while (i !== -1) {
    let next = i + 1;
    let k = i;
    while (k > 0 && i - k < GAP_MAX && isBlank(text.charCodeAt(k - 1))) k--;
    const quote = codeAt(text, k - 1);
    if (quote === 34 || quote === 39) {
      const nameEnd = k - 1;
      let n = nameEnd;
      while (n > 0 && nameEnd - n < NAME_MAX && isKeyNameChar(text.charCodeAt(n - 1))) n--;
      if (nameEnd - n >= 2 && codeAt(text, n - 1) === quote) {
        const kind = keyKind(text.slice(n, nameEnd));
        let v = i + 1;
        while (v < text.length && v - i <= GAP_MAX && isBlank(text.charCodeAt(v))) v++;
        if (
          (kind === "password" || kind === "token" || kind === "aws") &&
          isQuote(codeAt(text, v))
        ) {
          next = Math.max(next, matchValue(text, i + 1, kind, out));
        }
      }
    }
    i = text.indexOf(",", next);
  }
}

/** PHP `var_dump`'s `]=>`, a line break, and the value's type: `string(<length>) `. */
const VAR_DUMP = /\]=>\r?\n[ \t]{0,64}string\(\d{1,9}\) (?=")/g;

/**
 * PHP `var_dump` values (`["password"]=>⏎  string(16) "…"`): the name before `]=>` is
 * judged as before `=` (credential_names.ts `triggerKind`), the quoted string is its value.
 * One regular-expression pass; each match reads its name back (bounded) and its value.
 */
function findVarDumpValues(text: string, out: Finding[]): void {
  VAR_DUMP.lastIndex = 0;
  for (let m = VAR_DUMP.exec(text); m !== null; m = VAR_DUMP.exec(text)) {
    const kind = triggerKind(text, m.index + 1);
    if (kind === null) continue;
    const at = m.index + m[0].length;
    VAR_DUMP.lastIndex = Math.max(at, matchValue(text, at, kind, out));
  }
}

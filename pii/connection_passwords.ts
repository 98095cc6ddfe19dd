// Passwords in two connection-string forms the keyword scan did not read (red team n1, N1-9:
// both came back raw): Oracle's JDBC URL `jdbc:oracle:thin:<user>/<password>@<host>…` (as
// `sqlplus user/pw@db`), and an ODBC attribute quoted in braces, `Pwd={…}`, which a password
// holding `;` must use (`}}` is a `}` inside it).
//
// @module

import type { Finding } from "./types.ts";
import { givenSecret } from "./looks_secret.ts";

/** Oracle JDBC thin/OCI: the user, `/`, the password (bounded, no blank or `@`), `@`. */
const ORACLE_JDBC = /jdbc:oracle:(?:thin|oci8?):[^\/@\s:"']{1,128}\/([^@\s"']{1,256})@/gi;

/** An ODBC password attribute, its value in braces: `Pwd={`, `Password={`, any case. */
const ODBC_BRACED = /(?:^|[;"'\s])(?:pwd|password)[ \t]{0,8}=[ \t]{0,8}\{/gi;

/** Longest braced value read (UTF-16 units). */
const BRACED_MAX = 512;

/**
 * Appends to `out` the passwords of `text`'s Oracle JDBC URLs and ODBC braced `Pwd={…}`
 * attributes, where only a password goes (any value but a variable or a placeholder). Each
 * match reads a bounded value; the search resumes after it: linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findConnectionPasswords(text: string, out: Finding[]): void {
  if (text.includes("jdbc:")) {
    ORACLE_JDBC.lastIndex = 0;
    for (let m = ORACLE_JDBC.exec(text); m !== null; m = ORACLE_JDBC.exec(text)) {
      const end = m.index + m[0].length - 1;
      const start = end - m[1].length;
      if (givenSecret(m[1])) out.push({ type: "secret", start, end, value: m[1] });
    }
  }
  if (!text.includes("={")) return;
  ODBC_BRACED.lastIndex = 0;
  for (let m = ODBC_BRACED.exec(text); m !== null; m = ODBC_BRACED.exec(text)) {
    const vs = m.index + m[0].length;
    let j = vs;
    while (j < text.length && j - vs < BRACED_MAX) {
      const c = text.charCodeAt(j);
      if (c === 10 || c === 13) break;
      if (c === 125) {
        if (text.charCodeAt(j + 1) !== 125) break;
        j++; // `}}`: a `}` of the password
      }
      j++;
    }
    ODBC_BRACED.lastIndex = Math.max(vs, j);
    if (text.charCodeAt(j) !== 125 || j === vs) continue;
    const value = text.slice(vs, j);
    if (givenSecret(value)) out.push({ type: "secret", start: vs, end: j, value });
  }
}

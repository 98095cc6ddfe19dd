// Passwords set by SQL statements: `ALTER USER … WITH PASSWORD '…'`, `IDENTIFIED BY '…'`,
// `SET PASSWORD FOR … = '…'`.

import type { Finding } from "./types.ts";
import { matchValue } from "./secret_value.ts";

/**
 * SQL setting a password: `ALTER USER x WITH PASSWORD '…'`; `IDENTIFIED BY '…'`, and
 * Oracle's `IDENTIFIED BY "…"` or unquoted `IDENTIFIED BY Tr0ub4dor3x` (not `BY PASSWORD
 * '*hash'` or `BY VALUES '…'`, whose own quotes follow); MySQL's `SET PASSWORD FOR
 * 'app'@'%' = '…'` (or `= PASSWORD('…')`, read within 128 characters of `FOR`). An `N'…'`
 * string of SQL Server is read from its quote.
 */
const SQL_PASSWORD =
  /\b(?:password[ \t]{1,8}(?=N?')|identified[ \t]{1,8}(?:with[ \t]{1,8}\w{1,64}[ \t]{1,8})?by[ \t]{1,8}(?!(?:password|values)\b)(?=N?['"]|[^\s'"(]{1,512}(?:[;,)]|\s|$))|set[ \t]{1,8}password[ \t]{1,8}for[ \t]{1,8}[^=;\n]{1,128}=[ \t]{0,8}(?:password[ \t]{0,8}\([ \t]{0,8})?(?=N?'))N?/gi;

/**
 * Appends to `out` the passwords of SQL statements in `text` ({@linkcode SQL_PASSWORD}): one
 * regular-expression scan, each value read once.
 */
export function findSqlPasswords(text: string, out: Finding[]): void {
  const re = new RegExp(SQL_PASSWORD.source, "gi");
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const end = matchValue(text, m.index + m[0].length, "password", out);
    if (end > re.lastIndex) re.lastIndex = end;
  }
}

// Secrets: known key formats (found by their literal prefixes, then validated), and
// values of unknown format that follow a keyword (key, token, secret, password, bearer…)
// and look random enough. The randomness thresholds come from
// tests/pii/tune_entropy.ts (see pii/README.md, "Tuning the secret thresholds").
//
// This file is the entry point and the order of the scans; each scan is a file of its own:
//   token_formats.ts        provider token formats, found by prefix (AWS, GitHub, JWT, …)
//   provider_tokens.ts      Vault, Google OAuth refresh tokens and codes, Telegram bot tokens
//   url_passwords.ts        `scheme://user:password@host`
//   user_tokens.ts          a token as the user (`curl -u <key>:`, `https://<token>:@host`)
//   connection_passwords.ts Oracle JDBC `user/password@`, ODBC `Pwd={…}`
//   session_keys.ts         session-store keys (`sess:<id>`, `PHPREDIS_SESSION:<id>`)
//   keyword_scan.ts         `name: value`, `name=value`, `Bearer …`
//   command_credentials.ts  command-line flags (`--password …`, `mysql -p…`, `curl -u …`)
//   tool_passwords.ts       tools' own password flags and positions (`sshpass -p`, `htpasswd -b`)
//   shell_word.ts           a command's word as the shell reads it (escapes, quoted pieces)
//   cookie_headers.ts       frameworks' session cookies in `Cookie:` / `Set-Cookie:` text
//   sql_passwords.ts        SQL statements (`IDENTIFIED BY '…'`, `WITH PASSWORD '…'`)
//   credential_pairs.ts     pairs written as text (`name: DB_PASSWORD` / `value: …`, XML, plists)
//   directive_values.ts     `name value` directives and setters (`requirepass …`, `ENV K V`)
//   argument_pairs.ts       `'NAME', '…'` arguments, PHP `var_dump` values
//   authorization_values.ts an `Authorization:` header's credentials, whatever the scheme
//   cookie_jar.ts           Netscape cookie files (`curl -c`), judged as cookie headers
//   windows_passwords.ts    PowerShell and Windows tools (`ConvertTo-SecureString`, `psexec -p`)
//   secret_commands.ts      commands that store or pipe a secret (`gh secret set`, `| chpasswd`)
//   credential_names.ts     which key names are credentials' (`api_key`, `DB_PASSWORD`)
//   secret_value.ts         reading and judging the value after such a name
//   value_end.ts            where an unquoted or quoted value ends
//   passphrase.ts           passphrases of several words
//   looks_secret.ts         whether a value looks random enough (the tuned thresholds)
//   object_names.ts         object and file names that are no credential

import type { Finding } from "./types.ts";
import { findKnown } from "./token_formats.ts";
import { findProviderTokens } from "./provider_tokens.ts";
import { findUrlPasswords } from "./url_passwords.ts";
import { findUserTokens } from "./user_tokens.ts";
import { findConnectionPasswords } from "./connection_passwords.ts";
import { findSessionKeys } from "./session_keys.ts";
import { findBearerValues, findNamedValues } from "./keyword_scan.ts";
import { findCurlUsers, findFlagValues, findMysqlPasswords } from "./command_credentials.ts";
import { findNamedPairs, findXmlValues } from "./credential_pairs.ts";
import { findSqlPasswords } from "./sql_passwords.ts";
import { findToolPasswords } from "./tool_passwords.ts";
import { findCookieHeaders } from "./cookie_headers.ts";
import { findDirectiveValues } from "./directive_values.ts";
import { findArgumentPairs } from "./argument_pairs.ts";
import { findAuthorizationValues } from "./authorization_values.ts";
import { findCookieJarValues } from "./cookie_jar.ts";
import { findWindowsPasswords } from "./windows_passwords.ts";
import { findSecretCommands } from "./secret_commands.ts";

/** Appends secrets found in `text` to `out`. */
export function findSecrets(text: string, out: Finding[]): void {
  findKnown(text, out);
  findProviderTokens(text, out);
  findKeywordValues(text, out);
  if (text.includes("://")) findUrlPasswords(text, out);
  findUserTokens(text, out);
  findConnectionPasswords(text, out);
  findSessionKeys(text, out);
  if (text.includes("%")) findEncodedKeywordValues(text, out);
}

/** Percent-encoded quotes, `:`, `=`, `&`, `;`, `,`, brackets and braces: the syntax of pairs. */
const ENCODED_SYNTAX = /%(?:2[267Cc]|3[AaBbDd]|5[BbDd]|7[BbDd])/g;

/**
 * Keyword values written in a URL-encoded structure (`q=%7B%22password%22%3A%22…%22%7D`,
 * `data=password%3DS3cr3t…`; red team d2): the keyword scan runs again over the text with
 * the syntax characters of {@linkcode ENCODED_SYNTAX} decoded (not `%20` or `+`: a value
 * never spans white space), and each finding is mapped back to the characters as written.
 * Linear: one replacement pass and one more keyword scan, only when the text holds one.
 */
function findEncodedKeywordValues(text: string, out: Finding[]): void {
  ENCODED_SYNTAX.lastIndex = 0;
  if (!ENCODED_SYNTAX.test(text)) return;
  // origin[k]: where decoded character k starts in `text` (and origin[length] = its end).
  const origin: number[] = [];
  let last = 0;
  const decoded = text.replace(ENCODED_SYNTAX, (m: string, offset: number) => {
    for (let k = last; k < offset; k++) origin.push(k);
    origin.push(offset);
    last = offset + m.length;
    return String.fromCharCode(parseInt(m.slice(1), 16));
  });
  for (let k = last; k <= text.length; k++) origin.push(k);
  const found: Finding[] = [];
  findKeywordValues(decoded, found);
  for (const f of found) {
    const start = origin[f.start];
    const end = origin[f.end];
    out.push({ type: "secret", start, end, value: text.slice(start, end) });
  }
}

/**
 * Credential values named in `text`: after a credential key name (`name: value`,
 * `name=value`), a command-line flag or a tool's password argument, a SQL statement, a pair
 * written as text, a framework's session cookie in a header, `Bearer`. The scans are independent: each reads the text once (see its
 * file for its bound).
 */
function findKeywordValues(text: string, out: Finding[]): void {
  findNamedValues(text, out);
  if (text.includes("--")) findFlagValues(text, out);
  if (text.includes(" -p") || text.includes("\t-p")) findMysqlPasswords(text, out);
  if (text.includes(">")) findXmlValues(text, out);
  findNamedPairs(text, out);
  findSqlPasswords(text, out);
  if (text.includes("curl")) findCurlUsers(text, out);
  findToolPasswords(text, out);
  findCookieHeaders(text, out); // any case: `COOKIE:` too (red team m1)
  findBearerValues(text, out);
  findDirectiveValues(text, out);
  findArgumentPairs(text, out);
  findAuthorizationValues(text, out);
  findCookieJarValues(text, out);
  findWindowsPasswords(text, out);
  findSecretCommands(text, out);
}

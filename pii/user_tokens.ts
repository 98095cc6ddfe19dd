// A user name that is the credential: an API key sent as the user of Basic authentication with
// an empty password (`curl -u <key>:`, Stripe's and many APIs' documented form), a token as
// a URL's user with an empty password (`https://<token>:@host`), and GitHub's
// `https://<token>:x-oauth-basic@github.com/…`, whose password is a constant (red team n1,
// N1-6: the key came back raw). The user is judged as a token (pii/looks_secret.ts): a plain
// user name (`admin:`) stays, and nothing after it is read (an approver sees the URL).
//
// @module

import type { Finding } from "./types.ts";
import { looksSecret } from "./looks_secret.ts";

/**
 * A URL's user information with an empty or constant password: `://`, the user (token
 * characters, bounded), `:`, optionally `x-oauth-basic`, `@`. One pass, linear.
 */
const URL_TOKEN_USER = /:\/\/([A-Za-z0-9_.~-]{16,256}):(?:x-oauth-basic)?@/g;

/**
 * curl's user flags with a user and an empty password: `-u <key>:`, `--user <key>:`,
 * `--proxy-user`, `-U` (glued, after blanks or `=`, optionally quoted), the `:` ending the
 * word. One pass, linear.
 */
const CURL_TOKEN_USER =
  /(?:^|[ \t])(?:-u|-U|--user|--proxy-user)(?:[ \t]{1,16}|=)?(["']?)([A-Za-z0-9_.~+/=-]{16,256}):\1(?=[ \t\r\n]|$)/gm;

/**
 * Appends to `out` the user names of `text` that are credentials
 * ({@linkcode URL_TOKEN_USER}, {@linkcode CURL_TOKEN_USER}) and look like a token.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findUserTokens(text: string, out: Finding[]): void {
  if (text.includes("://")) {
    URL_TOKEN_USER.lastIndex = 0;
    for (let m = URL_TOKEN_USER.exec(text); m !== null; m = URL_TOKEN_USER.exec(text)) {
      push(m[1], m.index + 3, out);
    }
  }
  if (text.includes("-u") || text.includes("-U") || text.includes("--user")) {
    CURL_TOKEN_USER.lastIndex = 0;
    for (let m = CURL_TOKEN_USER.exec(text); m !== null; m = CURL_TOKEN_USER.exec(text)) {
      const start = m.index + m[0].length - m[1].length - 1 - m[2].length;
      push(m[2], start, out);
    }
  }
}

/** Pushes the user `value` at `start` when it looks like a token. */
function push(value: string, start: number, out: Finding[]): void {
  if (!looksSecret(value, false)) return;
  out.push({ type: "secret", start, end: start + value.length, value });
}

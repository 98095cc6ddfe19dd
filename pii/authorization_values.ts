// An `Authorization` (or `Proxy-Authorization`) header's credentials, whatever its scheme
// word (red team n1, N1-2: Elastic's `ApiKey`, Okta's `SSWS`, `Splunk`, Discord's `Bot`,
// GoDaddy's `sso-key`, `Zoho-oauthtoken`, `Negotiate` came back raw; only `Bearer`, `Basic`,
// `Token` and `Digest` were known). The scheme stays readable, the credentials are a secret
// by where they stand (a variable or a placeholder is not). Header text (`Authorization:
// SSWS …`), curl's `-H`, JSON (`"Authorization": "ApiKey …"`) and nginx's
// `proxy_set_header Authorization "Basic …";` alike.
//
// @module

import type { Finding } from "./types.ts";
import { codeAt } from "./chars.ts";
import { givenSecret } from "./looks_secret.ts";
import { randomToken } from "./cookie_values.ts";

/** The header's name, any case. */
const HEADER = /(?:proxy-)?authorization/gi;

/**
 * What follows the name: a closing quote (JSON, a quoted key), then `:` or `=`, or blanks and
 * an opening quote (nginx, Apache's `RequestHeader set Authorization "…"`), then the scheme
 * word and the blanks after it. Sticky, bounded: one try per name.
 */
const AFTER_NAME =
  /(?:\\?["'])?[ \t]{0,16}(?:[:=][ \t]{0,16}|(?=\\?["']))(?:\\?["'][ \t]{0,16})?([A-Za-z][A-Za-z0-9._-]{0,31})[ \t]{1,16}/y;

/**
 * Schemes other scans read: `Bearer` (keyword_scan.ts, with the care an empty one needs) and
 * `Digest`, whose parameters are `name="…"` pairs. `Basic` and `Token` are read here too (a
 * Basic header's base64 is a user and password whatever it looks like; nginx's
 * `proxy_set_header Authorization "Basic …"` has no `:` for the keyword scan).
 */
const KNOWN_SCHEME = /^(?:bearer|digest)$/i;

/** Longest credentials read (UTF-16 units). */
const CREDENTIALS_MAX = 4096;

/** Shortest credentials taken: shorter ones are examples and flags, not keys. */
const CREDENTIALS_MIN = 8;

/**
 * Appends to `out` the credentials after an `Authorization` header's scheme word: a run of
 * characters up to a blank, a quote, a `\`, `,`, `;`, `<`, `>` or the line's end (the
 * header's parameters after a `,`, as AWS's `SignedHeaders=`, are other scans'). Not when
 * the "scheme" is itself random (a token sent without a scheme, then a URL: the URL is
 * not the token), nor when the credentials open a URL, a path or a flag. One
 * regular-expression pass over the names; each reads a bounded lead and its credentials,
 * and the search resumes after them: linear.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findAuthorizationValues(text: string, out: Finding[]): void {
  HEADER.lastIndex = 0;
  for (let m = HEADER.exec(text); m !== null; m = HEADER.exec(text)) {
    const from = m.index + m[0].length;
    AFTER_NAME.lastIndex = from;
    const a = AFTER_NAME.exec(text);
    if (a === null || KNOWN_SCHEME.test(a[1]) || randomToken(a[1])) continue;
    const vs = from + a[0].length;
    let ve = vs;
    while (ve < text.length && ve - vs < CREDENTIALS_MAX && !endsCredentials(text.charCodeAt(ve))) {
      ve++;
    }
    HEADER.lastIndex = ve;
    const value = text.slice(vs, ve);
    if (value.length < CREDENTIALS_MIN || !givenSecret(value)) continue;
    const c = codeAt(text, vs);
    if (c === 47 || c === 45 || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) continue;
    out.push({ type: "secret", start: vs, end: ve, value });
  }
}

/** White space, a quote, `\`, `,`, `;`, `<`, `>`: where a header's credentials end. */
function endsCredentials(c: number): boolean {
  return c <= 32 || c === 34 || c === 39 || c === 96 || c === 92 || c === 44 || c === 59 ||
    c === 60 || c === 62;
}

// Netscape cookie files (what `curl -c`, wget, yt-dlp and browser exporters write): one
// cookie a line, seven tab-separated fields, `domain  flag  path  secure  expiry  name
// value`, an HttpOnly cookie's line opening with `#HttpOnly_`. A session cookie's value came
// back raw while the same cookie in a `Cookie:` header was redacted (red team n1, N1-3): each
// line's value is judged under its name by the rules of header text (cookie_headers.ts
// `judgeCookie`).
//
// @module

import type { Finding } from "./types.ts";
import { judgeCookie } from "./cookie_headers.ts";

/**
 * One cookie line: a domain, `TRUE`/`FALSE`, a path, `TRUE`/`FALSE`, an expiry in epoch
 * seconds, the name, the value. No field holds a tab or a line break, so each part of the
 * match is a run that cannot overlap the next: one pass, linear.
 */
const JAR_LINE =
  /^[^\t\r\n]{1,253}\t(?:TRUE|FALSE)\t[^\t\r\n]{1,1024}\t(?:TRUE|FALSE)\t-?\d{1,20}\t([^\t\r\n]{1,256})\t([^\t\r\n]{1,4096})/gm;

/**
 * Appends to `out` the values of session cookies in the Netscape cookie-file lines of
 * `text` (only when it holds a `\tTRUE\t` or `\tFALSE\t`).
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findCookieJarValues(text: string, out: Finding[]): void {
  if (!text.includes("\tTRUE\t") && !text.includes("\tFALSE\t")) return;
  JAR_LINE.lastIndex = 0;
  for (let m = JAR_LINE.exec(text); m !== null; m = JAR_LINE.exec(text)) {
    const ve = m.index + m[0].length;
    const vs = ve - m[2].length;
    judgeCookie(text, m[1], vs, ve, out);
  }
}

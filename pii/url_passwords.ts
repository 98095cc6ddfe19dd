// The password of a URL's user information: `scheme://user:password@host` (database URLs,
// git remotes), ending at the last `@` of the authority.

import type { Finding } from "./types.ts";

const URL_PASSWORD_PLACEHOLDER =
  /^(?:pass(?:word)?|secret|changeme|x+|\*+|<.*>|\$\{.*\}|\$[A-Z_]+)$/i;

/**
 * The last `@` of the URL authority from `from` (before `/`, `?`, `#` or white space, at
 * most 256 characters on), or -1. Reads at most 256 characters.
 */
export function lastAuthorityAt(text: string, from: number): number {
  let last = -1;
  for (let j = from; j < text.length && j - from < 256; j++) {
    const c = text.charCodeAt(j);
    if (c === 47 || c === 63 || c === 35 || c <= 32) break;
    if (c === 64) last = j;
  }
  return last;
}

/**
 * Appends to `out` the password in each `scheme://user:password@host` of `text` (database
 * URLs, git remotes), unless it is a placeholder (`pass`, `***`, `${PW}`). Each authority is
 * read once, at most 256 characters: linear.
 */
export function findUrlPasswords(text: string, out: Finding[]): void {
  let at = text.indexOf("://");
  while (at !== -1) {
    // The authority runs to `/`, `?`, `#` or white space; its user information ends at
    // its LAST `@`, as browsers and curl read it (red team g1: `token:Xk9m@Q2pL7vRt@evil…`
    // hid the host behind the password).
    const last = lastAuthorityAt(text, at + 3);
    const j = last === -1 ? at + 3 : last;
    let colon = -1;
    for (let k = at + 3; k < j; k++) {
      if (text.charCodeAt(k) === 58) {
        colon = k;
        break;
      }
    }
    if (last !== -1 && colon !== -1 && j > colon + 1) {
      const value = text.slice(colon + 1, j);
      if (!URL_PASSWORD_PLACEHOLDER.test(value)) {
        out.push({ type: "secret", start: colon + 1, end: j, value });
      }
    }
    at = text.indexOf("://", Math.max(j, at + 3));
  }
}

// Tokens that are a URL's path segment (red team n1, N1-15; e-mail links): a Microsoft Teams /
// Office 365 incoming webhook (`…/IncomingWebhook/<32 hex>/<guid>`: whoever holds the URL posts to
// the channel, as with Slack's and Discord's webhooks) and the token of a password-reset,
// invitation, magic-link or verification link (`/reset-password/<random>`: whoever holds it takes
// the account). Both came back raw.

import type { Finding } from "./types.ts";
import { randomToken } from "./cookie_values.ts";

/** Longest path segment read as a link's token, in characters. */
const MAX_SEGMENT = 256;
/** Characters of a URL path after `/IncomingWebhook/` (RFC 3986 unreserved, `/`, `@`, `%`). */
const WEBHOOK_TAIL = /^[A-Za-z0-9\-._~%@/]{16,512}/;
/** A path word that says the next segment is an account-taking token, then that segment. */
const LINK_TOKEN =
  /\/(?:reset[-_]?password|password[-_]?reset|reset|invite|invitation|accept[-_]?invite|magic[-_]?link|magic|verify|verification|verify[-_]?email|confirm|confirmation|activate|activation|login[-_]?link)\/([A-Za-z0-9\-_.~]{16,256})(?=$|[/?#\s"'<>)\]])/gi;

/**
 * Appends to `out` the secrets of Teams/Office webhook URLs (everything after
 * `/IncomingWebhook/` up to the end of the path) and the random path segment after a reset,
 * invite, magic-link or verification word. Linear: one `indexOf` cursor for the webhook, and one
 * global regular expression whose match starts at a `/` and reads at most 256 characters.
 */
export function findUrlPathTokens(text: string, out: Finding[]): void {
  const word = "/IncomingWebhook/";
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    const from = at + word.length;
    const m = WEBHOOK_TAIL.exec(text.slice(from, from + 513));
    if (m === null) continue;
    let end = from + m[0].length;
    while (end > from && text.charCodeAt(end - 1) === 47) end--; // a trailing `/`
    out.push({ type: "secret", start: from, end, value: text.slice(from, end) });
    at = end - 1;
  }
  if (text.indexOf("/") === -1) return;
  LINK_TOKEN.lastIndex = 0;
  for (let m = LINK_TOKEN.exec(text); m !== null; m = LINK_TOKEN.exec(text)) {
    const segment = m[1];
    const start = m.index + m[0].length - segment.length;
    if (segment.length <= MAX_SEGMENT && randomToken(segment)) {
      out.push({ type: "secret", start, end: start + segment.length, value: segment });
    }
    // The segment may itself open the next match (`/verify/<tok>/reset/<tok>`).
    LINK_TOKEN.lastIndex = start;
  }
}

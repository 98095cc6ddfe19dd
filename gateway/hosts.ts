/**
 * Host names and origins as the configuration writes them: parsing and normalising, for the
 * configuration schema and for the API's DNS-rebinding guard (`api/host_guard.ts`).
 *
 * DNS-rebinding protection: which `Host` and `Origin` request headers the gateway answers.
 *
 * A web page the developer visits can point its own name at 127.0.0.1 (DNS rebinding) and
 * then talk to a loopback gateway from the browser: the browser sends the attacker's name as
 * `Host` and the attacker's origin as `Origin`. The gateway therefore answers only requests
 * whose `Host` names it (a loopback name or a configured host) and whose `Origin`, when
 * present, is one of those hosts or a configured origin. This is the check the MCP Streamable
 * HTTP transport requires of servers, applied to every route.
 *
 * Matching is exact and case-insensitive: no wildcards, no suffix matching, no DNS (so
 * `localhost.evil.com` and `127.0.0.1.nip.io` are not loopback names).
 *
 * @module
 */

/** The host names that always mean "this machine"; any port. */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** What a {@linkcode HostGuard} accepts besides the loopback names. */
export interface HostPolicy {
  /**
   * Further host names, as a client writes them in `Host`: `name` (any port) or
   * `name:port` (only that port); IPv6 literals in brackets (`[fd00::1]`).
   */
  allowedHosts?: readonly string[];
  /**
   * Further origins allowed in `Origin` (`scheme://host[:port]`, as a browser sends them),
   * e.g. a web app on another name that calls the gateway. An origin whose host is an
   * allowed host is allowed without being listed.
   */
  allowedOrigins?: readonly string[];
}

/** A parsed `Host`-style authority: lower-case host name (IPv6 in brackets), port or "". */
interface Authority {
  host: string;
  port: string;
}

/**
 * Splits `host[:port]` (the `Host` header's grammar, RFC 9110 §7.2). Returns undefined for
 * anything else: empty, several colons outside brackets, a non-numeric port, characters that
 * cannot be in a host name.
 */
export function parseAuthority(value: string): Authority | undefined {
  // 255 bytes is the longest DNS name; the rest is port and brackets.
  if (value.length === 0 || value.length > 270) return undefined;
  const text = value.toLowerCase();
  let host: string;
  let rest: string;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) return undefined;
    host = text.slice(0, end + 1);
    rest = text.slice(end + 1);
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) return undefined;
  } else {
    const colon = text.indexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? "" : text.slice(colon);
    if (!/^[a-z0-9._-]+$/.test(host)) return undefined;
  }
  if (rest === "") return { host, port: "" };
  if (!/^:[0-9]{1,5}$/.test(rest)) return undefined;
  return { host, port: rest.slice(1) };
}

/**
 * Checks a configured host entry (`name` or `name:port`). Returns a problem, or undefined
 * when it is usable. Used by the configuration schema.
 */
export function checkAllowedHost(entry: string): string | undefined {
  return parseAuthority(entry)
    ? undefined
    : "must be a host name or IP address, optionally with :port (IPv6 in brackets)";
}

/**
 * Normalises a configured origin (`http://app.example:3000`) to the form browsers send.
 * Returns undefined when the text is not an http(s) origin (no path, query or credentials).
 */
export function normalizeOrigin(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (url.pathname !== "/") return undefined;
  return url.origin;
}

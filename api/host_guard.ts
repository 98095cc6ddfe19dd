/**
 * DNS-rebinding protection for every route: the `Host` and `Origin` check (the rules are in
 * `gateway/hosts.ts`, which the configuration schema shares).
 *
 * @module
 */

import {
  type HostPolicy,
  LOOPBACK_HOSTS,
  normalizeOrigin,
  parseAuthority,
} from "../gateway/mod.ts";

/** Decides whether a request's `Host` and `Origin` headers are acceptable. */
export class HostGuard {
  readonly #anyPort = new Set<string>(LOOPBACK_HOSTS);
  readonly #withPort = new Set<string>();
  readonly #origins = new Set<string>();

  /** @throws TypeError when an entry is malformed (the configuration schema rejects those first). */
  constructor(policy: HostPolicy = {}) {
    for (const entry of policy.allowedHosts ?? []) {
      const authority = parseAuthority(entry);
      if (!authority) throw new TypeError(`allowed host ${JSON.stringify(entry)} is malformed`);
      if (authority.port) this.#withPort.add(`${authority.host}:${authority.port}`);
      else this.#anyPort.add(authority.host);
    }
    for (const entry of policy.allowedOrigins ?? []) {
      const origin = normalizeOrigin(entry);
      if (!origin) throw new TypeError(`allowed origin ${JSON.stringify(entry)} is malformed`);
      this.#origins.add(origin);
    }
  }

  /** Whether `host[:port]` (a `Host` header value) names this gateway. */
  allowsHost(value: string): boolean {
    const authority = parseAuthority(value);
    if (!authority) return false;
    return this.#anyPort.has(authority.host) ||
      (authority.port !== "" && this.#withPort.has(`${authority.host}:${authority.port}`));
  }

  /** Whether an `Origin` header value may call the gateway: a configured origin, or one on an allowed host. */
  allowsOrigin(value: string): boolean {
    if (value.length > 300) return false;
    // "null" (opaque origins: sandboxed iframes, file: pages) is never ours.
    const origin = normalizeOrigin(value);
    if (!origin) return false;
    if (this.#origins.has(origin)) return true;
    return this.allowsHost(new URL(origin).host);
  }

  /**
   * Checks one request's headers (pass `null` for an absent header). Returns why the request
   * is refused, or undefined when it may proceed. A missing `Host` (HTTP/1.0) is refused: a
   * rebinding page cannot be told apart from a local client without it.
   */
  check(host: string | null | undefined, origin: string | null | undefined): string | undefined {
    if (host === null || host === undefined || host === "") {
      return "the request has no Host header";
    }
    if (!this.allowsHost(host)) {
      return `Host ${JSON.stringify(host.slice(0, 100))} is not allowed ` +
        "(loopback names, or http.allowedHosts)";
    }
    if (origin !== null && origin !== undefined && !this.allowsOrigin(origin)) {
      return `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed ` +
        "(an allowed host, or http.allowedOrigins)";
    }
    return undefined;
  }
}

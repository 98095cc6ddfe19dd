/**
 * A bound on the request bodies in flight to one Streamable HTTP server.
 *
 * The SDK's HTTP transport POSTs each message and keeps its body until the response's
 * headers arrive, which (JSON responses) is when the tool has finished. A cancelled call's
 * POST is not aborted, so calls of ended executions to a server that hangs or stopped
 * reading would stay in flight, each holding its arguments, without bound. This `fetch`
 * counts the bodies in flight, refuses past a cap, and aborts a request's POST when its
 * cancellation is sent.
 *
 * @module
 */

import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

import { UpstreamError } from "./errors.ts";

/**
 * Most characters of request bodies in flight to one HTTP server at once, by default (32 Mi
 * UTF-16 units, like the stdio queue's 32 MiB: several of the largest tool calls).
 */
export const DEFAULT_MAX_INFLIGHT_CHARS = 32 * 1024 * 1024;
/** Longest cancellation body we parse (the SDK's are about 100 characters). */
const MAX_CANCEL_CHARS = 4096;
/** `…,"id":5}` at the end of a request: where the SDK writes it. */
const TRAILING_ID = /"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,64}")\s*\}\s*$/;
/** Characters at the start of a body searched for its method. */
const HEAD_CHARS = 64;
/** Characters at the end of a body searched for its id. */
const ID_WINDOW_CHARS = 256;

/**
 * A `fetch` for one server's `StreamableHTTPClientTransport` that bounds the request bodies
 * in flight and aborts the POST of a cancelled request.
 *
 * @param server the server's config key, for error messages
 * @param options `maxChars` (default {@linkcode DEFAULT_MAX_INFLIGHT_CHARS}) and the
 *   underlying `fetch` (default the global one)
 * @returns a fetch whose POSTs throw {@linkcode UpstreamError} (reason `overloaded`), before
 *   anything is sent, when their body would take the characters in flight past `maxChars`
 *   (`ping` excepted)
 */
export function budgetedFetch(
  server: string,
  options: {
    maxChars?: number;
    /** Most characters one owner's requests may have in flight (default: a quarter). */
    maxCharsPerOwner?: number;
    /**
     * Whose request a JSON-RPC id (as JSON text) is, a tenant, or undefined (the gateway's own):
     * one tenant's large calls cannot spend what every tenant shares.
     */
    ownerOfId?: (id: string) => string | undefined;
    fetch?: FetchLike;
  } = {},
): FetchLike {
  const maxChars = options.maxChars ?? DEFAULT_MAX_INFLIGHT_CHARS;
  const maxPerOwner = options.maxCharsPerOwner ?? Math.floor(maxChars / 4);
  const fetchFn = options.fetch ?? fetch;
  /** POSTs of requests awaiting their response headers, by the id's JSON text. */
  const inflight = new Map<string, AbortController>();
  const charsByOwner = new Map<string, number>();
  let chars = 0;
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    if (init?.method !== "POST" || typeof body !== "string") return await fetchFn(url, init);
    // The SDK writes a message's method near its start (after "jsonrpc" at most), and a
    // request's id last.
    const head = body.slice(0, HEAD_CHARS);

    if (body.length <= MAX_CANCEL_CHARS && head.includes('"method":"notifications/cancelled"')) {
      inflight.get(cancelledId(body) ?? "")?.abort(new Error("the call was cancelled"));
      return await fetchFn(url, init);
    }
    const isPing = head.includes('"method":"ping"');
    const id = head.includes('"method":')
      ? TRAILING_ID.exec(body.slice(-ID_WINDOW_CHARS))?.[1]
      : undefined;
    const owner = (id !== undefined ? options.ownerOfId?.(id) : undefined) ?? "";
    const owners = charsByOwner.get(owner) ?? 0;
    const overOwner = owner !== "" && owners + body.length > maxPerOwner;
    if (!isPing && (chars + body.length > maxChars || overOwner)) {
      const tool = /^\{"method":"tools\/call","params":\{"name":"([^"\\]{1,200})"/.exec(body)?.[1];
      // How much of the caller's own is in flight, never how much of other tenants'.
      const whose = overOwner
        ? `has ${mib(owners)} of this tenant's calls in flight (at most ${mib(maxPerOwner)} ` +
          "per tenant)"
        : "has as many calls in flight as it may";
      throw new UpstreamError(
        "overloaded",
        server,
        `upstream server "${server}" ${whose}, so ` +
          `${tool ? `the call to ${server}.${tool}` : "a message"} (${mib(body.length)}) was ` +
          "refused unsent",
        tool ? { tool } : {},
      );
    }
    const controller = new AbortController();
    const signal = init.signal
      ? AbortSignal.any([init.signal, controller.signal])
      : controller.signal;
    if (id !== undefined) inflight.set(id, controller);
    chars += body.length;
    charsByOwner.set(owner, owners + body.length);
    try {
      return await fetchFn(url, { ...init, signal });
    } finally {
      chars -= body.length;
      const left = (charsByOwner.get(owner) ?? body.length) - body.length;
      if (left > 0) charsByOwner.set(owner, left);
      else charsByOwner.delete(owner);
      if (id !== undefined && inflight.get(id) === controller) inflight.delete(id);
    }
  };
}

/** The request id a cancellation names, as JSON text (`5`, `"a-1"`), else `undefined`. */
function cancelledId(body: string): string | undefined {
  try {
    const id = JSON.parse(body)?.params?.requestId;
    return typeof id === "number" || typeof id === "string" ? JSON.stringify(id) : undefined;
  } catch {
    return undefined;
  }
}

/** `n` characters as MiB with one decimal. */
function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

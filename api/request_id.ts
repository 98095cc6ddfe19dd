/**
 * The request id that goes into logs and the audit. A client may name its requests
 * (`X-Request-Id`, the JSON-RPC id over MCP) for tracing, but what it sends is stored and
 * logged, so only a plain token is kept: 1 to 100 of `[A-Za-z0-9._:-]`, in which redaction
 * finds nothing (a card number, phone number, IP address or key is a plain token too, alone
 * or under a label: `card-4111…`, `ip-10.1.2.3`). Anything else is replaced by a new UUID:
 * refused, not redacted, because a redacted id (`card-[CARD_1]`) would still be echoed and
 * stored, would no longer be the client's, and could equal another request's.
 *
 * @module
 */

import { findPii } from "../pii/mod.ts";

const PLAIN = /^[A-Za-z0-9._:-]{1,100}$/;

/** The client's id when it is a plain token without personal data, else a new UUID. */
export function requestIdFrom(sent: unknown): string {
  const text = typeof sent === "number" || typeof sent === "string" ? String(sent) : "";
  return PLAIN.test(text) && findPii(text).length === 0 ? text : crypto.randomUUID();
}

/**
 * Errors that stop a request before it reaches the sandbox. Each has a `kind` a client
 * can act on and the HTTP status it maps to; the body is always
 * `{ "error": { "kind", "message" } }`.
 *
 * @module
 */

import { redactRenderedText } from "../pii/mod.ts";
import { dropPartialToken } from "../sandbox/mod.ts";

/** The kinds of request-level errors and their HTTP statuses. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  /**
   * The code ran (its tool calls reached upstream servers) but its session's PII vault could
   * not be saved: the result is withheld; retrying repeats the side effects.
   */
  vault_not_saved: 500,
  queue_full: 503,
  unavailable: 503,
  state_unavailable: 503,
} as const;

/** A request-level error kind. */
export type GatewayErrorKind = keyof typeof ERROR_STATUS;

/** A request the gateway refuses or cannot serve. */
export class GatewayError extends Error {
  /** What a client can act on. */
  readonly kind: GatewayErrorKind;
  /** Seconds a client should wait before retrying (429, 503). */
  readonly retryAfter?: number;

  constructor(kind: GatewayErrorKind, message: string, options: { retryAfter?: number } = {}) {
    super(message);
    this.name = "GatewayError";
    this.kind = kind;
    this.retryAfter = options.retryAfter;
  }

  /** The HTTP status for this error. */
  get status(): number {
    return ERROR_STATUS[this.kind];
  }

  /** The JSON body sent to clients (the message bounded and redacted, see {@linkcode safeErrorMessage}). */
  toBody(): { error: { kind: string; message: string } } {
    return { error: { kind: this.kind, message: safeErrorMessage(this.message) } };
  }
}

/** Longest error message sent to a client, in UTF-16 units. */
export const MAX_ERROR_MESSAGE_CHARS = 1000;

/**
 * An error message as a client may see it: messages can quote what the client sent (an
 * unknown key, a path, a tool id), so they are cut to {@linkcode MAX_ERROR_MESSAGE_CHARS}
 * (without the last, possibly partial, word) and masked for personal data and secrets.
 */
export function safeErrorMessage(message: string): string {
  let text = message;
  if (text.length > MAX_ERROR_MESSAGE_CHARS) {
    text = dropPartialToken(text.slice(0, MAX_ERROR_MESSAGE_CHARS)) + "… [truncated]";
  }
  return redactRenderedText(text, { mode: "mask" }).text;
}

/**
 * Errors that stop a request before it reaches the sandbox. Each has a `kind` a client
 * can act on and the HTTP status it maps to; the body is always
 * `{ "error": { "kind", "message" } }`.
 *
 * @module
 */

/** The kinds of request-level errors and their HTTP statuses. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  queue_full: 503,
  unavailable: 503,
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

  /** The JSON body sent to clients. */
  toBody(): { error: { kind: string; message: string } } {
    return { error: { kind: this.kind, message: this.message } };
  }
}

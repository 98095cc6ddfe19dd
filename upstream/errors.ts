/**
 * The error every failed upstream tool call is reported with.
 *
 * @module
 */

/** Why an upstream call failed; finer than `kind`, for logs and metrics. */
export type UpstreamErrorReason =
  | "unknown_server"
  | "unknown_tool"
  | "unavailable"
  | "invalid_arguments"
  | "timeout"
  | "cancelled"
  /** The caller has too many cancelled calls the server has not answered (`abandoned_calls.ts`). */
  | "busy"
  | "connection"
  | "protocol"
  | "overloaded";

/**
 * A tool call that could not be completed: the server is unknown, down or still
 * connecting, the call timed out or was cancelled, the connection broke, the server
 * answered with a protocol error, or (`overloaded`) too much was already waiting to be
 * written to it. `kind` is always `"tool"`, the error kind the HTTP API
 * reports for tool failures; `reason` says which of the cases it was.
 */
export class UpstreamError extends Error {
  /** The API error kind: always `"tool"`. */
  readonly kind = "tool" as const;
  /** The config key of the server the call was for. */
  readonly server: string;
  /** The tool's MCP name, when the failure concerns one tool. */
  readonly tool?: string;
  /** Which failure it was. */
  readonly reason: UpstreamErrorReason;

  /**
   * Creates the error.
   *
   * @param reason which failure it was
   * @param server the config key of the server
   * @param message a sentence naming the server (and the tool, when there is one)
   * @param options the tool's name and the underlying cause, when known
   */
  constructor(
    reason: UpstreamErrorReason,
    server: string,
    message: string,
    options: { tool?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UpstreamError";
    this.reason = reason;
    this.server = server;
    if (options.tool !== undefined) this.tool = options.tool;
  }
}

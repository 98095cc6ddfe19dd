/**
 * A server's failure in the gateway's own words, for what every tenant and every client may
 * see: a server's status (`/readyz`, which needs no key), the refusal another tenant's code
 * gets while the server is down, the gateway's log.
 *
 * What a server writes is its callers' data: an HTTP server's error response may quote the
 * request it failed on, a stdio server's last stderr line the arguments it crashed with, a
 * JSON-RPC error message anything at all. Before this (red team, 2026-11-30), one tenant's card
 * number and e-mail address, sent to a server that failed on them, reached every other tenant's
 * code through "server S is failed (…)", `/readyz` and the log. So only the kind of failure
 * (an HTTP status, a JSON-RPC code, how a process ended, a local network error) is kept here;
 * the text a server sent is never part of it.
 *
 * @module
 */

import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/**
 * An error of the gateway's own transport whose message is ours (it names a configured
 * command, never what a server wrote); {@linkcode describeFailure} keeps its words.
 */
export class LocalTransportError extends Error {
  override name = "LocalTransportError";
}

/** Longest local error message kept, in UTF-16 units. */
const MAX_LOCAL_MESSAGE_CHARS = 200;

/**
 * Describes `error` without any text the server sent: a JSON-RPC error by its code, an HTTP
 * failure by its status, a local failure (spawning a process, connecting, a timeout of ours)
 * by its message, anything else by its name and length.
 */
export function describeFailure(error: unknown): string {
  // The SDK's classes do not narrow `unknown` here (as in connection.ts): cast after the check.
  if (error instanceof McpError) {
    const code = (error as McpError).code;
    if (code === ErrorCode.ConnectionClosed) return "connection closed";
    if (code === ErrorCode.RequestTimeout) return "request timed out";
    return `JSON-RPC error ${code} (its message is not shown)`;
  }
  if (error instanceof StreamableHTTPError) {
    const code = (error as StreamableHTTPError).code ?? 0;
    return code > 0
      ? `HTTP ${code} (the response is not shown)`
      : "unexpected response (not shown)";
  }
  if (isLocal(error)) return (error as Error).message.slice(0, MAX_LOCAL_MESSAGE_CHARS);
  const name = error instanceof Error ? error.name : typeof error;
  const chars = error instanceof Error ? error.message.length : String(error).length;
  return `${name} (${chars} characters not shown)`;
}

/**
 * Errors raised on this machine, whose messages are ours or the runtime's: our transport's
 * ({@linkcode LocalTransportError}), a failed spawn or connect (`Deno.errors.*`), a network
 * failure of `fetch` (`TypeError`), a deadline of ours (`TimeoutError`, `AbortError`).
 */
function isLocal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof LocalTransportError) return true;
  if (Object.values(Deno.errors).some((kind) => error instanceof kind)) return true;
  return error.constructor === TypeError || error.name === "TimeoutError" ||
    error.name === "AbortError";
}

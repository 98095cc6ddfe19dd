/**
 * Helpers for MCP sessions shared by replicas: the client's `initialize` parameters are kept
 * (in Redis) when a session starts (`mcp_admission.ts` reads them), and replayed on a fresh
 * transport when a request of the session reaches a replica that has not served it yet, so the
 * server side is rebuilt through the SDK's own initialization (same session id, same
 * negotiated protocol version, same client capabilities).
 *
 * @module
 */

import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

/**
 * Initializes a fresh transport (whose `sessionIdGenerator` returns the session's id) as the
 * client once did: `initialize` with the stored params, then `notifications/initialized`.
 * @throws Error when the transport does not accept them
 */
export async function replayInitialize(
  transport: WebStandardStreamableHTTPServerTransport,
  params: Record<string, unknown>,
): Promise<void> {
  const post = (body: unknown, sessionId?: string) =>
    transport.handleRequest(
      new Request("http://localhost/mcp", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(sessionId ? { "mcp-session-id": sessionId } : {}),
          ...(typeof params.protocolVersion === "string"
            ? { "mcp-protocol-version": params.protocolVersion }
            : {}),
        },
        body: JSON.stringify(body),
      }),
    );
  const init = await post({ jsonrpc: "2.0", id: "airlock-rebuild", method: "initialize", params });
  await init.text(); // the client already has this answer
  if (init.status !== 200 || !transport.sessionId) {
    throw new Error(`rebuilding the MCP session failed (${init.status})`);
  }
  const done = await post(
    { jsonrpc: "2.0", method: "notifications/initialized" },
    transport.sessionId,
  );
  await done.text();
}

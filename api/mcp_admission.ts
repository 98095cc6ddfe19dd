/**
 * Admission of a POST to `/mcp` that carries no `Mcp-Session-Id`: only an `initialize` may
 * open a session, and that is decided from the body alone, before a transport or an MCP
 * server (with its catalogue subscription) is built for it. Anything else gets the JSON-RPC
 * error the SDK's transport would have given.
 *
 * @module
 */

import { readRequestBody } from "@modelcontextprotocol/sdk/server/requestBody.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";

/**
 * Longest body of a session-less POST, in bytes. It can only be one `initialize` (a few
 * hundred bytes from real clients), so this is generous, and far below the SDK's 4 MiB.
 */
export const MAX_INITIALIZE_BODY_BYTES = 64 * 1024;

/** A session-less POST that may open a session. */
export interface AdmittedInitialize {
  /** The parsed body, to hand to the transport (which then does not read the body again). */
  body: unknown;
  /** The `initialize` params worth keeping (protocolVersion, capabilities, clientInfo). */
  params: Record<string, unknown>;
}

/**
 * Reads (at most {@linkcode MAX_INITIALIZE_BODY_BYTES}) and judges the body of a POST
 * without a session: one `initialize` request, alone or as a batch of one, is admitted;
 * otherwise the answer is the error response, with the status and JSON-RPC code the SDK
 * uses (413; 400 `-32700` for a body that is not JSON; 400 `-32000` "Server not
 * initialized" without an `initialize`; 400 `-32600` for an `initialize` among others).
 * Linear in the body, which is capped before it is parsed.
 */
export async function admitInitialize(request: Request): Promise<AdmittedInitialize | Response> {
  let raw: unknown;
  try {
    const read = await readRequestBody(request, MAX_INITIALIZE_BODY_BYTES);
    if (read.tooLarge) {
      return jsonRpcError(
        413,
        -32000,
        `Payload Too Large: a request without Mcp-Session-Id must be an initialize of at most ${MAX_INITIALIZE_BODY_BYTES} bytes`,
      );
    }
    raw = JSON.parse(read.text);
  } catch {
    // Not JSON, or the body could not be read (the client went away).
    return jsonRpcError(400, -32700, "Parse error: Invalid JSON");
  }
  const messages = Array.isArray(raw) ? raw : [raw];
  const initialize = messages.find((m) => isInitializeRequest(m));
  if (initialize === undefined) {
    return jsonRpcError(400, -32000, "Bad Request: Server not initialized");
  }
  if (messages.length > 1) {
    return jsonRpcError(400, -32600, "Invalid Request: Only one initialization request is allowed");
  }
  const { protocolVersion, capabilities, clientInfo } = initialize.params;
  return { body: raw, params: { protocolVersion, capabilities: capabilities ?? {}, clientInfo } };
}

/** A JSON-RPC error response without an id, as the SDK's transport writes them. */
export function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }),
    { status, headers: { "content-type": "application/json" } },
  );
}

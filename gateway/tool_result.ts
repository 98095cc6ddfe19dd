/**
 * How an MCP tool result becomes the value the code sees (DESIGN.md, "Inside the
 * sandbox"): `structuredContent` as is; a single JSON text parsed; other text as a
 * string; `isError` as a `ToolError`. Binary content comes back JSON-safe:
 * `{ type: "image" | "audio", mimeType, data /* base64 *\/ }`, embedded resources as
 * `{ type: "resource", uri, mimeType, text | blob }`, links as
 * `{ type: "resource_link", uri, name, mimeType }`; a result with several parts that
 * are not all text is an array of those items (text parts as `{ type: "text", text }`).
 *
 * @module
 */

import type { CallToolResult } from "../upstream/mod.ts";

/** The server said the call failed (`isError`); the message is the server's text. */
export class ToolCallError extends Error {
  /** Shown to the code as `ToolError`. */
  readonly kind = "tool";
  constructor(message: string) {
    super(message);
    this.name = "ToolCallError";
  }
}

type Content = CallToolResult["content"][number];

/** Converts a result for the code, or throws {@link ToolCallError} for `isError`. */
export function toolResultValue(result: CallToolResult): unknown {
  const content: Content[] = Array.isArray(result.content) ? result.content : [];
  if (result.isError) {
    const text = content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
    throw new ToolCallError(text || "the tool reported an error");
  }
  if (result.structuredContent !== undefined) return result.structuredContent;
  if (content.length === 0) return null;
  if (content.every((c) => c.type === "text")) {
    const texts = content.map((c) => (c as { text: string }).text);
    if (texts.length === 1) return parseJsonText(texts[0]);
    return texts.join("\n");
  }
  const items = content.map(contentItem);
  return items.length === 1 ? items[0] : items;
}

/** Parses text that is a JSON object or array; anything else stays a string. */
function parseJsonText(text: string): unknown {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return text;
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

function contentItem(c: Content): unknown {
  switch (c.type) {
    case "text":
      return { type: "text", text: c.text };
    case "image":
    case "audio":
      return { type: c.type, mimeType: c.mimeType, data: c.data };
    case "resource": {
      const r = c.resource as Record<string, unknown>;
      const out: Record<string, unknown> = { type: "resource", uri: r.uri };
      if (r.mimeType) out.mimeType = r.mimeType;
      if (typeof r.text === "string") out.text = r.text;
      if (typeof r.blob === "string") out.blob = r.blob;
      return out;
    }
    case "resource_link":
      return { type: "resource_link", uri: c.uri, name: c.name, mimeType: c.mimeType };
    default:
      return c;
  }
}

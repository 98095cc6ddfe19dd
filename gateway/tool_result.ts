/**
 * How an MCP tool result becomes the value the code sees (DESIGN.md, "Inside the
 * sandbox"): `structuredContent` as is; a single JSON text parsed, when it holds at most
 * {@linkcode MAX_TOOL_RESULT_VALUES} values and `MAX_JSON_DEPTH` levels; other text as a
 * string; `isError` as a `ToolError` with the tool's own text, whatever its structured
 * content. For a tool with an `outputSchema`, structured content that is missing or does
 * not match it is not an error: the code gets the text content instead and the call is
 * journalled with a warning ({@linkcode toolCallValue}). Binary content comes back JSON-safe:
 * `{ type: "image" | "audio", mimeType, data /* base64 *\/ }`, embedded resources as
 * `{ type: "resource", uri, mimeType, text | blob }`, links as
 * `{ type: "resource_link", uri, name, mimeType }`; a result with several parts that
 * are not all text is an array of those items (text parts as `{ type: "text", text }`).
 *
 * @module
 */

import { type CallToolResult, structuredContentProblem, type ToolInfo } from "../upstream/mod.ts";
import {
  dropPartialToken,
  jsonShape,
  MAX_JSON_DEPTH,
  MAX_RPC_CALL_VALUES,
} from "../sandbox/mod.ts";

/**
 * Most JSON values a tool's text result may hold to be parsed for the code (containers and
 * members, keys not counted: see `jsonShape`); the same bound as a tool call's arguments,
 * for the same reason. Parsing, hiding restored values in it and sending it to the sandbox
 * cost the gateway's event loop per value: a text of 1.3 million empty objects (4 MiB, what
 * an echoing tool returns for one string argument) held it 300-500 ms per call, 100,000
 * values a few ms. Past this bound, or past {@link MAX_JSON_DEPTH} levels, the code gets
 * the text as a string, as it gets any text that is not JSON, and may `JSON.parse` it
 * itself, in the sandbox, on its own CPU budget.
 */
export const MAX_TOOL_RESULT_VALUES = MAX_RPC_CALL_VALUES;

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
    throw new ToolCallError(text || structuredErrorText(result.structuredContent));
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

/** What the code gets from one call, and what the call journal should note about it. */
export interface ToolCallValue {
  /** The value for the code. */
  value: unknown;
  /**
   * Set when the result broke the tool's `outputSchema` and the text content was used
   * instead; names the schema keyword, never the value (at most about 400 characters).
   */
  warning?: string;
}

/**
 * Converts a result of `tool` for the code, checking its `structuredContent` against the
 * tool's `outputSchema` (Ajv, compiled once per schema):
 *
 * - `isError`: throws {@link ToolCallError} with the result's text (the tool's own words),
 *   whatever its structured content;
 * - structured content that matches, or a tool without an output schema: as
 *   {@linkcode toolResultValue};
 * - no structured content, or content that does not match: the text content (a single
 *   JSON text parsed), with a `warning`. A result with no content at all keeps its
 *   non-matching structured content, the only data there is.
 *
 * @param result the upstream result
 * @param tool the tool it came from (its `outputSchema`, when it has one)
 * @throws {ToolCallError} when the result has `isError`
 */
export function toolCallValue(
  result: CallToolResult,
  tool: Pick<ToolInfo, "outputSchema">,
): ToolCallValue {
  const schema = tool.outputSchema;
  if (result.isError || schema === undefined) return { value: toolResultValue(result) };
  const structured = result.structuredContent;
  const problem = structured === undefined
    ? "the tool declares an outputSchema but returned no structured content"
    : structuredContentProblem(schema, structured);
  if (problem === undefined) return { value: toolResultValue(result) };
  const warning = structured === undefined ? problem : `structured content ignored: ${problem}`;
  const hasContent = Array.isArray(result.content) && result.content.length > 0;
  if (!hasContent && structured !== undefined) return { value: structured, warning };
  const { structuredContent: _ignored, ...rest } = result;
  return {
    value: toolResultValue(rest as CallToolResult),
    warning: `${warning}; returned the text content instead`,
  };
}

/** Longest error message made from structured content, in UTF-16 units. */
const MAX_STRUCTURED_ERROR_CHARS = 2000;

/**
 * The message of an error result without text: its structured content as JSON (some
 * servers put `{ error: "…" }` there only), cut to 2,000 characters without what the cut may
 * have left of a value (it is redacted after).
 */
function structuredErrorText(structured: unknown): string {
  if (structured === undefined) return "the tool reported an error";
  const json = JSON.stringify(structured);
  return json.length > MAX_STRUCTURED_ERROR_CHARS
    ? `${dropPartialToken(json.slice(0, MAX_STRUCTURED_ERROR_CHARS))}…`
    : json;
}

/**
 * Parses text that is a JSON object or array of at most {@link MAX_TOOL_RESULT_VALUES}
 * values and {@link MAX_JSON_DEPTH} levels (measured in one scan before parsing); anything
 * else stays a string.
 */
function parseJsonText(text: string): unknown {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return text;
  const shape = jsonShape(trimmed, MAX_JSON_DEPTH, MAX_TOOL_RESULT_VALUES);
  if (shape.depth > MAX_JSON_DEPTH || shape.values > MAX_TOOL_RESULT_VALUES) return text;
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

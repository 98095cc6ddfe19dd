/**
 * The texts a tool is indexed by: the fields of BM25F and one sentence-like text for the
 * embedding model.
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { splitIdentifier, terms } from "./text.ts";

/** Longest description prefix given to the embedding model (long texts dilute the vector). */
const EMBED_DESCRIPTION_CHARS = 400;

/** `[name, description]` of each top-level input property of a tool. */
export function parameterTexts(tool: ToolInfo): Array<[string, string]> {
  const props = tool.inputSchema?.properties;
  if (!props || typeof props !== "object") return [];
  return Object.entries(props as Record<string, unknown>).map(([name, schema]) => {
    const description = schema && typeof schema === "object" &&
        typeof (schema as Record<string, unknown>).description === "string"
      ? (schema as Record<string, string>).description
      : "";
    return [name, description];
  });
}

/** The BM25F fields of a tool, in this order (see {@linkcode lexicalFields}). */
export const LEXICAL_FIELDS = [
  "name",
  "description",
  "parameters",
  "parameterText",
  "server",
] as const;

/**
 * A tool's BM25F fields, each a term list: its name (split: `read_text_file` → read, text,
 * file), its description, its parameter names, its parameter descriptions, and its server
 * (name and instructions, the server's description of itself).
 */
export function lexicalFields(tool: ToolInfo): string[][] {
  const params = parameterTexts(tool);
  return [
    terms(tool.name),
    terms(tool.description),
    terms(params.map(([n]) => n).join(" ")),
    terms(params.map(([, d]) => d).join(" ")),
    terms(`${tool.server} ${tool.serverInstructions ?? ""}`),
  ];
}

/**
 * The text the embedding model sees for a tool: `server: tool name words. description
 * (parameters: …)`, the description cut at a sentence boundary near 400 characters.
 */
export function embeddingText(tool: ToolInfo): string {
  let description = tool.description.replace(/\s+/g, " ").trim();
  if (description.length > EMBED_DESCRIPTION_CHARS) {
    const cut = description.slice(0, EMBED_DESCRIPTION_CHARS);
    const stop = cut.lastIndexOf(". ");
    description = stop > 80 ? cut.slice(0, stop + 1) : cut;
  }
  const params = parameterTexts(tool).map(([n]) => splitIdentifier(n).join(" "));
  const name = splitIdentifier(tool.name).join(" ");
  const paramText = params.length > 0 ? ` (parameters: ${params.join(", ")})` : "";
  return `${splitIdentifier(tool.server).join(" ")}: ${name}. ${description}${paramText}`;
}

/**
 * The texts a tool is indexed by: weighted lexical terms for BM25 and one sentence-like
 * text for the embedding model.
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { splitIdentifier, terms } from "./text.ts";

/** How many times each field's terms count in BM25 (a cheap BM25F). */
const FIELD_WEIGHTS = { name: 3, server: 1, description: 1, params: 1, instructions: 1 };

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

/** BM25 terms of a tool: name, server, description, parameters and server instructions, weighted. */
export function lexicalTerms(tool: ToolInfo): string[] {
  const out: string[] = [];
  const add = (text: string, weight: number) => {
    const t = terms(text);
    for (let i = 0; i < weight; i++) out.push(...t);
  };
  add(tool.name, FIELD_WEIGHTS.name);
  add(tool.server, FIELD_WEIGHTS.server);
  add(tool.description, FIELD_WEIGHTS.description);
  add(parameterTexts(tool).map(([n, d]) => `${n} ${d}`).join(" "), FIELD_WEIGHTS.params);
  if (tool.serverInstructions) add(tool.serverInstructions, FIELD_WEIGHTS.instructions);
  return out;
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

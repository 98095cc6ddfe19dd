/**
 * `selectTools`: the tools to give typed wrappers for one execution.
 *
 * Order: the request's explicit ids, then tools named in the code (both always included
 * when `allowed`, even beyond `maxTools`), then ranked tools from the index for the query
 * `intent + words of the code's identifiers` (the calls of already-named tools left out), keeping those with score ≥ `minScore`, until
 * `maxTools` tools in total. `minScore` applies to the index's fused score in [0, 1], which is
 * relative to the query's best match (see `tool_index.ts`): 0.3 keeps tools scoring at least
 * 30 % of the best one's fused score.
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { scanCode } from "./code_names.ts";
import { codeQueryText } from "./text.ts";
import type { ToolIndex } from "./tool_index.ts";
import { SelectionError } from "./types.ts";

/** The request side of {@link selectTools}. */
export interface SelectRequest {
  /** The code to run; tool names in it are always selected, its identifiers join the query. */
  code: string;
  /** Natural-language intent, the main part of the query. */
  intent?: string;
  /** Ids (`server.tool`) the caller asked for; unknown ids are skipped. */
  explicit?: string[];
  /** Most tools in total (explicit and code-named tools may exceed it on their own). */
  maxTools: number;
  /** Least fused score in [0, 1] of a ranked tool. */
  minScore: number;
  /** Which tool ids the caller may use; default: all. */
  allowed?: (id: string) => boolean;
  /**
   * Longest wait for the query embedding (ms); past it the ranking is lexical for this
   * selection (see {@link ToolIndex.search}). Unset: wait for it.
   */
  embeddingBudgetMs?: number;
  /** Whose execution it is (a tenant id): query embeddings are cached per scope. */
  scope?: string;
}

/** Picks the tools for one execution (see the module docs for the order and the rules). */
export async function selectTools(index: ToolIndex, req: SelectRequest): Promise<ToolInfo[]> {
  if (!Number.isInteger(req.maxTools) || req.maxTools < 0) {
    throw new SelectionError("invalid_argument", "maxTools must be a non-negative integer");
  }
  if (!(req.minScore >= 0 && req.minScore <= 1)) {
    throw new SelectionError("invalid_argument", "minScore must be a number in [0, 1]");
  }
  const allowed = req.allowed ?? (() => true);
  const chosen = new Map<string, ToolInfo>();
  for (const id of req.explicit ?? []) {
    const tool = index.get(id);
    if (tool && allowed(tool.id)) chosen.set(tool.id, tool);
  }
  const scanned = scanCode(req.code, index.tools());
  for (const tool of scanned.tools) {
    if (allowed(tool.id)) chosen.set(tool.id, tool);
  }

  const room = req.maxTools - chosen.size;
  const query = [req.intent ?? "", codeQueryText(scanned.rest)].filter((s) => s.trim()).join(" ");
  if (room > 0 && query) {
    const ranked = await index.search(
      query,
      room,
      (tool) => !chosen.has(tool.id) && allowed(tool.id),
      { budgetMs: req.embeddingBudgetMs, scope: req.scope },
    );
    for (const { tool, score } of ranked) {
      if (score >= req.minScore) chosen.set(tool.id, tool);
    }
  }
  return [...chosen.values()];
}

/**
 * Finds the tools that code names explicitly: `ns.fn(` where `ns` is a server and `fn`
 * matches a tool name after normalisation (lowercase, non-alphanumerics removed, so
 * `readFile`, `read_file` and `read-file` are the same), and `tools.call("server.tool"`.
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { normalizeName } from "./text.ts";

const MEMBER_CALL = /([A-Za-z_$][\w$]*)\s*(?:\?\.|\.)\s*([A-Za-z_$][\w$]*)\s*(?:\?\.\s*)?\(/g;
const BRACKET_CALL = /([A-Za-z_$][\w$]*)\s*\[\s*(["'`])([^"'`\\]+)\2\s*\]\s*\(/g;
const TOOLS_CALL = /\btools\s*\.\s*call\s*\(\s*(["'`])([^"'`\\]+)\1/g;

/** The tools of `catalogue` named in `code`, in order of first mention, without repeats. */
export function toolsNamedInCode(code: string, catalogue: readonly ToolInfo[]): ToolInfo[] {
  return scanCode(code, catalogue).tools;
}

/**
 * Like {@link toolsNamedInCode}, and also returns the code with those calls blanked out, so
 * the names of tools already chosen do not pull their siblings into the ranked query.
 */
export function scanCode(
  code: string,
  catalogue: readonly ToolInfo[],
): { tools: ToolInfo[]; rest: string } {
  const byServer = new Map<string, Map<string, ToolInfo>>();
  const byId = new Map<string, ToolInfo>();
  for (const tool of catalogue) {
    byId.set(tool.id, tool);
    const key = normalizeName(tool.server);
    let names = byServer.get(key);
    if (!names) byServer.set(key, names = new Map());
    const name = normalizeName(tool.name);
    if (!names.has(name)) names.set(name, tool);
  }

  const hits: Array<[index: number, length: number, tool: ToolInfo]> = [];
  for (const m of code.matchAll(MEMBER_CALL)) {
    const tool = byServer.get(normalizeName(m[1]))?.get(normalizeName(m[2]));
    if (tool) hits.push([m.index!, m[0].length, tool]);
  }
  for (const m of code.matchAll(BRACKET_CALL)) {
    const tool = byServer.get(normalizeName(m[1]))?.get(normalizeName(m[3]));
    if (tool) hits.push([m.index!, m[0].length, tool]);
  }
  for (const m of code.matchAll(TOOLS_CALL)) {
    const tool = byId.get(m[2]);
    if (tool) hits.push([m.index!, m[0].length, tool]);
  }
  hits.sort((a, b) => a[0] - b[0]);
  let rest = code;
  for (const [index, length] of hits) {
    rest = rest.slice(0, index) + " ".repeat(length) + rest.slice(index + length);
  }
  return { tools: [...new Set(hits.map(([, , tool]) => tool))], rest };
}

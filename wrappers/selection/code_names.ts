/**
 * Finds the tools that code names explicitly: `ns.fn(` where `ns` is a server and `fn`
 * matches a tool name after normalisation (lowercase, non-alphanumerics removed, so
 * `readFile`, `read_file` and `read-file` are the same), `ns["fn"](`, and
 * `tools.call("server.tool"`.
 *
 * The code is untrusted and scanned on the gateway's shared event loop, so the scan is a
 * single forward pass over identifier tokens, linear in the code's length on every input:
 * backtracking patterns such as `([\w$]*)\s*\.` are quadratic on a long identifier-like
 * run (50,000 characters in a comment held the gateway for seconds).
 *
 * @module
 */
import type { ToolInfo } from "../../upstream/mod.ts";
import { normalizeName } from "./text.ts";

/** Identifiers longer than this cannot name a server or tool and are skipped. */
const MAX_NAME_CHARS = 256;

/** The tools of `catalogue` named in `code`, in order of first mention, without repeats. */
export function toolsNamedInCode(code: string, catalogue: readonly ToolInfo[]): ToolInfo[] {
  return scanCode(code, catalogue).tools;
}

interface Token {
  start: number;
  end: number;
  text: string;
}

/**
 * The identifier tokens of `code` (maximal `[A-Za-z_$][\w$]*` runs), as start and end
 * offsets in one forward pass over the UTF-16 units: no match objects and no strings are
 * made for the (possibly hundreds of thousands of) identifiers that name nothing.
 */
class Tokens {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly #code: string;

  constructor(code: string) {
    this.#code = code;
    const n = code.length;
    let i = 0;
    while (i < n) {
      const c = code.charCodeAt(i);
      if (!isIdentifierStart(c)) {
        i++;
        continue;
      }
      const start = i++;
      while (i < n && isIdentifierPart(code.charCodeAt(i))) i++;
      this.starts.push(start);
      this.ends.push(i);
    }
  }

  /** How many tokens there are. */
  get count(): number {
    return this.starts.length;
  }

  /** Token `i` with its text, or `undefined` past the last. */
  at(i: number): Token | undefined {
    if (i >= this.starts.length) return undefined;
    return {
      start: this.starts[i],
      end: this.ends[i],
      text: this.#code.slice(this.starts[i], this.ends[i]),
    };
  }
}

/** `[A-Za-z_$]` */
function isIdentifierStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
}

/** `[\w$]` */
function isIdentifierPart(c: number): boolean {
  return isIdentifierStart(c) || (c >= 48 && c <= 57);
}

/**
 * `normalizeName` of `code[start, end)` without a regular expression or a copy for the
 * common token that is already lowercase letters and digits.
 */
function tokenKey(code: string, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = code.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) {
      return normalizeName(code.slice(start, end));
    }
  }
  return code.slice(start, end);
}

/**
 * Like {@link toolsNamedInCode}, and also returns the code with those calls blanked out, so
 * the names of tools already chosen do not pull their siblings into the ranked query.
 * Linear in `code.length` (UTF-16 units) plus the catalogue size.
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

  const tokens = new Tokens(code);
  const hits: Array<[index: number, length: number, tool: ToolInfo]> = [];
  for (let i = 0; i < tokens.count; i++) {
    const start = tokens.starts[i];
    const end = tokens.ends[i];
    if (end - start > MAX_NAME_CHARS) continue;
    if (end - start === 5 && code.startsWith("tools", start)) {
      const hit = toolsCallAt(code, tokens, i, byId);
      if (hit) {
        hits.push(hit);
        continue;
      }
    }
    const names = byServer.get(tokenKey(code, start, end));
    if (!names) continue;
    const head = tokens.at(i)!;
    const hit = memberCallAt(code, tokens, i, names) ?? bracketCallAt(code, head, names);
    if (hit) hits.push(hit);
  }
  hits.sort((a, b) => a[0] - b[0]);
  return { tools: [...new Set(hits.map(([, , tool]) => tool))], rest: blank(code, hits) };
}

/** `ns . fn (` or `ns?.fn?.(` starting at token `i`. */
function memberCallAt(
  code: string,
  tokens: Tokens,
  i: number,
  names: Map<string, ToolInfo>,
): [number, number, ToolInfo] | undefined {
  const head = tokens.at(i)!;
  let at = skipSpace(code, head.end);
  if (code[at] === "?" && code[at + 1] === ".") at += 2;
  else if (code[at] === ".") at += 1;
  else return undefined;
  at = skipSpace(code, at);
  const fn = tokens.at(i + 1);
  if (!fn || fn.start !== at || fn.text.length > MAX_NAME_CHARS) return undefined;
  const tool = names.get(normalizeName(fn.text));
  if (!tool) return undefined;
  let end = skipSpace(code, fn.end);
  if (code[end] === "?" && code[end + 1] === ".") end = skipSpace(code, end + 2);
  if (code[end] !== "(") return undefined;
  return [head.start, end + 1 - head.start, tool];
}

/** `ns [ "fn" ] (` after the token `head`. */
function bracketCallAt(
  code: string,
  head: Token,
  names: Map<string, ToolInfo>,
): [number, number, ToolInfo] | undefined {
  let at = skipSpace(code, head.end);
  if (code[at] !== "[") return undefined;
  const literal = stringAt(code, skipSpace(code, at + 1));
  if (!literal) return undefined;
  const tool = names.get(normalizeName(literal.value));
  if (!tool) return undefined;
  at = skipSpace(code, literal.end);
  if (code[at] !== "]") return undefined;
  at = skipSpace(code, at + 1);
  if (code[at] !== "(") return undefined;
  return [head.start, at + 1 - head.start, tool];
}

/** `tools . call ( "server.tool"` starting at token `i` (which is `tools`). */
function toolsCallAt(
  code: string,
  tokens: Tokens,
  i: number,
  byId: Map<string, ToolInfo>,
): [number, number, ToolInfo] | undefined {
  const head = tokens.at(i)!;
  // `\btools`: not the tail of a longer word such as `mytools` (tokens are maximal).
  let at = skipSpace(code, head.end);
  if (code[at] !== ".") return undefined;
  at = skipSpace(code, at + 1);
  const call = tokens.at(i + 1);
  if (!call || call.start !== at || call.text !== "call") return undefined;
  at = skipSpace(code, call.end);
  if (code[at] !== "(") return undefined;
  const literal = stringAt(code, skipSpace(code, at + 1));
  if (!literal) return undefined;
  const tool = byId.get(literal.value);
  if (!tool) return undefined;
  return [head.start, literal.end - head.start, tool];
}

/**
 * A non-empty string literal at `at` without escapes (`"…"`, `'…'` or a backtick), or
 * `undefined`. The scan stops at the first quote or backslash, and no other scan can
 * start inside the characters it passed over, so all such scans together stay linear.
 */
function stringAt(code: string, at: number): { value: string; end: number } | undefined {
  const quote = code[at];
  if (quote !== '"' && quote !== "'" && quote !== "`") return undefined;
  let end = at + 1;
  while (end < code.length && end - at <= MAX_NAME_CHARS * 2) {
    const c = code[end];
    if (c === '"' || c === "'" || c === "`" || c === "\\") break;
    end++;
  }
  if (code[end] !== quote || end === at + 1) return undefined;
  return { value: code.slice(at + 1, end), end: end + 1 };
}

function skipSpace(code: string, at: number): number {
  while (at < code.length && /\s/.test(code[at])) at++;
  return at;
}

/** The code with each hit replaced by spaces of the same length, in one pass. */
function blank(code: string, hits: Array<[number, number, ToolInfo]>): string {
  if (hits.length === 0) return code;
  const pieces: string[] = [];
  let cursor = 0;
  for (const [index, length] of hits) {
    const end = index + length;
    if (end <= cursor) continue;
    const from = Math.max(index, cursor);
    pieces.push(code.slice(cursor, from), " ".repeat(end - from));
    cursor = end;
  }
  pieces.push(code.slice(cursor));
  return pieces.join("");
}

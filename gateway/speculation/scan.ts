/**
 * The static scan for literal tool calls: parses the code with the TypeScript compiler
 * (`ts.createSourceFile`, syntax only, no type checking) and lists the calls whose tool and
 * arguments are written out as literals, so they can be started before the code runs:
 *
 * - `ns.fn({ … })` and `ns.fn()` where `ns` is a server's namespace and `fn` one of its tools
 *   (resolved by the same {@linkcode NameMap} the sandbox uses);
 * - `tools.call("server.tool", { … })`.
 *
 * Arguments count as literal when they are strings (quotes or a template without
 * substitutions), numbers (with an optional leading `-`), `true`, `false`, `null`, and object
 * and array literals of those with plain keys. Anything else (an identifier, a template with
 * substitutions, a spread, a computed key, a call) makes the call unknown and it is skipped.
 * The scan is linear in the code; it stops after `maxNodes` syntax nodes and returns at most
 * `maxCalls` calls, in the order they appear, without duplicates. Code the parser cannot take
 * (nested too deep for its recursion) yields no calls.
 *
 * @module
 */

import ts from "typescript";
import type { NameMap } from "../../wrappers/mod.ts";
import { canonicalJson } from "./canonical.ts";

/** A call found in the code. */
export interface LiteralCall {
  /** The tool id (`server.tool_name`). */
  tool: string;
  /** The arguments, as the code wrote them (placeholders not yet restored). */
  args: Record<string, unknown>;
}

/**
 * A call found by the syntax scan, before tool names are resolved: `namespace.method(args)` or
 * `tools.call(id, args)`. Plain data (it crosses from the scan's Worker).
 */
export type CandidateCall =
  | { namespace: string; method: string; args: Record<string, unknown> }
  | { id: string; args: Record<string, unknown> };

/** Most candidates one syntax scan returns (calls of things that are not tools included). */
export const MAX_CANDIDATES = 512;

/** Bounds of one scan. */
export interface ScanLimits {
  /** Most calls returned. */
  maxCalls: number;
  /** Most syntax nodes visited (default 200,000). */
  maxNodes?: number;
}

/** The most nested an argument literal may be. */
const MAX_LITERAL_DEPTH = 16;

/** Lists the literal tool calls in `code` (see the module documentation). */
export function scanLiteralCalls(code: string, names: NameMap, limits: ScanLimits): LiteralCall[] {
  if (limits.maxCalls <= 0) return [];
  return resolveCandidates(scanCandidates(code, limits.maxNodes), names, limits.maxCalls);
}

/**
 * The tool calls among `candidates` (names resolved with the sandbox's {@linkcode NameMap}),
 * in order, without duplicates, at most `maxCalls`.
 */
export function resolveCandidates(
  candidates: readonly CandidateCall[],
  names: NameMap,
  maxCalls: number,
): LiteralCall[] {
  const found: LiteralCall[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (found.length >= maxCalls) break;
    const tool = "id" in candidate
      ? (names.functions.has(candidate.id) ? candidate.id : undefined)
      : names.toolIdOf(candidate.namespace, candidate.method);
    if (!tool) continue;
    const key = `${tool}\0${canonicalJson(candidate.args)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ tool, args: candidate.args });
  }
  return found;
}

/**
 * The syntax scan alone (no names): every call in `code` shaped like a tool call with literal
 * arguments, in source order, at most {@linkcode MAX_CANDIDATES}, after at most `maxNodes`
 * syntax nodes (default 200,000). Pure and self-contained: it runs in the scan's Worker.
 */
export function scanCandidates(code: string, maxNodes = 200_000): CandidateCall[] {
  const found: CandidateCall[] = [];
  let source: ts.SourceFile;
  try {
    source = ts.createSourceFile("code.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  } catch {
    // The parser recurses: code nested thousands deep overflows its stack. Such code simply
    // gets no prefetch (the parser keeps no state between files).
    return found;
  }
  let visited = 0;
  // Iterative, depth-first in source order: deep nesting cannot overflow the stack.
  const stack: ts.Node[] = [source];
  while (stack.length > 0 && found.length < MAX_CANDIDATES) {
    const node = stack.pop()!;
    if (++visited > maxNodes) break;
    if (ts.isCallExpression(node)) {
      const call = literalCall(node);
      if (call) found.push(call);
    }
    const children: ts.Node[] = [];
    ts.forEachChild(node, (child) => {
      children.push(child);
    });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return found;
}

function literalCall(node: ts.CallExpression): CandidateCall | undefined {
  const callee = node.expression;
  if (!ts.isPropertyAccessExpression(callee) || !ts.isIdentifier(callee.expression)) return;
  if (!ts.isIdentifier(callee.name) || node.questionDotToken || callee.questionDotToken) return;
  const target = callee.expression.text;
  const method = callee.name.text;
  let id: string | undefined;
  let argNode: ts.Expression | undefined;
  if (target === "tools" && method === "call") {
    const first = node.arguments[0];
    if (!first || node.arguments.length > 2) return;
    const value = literalValue(first, 0);
    if (typeof value !== "string") return;
    id = value;
    argNode = node.arguments[1];
  } else {
    if (node.arguments.length > 1) return;
    argNode = node.arguments[0];
  }
  let args: Record<string, unknown> = {};
  if (argNode !== undefined) {
    const value = literalValue(argNode, 0);
    if (
      value === NOT_LITERAL || typeof value !== "object" || value === null || Array.isArray(value)
    ) {
      return;
    }
    args = value as Record<string, unknown>;
  }
  return id === undefined ? { namespace: target, method, args } : { id, args };
}

const NOT_LITERAL: unique symbol = Symbol("not literal");

function literalValue(node: ts.Expression, depth: number): unknown {
  if (depth > MAX_LITERAL_DEPTH) return NOT_LITERAL;
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) node = node.expression;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (
    ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(node.operand)
  ) {
    return -Number(node.operand.text);
  }
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isArrayLiteralExpression(node)) {
    const out: unknown[] = [];
    for (const element of node.elements) {
      if (ts.isSpreadElement(element) || ts.isOmittedExpression(element)) return NOT_LITERAL;
      const value = literalValue(element, depth + 1);
      if (value === NOT_LITERAL) return NOT_LITERAL;
      out.push(value);
    }
    return out;
  }
  if (ts.isObjectLiteralExpression(node)) {
    const out: Record<string, unknown> = {};
    for (const property of node.properties) {
      if (!ts.isPropertyAssignment(property)) return NOT_LITERAL;
      const name = property.name;
      let key: string;
      if (ts.isIdentifier(name) || ts.isStringLiteral(name)) key = name.text;
      else if (ts.isNumericLiteral(name)) key = String(Number(name.text));
      else return NOT_LITERAL;
      // `__proto__: …` in a literal sets the prototype rather than a key: not a plain value.
      if (key === "__proto__") return NOT_LITERAL;
      const value = literalValue(property.initializer, depth + 1);
      if (value === NOT_LITERAL) return NOT_LITERAL;
      out[key] = value;
    }
    return out;
  }
  return NOT_LITERAL;
}

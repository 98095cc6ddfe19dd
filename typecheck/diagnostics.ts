/**
 * TypeScript diagnostics as the caller needs them: positions in the caller's code (not in
 * the wrapper around it), bounded messages, and, when a property name is wrong, the list of
 * the properties that exist.
 *
 * @module
 */

import ts from "typescript";
import type { Diagnostic } from "./protocol.ts";

import { BODY_PREFIX } from "./wrapper.ts";

/** Property names listed in one message at most. */
const MAX_LISTED = 40;

/** "does not exist on type" (2339), "… Did you mean" (2551), object literal excess (2353, 2561). */
const UNKNOWN_PROPERTY = new Set([2339, 2551, 2353, 2561]);

/** The innermost node of `file` that spans `position`. */
function nodeAt(file: ts.SourceFile, position: number): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (node: ts.Node) => {
    if (position < node.getStart(file) || position >= node.getEnd()) return;
    found = node;
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(file, visit);
  return found;
}

/** The properties the code could have meant, or `undefined` when there is no type to ask. */
function expectedProperties(
  checker: ts.TypeChecker,
  file: ts.SourceFile,
  diagnostic: ts.Diagnostic,
): string[] | undefined {
  if (diagnostic.start === undefined) return undefined;
  const node = nodeAt(file, diagnostic.start);
  if (!node) return undefined;
  let type: ts.Type | undefined;
  const parent = node.parent;
  if (parent && ts.isPropertyAccessExpression(parent) && parent.name === node) {
    type = checker.getTypeAtLocation(parent.expression);
  } else if (parent && ts.isObjectLiteralElementLike(parent) && parent.name === node) {
    const literal = parent.parent;
    if (ts.isObjectLiteralExpression(literal)) type = checker.getContextualType(literal);
  } else if (parent && ts.isShorthandPropertyAssignment(parent)) {
    type = checker.getContextualType(parent.parent as ts.ObjectLiteralExpression);
  }
  if (!type) return undefined;
  const apparent = checker.getApparentType(type);
  // The members of a union's object parts (`{ path } | undefined` when args are optional).
  const parts = apparent.isUnion() ? apparent.types : [apparent];
  const names = new Set<string>();
  for (const part of parts) {
    if (part.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) continue;
    // The members of Object.prototype and Function.prototype are not what anyone meant.
    if (checker.getIndexInfosOfType(part).length > 0 && part.getProperties().length === 0) continue;
    for (const symbol of checker.getPropertiesOfType(part)) {
      const name = symbol.getName();
      if (!name.startsWith("__@")) names.add(name);
    }
  }
  return names.size > 0 ? [...names].sort() : undefined;
}

/**
 * The ids of `interface AirlockTools` (the declarations' tool map) when `diagnostic` is about
 * an argument that is no `AirlockToolId` (`tools.call("no.such_tool")`).
 */
function knownToolIds(
  checker: ts.TypeChecker,
  file: ts.SourceFile,
  diagnostic: ts.Diagnostic,
): string[] | undefined {
  if (diagnostic.code !== 2345 || diagnostic.start === undefined) return undefined;
  if (!ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n").includes("'AirlockToolId'")) {
    return undefined;
  }
  const node = nodeAt(file, diagnostic.start);
  if (!node) return undefined;
  const map = checker.getSymbolsInScope(node, ts.SymbolFlags.Interface)
    .find((symbol) => symbol.getName() === "AirlockTools");
  if (!map) return undefined;
  return checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(map))
    .map((symbol) => JSON.stringify(symbol.getName())).sort();
}

/** " a, b, … (N more)." for a list of names. */
function listed(names: string[]): string {
  const more = names.length > MAX_LISTED ? `, … (${names.length - MAX_LISTED} more)` : "";
  return `${names.slice(0, MAX_LISTED).join(", ")}${more}.`;
}

/** `text` cut to `max` UTF-16 code units (never inside a surrogate pair), marked with "…". */
export function cutMessage(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const unit = text.charCodeAt(end - 1);
  if (unit >= 0xd800 && unit <= 0xdbff) end--;
  return text.slice(0, end) + "…";
}

/** Options of {@link toDiagnostics}. */
export interface MappingOptions {
  /** Diagnostics returned at most. */
  maxDiagnostics: number;
  /** Longest message, in UTF-16 code units. */
  maxMessageChars: number;
  /** Lines of the caller's code (positions past its end are put on its last line). */
  codeLines: number;
}

/**
 * Maps TypeScript's diagnostics of the wrapped code file to the caller's code: 1-based line
 * and column (the column on line 1 does not count {@link BODY_PREFIX}), the message
 * flattened and cut, and, for an unknown property, "Expected properties: a, b, …".
 */
export function toDiagnostics(
  diagnostics: readonly ts.Diagnostic[],
  file: ts.SourceFile,
  checker: ts.TypeChecker | undefined,
  options: MappingOptions,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of diagnostics) {
    if (out.length >= options.maxDiagnostics) break;
    let line = 1;
    let column = 1;
    if (d.start !== undefined) {
      const at = file.getLineAndCharacterOfPosition(d.start);
      line = at.line + 1;
      column = at.line === 0
        ? Math.max(1, at.character - BODY_PREFIX.length + 1)
        : at.character + 1;
      if (line > options.codeLines) {
        // The wrapper's closing brace (an unclosed block in the code) or an added line.
        line = options.codeLines;
        column = 1;
      }
    }
    let message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (checker && UNKNOWN_PROPERTY.has(d.code)) {
      const names = expectedProperties(checker, file, d);
      if (names) message += `\nExpected properties: ${listed(names)}`;
    }
    if (checker) {
      const ids = knownToolIds(checker, file, d);
      if (ids) message += `\nTool ids the code may call: ${listed(ids)}`;
    }
    out.push({ line, column, message: cutMessage(message, options.maxMessageChars), code: d.code });
  }
  return out;
}

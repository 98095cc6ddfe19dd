/**
 * Tools as a caller is shown them: everything an upstream server wrote (descriptions, server
 * instructions, schemas, annotations) redacted like any output, schema property names
 * included. The one function behind `GET /v1/tools`, the declaration files (`/v1/types`, the
 * `airlock://types` resources) and the declarations `check: true` checks against, so the
 * type checker never holds a value the caller could not read.
 *
 * @module
 */

import { DISPLAY_TAG, type RedactionOptions, redactText, redactValue, Vault } from "../pii/mod.ts";
import type { ToolInfo } from "../upstream/mod.ts";

/** Schema keywords whose object's keys are property names (data), not keywords. */
const NAME_MAPS = new Set(["properties", "patternProperties"]);

/**
 * A copy of `schema` whose property names (the keys of every `properties` and
 * `patternProperties` map, at any depth) went through `rename`. Iterative: a deeply nested
 * schema cannot overflow the stack. Arrays and objects are copied; other leaves are kept.
 */
export function renamePropertyNames(schema: unknown, rename: (name: string) => string): unknown {
  const copy = (value: unknown): unknown =>
    Array.isArray(value)
      ? new Array(value.length)
      : value !== null && typeof value === "object"
      ? {}
      : value;
  const root = copy(schema);
  const stack: { from: unknown; to: unknown; names: boolean }[] = [];
  if (root !== schema) stack.push({ from: schema, to: root, names: false });
  while (stack.length > 0) {
    const { from, to, names } = stack.pop()!;
    if (Array.isArray(from)) {
      const out = to as unknown[];
      for (let i = 0; i < from.length; i++) {
        out[i] = copy(from[i]);
        if (out[i] !== from[i]) stack.push({ from: from[i], to: out[i], names: false });
      }
      continue;
    }
    const out = to as Record<string, unknown>;
    for (const [key, child] of Object.entries(from as Record<string, unknown>)) {
      const value = copy(child);
      const name = names ? rename(key) : key;
      // A placeholder that two names share keeps the first (both were personal data).
      if (Object.hasOwn(out, name)) continue;
      Object.defineProperty(out, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      if (value !== child) {
        stack.push({ from: child, to: value, names: !names && NAME_MAPS.has(key) });
      }
    }
  }
  return root;
}

/**
 * `tool` as the caller is shown it: description, server instructions, schemas (values and
 * property names) and annotations redacted with `redaction`. In tokenize mode one vault per
 * tool, so a property name and the same text in its `required` list get the same placeholder.
 */
export function toolForCaller(tool: ToolInfo, redaction: RedactionOptions): ToolInfo {
  const options: RedactionOptions = redaction.mode === "tokenize"
    // The display tag: the same listing every time, and never restorable in a session.
    ? { ...redaction, vault: new Vault({ tag: DISPLAY_TAG }) }
    : redaction;
  const text = (value: string) => redactText(value, options).text;
  const schema = (value: unknown) =>
    redactValue(renamePropertyNames(value, text), options).value as ToolInfo["inputSchema"];
  const shown: ToolInfo = {
    ...tool,
    description: text(tool.description),
    inputSchema: schema(tool.inputSchema),
  };
  if (tool.outputSchema) {
    shown.outputSchema = schema(tool.outputSchema) as ToolInfo["outputSchema"];
  }
  if (tool.annotations) {
    shown.annotations = redactValue(tool.annotations, options).value as ToolInfo["annotations"];
  }
  if (typeof tool.serverInstructions === "string") {
    shown.serverInstructions = text(tool.serverInstructions);
  }
  return shown;
}

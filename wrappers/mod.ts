/**
 * Wrappers: everything the sandbox code sees of the upstream tools.
 *
 * - {@link buildNameMap}: deterministic namespace and function names for a catalogue, and
 *   the reverse lookup the gateway uses for lazily bound calls.
 * - {@link schemaToType}: JSON Schema → TypeScript type expression (never throws).
 * - {@link toolSignature} / {@link declarationsFor}: the declarations shown to the model
 *   and checked by `deno check`.
 * - {@link generatePrelude}: the plain-JavaScript prelude that defines the namespaces and
 *   `tools` inside the sandbox.
 *
 * @module
 */
/** The catalogue types the wrappers consume (owned by `upstream/`). */
export type { JsonSchema, ToolInfo } from "../upstream/mod.ts";
export {
  buildNameMap,
  camelCase,
  isIdentifier,
  isIdentifierName,
  type NameMap,
  NAMESPACE_RESERVED_KEYS,
  RESERVED_WORDS,
  SANDBOX_GLOBALS,
  toIdentifier,
} from "./names.ts";
export {
  type GeneratedType,
  jsdoc,
  jsdocText,
  propertyKey,
  schemaToType,
  type TypeAlias,
  type TypeGenOptions,
} from "./typegen.ts";
export {
  type DeclarationOptions,
  declarationsFor,
  TOOL_ERROR_DECLARATION,
  TOOLS_DECLARATION,
  toolSignature,
  typedToolsDeclaration,
} from "./declarations.ts";
export { generatePrelude, type PreludeInput } from "./prelude.ts";

// Tool selection: embedders, the hybrid index, and choosing tools for a request.
export * from "./selection/mod.ts";

/**
 * TypeScript declarations of the sandbox API: one signature per tool (for search results
 * and the model's context) and a `.d.ts`-style text declaring every namespace, `tools` and
 * `ToolError` (checked with `deno check` by the tests).
 *
 * @module
 */
import type { ToolInfo } from "../upstream/mod.ts";
import { buildNameMap, type NameMap } from "./names.ts";
import { jsdoc, jsdocText, schemaToType } from "./typegen.ts";

/** Longest tool description kept in a declaration, in characters. */
const MAX_DESCRIPTION = 4000;
/** Longest server `instructions` kept in a namespace comment, in characters. */
const MAX_INSTRUCTIONS = 1000;

/** The declaration of `ToolError`, the class the harness throws for MCP tool errors. */
export const TOOL_ERROR_DECLARATION =
  `/** An upstream MCP tool reported an error (its result had \`isError\`, or the call failed). */
declare class ToolError extends Error {
  /** The id of the tool that failed (\`server.tool_name\`), when known. */
  readonly tool?: string;
}
`;

/** The declaration of the \`tools\` object every execution gets. */
export const TOOLS_DECLARATION =
  `/** Reaches any tool the caller may use, whether or not it has a typed wrapper. */
declare const tools: {
  /** Calls a tool by its id \`server.tool_name\` (for example \`"filesystem.read_file"\`). */
  call(id: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Finds tools by what they do; \`k\` results (default 10), best first. */
  search(
    query: string,
    k?: number,
  ): Promise<{ id: string; description: string; signature: string }[]>;
};
`;

/**
 * The declaration of `tools` with `call` typed by literal id: `tools.call("ns.tool", args)`
 * takes that tool's argument type and returns its result type; an id that is not one of
 * `ids` is an error when it is a literal, and any string typed as `string` is allowed
 * (`Promise<unknown>`, as at run time). `ids` maps each tool id to its method, written
 * `namespace.function`.
 */
export function typedToolsDeclaration(ids: ReadonlyMap<string, string>): string {
  const entries = [...ids].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, method]) => `  ${JSON.stringify(id)}: typeof ${method};\n`).join("");
  return `/** Every tool the code may call, by id (\`tools.call\` takes their types). */
interface AirlockTools {
${entries}}
/** The id of a tool the code may call. */
type AirlockToolId = keyof AirlockTools & string;
/** Reaches any tool the caller may use, whether or not it has a typed wrapper. */
declare const tools: {
  /**
   * Calls a tool by its id \`server.tool_name\` (for example \`"filesystem.read_file"\`).
   * A literal id takes that tool's argument and result types.
   */
  call<K extends string>(
    id: string extends K ? K : K extends AirlockToolId ? K : AirlockToolId,
    ...args: string extends K ? [args?: Record<string, unknown>]
      : K extends AirlockToolId ? Parameters<AirlockTools[K]>
      : [args?: Record<string, unknown>]
  ): string extends K ? Promise<unknown> : K extends AirlockToolId ? ReturnType<AirlockTools[K]>
    : Promise<unknown>;
  /** Finds tools by what they do; \`k\` results (default 10), best first. */
  search(
    query: string,
    k?: number,
  ): Promise<{ id: string; description: string; signature: string }[]>;
};
`;
}

/** The index signature that lets code call a tool that has no typed wrapper. */
const LAZY_MEMBER = "[tool: string]: (args?: any) => Promise<unknown>;";

function clip(text: unknown, max: number): string {
  if (typeof text !== "string") return "";
  return text.length > max ? text.slice(0, max) + "…" : text;
}

function pascal(id: string): string {
  return id.replace(/^[_$]*/, "").replace(/^./, (c) => c.toUpperCase()) || "X";
}

/** True when the input schema lets the tool be called with `{}` (so `args` is optional). */
function argsOptional(schema: unknown): boolean {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return true;
  const s = schema as Record<string, unknown>;
  if (["$ref", "anyOf", "oneOf", "allOf"].some((k) => Object.hasOwn(s, k))) return false;
  const required = Object.hasOwn(s, "required") ? s.required : undefined;
  return !Array.isArray(required) || required.length === 0;
}

/** Types that cannot describe the one object argument wrappers insist on. */
const NOT_AN_OBJECT = new Set(["unknown", "never", "string", "number", "boolean", "null"]);

/** The args type of a tool: an object type (wrappers reject anything but an object). */
function argsType(type: string): string {
  return NOT_AN_OBJECT.has(type) || type.endsWith("[]") ? "Record<string, unknown>" : type;
}

/** `@param args.x description` lines for the documented top-level properties. */
function paramDocs(schema: unknown): string[] {
  if (typeof schema !== "object" || schema === null) return [];
  const props = Object.hasOwn(schema, "properties")
    ? (schema as Record<string, unknown>).properties
    : undefined;
  if (typeof props !== "object" || props === null || Array.isArray(props)) return [];
  const lines: string[] = [];
  for (const [key, sub] of Object.entries(props)) {
    if (typeof sub !== "object" || sub === null || !Object.hasOwn(sub, "description")) continue;
    const description = (sub as Record<string, unknown>).description;
    if (typeof description !== "string" || !description.trim()) continue;
    const name = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    lines.push(`@param args${name} ${clip(description, 500).replace(/\s+/g, " ")}`);
  }
  return lines;
}

/**
 * The TypeScript declaration the code would call for one tool: its description as JSDoc
 * (with `@param` lines for documented arguments), then
 * `namespace.fnName(args: {...}): Promise<Output>` on one line. Recursive types degrade
 * to `unknown` here; {@link declarationsFor} names them instead.
 *
 * @param tool the tool
 * @param names the catalogue's name map, so the names match the sandbox's (collisions are
 *   resolved across the whole catalogue); built from this tool alone when omitted
 */
export function toolSignature(tool: ToolInfo, names?: NameMap): string {
  const map = names ?? buildNameMap([tool]);
  const ns = map.namespaces.get(tool.server) ?? buildNameMap([tool]).namespaces.get(tool.server)!;
  const fn = map.functions.get(tool.id) ?? buildNameMap([tool]).functions.get(tool.id)!;
  const input = argsType(schemaToType(tool.inputSchema).type);
  const output = tool.outputSchema === undefined ? "unknown" : schemaToType(tool.outputSchema).type;
  const doc = jsdoc([clip(tool.description, MAX_DESCRIPTION), ...paramDocs(tool.inputSchema)], "");
  const q = argsOptional(tool.inputSchema) ? "?" : "";
  return `${doc}${ns}.${fn}(args${q}: ${input}): Promise<${output}>`;
}

/** Options of {@link declarationsFor}. */
export interface DeclarationOptions {
  /** The catalogue's name map; built from `tools` and `servers` when omitted. */
  names?: NameMap;
  /** Servers that get a namespace even when none of `tools` belongs to them. */
  servers?: readonly string[];
  /**
   * Whether each namespace has an index signature for tools bound lazily by name (default
   * true). The type checker passes false with every tool the caller may use in `tools`, so
   * a name that is no tool of the caller's is an error.
   */
  lazy?: boolean;
  /**
   * Whether `tools.call` is typed by literal id over `tools` (see
   * {@link typedToolsDeclaration}); default false (`call(id: string, args?)`).
   */
  typedCall?: boolean;
  /** Whether the text starts with `ToolError` and `tools` (default true). */
  common?: boolean;
}

/**
 * A `.d.ts`-style text declaring `ToolError`, `tools` and one `declare const` per
 * namespace with a typed method per tool (JSDoc on tools and properties) and an index
 * signature for tools bound lazily by name. Recursive schema types become type aliases
 * named `<Namespace>_<Function>_<Def>` (`…_Out_<Def>` for outputs). Deterministic:
 * namespaces and functions are sorted.
 *
 * @param tools the tools that get typed methods
 */
export function declarationsFor(
  tools: readonly ToolInfo[],
  options: DeclarationOptions = {},
): string {
  const servers = options.servers ?? [];
  const names = options.names ?? buildNameMap(tools, servers);
  const byServer = new Map<string, ToolInfo[]>();
  for (const server of servers) byServer.set(server, []);
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.id)) continue;
    seen.add(tool.id);
    if (!byServer.has(tool.server)) byServer.set(tool.server, []);
    byServer.get(tool.server)!.push(tool);
  }

  const usedAliasNames = new Set<string>();
  const callable = new Map<string, string>();
  const aliasLines: string[] = [];
  const namespaceBlocks: string[] = [];
  const entries = [...byServer].map(([server, list]) => ({
    server,
    list,
    ns: names.namespaces.get(server) ?? buildNameMap([], [server]).namespaces.get(server)!,
  })).sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));

  for (const { server, list, ns } of entries) {
    const methods = list.map((tool) => {
      const fn = names.functions.get(tool.id) ??
        buildNameMap([tool]).functions.get(tool.id)!;
      return { tool, fn };
    }).sort((a, b) => (a.fn < b.fn ? -1 : a.fn > b.fn ? 1 : 0));

    const members: string[] = [];
    for (const { tool, fn } of methods) {
      const prefix = `${pascal(ns)}_${pascal(fn)}_`;
      const input = schemaToType(tool.inputSchema, {
        docs: true,
        indent: "  ",
        aliasPrefix: prefix,
        usedAliasNames,
      });
      const output = tool.outputSchema === undefined ? undefined : schemaToType(tool.outputSchema, {
        docs: true,
        indent: "  ",
        aliasPrefix: `${prefix}Out_`,
        usedAliasNames,
      });
      for (const alias of [...input.aliases, ...output?.aliases ?? []]) {
        aliasLines.push(`type ${alias.name} = ${alias.type};\n`);
      }
      const doc = jsdoc(
        [clip(tool.description, MAX_DESCRIPTION), `Tool id: \`${tool.id}\`.`],
        "  ",
      );
      const q = argsOptional(tool.inputSchema) ? "?" : "";
      callable.set(tool.id, `${ns}.${fn}`);
      members.push(
        `${doc}  ${fn}(args${q}: ${argsType(input.type)}): Promise<${
          output?.type ?? "unknown"
        }>;\n`,
      );
    }
    if (options.lazy !== false) {
      members.push(
        `  /** Any other tool of this server, by its camelCase name; bound when first called. */\n  ${LAZY_MEMBER}\n`,
      );
    }
    const instructions = list.find((t) => typeof t.serverInstructions === "string")
      ?.serverInstructions;
    const head = jsdoc(
      [
        `Tools of the upstream MCP server \`${jsdocText(server).replace(/`/g, "'")}\`.`,
        clip(instructions, MAX_INSTRUCTIONS),
      ],
      "",
    );
    namespaceBlocks.push(`${head}declare const ${ns}: {\n${members.join("")}};\n`);
  }

  return [
    "// Airlock sandbox API: generated declarations.\n",
    ...options.common === false ? [] : [
      TOOL_ERROR_DECLARATION,
      options.typedCall ? typedToolsDeclaration(callable) : TOOLS_DECLARATION,
    ],
    ...aliasLines,
    ...namespaceBlocks,
  ].join("\n");
}

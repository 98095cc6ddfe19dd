import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { buildNameMap, declarationsFor, toolSignature } from "../../wrappers/mod.ts";
import { fixtureCatalogue, fixtureTools, tool } from "./_helpers.ts";
import { denoCheck } from "./_check.ts";

Deno.test("toolSignature: filesystem.read_file", () => {
  const readFile = fixtureTools("filesystem").find((t) => t.name === "read_file")!;
  assertEquals(
    toolSignature(readFile),
    "/**\n" +
      " * Read the complete contents of a file as text. DEPRECATED: Use read_text_file instead.\n" +
      " * @param args.tail If provided, returns only the last N lines of the file\n" +
      " * @param args.head If provided, returns only the first N lines of the file\n" +
      " */\n" +
      "filesystem.readFile(args: { path: string; tail?: number; head?: number }): " +
      "Promise<{ content: string }>",
  );
});

Deno.test("toolSignature: optional args, no output schema, one-line description", () => {
  const sig = toolSignature(fixtureTools("everything").find((t) => t.name === "get-env")!);
  assertEquals(
    sig,
    "/** Returns all environment variables, helpful for debugging MCP server configuration */\n" +
      "everything.getEnv(args?: Record<string, unknown>): Promise<unknown>",
  );
});

Deno.test("toolSignature: uses the catalogue's names for collisions and odd servers", () => {
  const a = tool("my-server", "read_file", { type: "object" });
  const b = tool("my-server", "readFile", { type: "object" }, { description: "x */ y" });
  const names = buildNameMap([a, b]);
  assertEquals(
    toolSignature(b, names),
    "/** x *\\/ y */\nmyServer.readFile(args?: Record<string, unknown>): Promise<unknown>",
  );
  assert(toolSignature(a, names).startsWith("myServer.readFile_2(args?: "));
  // Without the name map the tool is named on its own.
  assert(toolSignature(a).startsWith("myServer.readFile(args?: "));
});

Deno.test("toolSignature: recursive and malformed schemas still give a callable signature", () => {
  const rec = tool("s", "tree", {
    type: "object",
    properties: { node: { $ref: "#/$defs/N" } },
    $defs: {
      N: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/$defs/N" } } } },
    },
  });
  assertEquals(
    toolSignature(rec),
    "s.tree(args?: { node?: { kids?: unknown[] } }): Promise<unknown>",
  );
  const odd = tool("s", "odd", {
    type: "object",
    properties: { "user-id": { type: "string", description: "Who */ is it" } },
  });
  assertEquals(
    toolSignature(odd),
    '/** @param args["user-id"] Who *\\/ is it */\ns.odd(args?: { "user-id"?: string }): Promise<unknown>',
  );
  const bad = tool("s", "bad", "nonsense" as unknown as Record<string, unknown>);
  assertEquals(toolSignature(bad), "s.bad(args?: Record<string, unknown>): Promise<unknown>");
  const notObject = tool("s", "str", { type: "string" });
  assertEquals(toolSignature(notObject), "s.str(args?: Record<string, unknown>): Promise<unknown>");
});

/** Usage that must type-check against the fixture declarations. */
const FIXTURE_USAGE = `
const file = await filesystem.readFile({ path: "notes.txt", head: 3 });
const upper: string = file.content.toUpperCase();
const media = await filesystem.readMediaFile({ path: "a.png" });
for (const part of media.content) {
  if (part.type === "resource") console.log(part.resource.uri);
  else console.log(part.mimeType, upper);
}
const graph = await memory.readGraph();
console.log(graph.entities.map((e) => e.observations.length), graph.relations[0]?.from);
await memory.createEntities({ entities: [{ name: "a", entityType: "t", observations: [] }] });
const sum: unknown = await everything.getSum({ a: 1, b: 2 });
await everything.getEnv();
// Lazily bound: any other name compiles and returns unknown.
const other: unknown = await filesystem.someToolNotSelected({ any: "thing" });
const byId: unknown = await tools.call("filesystem.read_file", { path: "x" });
const found = await tools.search("read a file", 3);
console.log(found[0].id, found[0].signature, sum, other, byId);
try {
  await filesystem.readFile({ path: "missing" });
} catch (e) {
  if (e instanceof ToolError) console.log(e.tool, e.message);
}
// @ts-expect-error path must be a string
await filesystem.readFile({ path: 1 });
// @ts-expect-error path is required
await filesystem.readFile({});
// @ts-expect-error messageType is an enum
await everything.getAnnotatedMessage({ messageType: "fatal" });
`;

Deno.test("declarationsFor: the fixture catalogue passes deno check with real usage", async () => {
  const catalogue = fixtureCatalogue();
  const text = declarationsFor(catalogue);
  assertIncludes(text, "declare const filesystem: {\n");
  assertIncludes(text, "declare const tools: {\n");
  assertIncludes(text, "declare class ToolError extends Error {\n");
  assertIncludes(text, "  readFile(args: {\n    path: string;\n");
  assertIncludes(
    text,
    "    /** If provided, returns only the last N lines of the file */\n    tail?: number;\n",
  );
  assertIncludes(text, "  getEnv(args?: Record<string, unknown>): Promise<unknown>;\n");
  await denoCheck(text + FIXTURE_USAGE);
});

Deno.test("declarationsFor: also works as a global .d.ts referenced by the code", async () => {
  await denoCheck(FIXTURE_USAGE, declarationsFor(fixtureCatalogue()));
});

Deno.test("declarationsFor: deterministic whatever the input order", () => {
  const catalogue = fixtureCatalogue();
  const shuffled = [...catalogue].reverse();
  shuffled.push(shuffled.shift()!);
  assertEquals(declarationsFor(shuffled), declarationsFor(catalogue));
});

Deno.test("declarationsFor: weird names, recursion and tool-less servers pass deno check", async () => {
  const tree = {
    type: "object",
    properties: { root: { $ref: "#/$defs/Node" } },
    required: ["root"],
    $defs: {
      Node: {
        type: "object",
        properties: {
          name: { type: "string" },
          kids: { type: "array", items: { $ref: "#/$defs/Node" } },
        },
        required: ["name"],
      },
    },
  };
  const tools = [
    tool("my-server", "get-user.info", {
      type: "object",
      properties: { "user-id": { type: "integer", description: "*/ injected(); /*" } },
      required: ["user-id"],
    }, { description: "Gets a user. */ declare const evil: 1; /*" }),
    tool("my-server", "then"),
    tool("my-server", "class"),
    tool("my-server", "3d"),
    tool("my-server", ""),
    tool("my-server", "__proto__"),
    tool("console", "log"),
    tool("tools", "call"),
    tool("trees", "walk", tree, { outputSchema: tree }),
    tool("trees", "walk_again", tree),
  ];
  const text = declarationsFor(tools, { servers: ["empty-server"] });
  assertIncludes(text, "declare const myServer: {\n");
  assertIncludes(text, "declare const console_: {\n");
  assertIncludes(text, "declare const tools_: {\n");
  assertIncludes(text, "declare const emptyServer: {\n");
  assertIncludes(text, "type Trees_Walk_Node = {\n");
  assertIncludes(text, "type Trees_WalkAgain_Node = {\n");
  assertIncludes(text, "Gets a user. *\\/ declare const evil: 1; /*");
  await denoCheck(
    text +
      `
const user: unknown = await myServer.getUserInfo({ "user-id": 7 });
await myServer.then_();
await myServer.class_();
await myServer._3d();
await myServer.tool();
await myServer.proto();
await console_.log();
console.log(user);
await tools_.call();
await emptyServer.anything({});
const walked = await trees.walk({ root: { name: "a", kids: [{ name: "b", kids: [] }] } });
const name: string = walked.root.kids?.[0]?.name ?? "";
console.log(name);
// @ts-expect-error the description's "declare const evil" stayed inside its comment
console.log(evil);
// @ts-expect-error kids hold nodes, which need a name
await trees.walkAgain({ root: { name: "a", kids: [{}] } });
`,
  );
});

import { assert, assertEquals } from "../assert.ts";
import {
  buildNameMap,
  camelCase,
  NAMESPACE_RESERVED_KEYS,
  RESERVED_WORDS,
  SANDBOX_GLOBALS,
  toIdentifier,
} from "../../wrappers/mod.ts";
import { fixtureCatalogue, tool } from "./_helpers.ts";

Deno.test("camelCase turns separators into word breaks", () => {
  assertEquals(camelCase("read_file"), "readFile");
  assertEquals(camelCase("get-user.info"), "getUserInfo");
  assertEquals(camelCase("list_directory_with_sizes"), "listDirectoryWithSizes");
  assertEquals(camelCase("readFile"), "readFile");
  assertEquals(camelCase("ReadFile"), "readFile");
  assertEquals(camelCase("HTTPServer"), "httpServer");
  assertEquals(camelCase("URL"), "url");
  assertEquals(camelCase("READ_FILE"), "readFile");
  assertEquals(camelCase("get_URL"), "getURL");
  assertEquals(camelCase("  spaced  out  "), "spacedOut");
  assertEquals(camelCase("données"), "données");
});

Deno.test("camelCase keeps letters of every script, by code point and NFC", () => {
  assertEquals(camelCase("ñandú"), "ñandú");
  assertEquals(camelCase("Ñandú"), "ñandú");
  assertEquals(camelCase("bücher_suchen"), "bücherSuchen");
  assertEquals(camelCase("ÜBER_ALLES"), "überAlles");
  assertEquals(camelCase("读取 文件"), "读取文件");
  assertEquals(camelCase("поиск-книг"), "поискКниг");
  // An astral letter (U+1D4B3, MATHEMATICAL SCRIPT CAPITAL X) is one code point, not two halves.
  assertEquals(camelCase("a_\u{1D4B3}yz"), "a\u{1D4B3}yz");
  // The decomposed spelling (n + U+0303) names the same function as the composed one.
  assertEquals(camelCase("n\u0303andu\u0301"), "ñandú");
  // Emoji and punctuation of any script separate words.
  assertEquals(camelCase("get😀user「info」"), "getUserInfo");
});

Deno.test("toIdentifier makes anything a valid identifier", () => {
  assertEquals(toIdentifier(""), "tool");
  assertEquals(toIdentifier("---"), "tool");
  assertEquals(toIdentifier("3d-render"), "_3dRender");
  assertEquals(toIdentifier("class"), "class_");
  assertEquals(toIdentifier("delete"), "delete_");
  assertEquals(toIdentifier("读取"), "读取");
  assertEquals(toIdentifier("ñandú"), "ñandú");
  assertEquals(toIdentifier("😀"), "tool");
  // An Arabic-Indic digit continues an identifier but cannot start one.
  assertEquals(toIdentifier("٣d"), "_٣d");
  // A combining mark cannot start one either.
  assertEquals(toIdentifier("\u0301x"), "_\u0301x");
  for (
    const name of [
      "",
      "1",
      "a b",
      "return",
      "x-y-z",
      "$$",
      "__proto__",
      "yield",
      "😀",
      "ñandú",
      "Straße",
      "٣d",
      "\u0301x",
      "ǅungla",
      "ꟸ",
      "\u{1D4B3}",
    ]
  ) {
    const id = toIdentifier(name);
    assert(/^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(id), id);
    assert(!RESERVED_WORDS.has(id), id);
    // Valid as a binding: the engine agrees.
    new Function(`"use strict"; let ${id} = 1; return ${id};`);
  }
});

Deno.test("non-ASCII tool names keep their letters and collide deterministically", () => {
  const catalogue = [
    tool("zoo", "ñandú"),
    tool("zoo", "n\u0303andu\u0301"), // the same name, decomposed
    tool("zoo", "Ñandú"),
    tool("zoo", "and"),
    tool("zoo", "ñandú_2"),
  ];
  const names = buildNameMap(catalogue);
  const fns = catalogue.map((t) => names.functions.get(t.id));
  // The composed ñandú is its own identifier and keeps it; the others of that base get
  // `_2`, `_3` in code-unit order of the original (n + U+0303 before Ñ); `ñandú_2` is
  // camelCased like `a_2` → `a2`, so it does not collide.
  assertEquals(fns, ["ñandú", "ñandú_2", "ñandú_3", "and", "ñandú2"]);
  const reversed = buildNameMap([...catalogue].reverse());
  assertEquals(catalogue.map((t) => reversed.functions.get(t.id)), fns);
  assertEquals(names.toolIdOf("zoo", "ñandú"), "zoo.ñandú");
  // Reverse lookup of an unlisted spelling goes through the same camelCase (NFC).
  assertEquals(names.toolIdOf("zoo", "Ñandú"), "zoo.Ñandú");
  for (const fn of fns) new Function(`"use strict"; const o = {}; o.${fn} = 1; let ${fn} = 2;`);
});

Deno.test("fixture tools get camelCase names and round-trip through the reverse lookup", () => {
  const catalogue = fixtureCatalogue();
  const names = buildNameMap(catalogue);
  assertEquals(names.functions.get("filesystem.read_file"), "readFile");
  assertEquals(names.functions.get("everything.get-annotated-message"), "getAnnotatedMessage");
  assertEquals(names.functions.get("memory.delete_entities"), "deleteEntities");
  assertEquals(names.namespaces.get("filesystem"), "filesystem");
  for (const t of catalogue) {
    const ns = names.namespaces.get(t.server)!;
    const fn = names.functions.get(t.id)!;
    assertEquals(names.toolIdOf(ns, fn), t.id);
    assertEquals(names.toolIdByServer(t.server, fn), t.id);
    // The original MCP name works too.
    assertEquals(names.toolIdOf(ns, t.name), t.id);
  }
  assertEquals(names.toolIdOf("filesystem", "noSuchTool"), undefined);
  // Forgiving spellings of the same function, never a different one.
  assertEquals(names.toolIdOf("filesystem", "read-text-file"), "filesystem.read_text_file");
  assertEquals(names.toolIdOf("filesystem", "READ_TEXT_FILE"), "filesystem.read_text_file");
  assertEquals(names.toolIdOf("filesystem", "readtextfile"), "filesystem.read_text_file");
  assertEquals(names.toolIdOf("filesystem", "readTextFil"), undefined);
  assertEquals(names.toolIdOf("nope", "readFile"), undefined);
  assertEquals(names.toolIdOf("filesystem", "__proto__"), undefined);
  assertEquals(names.toolIdOf("filesystem", "constructor"), undefined);
});

Deno.test("collisions are resolved by exact names first, then sorted original name, independent of input order", () => {
  const tools = [
    tool("s", "read_file"),
    tool("s", "read-file"),
    tool("s", "readFile"),
    tool("s", "READ_FILE"),
  ];
  const expected = new Map([
    ["s.readFile", "readFile"], // already its own identifier: goes first
    ["s.READ_FILE", "readFile_2"], // then code-unit order: "R" < "r", "-" < "_"
    ["s.read-file", "readFile_3"],
    ["s.read_file", "readFile_4"],
  ]);
  for (const order of [tools, [...tools].reverse(), [tools[2], tools[0], tools[3], tools[1]]]) {
    const names = buildNameMap(order);
    assertEquals(new Map([...names.functions].sort()), new Map([...expected].sort()));
    for (const [id, fn] of expected) assertEquals(names.toolIdOf("s", fn), id);
    assertEquals(names.toolIdOf("s", "READFILE"), "s.readFile");
  }
});

Deno.test("case-insensitive lookup answers only when exactly one function matches", () => {
  const names = buildNameMap([tool("s", "getURL"), tool("s", "getUrl"), tool("s", "list")]);
  assertEquals(names.toolIdOf("s", "getURL"), "s.getURL");
  assertEquals(names.toolIdOf("s", "getUrl"), "s.getUrl");
  assertEquals(names.toolIdOf("s", "geturl"), undefined);
  assertEquals(names.toolIdOf("s", "LIST"), "s.list");
});

Deno.test("a suffixed name never takes another original's own name", () => {
  // "a-" wants "a" (taken by "a") and must skip "a_2", which is the server "a_2" itself.
  const names = buildNameMap([], ["a-", "a", "a_2"]);
  assertEquals(names.namespaces.get("a"), "a");
  assertEquals(names.namespaces.get("a_2"), "a_2");
  assertEquals(names.namespaces.get("a-"), "a_3");
  // Tools: "then_" is its own identifier, so it keeps it; "then" is renamed past it.
  const fns = buildNameMap([tool("s", "then"), tool("s", "then_"), tool("s", "then-2")]).functions;
  assertEquals(fns.get("s.then_"), "then_");
  assertEquals(fns.get("s.then"), "then__2");
  assertEquals(fns.get("s.then-2"), "then2");
  for (const fn of fns.values()) assert(!NAMESPACE_RESERVED_KEYS.has(fn), fn);
});

Deno.test("tool names that would break the namespace object are renamed", () => {
  const names = buildNameMap(
    ["then", "toJSON", "constructor", "__proto__", "toString", "valueOf"].map((n) => tool("s", n)),
  );
  assertEquals(names.functions.get("s.then"), "then_");
  assertEquals(names.functions.get("s.toJSON"), "toJSON_");
  assertEquals(names.functions.get("s.constructor"), "constructor_");
  assertEquals(names.functions.get("s.__proto__"), "proto");
  assertEquals(names.functions.get("s.toString"), "toString_");
  // The original name still resolves when it is not itself a generated name.
  assertEquals(names.toolIdOf("s", "then"), "s.then");
});

Deno.test("namespaces keep valid config keys and never shadow sandbox globals", () => {
  const servers = [
    "filesystem",
    "my-server",
    "my_server",
    "tools",
    "console",
    "Deno",
    "globalThis",
    "ToolError",
    "JSON",
    "Math",
    "Promise",
    "fetch",
    "9lives",
    "",
    "class",
    "__airlock",
  ];
  const names = buildNameMap([], servers);
  const ns = (s: string) => names.namespaces.get(s);
  assertEquals(ns("filesystem"), "filesystem");
  assertEquals(ns("my_server"), "my_server");
  assertEquals(ns("my-server"), "myServer");
  assertEquals(ns("tools"), "tools_");
  assertEquals(ns("console"), "console_");
  assertEquals(ns("Deno"), "Deno_");
  assertEquals(ns("JSON"), "JSON_");
  assertEquals(ns("9lives"), "_9lives");
  assertEquals(ns(""), "server");
  assertEquals(ns("class"), "class_");
  assertEquals(ns("__airlock"), "__airlock_");
  const ids = [...names.namespaces.values()];
  assertEquals(new Set(ids).size, servers.length);
  for (const id of ids) {
    assert(!SANDBOX_GLOBALS.has(id) && !RESERVED_WORDS.has(id), id);
    assertEquals(names.serverOf(id), servers.find((s) => ns(s) === id));
  }
});

Deno.test("namespace collisions get _2 in sorted order", () => {
  const names = buildNameMap([tool("a-b", "x"), tool("a.b", "x"), tool("aB", "x")]);
  // Sorted: "a-b" < "a.b" < "aB"; "aB" is a valid key and keeps itself.
  assertEquals(names.namespaces.get("aB"), "aB");
  assertEquals(names.namespaces.get("a-b"), "aB_2");
  assertEquals(names.namespaces.get("a.b"), "aB_3");
  assertEquals(names.toolIdOf("aB_3", "x"), "a.b.x");
});

Deno.test("SANDBOX_GLOBALS covers every global of a permission-less deno run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "airlock-globals-" });
  try {
    await Deno.writeTextFile(
      `${dir}/globals.js`,
      "console.log(JSON.stringify(Object.getOwnPropertyNames(globalThis)));",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", "--no-lock", `${dir}/globals.js`],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert(out.success);
    const globals: string[] = JSON.parse(new TextDecoder().decode(out.stdout));
    assert(globals.includes("Deno") && globals.includes("fetch"), "sanity: real globals listed");
    assertEquals(globals.filter((g) => !SANDBOX_GLOBALS.has(g)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

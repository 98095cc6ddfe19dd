import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { buildNameMap, generatePrelude, type PreludeInput } from "../../wrappers/mod.ts";
import { fixtureCatalogue, tool } from "./_helpers.ts";

/**
 * A stand-in for the harness: `__airlock.rpc` records every call and answers canned
 * values; `ToolError` is a plain Error subclass. Defined before the prelude, as the real
 * harness does.
 */
const STUB = `
class ToolError extends Error {
  constructor(message, tool) { super(message); this.name = "ToolError"; this.tool = tool; }
}
globalThis.ToolError = ToolError;
globalThis.__calls = [];
globalThis.__airlock = {
  async rpc(method, params) {
    globalThis.__calls.push({ method, params: JSON.parse(JSON.stringify(params)) });
    if (method === "tools/search") return [{ id: "filesystem.read_file", description: "d", signature: "s" }];
    if (params.tool === "filesystem.fail") throw new ToolError("boom", params.tool);
    return { echo: params };
  },
};
`;

/** A `data:` URL of a JavaScript module, the way the trusted runner imports code. */
function dataUrl(source: string): string {
  const bytes = new TextEncoder().encode(source);
  return `data:text/javascript;base64,${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * Runs `user` after the stub and the prelude in a permission-less Deno; returns its output.
 * With `viaDataUrl`, prelude and code are imported dynamically from `data:` URLs.
 */
async function runInSandbox(
  prelude: string,
  user: string,
  stub = STUB,
  viaDataUrl = false,
): Promise<{ ok: boolean; out: string; err: string }> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-prelude-" });
  try {
    await Deno.writeTextFile(`${dir}/stub.js`, stub);
    await Deno.writeTextFile(`${dir}/prelude.js`, prelude);
    await Deno.writeTextFile(`${dir}/user.js`, user);
    // Sibling imports evaluate in order: stub, then prelude, then the user's code.
    await Deno.writeTextFile(
      `${dir}/main.js`,
      viaDataUrl
        ? `import "./stub.js";\nawait import(${JSON.stringify(dataUrl(prelude))});\n` +
          `await import(${JSON.stringify(dataUrl(user))});\n`
        : 'import "./stub.js";\nimport "./prelude.js";\nimport "./user.js";\n',
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", "--no-lock", `${dir}/main.js`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const dec = new TextDecoder();
    return { ok: out.success, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const catalogue = fixtureCatalogue();
const byId = (id: string) => catalogue.find((t) => t.id === id)!;
const INPUT: PreludeInput = {
  selected: [
    byId("filesystem.read_file"),
    byId("filesystem.write_file"),
    byId("memory.read_graph"),
  ],
  servers: ["filesystem", "memory", "everything"],
  catalogue,
};

/** The user code of the main behaviour test: records observations, prints them as JSON. */
const USER = `
const report = {};
const rejects = async (fn) => {
  try { await fn(); return "resolved"; } catch (e) { return e.constructor.name + ": " + e.message; }
};
report.types = [typeof filesystem, typeof memory, typeof everything, typeof tools];
report.keys = Object.keys(filesystem);
report.hasSelected = "readFile" in filesystem;
report.hasLazy = "listDirectory" in filesystem;

report.selected = await filesystem.readFile({ path: "a.txt" });
report.lazy = await filesystem.listDirectory({ path: "." });
report.noArgs = await memory.readGraph();
report.lazyNoArgs = await everything.getEnv();
report.sameLazy = filesystem.listDirectory === filesystem.listDirectory;
report.names = [filesystem.readFile.name, filesystem.listDirectory.name];

const before = __calls.length;
report.badArgs = [
  await rejects(() => filesystem.readFile("a.txt")),
  await rejects(() => filesystem.readFile(null)),
  await rejects(() => filesystem.listDirectory([1])),
  await rejects(() => tools.call("filesystem.read_file", 5)),
  await rejects(() => tools.call(42, {})),
  await rejects(() => tools.search(7)),
  await rejects(() => tools.search("q", 0)),
];

report.awaited = (await filesystem) === filesystem;
report.then = [typeof filesystem.then, typeof filesystem.catch, typeof filesystem.finally];
report.json = JSON.stringify({ fs: filesystem });
report.string = [String(filesystem), \`\${memory}\`];
report.tag = Object.prototype.toString.call(filesystem);
report.symbols = [typeof filesystem[Symbol.iterator], typeof filesystem[Symbol.asyncIterator], typeof filesystem[Symbol.toPrimitive]];
report.constructor = typeof filesystem.constructor;
report.proto = Object.getPrototypeOf(filesystem);
report.inspect = Deno.inspect(filesystem);
console.error(filesystem); // must not throw or call anything
report.writes = [
  await rejects(async () => { filesystem.readFile = 1; }),
  await rejects(async () => { delete filesystem.readFile; }),
  await rejects(async () => { filesystem.newThing = 1; }),
  await rejects(async () => { globalThis.filesystem = 1; }),
];
report.callsDuringProbes = __calls.length - before;

report.call = await tools.call("memory.read_graph");
report.search = await tools.search("read a file");
report.searchK = await tools.search("x", 3);
report.toolError = await rejects(() => tools.call("filesystem.fail", {}));
try { await tools.call("filesystem.fail"); } catch (e) { report.instance = e instanceof ToolError && e.tool; }
report.calls = __calls;
console.log(JSON.stringify(report));
`;

Deno.test("prelude: namespaces, lazy binding, tools.call/search, inert probes (real deno run)", async () => {
  const run = await runInSandbox(generatePrelude(INPUT), USER);
  assert(run.ok, run.err);
  const r = JSON.parse(run.out);
  assertEquals(r.types, ["object", "object", "object", "object"]);
  assertEquals(r.keys, ["readFile", "writeFile"]);
  assertEquals([r.hasSelected, r.hasLazy], [true, false]);
  assertEquals(r.selected, { echo: { tool: "filesystem.read_file", args: { path: "a.txt" } } });
  assertEquals(r.lazy, {
    echo: {
      server: "filesystem",
      namespace: "filesystem",
      name: "listDirectory",
      args: { path: "." },
    },
  });
  assertEquals(r.noArgs, { echo: { tool: "memory.read_graph", args: {} } });
  assertEquals(r.lazyNoArgs.echo.args, {});
  assertEquals(r.sameLazy, true);
  assertEquals(r.names, ["readFile", "listDirectory"]);
  assertEquals(r.badArgs, [
    "TypeError: filesystem.readFile takes one object argument ({ ... }), got a string",
    "TypeError: filesystem.readFile takes one object argument ({ ... }), got null",
    "TypeError: filesystem.listDirectory takes one object argument ({ ... }), got an array",
    'TypeError: tools.call("filesystem.read_file") takes one object argument ({ ... }), got a number',
    'TypeError: tools.call takes a tool id string ("server.tool_name"), got a number',
    "TypeError: tools.search takes a query string, got a number",
    "TypeError: tools.search: k must be a positive integer, got 0",
  ]);
  assertEquals(r.awaited, true);
  assertEquals(r.then, ["undefined", "undefined", "undefined"]);
  assertEquals(
    r.json,
    '{"fs":{"readFile":"filesystem.read_file","writeFile":"filesystem.write_file"}}',
  );
  assertEquals(r.string, ["[namespace filesystem]", "[namespace memory]"]);
  assertEquals(r.tag, "[object AirlockNamespace]");
  assertEquals(r.symbols, ["undefined", "undefined", "undefined"]);
  assertEquals(r.constructor, "undefined");
  assertEquals(r.proto, null);
  assertEquals(
    r.inspect,
    "[namespace filesystem] { readFile(), writeFile(), …any other tool by name }",
  );
  assertEquals(r.writes.map((w: string) => w.split(":")[0]), [
    "TypeError",
    "TypeError",
    "TypeError",
    "TypeError",
  ]);
  assertEquals(r.callsDuringProbes, 0);
  assertEquals(r.call, { echo: { tool: "memory.read_graph", args: {} } });
  assertEquals(r.search, [{ id: "filesystem.read_file", description: "d", signature: "s" }]);
  assertEquals(r.toolError, "ToolError: boom");
  assertEquals(r.instance, "filesystem.fail");
  const searches = r.calls.filter((c: { method: string }) => c.method === "tools/search");
  assertEquals(searches.map((c: { params: unknown }) => c.params), [
    { query: "read a file", k: 10 },
    { query: "x", k: 3 },
  ]);
  // Every call the code made, in order, and nothing else (the probes called nothing).
  assertEquals(r.calls.map((c: { method: string }) => c.method), [
    "tools/call",
    "tools/callByName",
    "tools/call",
    "tools/callByName",
    "tools/call",
    "tools/search",
    "tools/search",
    "tools/call",
    "tools/call",
  ]);
});

Deno.test("prelude: a namespace lists every tool the caller may use (keys, for…in, in, JSON)", async () => {
  const everything = catalogue.filter((t) => t.server === "everything");
  // The caller may use every tool of `everything` but one, and no tool was selected there.
  const hidden = everything[0];
  const available = [...everything.slice(1), byId("filesystem.list_directory")];
  const names = buildNameMap(catalogue);
  const prelude = generatePrelude({ ...INPUT, available });
  const user = `
const forIn = [];
for (const k in everything) forIn.push(k);
const listDirectory = await filesystem.listDirectory({ path: "." });
console.log(JSON.stringify({
  keys: Object.keys(everything),
  forIn,
  fsKeys: Object.keys(filesystem),
  memoryKeys: Object.keys(memory),
  has: [${JSON.stringify(names.functions.get(everything[1].id))} in everything,
        ${JSON.stringify(names.functions.get(hidden.id))} in everything],
  json: JSON.parse(JSON.stringify(everything)),
  spread: Object.keys({ ...filesystem }),
  entries: Object.entries(filesystem).map(([k, v]) => [k, typeof v]),
  listDirectory,
  calls: __calls.length,
}));`;
  const run = await runInSandbox(prelude, user);
  assert(run.ok, run.err);
  const r = JSON.parse(run.out);
  const expected = available.filter((t) => t.server === "everything")
    .map((t) => names.functions.get(t.id)!).sort();
  assert(expected.length >= 5, "the fixture has tools");
  assertEquals(r.keys, expected);
  assertEquals(r.forIn, expected);
  assertEquals(r.fsKeys, ["listDirectory", "readFile", "writeFile"]);
  assertEquals(r.memoryKeys, ["readGraph"]);
  assertEquals(r.has, [true, false]);
  assertEquals(
    r.json,
    Object.fromEntries(
      available.filter((t) => t.server === "everything").map((t) => [
        names.functions.get(t.id)!,
        t.id,
      ]),
    ),
  );
  assertEquals(r.spread, ["listDirectory", "readFile", "writeFile"]);
  assertEquals(r.entries.map((e: string[]) => e[1]), ["function", "function", "function"]);
  // A listed tool is bound by id, like a selected one.
  assertEquals(r.listDirectory, {
    echo: { tool: "filesystem.list_directory", args: { path: "." } },
  });
  assertEquals(r.calls, 1, "listing called nothing");
});

Deno.test("prelude: works the same when prelude and code are imported from data: URLs", async () => {
  const user = `
const a = await filesystem.readFile({ path: "x" });
const b = await filesystem.listDirectory();
console.log(JSON.stringify([a, b, typeof filesystem.then, __calls.length]));`;
  const run = await runInSandbox(generatePrelude(INPUT), user, STUB, true);
  assert(run.ok, run.err);
  assertEquals(JSON.parse(run.out), [
    { echo: { tool: "filesystem.read_file", args: { path: "x" } } },
    { echo: { server: "filesystem", namespace: "filesystem", name: "listDirectory", args: {} } },
    "undefined",
    2,
  ]);
});

Deno.test("prelude: the gateway's reverse lookup resolves what lazy calls send", async () => {
  const user = `
await filesystem.listDirectory({ path: "." });
await filesystem.list_directory({ path: "." });
await filesystem.noSuchTool({});
console.log(JSON.stringify(__calls.map((c) => c.params)));`;
  const run = await runInSandbox(generatePrelude(INPUT), user);
  assert(run.ok, run.err);
  const names = buildNameMap(catalogue);
  const sent: { server: string; namespace: string; name: string }[] = JSON.parse(run.out);
  assertEquals(
    sent.map((p) => names.toolIdByServer(p.server, p.name)),
    ["filesystem.list_directory", "filesystem.list_directory", undefined],
  );
  assertEquals(
    sent.map((p) => names.toolIdOf(p.namespace, p.name)),
    ["filesystem.list_directory", "filesystem.list_directory", undefined],
  );
});

Deno.test("prelude: hostile names and descriptions cannot inject code", async () => {
  const evil = [
    tool("evil-srv", '"); globalThis.pwned = 1; ("', {}, { description: "*/ pwned = 1; /*" }),
    tool("evil-srv", "__proto__"),
    tool("evil-srv", "then"),
    tool("evil-srv", "</script><script>pwned=1</script>"),
    tool("evil-srv", "line\u2028sep\u2029x"),
    tool("console", "log"),
    tool("tools", "call"),
    tool("`${pwned=1}`", "x"),
  ];
  const servers = [...new Set(evil.map((t) => t.server))];
  const prelude = generatePrelude({ selected: evil, servers, catalogue: evil });
  const names = buildNameMap(evil);
  const user = `
const ns = globalThis[${JSON.stringify(names.namespaces.get("evil-srv"))}];
const out = {
  pwned: typeof globalThis.pwned,
  keys: Object.keys(ns),
  then: typeof ns.then,
  consoleWorks: typeof console.log,
  toolsWorks: typeof tools.call,
  consoleNs: Object.keys(console_),
  toolsNs: Object.keys(tools_),
  proto: await ns.proto({ a: 1 }),
};
console.log(JSON.stringify(out));`;
  const run = await runInSandbox(prelude, user);
  assert(run.ok, run.err);
  const r = JSON.parse(run.out);
  assertEquals(r.pwned, "undefined");
  assertEquals(
    r.keys,
    [...names.functions.entries()].filter(([id]) => id.startsWith("evil-srv.")).map(([, fn]) => fn)
      .sort(),
  );
  assertEquals(r.then, "undefined");
  assertEquals([r.consoleWorks, r.toolsWorks], ["function", "function"]);
  assertEquals([r.consoleNs, r.toolsNs], [["log"], ["call"]]);
  assertEquals(r.proto, { echo: { tool: "evil-srv.__proto__", args: { a: 1 } } });
});

Deno.test("prelude: selected tools of servers that are not allowed get nothing", async () => {
  const prelude = generatePrelude({
    selected: [byId("filesystem.read_file"), byId("memory.read_graph")],
    servers: ["filesystem"],
    catalogue,
  });
  const run = await runInSandbox(
    prelude,
    `console.log(typeof globalThis.memory, Object.keys(filesystem).join());`,
  );
  assert(run.ok, run.err);
  assertEquals(run.out.trim(), "undefined readFile");
});

Deno.test("prelude: deterministic and plain JavaScript", () => {
  const a = generatePrelude(INPUT);
  const b = generatePrelude({
    selected: [...INPUT.selected].reverse(),
    servers: [...INPUT.servers].reverse(),
    catalogue: [...catalogue].reverse(),
  });
  assertEquals(a, b);
  assert(!/^\s*(import|export)\s/m.test(a));
  // Declares nothing at top level: concatenated with code that uses the same names, it parses.
  new Function(a + "\nconst rpc = 1, tools = 2, MANIFEST = 3, toArgs = 4; return rpc;");
  // Parses as a plain script body (no TypeScript syntax), without running it.
  new Function(a);
});

Deno.test("prelude: a missing harness fails loudly, not silently", async () => {
  const run = await runInSandbox(generatePrelude(INPUT), "console.log('ran');", "");
  assert(!run.ok);
  assertIncludes(run.err, "the harness did not define __airlock.rpc");
  assert(!run.out.includes("ran"));
});

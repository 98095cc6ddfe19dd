import { assert, assertEquals, assertIncludes } from "../assert.ts";
import { schemaToType, type TypeGenOptions } from "../../wrappers/mod.ts";
import { fixtureCatalogue, fixtureTools } from "./_helpers.ts";
import { denoCheck } from "./_check.ts";

const t = (schema: unknown, options?: TypeGenOptions) => schemaToType(schema, options).type;

Deno.test("fixture: filesystem.read_file input and output", () => {
  const readFile = fixtureTools("filesystem").find((x) => x.name === "read_file")!;
  assertEquals(t(readFile.inputSchema), "{ path: string; tail?: number; head?: number }");
  assertEquals(t(readFile.outputSchema), "{ content: string }");
});

Deno.test("fixture: read_media_file output is an array of a discriminated union", () => {
  const media = fixtureTools("filesystem").find((x) => x.name === "read_media_file")!;
  assertEquals(
    t(media.outputSchema),
    '{ content: ({ type: "image" | "audio"; data: string; mimeType: string } | ' +
      '{ type: "resource"; resource: { uri: string; mimeType?: string; blob: string } })[] }',
  );
});

Deno.test("fixture: enums, defaults, formats and nested object arrays", () => {
  const everything = fixtureTools("everything");
  const get = (n: string) => everything.find((x) => x.name === n)!;
  assertEquals(
    t(get("get-annotated-message").inputSchema),
    '{ messageType: "error" | "success" | "debug"; includeImage?: boolean }',
  );
  assertEquals(t(get("get-env").inputSchema), "Record<string, unknown>");
  assertEquals(
    t(get("get-structured-content").outputSchema),
    "{ temperature: number; conditions: string; humidity: number }",
  );
  const gzip = schemaToType(get("gzip-file-as-resource").inputSchema, { docs: true });
  assertIncludes(gzip.type, "  /**\n   * URL or data URI of the file content to compress\n");
  assertIncludes(gzip.type, "   * @format uri\n");
  assertIncludes(gzip.type, '   * @default "README.md.gz"\n');
  const memory = fixtureTools("memory");
  assertEquals(
    t(memory.find((x) => x.name === "create_entities")!.inputSchema),
    "{ entities: { name: string; entityType: string; observations: string[] }[] }",
  );
});

Deno.test("fixture: no reference-server schema degrades", () => {
  for (const tool of fixtureCatalogue()) {
    for (const schema of [tool.inputSchema, tool.outputSchema ?? true]) {
      const r = schemaToType(schema);
      assert(!r.degraded, `${tool.id}: ${r.type}`);
      assert(r.type !== "unknown" || schema === true, tool.id);
    }
  }
});

Deno.test("primitives: integer is number, formats are strings, booleans and null", () => {
  assertEquals(t({ type: "integer" }), "number");
  assertEquals(t({ type: "string", format: "date-time" }), "string");
  assertEquals(t({ type: "boolean" }), "boolean");
  assertEquals(t({ type: "null" }), "null");
  assertEquals(t({}), "unknown");
  assertEquals(t(true), "unknown");
  assertEquals(t(false), "never");
});

Deno.test("nullable: type arrays and OpenAPI nullable", () => {
  assertEquals(t({ type: ["string", "null"] }), "string | null");
  assertEquals(t({ type: "string", nullable: true }), "string | null");
  assertEquals(t({ type: ["integer", "number"] }), "number");
  assertEquals(
    t({ type: ["object", "null"], properties: { a: { type: "string" } }, required: ["a"] }),
    "{ a: string } | null",
  );
  assertEquals(t({ type: "array", items: { type: ["string", "null"] } }), "(string | null)[]");
  assertEquals(
    t({
      properties: { a: { $ref: "#/$defs/A", nullable: true } },
      $defs: { A: { type: "number" } },
    }),
    "{ a?: number | null }",
  );
  assertEquals(t({ anyOf: [{ type: "string" }, { not: {} }] }), "string");
});

Deno.test("enum and const become literal types", () => {
  assertEquals(t({ enum: ["a", 1, true, null] }), '"a" | 1 | true | null');
  assertEquals(t({ const: "fixed" }), '"fixed"');
  assertEquals(t({ const: -2.5 }), "-2.5");
  assertEquals(t({ enum: ['say "hi"', "line\nbreak"] }), '"say \\"hi\\"" | "line\\nbreak"');
  // An object in an enum has no literal type: the enum degrades.
  const r = schemaToType({ enum: ["a", { b: 1 }] });
  assertEquals(r.type, "unknown");
  assert(r.degraded);
});

Deno.test("unions, intersections and their precedence", () => {
  assertEquals(t({ anyOf: [{ type: "string" }, { type: "number" }] }), "string | number");
  assertEquals(t({ oneOf: [{ type: "string" }, { type: "string" }] }), "string");
  assertEquals(
    t({
      allOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { type: "object", properties: { b: { type: "number" } } },
      ],
    }),
    "{ a: string } & { b?: number }",
  );
  assertEquals(
    t({
      type: "object",
      properties: { kind: { type: "string" } },
      oneOf: [{ properties: { x: { type: "number" } } }, { properties: { y: { type: "number" } } }],
    }),
    "{ kind?: string } & ({ x?: number } | { y?: number })",
  );
  // `anyOf` members that only add `required` carry no type: they vanish, not poison.
  assertEquals(
    t({
      type: "object",
      properties: { a: { type: "string" } },
      anyOf: [{ required: ["a"] }, { required: ["b"] }],
    }),
    "{ a?: string }",
  );
  assertEquals(
    t({ type: "array", items: { anyOf: [{ type: "string" }, { type: "number" }] } }),
    "(string | number)[]",
  );
});

Deno.test("arrays and tuples (prefixItems, items arrays, minItems, closed tuples)", () => {
  assertEquals(t({ type: "array" }), "unknown[]");
  assertEquals(t({ type: "array", items: { type: "string" } }), "string[]");
  assertEquals(
    t({ type: "array", prefixItems: [{ type: "string" }, { type: "number" }], minItems: 2 }),
    "[string, number, ...unknown[]]",
  );
  assertEquals(
    t({
      type: "array",
      prefixItems: [{ type: "string" }, { type: "number" }],
      items: false,
      minItems: 1,
    }),
    "[string, number?]",
  );
  assertEquals(
    t({ type: "array", items: [{ type: "string" }], additionalItems: { type: "boolean" } }),
    "[string?, ...boolean[]]",
  );
  assertEquals(
    t({ type: "array", items: [{ type: ["string", "null"] }], additionalItems: false }),
    "[(string | null)?]",
  );
});

Deno.test("objects: optional vs required, quoted keys, index signatures", () => {
  assertEquals(
    t({
      type: "object",
      properties: {
        "a-b": { type: "string" },
        "with space": { type: "number" },
        class: { type: "boolean" },
        "": { type: "null" },
        0: { type: "string" },
        'q"uote': { type: "string" },
      },
      required: ["a-b", 7],
    }),
    '{ 0?: string; "a-b": string; "with space"?: number; class?: boolean; ""?: null; "q\\"uote"?: string }',
  );
  assertEquals(
    t({ type: "object", additionalProperties: { type: "number" } }),
    "Record<string, number>",
  );
  assertEquals(t({ type: "object", additionalProperties: false }), "Record<string, never>");
  assertEquals(
    t({
      type: "object",
      properties: { n: { type: "string" } },
      required: ["n"],
      additionalProperties: { type: "number" },
    }),
    "{ n: string; [key: string]: number | string }",
  );
  assertEquals(
    t({
      type: "object",
      properties: { o: { type: "string" } },
      patternProperties: { "^x-": { type: "boolean" } },
      additionalProperties: false,
    }),
    "{ o?: string; [key: string]: boolean | string | undefined }",
  );
  // No `type` but object keywords: still an object.
  assertEquals(t({ properties: { a: { type: "string" } } }), "{ a?: string }");
  // A forbidden property is left out.
  assertEquals(t({ properties: { a: false, b: { type: "string" } } }), "{ b?: string }");
});

const TREE = {
  type: "object",
  properties: { root: { $ref: "#/$defs/Node" } },
  $defs: {
    Node: {
      type: "object",
      properties: {
        name: { type: "string" },
        children: { type: "array", items: { $ref: "#/$defs/Node" } },
      },
      required: ["name"],
    },
  },
};

Deno.test("$ref: local refs are inlined; definitions and escaped pointers resolve", () => {
  assertEquals(
    t({
      type: "object",
      properties: { a: { $ref: "#/definitions/A" }, b: { $ref: "#/definitions/a~1b%20c" } },
      definitions: { A: { type: "string" }, "a/b c": { type: "number" } },
    }),
    "{ a?: string; b?: number }",
  );
  assertEquals(t({ $ref: "#/properties/x", properties: { x: { type: "integer" } } }), "number");
});

Deno.test("$ref: recursion degrades to unknown without aliases and terminates", () => {
  const r = schemaToType(TREE);
  assertEquals(r.type, "{ root?: { name: string; children?: unknown[] } }");
  assert(r.degraded);
  assertEquals(r.aliases, []);
});

Deno.test("$ref: recursion becomes a named alias with aliasPrefix", () => {
  const r = schemaToType(TREE, { aliasPrefix: "Fs_Tree_" });
  assertEquals(r.type, "{ root?: Fs_Tree_Node }");
  assertEquals(r.aliases, [{
    name: "Fs_Tree_Node",
    type: "{ name: string; children?: Fs_Tree_Node[] }",
  }]);
  assert(!r.degraded);
});

Deno.test("$ref: mutual recursion and root self-reference", () => {
  const mutual = {
    $ref: "#/$defs/A",
    $defs: {
      A: { type: "object", properties: { b: { $ref: "#/$defs/B" } } },
      B: { type: "object", properties: { a: { $ref: "#/$defs/A" } } },
    },
  };
  const r = schemaToType(mutual, { aliasPrefix: "M_" });
  assertEquals(r.type, "M_A");
  assertEquals(r.aliases, [{ name: "M_A", type: "{ b?: { a?: M_A } }" }]);
  const self = { type: "object", properties: { next: { $ref: "#" } } };
  assertEquals(t(self), "{ next?: { next?: unknown } }");
  const aliased = schemaToType(self, { aliasPrefix: "L_" });
  assertEquals(aliased.type, "{ next?: L_Root }");
  assertEquals(aliased.aliases, [{ name: "L_Root", type: "{ next?: L_Root }" }]);
});

Deno.test("$ref: missing, remote, anchor and non-string refs degrade to unknown", () => {
  for (
    const ref of ["#/$defs/Missing", "https://example.com/s.json", "#anchor", "#/%E0%A4%A", 42]
  ) {
    const r = schemaToType({ type: "object", properties: { a: { $ref: ref } } });
    assertEquals(r.type, "{ a?: unknown }", String(ref));
    assert(r.degraded);
  }
  // Prototype members are not definitions.
  assertEquals(t({ $ref: "#/constructor" }), "unknown");
  assertEquals(t({ $ref: "#/__proto__" }), "unknown");
});

Deno.test("malformed schemas degrade to unknown, never throw", () => {
  const bad: unknown[] = [
    null,
    undefined,
    42,
    "string",
    [],
    { type: 5 },
    { type: "weird" },
    { type: [] },
    { enum: "x" },
    { anyOf: {} },
    { anyOf: [] },
    { allOf: "x" },
    { properties: [] },
    { type: "object", properties: { a: null } },
    { type: "object", required: "a", properties: { a: { type: "string" } } },
    { type: "array", items: 7 },
    { type: "array", prefixItems: [null], minItems: "x" },
    new Proxy({}, {
      ownKeys() {
        throw new Error("hostile");
      },
      getOwnPropertyDescriptor() {
        throw new Error("hostile");
      },
    }),
  ];
  for (const schema of bad) {
    const r = schemaToType(schema);
    assert(typeof r.type === "string" && r.type.length > 0);
  }
  assertEquals(t({ type: 5 }), "unknown");
  assertEquals(t({ type: "object", properties: { a: null } }), "{ a?: unknown }");
  assertEquals(
    t({ type: "object", required: "a", properties: { a: { type: "string" } } }),
    "{ a?: string }",
  );
});

Deno.test("guards: deep nesting and exponential ref fan-out stay bounded", () => {
  let deep: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < 5000; i++) deep = { type: "object", properties: { x: deep } };
  const d = schemaToType(deep, { maxDepth: 10 });
  assert(d.degraded);
  assertEquals(d.type.split("x?:").length - 1, 10);

  // d0 → d1 twice → d2 twice … : 2^40 expansions without a node budget.
  const defs: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) {
    defs[`d${i}`] = {
      type: "object",
      properties: { l: { $ref: `#/$defs/d${i + 1}` }, r: { $ref: `#/$defs/d${i + 1}` } },
    };
  }
  defs.d40 = { type: "string" };
  const wide = schemaToType({ $ref: "#/$defs/d0", $defs: defs }, {
    maxNodes: 2000,
    maxLength: 200_000,
  });
  assert(wide.degraded);
  assert(wide.type.length < 200_000);
  const capped = schemaToType({ $ref: "#/$defs/d0", $defs: defs }, { maxLength: 1000 });
  assertEquals(capped.type, "unknown");
  assert(capped.degraded);
});

Deno.test("guards: oversized enums, unions and tuples widen, never narrow", () => {
  const many = Array.from({ length: 600 }, (_, i) => `v${i}`);
  const e = schemaToType({ enum: many });
  assertEquals([e.type, e.degraded], ["string", true]);
  assertEquals(t({ enum: [...many, 1] }), "unknown");
  const u = schemaToType({ anyOf: many.map((c) => ({ const: c })) });
  assertEquals([u.type, u.degraded], ["unknown", true]);
  const tuple = Array.from({ length: 70 }, () => ({ type: "number" }));
  const tt = schemaToType({ type: "array", prefixItems: tuple, items: false, minItems: 70 });
  assert(tt.type.endsWith("number, ...unknown[]]"), tt.type);
  assertEquals(tt.type.split("number").length - 1, 64);
});

Deno.test("objects: prototype-ish property names are plain keys", () => {
  const schema = JSON.parse(
    '{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"type":"number"}},' +
      '"required":["__proto__"]}',
  );
  assertEquals(t(schema), "{ __proto__: string; constructor?: number }");
});

Deno.test("docs: JSDoc from descriptions, safe against comment injection", () => {
  const r = schemaToType({
    type: "object",
    properties: {
      a: { type: "string", description: "Evil */ console.log('x') /* text\nsecond line" },
      b: { type: "number", title: "Just a title" },
    },
    required: ["a"],
  }, { docs: true });
  assertEquals(
    r.type,
    "{\n" +
      "  /**\n" +
      "   * Evil *\\/ console.log('x') /* text\n" +
      "   * second line\n" +
      "   */\n" +
      "  a: string;\n" +
      "  /** Just a title */\n" +
      "  b?: number;\n" +
      "}",
  );
});

Deno.test("every generated type above is valid TypeScript (deno check)", async () => {
  const schemas: unknown[] = [
    TREE,
    { enum: ["a", 1, true, null] },
    { type: "array", prefixItems: [{ type: "string" }], items: false, minItems: 0 },
    { type: "array", items: [{ type: ["string", "null"] }], additionalItems: { type: "boolean" } },
    {
      type: "object",
      properties: { "a-b": { type: "string" }, "": { type: "null" }, 0: { type: "string" } },
      patternProperties: { "^x": { type: "boolean" } },
      additionalProperties: { type: "number" },
    },
    { type: "object", properties: { k: { type: "string" } }, oneOf: [{ required: ["k"] }, {}] },
    JSON.parse(
      '{"type":"object","properties":{"__proto__":{"type":"string"}},"required":["__proto__"]}',
    ),
    { type: "object", properties: { next: { $ref: "#" } } },
    {
      type: "object",
      properties: { a: { type: "string", description: "*/ evil /*", default: "*/" } },
    },
    ...fixtureCatalogue().flatMap((x) => [x.inputSchema, x.outputSchema ?? {}]),
  ];
  const used = new Set<string>();
  const lines: string[] = [];
  schemas.forEach((schema, i) => {
    for (const docs of [false, true]) {
      const r = schemaToType(schema, { docs, aliasPrefix: `T${i}_`, usedAliasNames: used });
      for (const a of r.aliases) lines.push(`type ${a.name} = ${a.type};`);
      lines.push(`export type S${i}${docs ? "d" : ""} = ${r.type};`);
    }
  });
  lines.push(`const ok: S0 = { root: { name: "a", children: [{ name: "b" }] } }; console.log(ok);`);
  lines.push(
    `// @ts-expect-error name is required\nconst bad: S0 = { root: { children: [] } }; console.log(bad);`,
  );
  await denoCheck(lines.join("\n"));
});

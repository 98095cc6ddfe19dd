/**
 * Schemas as the MCP TypeScript SDK produces them: servers written with zod send
 * `z.toJSONSchema` output, with `$defs`, `__schemaN` refs, tuples and nullables.
 */
import { z } from "zod";
import { assertEquals } from "../assert.ts";
import { schemaToType } from "../../wrappers/mod.ts";
import { denoCheck } from "./_check.ts";

const Category: z.ZodType = z.lazy(() => z.object({ name: z.string(), sub: z.array(Category) }));
const INPUT = z.object({
  id: z.string().uuid(),
  n: z.number().int().optional(),
  tags: z.array(z.string()).default([]),
  mode: z.enum(["a", "b"]),
  lit: z.literal("x"),
  maybe: z.string().nullable(),
  u: z.union([z.string(), z.object({ k: z.number() })]),
  rec: z.record(z.string(), z.number()),
  tup: z.tuple([z.string(), z.number()]),
  cat: Category,
  inter: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() })),
  when: z.iso.datetime(),
});

const EXPECTED = "{ id: string; n?: number; tags?: string[]; " +
  'mode: "a" | "b"; lit: "x"; maybe: string | null; u: string | { k: number }; ' +
  "rec: Record<string, number>; tup: [string, number]; cat: Z_Schema0; " +
  "inter: { a: string; b: number }; when: string }";

for (const target of ["draft-2020-12", "draft-7"] as const) {
  Deno.test(`zod ${target}: types match the zod schema and type-check`, async () => {
    const json = z.toJSONSchema(INPUT, { target, io: "input" });
    const r = schemaToType(json, { aliasPrefix: "Z_" });
    assertEquals(r.type, EXPECTED);
    assertEquals(r.aliases, [{ name: "Z_Schema0", type: "{ name: string; sub: Z_Schema0[] }" }]);
    assertEquals(r.degraded, false);
    // Without aliases the recursion is cut, not followed forever.
    assertEquals(
      schemaToType(json).type.includes("cat: { name: string; sub: unknown[] }"),
      true,
    );
    await denoCheck(
      `type Z_Schema0 = ${r.aliases[0].type};\ntype Input = ${r.type};\n` +
        `const v: Input = ${
          JSON.stringify({
            id: "x",
            mode: "a",
            lit: "x",
            maybe: null,
            u: { k: 1 },
            rec: { a: 1 },
            tup: ["a", 1],
            cat: { name: "c", sub: [{ name: "d", sub: [] }] },
            inter: { a: "a", b: 1 },
            when: "2026-01-01T00:00:00Z",
          })
        };\nconsole.log(v);\n`,
    );
  });
}

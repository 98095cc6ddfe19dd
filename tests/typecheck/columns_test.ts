/**
 * Diagnostics are placed in the caller's code as sent, also on a line the gateway's
 * import/export rewrite changed in length (`export default <expression>` becomes a longer
 * assignment; red team rttype item 7): columns after the rewrite move back, columns inside it
 * go to where it starts, and other lines are untouched.
 */

import { assertEquals } from "../assert.ts";
import { TypeChecker } from "../../typecheck/mod.ts";
import { originalColumn, typeCheck } from "../../gateway/type_check.ts";

Deno.test({
  name: "typecheck columns: after export default, in the caller's code",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const checker = new TypeChecker();
    try {
      const cases = [
        { code: "const a = 1;\nexport default { n: a.toFixed(2).nope };", at: "nope", line: 2 },
        { code: "export default   (1).nope;", at: "nope", line: 1 },
        {
          code: "const a = 1;\r\nexport default a.nope;\r\nconst b: string = a;",
          at: "nope",
          line: 2,
        },
        {
          code: "const s = '😀';\nexport default [s.nope, s.length];",
          at: "nope",
          line: 2,
        },
      ];
      for (const { code, at, line } of cases) {
        const refusal = await typeCheck({
          checker,
          tenant: "t",
          declarations: "",
          code,
          timeoutMs: 2000,
        });
        const first = refusal?.diagnostics?.[0];
        const text = code.split(/\r\n|\n/)[line - 1];
        assertEquals([first?.line, first?.column], [line, text.indexOf(at) + 1], code);
      }
      // A line the rewrite left alone keeps its columns.
      const refusal = await typeCheck({
        checker,
        tenant: "t",
        declarations: "",
        code: "export default 1;\nconst b: string = 2;",
        timeoutMs: 2000,
      });
      assertEquals([refusal?.diagnostics?.[0].line, refusal?.diagnostics?.[0].column], [2, 7]);
    } finally {
      await checker.close();
    }
  },
});

Deno.test("typecheck columns: originalColumn maps a lengthened line back", () => {
  const code = "x; export default y.z;";
  const prepared = "x; var __airlock_default = y.z;";
  // `z` after the rewrite, at its place before it.
  assertEquals(originalColumn(code, prepared, 1, prepared.indexOf("z") + 1), code.indexOf("z") + 1);
  // Inside the rewritten text: where it starts.
  assertEquals(originalColumn(code, prepared, 1, prepared.indexOf("__") + 1), 4);
  // Before it, and on an unchanged code: as is.
  assertEquals(originalColumn(code, prepared, 1, 1), 1);
  assertEquals(originalColumn(code, code, 1, 9), 9);
  // Past the last line: as is.
  assertEquals(originalColumn(code, prepared, 5, 3), 3);
});

/**
 * The code scanner runs on the gateway's shared event loop over untrusted code, so it must be
 * linear on every input. Each case is an adversarial shape; the check is a ratio within one
 * run (8× the input may cost at most 24× the time, best of three, in one of three tries), not a wall-clock figure.
 */
import { assert, tool } from "./helpers.ts";
import { codeQueryText, selectTools, ToolIndex } from "../../../wrappers/selection/mod.ts";
import { lexicalEmbedder, toolsNamedInCode } from "../../../wrappers/selection/mod.ts";

const catalogue = [
  tool("filesystem", "read_file", "Read the complete contents of a file"),
  tool("fs", "write_file", "Create or overwrite a file"),
  tool("tools", "call", "A server that is named like the built-in"),
];

/** Shapes of code, each a function of a size n (characters, roughly). */
const CASES: Record<string, (n: number) => string> = {
  "identifier run in a comment": (n) => `// ${"a".repeat(n)}\nreturn 1;`,
  "identifier run then a dot": (n) => `${"a".repeat(n)}.`,
  "server name run": (n) => "filesystem".repeat(n / 10),
  "dotted chain": (n) => "a.".repeat(n / 2),
  "server dotted chain without a call": (n) => "fs.write_file ".repeat(n / 14),
  "many real calls": (n) => "fs.writeFile();".repeat(n / 15),
  "bracket openers": (n) => 'fs["'.repeat(n / 4),
  "bracket with long unterminated literal": (n) => `fs["${"w".repeat(n)}`,
  "tools.call openers": (n) => 'tools.call("'.repeat(n / 12),
  "capital run": (n) => "A".repeat(n),
  "capital run then lower": (n) => "A".repeat(n) + "a",
  "whitespace between": (n) => `fs${" ".repeat(n)}.`,
};

function timeOf(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

for (const [name, make] of Object.entries(CASES)) {
  Deno.test(`code scan is linear: ${name}`, () => {
    const small = make(12_500);
    const large = make(100_000);
    const run = (code: string) => () => {
      toolsNamedInCode(code, catalogue);
      codeQueryText(code);
    };
    run(small)(); // warm the JIT
    // 8× the input: linear work takes ~8× the time, quadratic ~64×. The bound (24×, plus 1 ms
    // of slack for timer resolution) sits between the two; a loaded machine can stretch one
    // measurement, so the ratio is taken up to three times and must hold once. A quadratic
    // scan fails all three by a wide margin.
    let ratio = Infinity;
    for (let attempt = 0; attempt < 3 && ratio > 24; attempt++) {
      const a = timeOf(run(small));
      const b = timeOf(run(large));
      ratio = Math.min(ratio, (b - 1) / a);
    }
    assert(ratio <= 24, `${name}: 8× the input took ${ratio.toFixed(1)}× the time`);
  });
}

Deno.test("code scan: selection of a 500,000-character hostile program still finds the real call", async () => {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  const code = `// ${"x".repeat(250_000)}\n${"A".repeat(200_000)}\nawait fs.writeFile({});`;
  const tools = await selectTools(index, { code, maxTools: 5, minScore: 0.3 });
  assert(tools.some((t) => t.id === "fs.write_file"));
});

Deno.test("code scan: a server named tools is still found by member call", () => {
  const found = toolsNamedInCode("await tools.call({});", catalogue).map((t) => t.id);
  assert(found.includes("tools.call"), JSON.stringify(found));
});

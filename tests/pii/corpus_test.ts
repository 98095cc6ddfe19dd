// Precision and recall per type on the labelled corpus (tests/pii/corpus/*.jsonl).

import { evaluate, readCorpus, scoreTable } from "./corpus_eval.ts";
import { corpusText } from "./gen_corpus.ts";
import { PII_TYPES } from "../../pii/mod.ts";

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const MIN_SCORE = 0.97;

Deno.test("corpus: committed generated.jsonl is exactly what gen_corpus.ts produces", async () => {
  const committed = await Deno.readTextFile(new URL("./corpus/generated.jsonl", import.meta.url));
  assert(committed === corpusText(), "regenerate with: deno run -A tests/pii/gen_corpus.ts");
});

Deno.test("corpus: size and coverage", async () => {
  const lines = (await readCorpus()).flatMap((f) => f.lines);
  const positives = lines.flatMap((l) => l.expect);
  const negatives = lines.filter((l) => l.expect.length === 0);
  assert(positives.length >= 500, `only ${positives.length} positives`);
  assert(negatives.length >= 500, `only ${negatives.length} negative lines`);
  for (const type of PII_TYPES) {
    const n = positives.filter((p) => p.type === type).length;
    assert(n >= 100, `only ${n} positives of type ${type}`);
  }
});

Deno.test("corpus: precision and recall per type are at least 0.97", async () => {
  const files = await readCorpus();
  const lines = files.flatMap((f) => f.lines);
  const { scores, mistakes } = evaluate(lines);
  console.log(
    `\n${lines.length} lines (${files.map((f) => `${f.file}: ${f.lines.length}`).join(", ")})`,
  );
  console.log(scoreTable(scores));
  for (const m of mistakes) console.log(`  ${m.kind} ${m.type} ${JSON.stringify(m.value)}`);
  for (const s of scores) {
    assert(s.precision >= MIN_SCORE, `${s.type} precision ${s.precision.toFixed(3)}`);
    assert(s.recall >= MIN_SCORE, `${s.type} recall ${s.recall.toFixed(3)}`);
  }
});

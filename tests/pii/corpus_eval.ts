// Scores findPii on the labelled corpus: per-type precision and recall.

import { findPii, PII_TYPES, type PiiType } from "../../pii/mod.ts";
import type { CorpusLine } from "./gen_corpus.ts";

/** Per-type tallies. */
export interface TypeScore {
  type: PiiType;
  expected: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

/** A miss or a false alarm, for diagnosis. */
export interface Mistake {
  kind: "missed" | "false alarm";
  type: PiiType;
  value: string;
  text: string;
}

/** Reads every `*.jsonl` file of tests/pii/corpus/. */
export async function readCorpus(): Promise<{ file: string; lines: CorpusLine[] }[]> {
  const dir = new URL("./corpus/", import.meta.url);
  const files: { file: string; lines: CorpusLine[] }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("//"))
      .map((l) => JSON.parse(l) as CorpusLine);
    files.push({ file: entry.name, lines });
  }
  return files.sort((a, b) => a.file.localeCompare(b.file));
}

/** Runs findPii over `lines`; an exact (type, value) match counts as a true positive. */
export function evaluate(lines: CorpusLine[]): { scores: TypeScore[]; mistakes: Mistake[] } {
  const tally = new Map<PiiType, { expected: number; tp: number; fp: number; fn: number }>();
  for (const t of PII_TYPES) tally.set(t, { expected: 0, tp: 0, fp: 0, fn: 0 });
  const mistakes: Mistake[] = [];
  for (const line of lines) {
    const found = findPii(line.text).map((f) => ({ type: f.type, value: f.value }));
    const unmatched = [...found];
    for (const e of line.expect) {
      const t = tally.get(e.type)!;
      t.expected++;
      const i = unmatched.findIndex((f) => f.type === e.type && f.value === e.value);
      if (i >= 0) {
        t.tp++;
        unmatched.splice(i, 1);
      } else {
        t.fn++;
        mistakes.push({ kind: "missed", type: e.type, value: e.value, text: line.text });
      }
    }
    for (const f of unmatched) {
      tally.get(f.type)!.fp++;
      mistakes.push({ kind: "false alarm", type: f.type, value: f.value, text: line.text });
    }
  }
  const scores = PII_TYPES.map((type) => {
    const t = tally.get(type)!;
    return {
      type,
      expected: t.expected,
      truePositives: t.tp,
      falsePositives: t.fp,
      falseNegatives: t.fn,
      precision: t.tp + t.fp === 0 ? 1 : t.tp / (t.tp + t.fp),
      recall: t.tp + t.fn === 0 ? 1 : t.tp / (t.tp + t.fn),
    };
  });
  return { scores, mistakes };
}

/** The scores as a Markdown table. */
export function scoreTable(scores: TypeScore[]): string {
  const rows = scores.map((s) =>
    `| ${s.type} | ${s.expected} | ${s.truePositives} | ${s.falsePositives} | ${s.falseNegatives} | ${
      s.precision.toFixed(3)
    } | ${s.recall.toFixed(3)} |`
  );
  return [
    "| type | expected | TP | FP | FN | precision | recall |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

if (import.meta.main) {
  const lines = (await readCorpus()).flatMap((f) => f.lines);
  const { scores, mistakes } = evaluate(lines);
  console.log(scoreTable(scores));
  for (const m of mistakes) {
    console.log(m.kind, m.type, JSON.stringify(m.value), "in", JSON.stringify(m.text));
  }
}

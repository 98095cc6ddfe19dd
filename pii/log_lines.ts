// Console lines redacted with the values they render (red team n1, N1-11: `console.log(obj)`
// leaked what returning `obj` redacts: the value path judges each value under its key, the
// log path saw only the rendered text, `{ credentials: { prod: "…" } }`).

import { JudgedValues } from "./judged_values.ts";
import {
  mergeCounts,
  type RedactedText,
  type RedactionOptions,
  redactJudgedText,
  redactText,
  redactValue,
} from "./redact.ts";

/**
 * Redacts one console line, `text`, given the object arguments it renders (`values`, JSON
 * values copied beside the line by the sandbox; `undefined` when there are none): the values
 * are judged as a returned value is (each under its key, the key above, pairs, tuples), and
 * whatever that finds is hidden wherever it appears in the line, as is what the line's own
 * text holds. The values are judged in mask mode (no vault entries for what the line may not
 * show); what the line shows gets the options' replacement (its vault placeholder in tokenize
 * mode). With `options.judged`, the values found are remembered there too, and values judged
 * before (earlier lines, the result) are hidden in this line. Linear in `text` and `values`.
 */
export function redactLogLine(
  text: string,
  values: readonly unknown[] | undefined,
  options: RedactionOptions,
): RedactedText {
  if (options.mode === "off") return { text, counts: {} };
  const judged = options.judged ?? new JudgedValues();
  if (values !== undefined && values.length > 0) {
    redactValue(values, { mode: "mask", types: options.types, allow: options.allow, judged });
  }
  const out = redactText(text, { ...options, judged });
  const again = redactJudgedText(out.text, judged, options);
  return { text: again.text, counts: mergeCounts(out.counts, again.counts) };
}

/**
 * The last redaction pass over a response: a value judged personal data or a secret anywhere
 * in it (result, logs, error, a tool call's error) is hidden wherever else it appears in it,
 * the same way (red team n1, N1-20: a password hidden in a returned `.env` was raw in a log
 * line of the same response, and in tokenize mode the placeholder told the agent which raw
 * string it stood for).
 *
 * @module
 */

import {
  type JudgedValues,
  mergeCounts,
  type RedactionCounts,
  type RedactionOptions,
  redactJudgedText,
  redactJudgedValue,
} from "../pii/mod.ts";
import type { ExecuteResponse } from "./schemas.ts";

/**
 * Replaces, in place in `response`, every exact occurrence of a value `judged` holds (as a
 * token of its own) in the result's strings and keys, the log lines, the error's message and
 * stack, and the tool calls' errors and warnings, as `redaction` replaces it. Returns what it
 * replaced, per type. Linear in the response's text (pii/judged_values.ts).
 */
export function hideJudgedValues(
  response: ExecuteResponse,
  judged: JudgedValues,
  redaction: RedactionOptions,
): RedactionCounts {
  let counts: RedactionCounts = {};
  if (judged.size === 0 || redaction.mode === "off") return counts;
  const text = (value: string) => {
    const out = redactJudgedText(value, judged, redaction);
    counts = mergeCounts(counts, out.counts);
    return out.text;
  };
  for (const line of response.logs) line.text = text(line.text);
  if (response.error) {
    response.error.message = text(response.error.message);
    if (response.error.stack) response.error.stack = text(response.error.stack);
  }
  for (const call of response.tools.calls) {
    if (call.error) call.error = text(call.error);
    if (call.warning) call.warning = text(call.warning);
  }
  if (response.result !== undefined) {
    const out = redactJudgedValue(response.result, judged, redaction);
    counts = mergeCounts(counts, out.counts);
    response.result = out.value;
  }
  return counts;
}

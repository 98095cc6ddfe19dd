// Redaction that keeps big inputs off the calling thread's event loop: detection runs in
// a DetectionPool, replacement (vault placeholders, counts) stays here.

import type { Finding, RedactionCounts } from "./types.ts";
import {
  applyFindings,
  leafText,
  plan,
  type RedactedText,
  type RedactedValue,
  type RedactionOptions,
  redactText,
  withEncoded,
  withLine,
} from "./redact.ts";
import { forEachLeafAsync, type LinePlace, mapLeavesAsync } from "./walk.ts";
import type { CommandLine } from "./command_arrays.ts";
import { findPii } from "./find.ts";
import {
  findPiiUnder,
  keyedText,
  mergeKeyed,
  nameId,
  rememberedName,
  rememberName,
} from "./keyed.ts";
import { DetectionPool } from "./worker_pool.ts";

/** Longest run of replacement work before the async path yields the event loop, in ms. */
const APPLY_SLICE_MS = 4;
/** Findings of one string replaced between two checks of the time. */
const FINDINGS_PER_SLICE = 1000;

/** Inputs up to this many UTF-16 code units in all are redacted synchronously. */
export const ASYNC_THRESHOLD_UNITS = 65_536;

/** Options of {@linkcode redactTextAsync} and {@linkcode redactValueAsync}. */
export interface AsyncRedactionOptions extends RedactionOptions {
  /** Pool to detect in (default: a shared pool of two workers, started on first use). */
  pool?: DetectionPool;
  /**
   * Total string length, in UTF-16 code units, above which detection goes to the pool
   * (default {@linkcode ASYNC_THRESHOLD_UNITS}); at or below it the call is synchronous
   * inside (no worker round trip for small responses).
   */
  thresholdUnits?: number;
}

let sharedPool: DetectionPool | undefined;

function poolFor(options: AsyncRedactionOptions): DetectionPool {
  return options.pool ?? (sharedPool ??= new DetectionPool());
}

/**
 * Terminates the shared pool's workers (they are unref'd when idle, so this is only
 * needed to free them early, e.g. in tests). The next async call starts a new pool.
 */
export function closeSharedPool(): void {
  sharedPool?.close();
  sharedPool = undefined;
}

/**
 * {@linkcode redactText} with detection in a worker when `text` is longer than the
 * threshold. Same result as `redactText(text, options)` (same placeholders, in the same
 * order, from the same vault). Rejects with `kind: "invalid_option"` on bad options.
 */
export async function redactTextAsync(
  text: string,
  options: AsyncRedactionOptions,
): Promise<RedactedText> {
  const p = plan(options);
  const threshold = options.thresholdUnits ?? ASYNC_THRESHOLD_UNITS;
  if (p.off || typeof text !== "string" || text.length <= threshold) {
    return redactText(text, options);
  }
  const [findings] = await poolFor(options).detect([text], p.types);
  const counts: RedactionCounts = {};
  return { text: applyFindings(p, text, withEncoded(text, findings, p.types), counts), counts };
}

/**
 * {@linkcode redactValue} with detection in workers when the strings inside `value` (and
 * its object keys, and the integers it checks as text), each with the `key: ` it is judged after, exceed the
 * threshold in total, and with every walk over `value` cooperative: the texts are
 * collected, detected, replaced and put back in slices of a few ms, yielding the event
 * loop between them (a result of 350,000
 * empty objects was two copying walks in one stretch, ~360 ms of the gateway's main thread).
 * Same placeholders and counts as `redactValue(value, options)`: replacements are applied
 * here, in document order, so tokenize placeholders are numbered exactly as the synchronous
 * call would number them. Unlike `redactValue`, a value with nothing to redact comes back
 * as it is, not copied (see {@linkcode mapLeavesAsync}); `value` is never modified, and must
 * not change while the call runs. Rejects with `kind: "invalid_option"` on bad options.
 */
export async function redactValueAsync(
  value: unknown,
  options: AsyncRedactionOptions,
): Promise<RedactedValue> {
  const p = plan(options);
  const threshold = options.thresholdUnits ?? ASYNC_THRESHOLD_UNITS;
  if (p.off) return { value, counts: {} };
  // Each text and its key; a text under a key is also read as `key: <its head>` (keyed.ts):
  // `keyed` holds those, `keyedOf[i]` the index of text i's one (-1: none).
  const texts: string[] = [];
  const keys: (string | undefined)[] = [];
  const keyed: string[] = [];
  const keyedOf: number[] = [];
  // Items of arrays read as command lines (walk.ts `LinePlace`): each text's place, and each
  // line once, with its items (its text is detected with the others, command_arrays.ts).
  const places = new Map<number, LinePlace>();
  const lines = new Map<CommandLine, readonly unknown[]>();
  let units = 0;
  // Object keys are texts too, judged under their object's key, in document order (a key
  // before its value), as `redactValue` numbers them.
  // A key is detected once per distinct key (the same few repeat in every row of a result):
  // one remembered (keyed.ts) is taken as it is, a repeat within this value is the first
  // one's (`repeats`), and the first is remembered once detected (`ids`).
  const known = new Map<number, readonly Finding[]>();
  const repeats = new Map<number, number>();
  const ids = new Map<number, string>();
  const firstOf = new Map<string, number>();
  const collect = (text: string | undefined, key: string | undefined, name = false) => {
    if (text === undefined || text.length === 0) return;
    const id = name ? nameId(text, key, p.types) : undefined;
    if (id !== undefined) {
      const remembered = rememberedName(id);
      const first = firstOf.get(id);
      if (remembered !== undefined || first !== undefined) {
        if (remembered !== undefined) known.set(texts.length, remembered);
        else repeats.set(texts.length, first!);
        texts.push(text);
        keys.push(key);
        keyedOf.push(-1);
        return;
      }
      firstOf.set(id, texts.length);
      ids.set(texts.length, id);
    }
    texts.push(text);
    keys.push(key);
    units += text.length;
    const withKey = keyedText(text, key);
    if (withKey === undefined) keyedOf.push(-1);
    else {
      keyedOf.push(keyed.length);
      keyed.push(withKey);
      units += withKey.length;
    }
  };
  await forEachLeafAsync(
    value,
    (leaf, key, place) => {
      const text = leafText(leaf, key);
      if (place !== undefined && text !== undefined && text.length > 0) {
        places.set(texts.length, place);
        if (!lines.has(place.line)) {
          lines.set(place.line, place.items);
          units += place.line.text.length;
        }
      }
      collect(text, key);
    },
    {},
    (name, under) => collect(name, under, true),
  );
  // Replacing (vault placeholders) stays on this thread, in document order; tens of
  // thousands of findings take a while, so the work yields every few milliseconds.
  let sliceStart = performance.now();
  const pause = async () => {
    if (performance.now() - sliceStart > APPLY_SLICE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
  };
  let found: (readonly Finding[])[];
  if (units > threshold) {
    const sent: number[] = [];
    for (let i = 0; i < texts.length; i++) if (!known.has(i) && !repeats.has(i)) sent.push(i);
    const lined = [...lines.keys()];
    const all = await poolFor(options).detect(
      sent.map((i) => texts[i]).concat(keyed, lined.map((line) => line.text)),
      p.types,
    );
    // Each line's findings, split onto its items here (the same split as the sync path's).
    for (let k = 0; k < lined.length; k++) {
      lined[k].setFindings(lines.get(lined[k])!, p.types, all[sent.length + keyed.length + k]);
    }
    found = new Array(texts.length);
    for (const [i, findings] of known) found[i] = findings;
    for (let j = 0; j < sent.length; j++) {
      const i = sent[j];
      const k = keyedOf[i];
      found[i] = k < 0 ? all[j] : mergeKeyed(all[j], all[sent.length + k], keys[i], texts[i]);
      await pause();
    }
  } else {
    // Few units in all, but maybe in tens of thousands of texts: detected here, in slices.
    found = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const name = known.get(i);
      if (name !== undefined || repeats.has(i)) {
        if (name !== undefined) found[i] = name;
        continue;
      }
      const alone = findPii(texts[i], p.types);
      const k = keyedOf[i];
      found[i] = k < 0 ? alone : mergeKeyed(alone, findPii(keyed[k], p.types), keys[i], texts[i]);
      await pause();
    }
  }
  for (const [i, id] of ids) rememberName(id, found[i]);
  for (const [i, first] of repeats) found[i] = found[first];
  for (const [i, place] of places) found[i] = withLine(texts[i], found[i], place, p.types);
  const counts: RedactionCounts = {};
  const replaced: string[] = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    const findings = withEncoded(text, found[i], p.types);
    if (findings.length <= FINDINGS_PER_SLICE) {
      replaced[i] = applyFindings(p, text, findings, counts);
      await pause();
      continue;
    }
    // One string with many findings (40,000 addresses): replaced a slice of findings at a
    // time, each slice on the text between the previous slice's last finding and its own.
    const pieces: string[] = [];
    let from = 0;
    for (let k = 0; k < findings.length; k += FINDINGS_PER_SLICE) {
      const slice = findings.slice(k, k + FINDINGS_PER_SLICE);
      const to = slice[slice.length - 1].end;
      const shifted = slice.map((f) => ({ ...f, start: f.start - from, end: f.end - from }));
      pieces.push(applyFindings(p, text.slice(from, to), shifted, counts));
      from = to;
      await pause();
    }
    pieces.push(text.slice(from));
    replaced[i] = pieces.join("");
  }
  let next = 0;
  const put = (text: string, key: string | undefined): string => {
    const i = next++;
    // A value changed by someone else while detection ran: detect this text here.
    if (texts[i] !== text) {
      const findings = withEncoded(text, findPiiUnder(text, key, p.types), p.types);
      return applyFindings(p, text, findings, counts);
    }
    return replaced[i];
  };
  const result = await mapLeavesAsync(
    value,
    (leaf, key) => {
      const text = leafText(leaf, key);
      if (text === undefined || text.length === 0) return leaf;
      const out = put(text, key);
      return typeof leaf === "number" && out === text ? leaf : out;
    },
    {},
    (name, under) => name.length === 0 ? name : put(name, under),
  );
  return { value: result, counts };
}

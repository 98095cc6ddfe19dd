// Findings as a flat Int32Array, the form they cross a worker boundary in: a transferable
// buffer instead of one cloned object (with a copy of the matched text) per finding.

import { type Finding, PII_TYPES } from "./types.ts";

/**
 * Encodes one findings list per text as `[n, start, end, type, …]` per text, in order
 * (`type`: index in {@linkcode PII_TYPES}; offsets in UTF-16 code units).
 */
export function encodeFindings(lists: readonly (readonly Finding[])[]): Int32Array<ArrayBuffer> {
  let size = 0;
  for (const list of lists) size += 1 + 3 * list.length;
  const out = new Int32Array(size);
  let k = 0;
  for (const list of lists) {
    out[k++] = list.length;
    for (const f of list) {
      out[k++] = f.start;
      out[k++] = f.end;
      out[k++] = PII_TYPES.indexOf(f.type);
    }
  }
  return out;
}

/**
 * Decodes {@linkcode encodeFindings} output against the texts it was computed on (the
 * values are sliced from them). Throws a `RangeError` with `kind: "internal"` when the
 * buffer does not fit the texts.
 */
export function decodeFindings(data: Int32Array, texts: readonly string[]): Finding[][] {
  const lists: Finding[][] = [];
  let k = 0;
  for (const text of texts) {
    const n = data[k++];
    if (!(n >= 0) || k + 3 * n > data.length) throw malformed();
    const list: Finding[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const start = data[k++], end = data[k++], type = PII_TYPES[data[k++]];
      if (type === undefined || start < 0 || end < start || end > text.length) throw malformed();
      list[i] = { type, start, end, value: text.slice(start, end) };
    }
    lists.push(list);
  }
  if (k !== data.length) throw malformed();
  return lists;
}

function malformed(): Error {
  return Object.assign(new RangeError("malformed findings from a detection worker"), {
    kind: "internal",
  });
}

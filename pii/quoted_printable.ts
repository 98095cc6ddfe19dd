// Quoted-printable text (RFC 2045; how mail MCP servers often return a raw message): lines of at
// most 76 characters, a soft line break `=` at the end of a line that continues, `=3D` for `=`.
// A token cut by a soft break had its first part hidden and its tail shown (red team n1, N1-15:
// `reset?token=3D<32 chars>=⏎<27 chars>&u=3D42`). The detectors read such text decoded: soft
// breaks dropped and `=XX` of printable ASCII decoded, offsets mapped back (escapes.ts
// `SpanMap`), so a finding covers the value as written, the soft break inside it included.

import { type FoldedText } from "./fold.ts";
import { SpanMap } from "./escapes.ts";

/** Value of a hex digit written in upper case (as RFC 2045 requires), -1 for other characters. */
function upperHex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Length of a soft line break at `at` (`=` then `\n` or `\r\n`), or 0. */
function softBreakAt(text: string, at: number): number {
  if (text.charCodeAt(at) !== 61) return 0;
  const c = text.charCodeAt(at + 1);
  if (c === 10) return 2;
  return c === 13 && text.charCodeAt(at + 2) === 10 ? 3 : 0;
}

/**
 * `text` read as quoted-printable, or `undefined` when it does not look like it: it must hold a
 * soft line break and an `=XX` escape of printable ASCII (`=3D`, `=20`; one alone is ordinary
 * text: `export X=` at a line's end, `a=3D` in a sum). Drops every soft break and decodes every
 * such escape; other `=` stay. Linear: one `indexOf` cursor, at most three units read per `=`.
 */
export function decodeQuotedPrintable(text: string): FoldedText | undefined {
  // Most text has no `=` before a line break: two native scans say so.
  if (text.indexOf("=\n") === -1 && text.indexOf("=\r\n") === -1) return undefined;
  let i = text.indexOf("=");
  let soft = false, escaped = false;
  for (let k = i; k !== -1 && !(soft && escaped); k = text.indexOf("=", k + 1)) {
    if (softBreakAt(text, k) > 0) soft = true;
    else if (escapeAt(text, k) >= 0) escaped = true;
  }
  if (!soft || !escaped) return undefined;
  const map = new SpanMap();
  let out = "";
  let last = 0;
  let outLength = 0;
  for (; i !== -1; i = text.indexOf("=", i)) {
    const br = softBreakAt(text, i);
    const code = br > 0 ? -1 : escapeAt(text, i);
    if (br === 0 && code < 0) {
      i++;
      continue;
    }
    out += text.slice(last, i);
    outLength += i - last;
    if (br > 0) {
      map.add(outLength, outLength, i, i + br);
      last = i + br;
    } else {
      out += String.fromCharCode(code);
      map.add(outLength, outLength + 1, i, i + 3);
      outLength += 1;
      last = i + 3;
    }
    i = last;
  }
  map.text = out + text.slice(last);
  return map;
}

/** The printable ASCII code `=XX` at `at` stands for, or -1. */
function escapeAt(text: string, at: number): number {
  const high = upperHex(text.charCodeAt(at + 1));
  const low = upperHex(text.charCodeAt(at + 2));
  if (high < 2 || high > 7 || low < 0) return -1;
  const code = high * 16 + low;
  return code === 127 ? -1 : code;
}

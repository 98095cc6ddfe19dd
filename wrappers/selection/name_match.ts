/**
 * Tool names written in a query: `read_text_file`, `readTextFile`, `filesystem.read_text_file`
 * or `read-text-file` name a tool exactly, and that tool goes first whatever the ranking says.
 * Only identifier-shaped words count (with `_`, `-`, `.` or a lower-to-upper case change), or a
 * plain word quoted as code (`` `search` ``, `(search)`, `"search"`), so that an ordinary word
 * such as "search" or "fetch" in a sentence never pins a tool of that name.
 *
 * @module
 */

import { normalizeName } from "./text.ts";

/** Longest word looked at (no tool name is longer; keeps the scan linear and cheap). */
const MAX_WORD_CHARS = 200;

/** Looks up tools by the names a query may write them with. */
export class NameMatcher {
  /** normalised `name` and `server.name` → document indices. */
  #byName = new Map<string, number[]>();

  /** @param tools the catalogue, in index order */
  constructor(tools: ReadonlyArray<{ server: string; name: string }>) {
    tools.forEach((tool, i) => {
      for (
        const key of new Set([normalizeName(tool.name), normalizeName(tool.server + tool.name)])
      ) {
        if (key.length === 0) continue;
        const list = this.#byName.get(key);
        if (list) list.push(i);
        else this.#byName.set(key, [i]);
      }
    });
  }

  /** Indices of the tools the query names, in the order they are written (no repeats). */
  named(query: string): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    for (const match of query.matchAll(/[A-Za-z_$][\w$.-]*/g)) {
      const word = match[0].replace(/[.-]+$/, "");
      if (word.length > MAX_WORD_CHARS) continue;
      // A plain word counts only when quoted as code: `search`, (search), "search".
      const before = query[match.index - 1];
      const after = query[match.index + word.length];
      const quoted = (before === "`" && after === "`") || (before === "(" && after === ")") ||
        (before === '"' && after === '"');
      if (!quoted && !/[_.-]|[a-z][A-Z]/.test(word)) continue;
      const keys = [normalizeName(word)];
      const dot = word.lastIndexOf(".");
      if (dot > 0) keys.push(normalizeName(word.slice(dot + 1)));
      for (const key of keys) {
        const hits = this.#byName.get(key);
        if (!hits) continue;
        for (const i of hits) {
          if (!seen.has(i)) {
            seen.add(i);
            out.push(i);
          }
        }
        break;
      }
    }
    return out;
  }
}

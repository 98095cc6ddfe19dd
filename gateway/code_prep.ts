/**
 * Agent code as agents write it: top-level `import` and `export` statements.
 *
 * The sandbox runs the caller's code as the body of one async function (that is what gives
 * it top-level `await` and `return`), where `import`/`export` declarations are a syntax
 * error. Agents write them anyway (`import type { X } from "./x.ts"`, `export const a = 1`),
 * so before the code is sent the gateway rewrites what has a meaning there and refuses the
 * rest with a `compile` error that says what to use instead:
 *
 * - type-only imports (`import type …`, `import { type A, type B } from …`) and type-only
 *   re-exports (`export type { A } from …`) are removed;
 * - `export` before a declaration is removed (`export const a` → `const a`; `export
 *   function`, `class`, `enum`, `type`, `interface`, `namespace`, `declare`, `abstract`);
 * - `export { a, b as c }` is removed (the names stay declared);
 * - `export default <expression>` is evaluated where it stands and is the result when the
 *   code ends without a `return` of its own (an explicit `return` wins); `export default
 *   function f` / `class C` declare `f` / `C` and return them the same way; `export { a as
 *   default }` returns `a` the same way;
 * - a value import (`import { readFile } from "node:fs"`, `import x from "./x.ts"`, `import
 *   "./x.ts"`), `export … from` a module, `export *`, `export =` and `import x = …` are a
 *   `compile` error naming the line.
 *
 * The caller's line numbers are kept: removed text is replaced by spaces (line terminators
 * kept), and anything added goes after the last line. Columns are kept too, except on a
 * line with `export default <expression>`, whose text after it moves right by 9.
 *
 * The statements are found by a hand-written scanner, not a regular expression over the
 * code: it knows strings, comments, template literals (with nested `${}`), regular
 * expression literals and bracket nesting, so `import`/`export` inside any of them, in a
 * nested block, or after a `.` is left alone. It is linear in the code's length (every
 * character is looked at a bounded number of times) and refuses code longer than
 * {@link MAX_PREP_CHARS} before scanning, since it runs on the gateway's shared event loop.
 *
 * @module
 */

import type { RunRequest, RunResult, SandboxError } from "../sandbox/mod.ts";

/** Largest code the scanner accepts, in UTF-16 code units (the request schema's cap). */
export const MAX_PREP_CHARS = 512 * 1024;

/** The variable an `export default <expression>` is assigned to. */
export const DEFAULT_EXPORT_BINDING = "__airlock_default";

/** Code ready for the sandbox, or why it cannot run. */
export type PreparedCode =
  | { ok: true; code: string }
  | { ok: false; error: SandboxError & { kind: "compile"; line: number } };

// ---------------------------------------------------------------- the scanner

/** Token kinds; comments and white space produce none. */
const IDENT = 1, PUNCT = 2, STRING = 3, TEMPLATE = 4, REGEX = 5, NUMBER = 6;

/**
 * The tokens of one code string as parallel typed arrays, not one object per token: 512 Ki
 * characters can be 200,000 tokens, and this runs on the gateway's event loop.
 */
class Tokens {
  count = 0;
  kinds: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  /** Open brackets (`(`, `[`, `{`, `${`) around each token; 0 is the top level. */
  depths: Int32Array;
  /**
   * Indices of `)` tokens that close the condition of `if`, `while`, `for` or `with`: a `/`
   * after one of them starts a regular expression (`if (x) /"/.test(s)`), after any other
   * `)` it divides.
   */
  controlCloses = new Set<number>();
  /** Offset of the first `)`, `]` or `}` that closes nothing, or -1. */
  unbalancedAt = -1;
  constructor(readonly code: string) {
    // Room for every token at once (each is at least one code unit): growing by doubling
    // copied up to 6 MiB in one synchronous step of a 512 Ki program's scan.
    const room = code.length + 1;
    this.kinds = new Uint8Array(room);
    this.starts = new Int32Array(room);
    this.ends = new Int32Array(room);
    this.depths = new Int32Array(room);
  }

  push(kind: number, start: number, end: number, depth: number) {
    if (this.count === this.kinds.length) {
      const grow = <T extends Uint8Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(a.length * 2);
        b.set(a);
        return b;
      };
      this.kinds = grow(this.kinds);
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.depths = grow(this.depths);
    }
    const k = this.count++;
    this.kinds[k] = kind;
    this.starts[k] = start;
    this.ends[k] = end;
    this.depths[k] = depth;
  }

  kind(k: number): number {
    return k >= 0 && k < this.count ? this.kinds[k] : 0;
  }

  /** The text of identifier or punctuation token `k`; `undefined` for others or none. */
  word(k: number): string | undefined {
    const kind = this.kind(k);
    if (kind !== IDENT && kind !== PUNCT) return undefined;
    return this.code.slice(this.starts[k], this.ends[k]);
  }

  /** Whether token `k` is the identifier or punctuation `text` (makes no string). */
  is(k: number, text: string): boolean {
    const kind = this.kind(k);
    return (kind === IDENT || kind === PUNCT) && this.ends[k] - this.starts[k] === text.length &&
      this.code.startsWith(text, this.starts[k]);
  }
}

/** Keywords after which `/` starts a regular expression, not a division. */
/** Words whose parenthesised condition may be followed by a statement (`if (x) /re/…`). */
const CONTROL_WORDS = new Set(["if", "while", "for", "with"]);

const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
  "extends",
]);

function isLineTerminator(unit: number): boolean {
  return unit === 10 || unit === 13 || unit === 0x2028 || unit === 0x2029;
}

function isSpace(unit: number): boolean {
  return unit === 32 || unit === 9 || unit === 11 || unit === 12 || unit === 0xa0 ||
    unit === 0xfeff || (unit >= 0x2000 && unit <= 0x200a) || unit === 0x1680 ||
    unit === 0x202f || unit === 0x205f || unit === 0x3000 || isLineTerminator(unit);
}

function isIdentPart(unit: number): boolean {
  if (unit < 0x80) {
    return (unit >= 97 && unit <= 122) || (unit >= 65 && unit <= 90) ||
      (unit >= 48 && unit <= 57) || unit === 36 || unit === 95 || unit === 92;
  }
  // Any other non-ASCII character that is not white space: close enough to find keywords.
  return !isSpace(unit);
}

function isDigit(unit: number): boolean {
  return unit >= 48 && unit <= 57;
}

/**
 * Splits `code` into tokens. Never throws: an unterminated string, comment, template or
 * regular expression ends at the end of the code (or, for strings and regular expressions,
 * of the line), which is what matters for finding top-level statements; the TypeScript
 * compiler in the sandbox reports the real syntax error.
 */
function tokenize(code: string): Tokens {
  const tokenizer = tokenizerOf(code);
  tokenizer.run(code.length);
  return tokenizer.tokens;
}

/**
 * Characters {@link prepareCodeAsync} tokenizes between two turns of the event loop: a few
 * ms of work, so a 512 Ki program is cut in 8 slices and other tenants' requests (and
 * `/healthz`) are answered between them.
 */
export const PREP_SLICE_CHARS = 64 * 1024;

/** Yields the event loop (a macrotask, so timers and I/O get their turn). */
function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** {@link tokenize} in slices of {@link PREP_SLICE_CHARS}, yielding the loop between them. */
async function tokenizeAsync(code: string): Promise<Tokens> {
  const tokenizer = tokenizerOf(code);
  for (let at = PREP_SLICE_CHARS; !tokenizer.run(at); at = tokenizer.at + PREP_SLICE_CHARS) {
    await yieldLoop();
  }
  return tokenizer.tokens;
}

/**
 * A resumable {@link tokenize}: `run(limit)` tokenizes on from where it stopped until it is
 * past offset `limit` (a token may run beyond it) and says whether the code is done.
 */
function tokenizerOf(
  code: string,
): { tokens: Tokens; readonly at: number; run(limit: number): boolean } {
  const tokens = new Tokens(code);
  const n = code.length;
  // Open brackets; "t" marks a template substitution `${`, whose `}` resumes the template.
  const brackets: string[] = [];
  let i = 0;
  const push = (kind: number, start: number, end: number) => {
    tokens.push(kind, start, end, brackets.length);
  };
  /** Scans template text from `i` (just past "`" or "}"); returns true at "${". */
  const templateRest = (): boolean => {
    while (i < n) {
      const c = code.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 96) {
        i++;
        return false;
      } else if (c === 36 && code.charCodeAt(i + 1) === 123) {
        i += 2;
        return true;
      } else i++;
    }
    return false;
  };
  const regexAllowed = (): boolean => {
    const prev = tokens.count - 1;
    if (prev < 0) return true;
    const kind = tokens.kinds[prev];
    if (kind === IDENT) {
      // No string is made for the (many) identifiers that cannot be one of the words.
      const length = tokens.ends[prev] - tokens.starts[prev];
      return length >= 2 && length <= 10 && REGEX_AFTER_WORD.has(tokens.word(prev)!);
    }
    if (kind === PUNCT) {
      if (tokens.is(prev, ")")) return tokens.controlCloses.has(prev);
      return !tokens.is(prev, "]");
    }
    return false;
  };
  const run = (limit: number): boolean => {
    const stop = Math.min(limit, n);
    while (i < stop) {
      const c = code.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      const start = i;
      if (c === 47) { // "/"
        const next = code.charCodeAt(i + 1);
        if (next === 47) { // line comment
          i += 2;
          while (i < n && !isLineTerminator(code.charCodeAt(i))) i++;
          continue;
        }
        if (next === 42) { // block comment
          const close = code.indexOf("*/", i + 2);
          i = close < 0 ? n : close + 2;
          continue;
        }
        if (regexAllowed()) {
          let j = i + 1;
          let inClass = false;
          let closed = false;
          while (j < n) {
            const u = code.charCodeAt(j);
            if (isLineTerminator(u)) break;
            if (u === 92) j += 2;
            else {
              if (u === 91) inClass = true;
              else if (u === 93) inClass = false;
              else if (u === 47 && !inClass) {
                closed = true;
                j++;
                break;
              }
              j++;
            }
          }
          if (closed) {
            while (j < n && isIdentPart(code.charCodeAt(j))) j++;
            i = j;
            push(REGEX, start, i);
            continue;
          }
        }
        i++;
        push(PUNCT, start, i);
        continue;
      }
      if (c === 34 || c === 39) { // string
        i++;
        while (i < n) {
          const u = code.charCodeAt(i);
          if (u === 92) i += 2;
          else if (u === c) {
            i++;
            break;
          } else if (u === 10 || u === 13) break;
          else i++;
        }
        push(STRING, start, Math.min(i, n));
        continue;
      }
      if (c === 96) { // template
        i++;
        const open = templateRest();
        push(TEMPLATE, start, Math.min(i, n));
        if (open) brackets.push("t");
        continue;
      }
      if (c === 125 && brackets[brackets.length - 1] === "t") { // "}" ending `${`
        brackets.pop();
        i++;
        const open = templateRest();
        push(TEMPLATE, start, Math.min(i, n));
        if (open) brackets.push("t");
        continue;
      }
      if (isDigit(c) || (c === 46 && isDigit(code.charCodeAt(i + 1)))) {
        i++;
        while (i < n) {
          const u = code.charCodeAt(i);
          if (isIdentPart(u) || u === 46) i++;
          else if ((u === 43 || u === 45) && (code[i - 1] === "e" || code[i - 1] === "E")) i++;
          else break;
        }
        push(NUMBER, start, i);
        continue;
      }
      if (isIdentPart(c)) {
        i++;
        while (i < n && isIdentPart(code.charCodeAt(i))) i++;
        push(IDENT, start, i);
        continue;
      }
      // Punctuation, one code unit at a time: only brackets, ".", ",", ";", "=", "*" matter.
      i++;
      if (c === 40 || c === 91 || c === 123) { // ( [ {
        const before = tokens.count - 1;
        const control = c === 40 && tokens.kind(before) === IDENT &&
          CONTROL_WORDS.has(tokens.word(before)!);
        push(PUNCT, start, i);
        brackets.push(control ? "c" : "b");
      } else if (c === 41 || c === 93 || c === 125) { // ) ] }
        if (brackets.length > 0) {
          if (brackets.pop() === "c") tokens.controlCloses.add(tokens.count);
        } else if (tokens.unbalancedAt < 0) tokens.unbalancedAt = start;
        push(PUNCT, start, i);
      } else push(PUNCT, start, i);
    }
    return i >= n;
  };
  return {
    tokens,
    get at() {
      return i;
    },
    run,
  };
}

// ---------------------------------------------------------------- the rewrite

/** Thrown inside {@link prepareCode} for a statement that cannot run; caught there. */
class Refusal {
  constructor(readonly offset: number, readonly message: string) {}
}

const INSTEAD = "Airlock runs your code as the body of one async function, so it cannot import " +
  "modules: use the injected globals instead (each allowed server is a namespace, e.g. " +
  '`await filesystem.readFile({ path })`; `await tools.call("server.tool_name", args)`; ' +
  "`await tools.search(query)`), and Deno's and the Web's globals (fetch, URL, crypto, " +
  "TextEncoder, …), which need no import. Type-only imports (`import type …`) are removed.";

/** Words after `export` that start a declaration whose `export` can simply go. */
const DECLARATION_START = new Set([
  "const",
  "let",
  "var",
  "function",
  "async",
  "class",
  "abstract",
  "enum",
  "interface",
  "namespace",
  "module",
  "declare",
  "using",
]);

/**
 * Rewrites top-level `import`/`export` statements of `code` (see the module doc) so the
 * sandbox can run it as a function body.
 *
 * @param code the caller's TypeScript, at most {@link MAX_PREP_CHARS} UTF-16 code units
 * @returns the code to send (same line count, same lines; a `return` of the default export
 *   may be added on a new last line), or a `compile` error with a message saying what to use
 *   instead and the 1-based `line` of the statement in the caller's code
 * @throws RangeError when `code` is longer than {@link MAX_PREP_CHARS} (the request schema
 *   refuses such code before this is reached)
 */
export function prepareCode(code: string): PreparedCode {
  checkLength(code);
  // Cheap exit: most code has neither word.
  if (!code.includes("import") && !code.includes("export")) return { ok: true, code };
  return rewrite(code, tokenize(code));
}

/**
 * {@link prepareCode} for the gateway's event loop, which every tenant shares: the same
 * answer, but the code is tokenized in slices of {@link PREP_SLICE_CHARS} with the loop
 * yielded between them, so no request holds it for its whole (up to 512 Ki) code.
 * @throws RangeError as {@link prepareCode}
 */
export async function prepareCodeAsync(code: string): Promise<PreparedCode> {
  checkLength(code);
  if (!code.includes("import") && !code.includes("export")) return { ok: true, code };
  return rewrite(code, await tokenizeAsync(code));
}

function checkLength(code: string): void {
  if (code.length > MAX_PREP_CHARS) {
    throw new RangeError(`code is longer than ${MAX_PREP_CHARS} characters`);
  }
}

/** The rewrite of {@link prepareCode} over the code's tokens. */
function rewrite(code: string, tokens: Tokens): PreparedCode {
  if (tokens.unbalancedAt >= 0) {
    // A closing bracket that opens nothing would close the function the code runs in, and
    // what follows would run at module level, past this rewrite.
    return {
      ok: false,
      error: {
        kind: "compile",
        message: `line ${lineOf(code, tokens.unbalancedAt)}: this closing bracket has no ` +
          "opening one",
        line: lineOf(code, tokens.unbalancedAt),
      },
    };
  }
  /** [start, end) ranges to blank, in order, and replacements to splice. */
  const edits: { start: number; end: number; text?: string }[] = [];
  let defaultResult: string | undefined;
  const setDefault = (binding: string, offset: number) => {
    if (defaultResult !== undefined) {
      throw new Refusal(offset, "a module has only one default export; this is the second");
    }
    defaultResult = binding;
  };
  const word = (k: number): string | undefined => tokens.word(k);
  const kind = (k: number): number => tokens.kind(k);
  const start = (k: number): number => tokens.starts[k];
  const depth = (k: number): number => tokens.depths[k];
  /** Index of the `}` closing the `{` at `k`. */
  const closing = (k: number): number => {
    for (let j = k + 1; j < tokens.count; j++) {
      if (depth(j) === depth(k) && tokens.is(j, "}")) return j;
    }
    throw new Refusal(start(k), "an unclosed `{` in an import or export");
  };
  /** Comma-separated specifiers between the braces at `open` and `close`, as word lists. */
  const specifiers = (open: number, close: number): string[][] => {
    const out: string[][] = [[]];
    for (let j = open + 1; j < close; j++) {
      if (tokens.is(j, ",")) out.push([]);
      else out[out.length - 1].push(word(j) ?? code.slice(start(j), tokens.ends[j]));
    }
    return out.filter((s) => s.length > 0);
  };
  /** `type A`, `type A as B`, `type as as B`: a type-only specifier. */
  const typeOnly = (spec: string[]): boolean =>
    spec[0] === "type" && spec.length >= 2 && (spec[1] !== "as" || spec.length === 4);
  /**
   * After `from`: the end of the string and of an optional `with { … }`/`assert { … }`, plus a
   * `;`. Returns the index of the statement's last token.
   */
  const fromClauseEnd = (k: number): number => {
    if (!tokens.is(k, "from") || kind(k + 1) !== STRING) {
      throw new Refusal(start(k), "could not read this statement's `from` clause");
    }
    let last = k + 1;
    if ((word(last + 1) === "with" || word(last + 1) === "assert") && word(last + 2) === "{") {
      last = closing(last + 2);
    }
    if (word(last + 1) === ";") last++;
    return last;
  };
  /** Blanks the keywords `first`..`last` (`export`, `export default`) of a declaration. */
  const blank = (first: number, last: number) => {
    edits.push({ start: start(first), end: tokens.ends[last] });
  };
  /**
   * Blanks a whole statement, leaving a `;` where it started: an unterminated line before it
   * must not run on into the next one (`f()` then `(x)` must not become `f()(x)`).
   */
  const removeStatement = (first: number, last: number) => {
    const from = start(first);
    edits.push({
      start: from,
      end: tokens.ends[last],
      text: ";" + blankOut(code.slice(from + 1, tokens.ends[last])),
    });
  };
  const optionalSemicolon = (k: number) => (word(k + 1) === ";" ? k + 1 : k);

  /** ` (from "…")` naming the statement's module, at most 100 characters, or "". */
  const fromText = (k: number): string => {
    for (let j = k + 1; j < tokens.count && j < k + 1000; j++) {
      if (depth(j) !== depth(k)) continue;
      if (kind(j) === STRING) {
        return ` (${code.slice(start(j), Math.min(tokens.ends[j], start(j) + 100))})`;
      }
      if (tokens.is(j, ";")) break;
    }
    return "";
  };
  /** Handles the `import` at `k`; returns the index to continue after. */
  const onImport = (k: number): number => {
    const t1 = word(k + 1);
    if (t1 === "type") {
      const t2 = word(k + 2);
      const typeImport = t2 === "{" || t2 === "*" ||
        (kind(k + 2) === IDENT && t2 !== "from") ||
        (t2 === "from" && word(k + 3) === "from");
      if (typeImport) {
        // Find `from "…"` at this statement's depth.
        for (let j = k + 2; j < tokens.count; j++) {
          if (depth(j) !== depth(k)) continue;
          if (tokens.is(j, "from") && kind(j + 1) === STRING) {
            const last = fromClauseEnd(j);
            removeStatement(k, last);
            return last;
          }
          if (tokens.is(j, ";") || tokens.is(j, "=")) break;
        }
        throw new Refusal(start(k), "could not read this `import type` statement");
      }
    }
    if (t1 === "{") {
      const close = closing(k + 1);
      const specs = specifiers(k + 1, close);
      if (specs.length > 0 && specs.every(typeOnly) && word(close + 1) === "from") {
        const last = fromClauseEnd(close + 1);
        removeStatement(k, last);
        return last;
      }
    }
    const what = kind(k + 1) === STRING ? "an import for side effects" : "a value import";
    throw new Refusal(start(k), `${what}${fromText(k)} cannot run here. ${INSTEAD}`);
  };

  /** Handles the `export` at `k`; returns the index to continue after. */
  const onExport = (k: number): number => {
    const exportAt = start(k);
    const t1 = word(k + 1);
    if (t1 === "default") {
      const t2 = word(k + 2);
      if (t2 === "interface") {
        blank(k, k + 1);
        return k + 1;
      }
      let decl = k + 2;
      if (t2 === "async" && word(k + 3) === "function") decl = k + 3;
      if (word(decl) === "abstract" && word(decl + 1) === "class") decl++;
      const declared = word(decl);
      if (declared === "function" || declared === "class") {
        let nameAt = decl + 1;
        if (word(nameAt) === "*") nameAt++;
        const name = word(nameAt);
        const named = kind(nameAt) === IDENT && name !== "extends" && name !== "implements";
        if (named) {
          setDefault(name!, exportAt);
          blank(k, k + 1);
          return k + 1;
        }
      }
      setDefault(DEFAULT_EXPORT_BINDING, exportAt);
      const span = code.slice(exportAt, tokens.ends[k + 1]);
      edits.push({
        start: exportAt,
        end: tokens.ends[k + 1],
        // Line terminators between `export` and `default` stay, so line numbers do.
        text: `var ${DEFAULT_EXPORT_BINDING} =` + blankOut(span).replaceAll(" ", ""),
      });
      return k + 1;
    }
    if (t1 === "type" && (word(k + 2) === "{" || word(k + 2) === "*")) {
      // `export type { A }` or `export type { A } from "…"`, `export type * from "…"`.
      const end = word(k + 2) === "{" ? closing(k + 2) : k + 2;
      const last = word(end + 1) === "from" ? fromClauseEnd(end + 1) : optionalSemicolon(end);
      removeStatement(k, last);
      return last;
    }
    if (t1 === "type" || t1 === "import" || (t1 !== undefined && DECLARATION_START.has(t1))) {
      // `export type T = …`, `export import A = …` (refused when its import is reached).
      blank(k, k);
      return k;
    }
    if (t1 === "{") {
      const close = closing(k + 1);
      const specs = specifiers(k + 1, close);
      if (word(close + 1) === "from") {
        if (specs.every(typeOnly)) {
          const last = fromClauseEnd(close + 1);
          removeStatement(k, last);
          return last;
        }
        throw new Refusal(exportAt, `re-exporting from a module is an import. ${INSTEAD}`);
      }
      for (const spec of specs) {
        if (spec.length === 3 && spec[1] === "as" && spec[2] === "default") {
          setDefault(spec[0], exportAt);
        }
      }
      const last = optionalSemicolon(close);
      removeStatement(k, last);
      return last;
    }
    if (t1 === "*") {
      throw new Refusal(exportAt, `\`export *\` re-exports a module. ${INSTEAD}`);
    }
    throw new Refusal(
      exportAt,
      "this `export` form has no meaning here: code runs as a function body whose result is " +
        "what it returns (`return value`, or `export default value`)",
    );
  };

  try {
    for (let k = 0; k < tokens.count; k++) {
      if (tokens.depths[k] !== 0 || tokens.kinds[k] !== IDENT) continue;
      const isImport = tokens.is(k, "import");
      if (!isImport && !tokens.is(k, "export")) continue;
      // A property (`x.import`, `x?.export`), or `import(…)` / `import.meta`: not a statement.
      if (tokens.is(k - 1, ".")) continue;
      if (isImport && (tokens.is(k + 1, "(") || tokens.is(k + 1, "."))) continue;
      k = isImport ? onImport(k) : onExport(k);
    }
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const line = lineOf(code, error.offset);
    return {
      ok: false,
      error: { kind: "compile", message: `line ${line}: ${error.message}`, line },
    };
  }
  if (edits.length === 0) return { ok: true, code };
  const out: string[] = [];
  let from = 0;
  for (const edit of edits) {
    out.push(code.slice(from, edit.start));
    out.push(edit.text ?? blankOut(code.slice(edit.start, edit.end)));
    from = edit.end;
  }
  out.push(code.slice(from));
  // The code's own `return` ends the function before this line; falling off its end
  // returns the default export. A new line keeps every line number of the code.
  if (defaultResult !== undefined) out.push(`\n;return ${defaultResult};`);
  return { ok: true, code: out.join("") };
}

/** `text` with every character but line terminators replaced by a space. */
function blankOut(text: string): string {
  let out = "";
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    if (isLineTerminator(text.charCodeAt(i))) {
      out += " ".repeat(run) + text[i];
      run = 0;
    } else run++;
  }
  return out + " ".repeat(run);
}

/** The 1-based line of `offset`, counting line terminators the way V8 does (CRLF is one). */
function lineOf(code: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 10 || c === 0x2028 || c === 0x2029) line++;
    else if (c === 13 && code.charCodeAt(i + 1) !== 10) line++;
  }
  return line;
}

/** What {@link runPrepared} needs of the sandbox. */
export interface CodeRunner {
  run(request: RunRequest): Promise<RunResult>;
}

/**
 * Runs `request` in `sandbox` after {@link prepareCode}: the rewritten code is what runs; a
 * refused statement becomes a failed run (`ok: false`, `error.kind` `compile`, no logs,
 * `sandboxMs` 0) without starting the sandbox.
 */
export async function runPrepared(sandbox: CodeRunner, request: RunRequest): Promise<RunResult> {
  const prepared = prepareCode(request.code);
  if (!prepared.ok) {
    return { ok: false, logs: [], error: prepared.error, sandboxMs: 0, warm: false };
  }
  return await sandbox.run({ ...request, code: prepared.code });
}

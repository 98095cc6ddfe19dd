/**
 * The compiler inside the checker process (`child.ts`): a long-lived TypeScript compiler. The
 * ES library, the sandbox's ambient globals and the last few versions of the tool
 * declarations stay parsed and bound (their `SourceFile`s are reused by every program), so a
 * check parses only the caller's code and type-checks only that file. One check at a time;
 * each has a deadline that the compiler's cancellation token enforces between statements (the
 * parent kills the process if the compiler overruns it inside one).
 *
 * @module
 */

import ts from "typescript";
import { AMBIENT_DECLARATIONS } from "./ambient.ts";
import { toDiagnostics } from "./diagnostics.ts";
import { BODY_PREFIX, BODY_SUFFIX } from "./wrapper.ts";
import type { CheckMessage, InitMessage, ResultMessage } from "./protocol.ts";
import { VersionCache } from "./versions.ts";

const DEFAULT_LIB = ts.getDefaultLibFilePath({});
/** The folder of TypeScript's `lib.*.d.ts` files (in the npm package). */
const LIB_DIR = DEFAULT_LIB.slice(0, DEFAULT_LIB.lastIndexOf("/"));
const LIB = "lib.esnext.d.ts";
const AMBIENT = "/airlock/ambient.d.ts";
const CODE = "/airlock/code.ts";
const declarationsFile = (key: string) => `/airlock/tools-${key}.d.ts`;

/**
 * Compiler options: `strict` except `noImplicitAny` and `useUnknownInCatchVariables`, whose
 * errors are about style, not about mistakes that make the code fail (`function f(x)` and
 * `catch (e) { e.message }` run fine), and module ESNext so the wrapper's `export default`
 * and top-level `await` parse as the sandbox runs them.
 */
export const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noImplicitAny: false,
  useUnknownInCatchVariables: false,
  target: ts.ScriptTarget.ESNext,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: [LIB],
  types: [],
  noEmit: true,
  skipLibCheck: true,
  allowJs: false,
  noResolve: true,
};

/** Parsed library and ambient files, kept for the worker's life. */
const fixed = new Map<string, ts.SourceFile>();
/** Declaration versions, bounded in all and per tenant. */
let versions = new VersionCache<ts.SourceFile>(8, 2);
let lastProgram: ts.Program | undefined;

function fixedFile(fileName: string): ts.SourceFile | undefined {
  let file = fixed.get(fileName);
  if (file) return file;
  let text: string | undefined;
  if (fileName === AMBIENT) text = AMBIENT_DECLARATIONS;
  else if (/^lib\.[a-z0-9.]+\.d\.ts$/.test(fileName.slice(LIB_DIR.length + 1))) {
    // Only TypeScript's own library files: nothing else is read from disk.
    if (fileName.startsWith(LIB_DIR + "/")) text = ts.sys.readFile(fileName);
  }
  if (text === undefined) return undefined;
  file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ESNext, true);
  fixed.set(fileName, file);
  return file;
}

function hostFor(code: ts.SourceFile, declarations: ts.SourceFile): ts.CompilerHost {
  return {
    getSourceFile: (fileName) => {
      if (fileName === CODE) return code;
      if (fileName === declarations.fileName) return declarations;
      return fixedFile(fileName);
    },
    getDefaultLibFileName: () => `${LIB_DIR}/${LIB}`,
    getDefaultLibLocation: () => LIB_DIR,
    writeFile: () => {},
    getCurrentDirectory: () => "/airlock",
    getDirectories: () => [],
    fileExists: (fileName) =>
      fileName === CODE || fileName === declarations.fileName || fixedFile(fileName) !== undefined,
    readFile: (fileName) => fixedFile(fileName)?.text,
    getCanonicalFileName: (fileName) => fileName,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
  };
}

/** A check that ran past its deadline. */
class Cancelled extends Error {}

/** Whether `error` is V8's stack overflow (deeply nested code or types). */
function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * Checks one program. `onLoaded` is called once the declarations are parsed (only when the
 * message carried their text): the caller's budget starts after it.
 */
export function check(message: CheckMessage, onLoaded?: () => void): ResultMessage {
  const started = performance.now();
  const base = { type: "result" as const, id: message.id, diagnostics: [], total: 0 };
  let declarations = versions.get(message.tenant, message.declarationsKey);
  if (!declarations && message.declarations !== undefined) {
    try {
      declarations = ts.createSourceFile(
        declarationsFile(message.declarationsKey),
        message.declarations,
        ts.ScriptTarget.ESNext,
        true,
      );
    } catch (error) {
      return {
        ...base,
        outcome: "failed",
        ms: performance.now() - started,
        error: `the declarations could not be parsed: ${
          String((error as Error)?.message ?? error).slice(0, 300)
        }`,
      };
    }
    versions.set(message.tenant, message.declarationsKey, declarations);
    onLoaded?.();
  } else if (!declarations) {
    return { ...base, outcome: "missing", ms: performance.now() - started };
  }

  // Parsing our own declarations is not the code's doing: the budget starts after it.
  const deadline = performance.now() + message.budgetMs;
  const token: ts.CancellationToken = {
    isCancellationRequested: () => performance.now() > deadline,
    throwIfCancellationRequested: () => {
      if (performance.now() > deadline) throw new Cancelled();
    },
  };
  const text = BODY_PREFIX + message.code + BODY_SUFFIX;
  try {
    // Parsing is inside the try: deeply nested code overflows the parser's stack, and that
    // is this request's answer, not the process's end.
    const code = ts.createSourceFile(CODE, text, ts.ScriptTarget.ESNext, true, ts.ScriptKind.TS);
    const program = ts.createProgram({
      rootNames: [AMBIENT, declarations.fileName, CODE],
      options: COMPILER_OPTIONS,
      host: hostFor(code, declarations),
      oldProgram: lastProgram,
    });
    lastProgram = program;
    let found: readonly ts.Diagnostic[] = program.getSyntacticDiagnostics(code, token);
    // Semantic errors after a syntax error are mostly its echoes.
    const checker = found.length === 0 ? program.getTypeChecker() : undefined;
    if (checker) found = program.getSemanticDiagnostics(code, token);
    const codeLines = code.getLineStarts().length - BODY_SUFFIX.split("\n").length + 1;
    const diagnostics = toDiagnostics(found, code, checker, {
      maxDiagnostics: message.maxDiagnostics,
      maxMessageChars: message.maxMessageChars,
      codeLines: Math.max(1, codeLines),
    });
    return {
      ...base,
      outcome: "checked",
      diagnostics,
      total: found.length,
      ms: performance.now() - started,
    };
  } catch (error) {
    // A cancelled or overflowed checker holds half-resolved types: the next program starts
    // afresh.
    lastProgram = undefined;
    if (error instanceof Cancelled || error instanceof ts.OperationCanceledException) {
      return { ...base, outcome: "timeout", ms: performance.now() - started };
    }
    if (isStackOverflow(error)) {
      return { ...base, outcome: "too_deep", ms: performance.now() - started };
    }
    return {
      ...base,
      outcome: "failed",
      ms: performance.now() - started,
      error: String((error as Error)?.message ?? error).slice(0, 500),
    };
  }
}

/**
 * Sets the version bounds and loads and binds the library once (a first check), so the
 * first real check is a warm one. Returns the time it took, in ms.
 */
export function init(message: InitMessage): number {
  versions = new VersionCache(message.maxVersions, message.maxVersionsPerTenant);
  const started = performance.now();
  check({
    type: "check",
    id: -1,
    tenant: "",
    declarationsKey: "warm-up",
    declarations: "declare const warmUp: { run(args: { n: number }): Promise<string> };\n",
    code:
      "const s: string = await warmUp.run({ n: 1 });\nconsole.log(s.length, [1].map((x) => x));\n",
    budgetMs: 60_000,
    maxDiagnostics: 1,
    maxMessageChars: 100,
  });
  versions.delete("warm-up");
  return performance.now() - started;
}

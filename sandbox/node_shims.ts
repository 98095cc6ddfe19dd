/**
 * The import map a sandbox process starts with: every Node built-in module, `node:x` and
 * bare `x` alike, resolves to a shim that re-exports the real module and then reads
 * `globalThis.process`.
 *
 * Why: the harness hardens Node's `process` object (host paths, the frame channel) and
 * refuses `node:worker_threads`' Worker, but initialising Node compatibility costs a fresh
 * process about 20 ms of CPU (measured on Deno 2.9.6: a permission-less start-up went from
 * ~26 ms to ~48 ms of CPU with it), which most executions never use. So the harness
 * hardens lazily, from an accessor on `globalThis.process`, and these shims make sure
 * every other way to Node's objects passes through that accessor first: a module's
 * namespace reaches the importing code only after the shim's body has run. Inside a
 * shim's own scope the real specifier is mapped to itself.
 *
 * Three built-ins get a shim that exports the hardened *default export's* values under the
 * real module's export names instead of re-exporting the module:
 * - `node:process`: its named exports (`cwd`, `argv`, …) are values taken from `process`
 *   when the module first ran, before any hardening, so they would show host paths;
 * - `node:v8` and `node:sqlite`: the harness refuses some of their members (heap snapshots
 *   hold the frame key; SQLite writes temporary files anywhere) on the default export, which
 *   is what `getBuiltinModule` and `require` return; the named exports would still be the
 *   unrefused functions.
 *
 * @module
 */

import { builtinModules } from "node:module";
import * as nodeProcessModule from "node:process";
import * as nodeSqliteModule from "node:sqlite";
import * as nodeV8Module from "node:v8";

/** Built-ins whose shim exports the hardened default export's values (see above). */
const FROM_DEFAULT_EXPORT: Record<string, object> = {
  "node:process": nodeProcessModule,
  "node:v8": nodeV8Module,
  "node:sqlite": nodeSqliteModule,
};

/** The import map (WICG import maps: `imports` and `scopes`), as a JSON-ready object. */
export interface ImportMap {
  imports: Record<string, string>;
  scopes: Record<string, Record<string, string>>;
}

/**
 * Builds the import map for the Node built-ins of the running Deno (the gateway runs the
 * same executable as its sandboxes, so the lists agree).
 *
 * A scope key that ends with `/` would match every URL it prefixes (import-map rules), so
 * each shim's source is padded until its base64 form ends in `=`, never in `/`.
 */
export function nodeShimImportMap(): ImportMap {
  const imports: Record<string, string> = {};
  const scopes: Record<string, Record<string, string>> = {};
  for (const name of builtinModules) {
    const real = name.startsWith("node:") ? name : `node:${name}`;
    const url = real in FROM_DEFAULT_EXPORT ? defaultExportShimUrl(real) : shimUrl(real);
    imports[real] = url;
    // A bare built-in name (`worker_threads`) resolves to the built-in too.
    if (!name.startsWith("node:")) imports[name] = url;
    scopes[url] = { [real]: real };
  }
  return { imports, scopes };
}

/** The `data:` URL of the shim for `real` (a `node:` specifier). */
export function shimUrl(real: string): string {
  // `globalThis.process` is the harness's own non-configurable accessor: reading it
  // hardens Node's objects once, before this module's importer gets the namespace.
  let source = `export * from "${real}";\nexport { default } from "${real}";\n` +
    `globalThis.process;\n`;
  // ASCII only, so the UTF-8 length is the string length: a length that is not a multiple
  // of three gives base64 padding at the end.
  while (source.length % 3 === 0) source += " ";
  return `data:application/javascript;base64,${btoa(source)}`;
}

/**
 * The `data:` URL of a shim that exports the hardened default export of `real` (one of
 * {@link FROM_DEFAULT_EXPORT}) and its properties under the real module's export names
 * (read from the gateway's own module: the same Deno build).
 */
export function defaultExportShimUrl(real: string): string {
  const names = Object.keys(FROM_DEFAULT_EXPORT[real] ?? {}).filter((name) =>
    name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name)
  );
  // Reading `globalThis.process` hardens first; `getBuiltinModule` is then the harness's
  // captured, non-writable one, and `node:process`'s default export is `process` itself.
  const moduleObject = real === "node:process"
    ? "globalThis.process"
    : `globalThis.process.getBuiltinModule(${JSON.stringify(real)})`;
  let source = `const m = ${moduleObject};\nexport default m;\n` +
    `export const { ${names.join(", ")} } = m;\n`;
  while (source.length % 3 === 0) source += " ";
  return `data:application/javascript;base64,${btoa(source)}`;
}

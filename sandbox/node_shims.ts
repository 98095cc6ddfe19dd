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
 * `node:process` is the exception: its named exports (`cwd`, `argv`, …) are values taken
 * from `process` when the module first ran, before any hardening, so re-exporting them
 * would show host paths. Its shim exports the hardened object's values instead.
 *
 * @module
 */

import { builtinModules } from "node:module";
import * as nodeProcessModule from "node:process";

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
    const url = real === "node:process" ? processShimUrl() : shimUrl(real);
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
 * The `data:` URL of the `node:process` shim: the hardened `process` as default export and
 * its properties under the real module's export names (read from the gateway's own
 * `node:process`, the same Deno build).
 */
export function processShimUrl(): string {
  const names = Object.keys(nodeProcessModule).filter((name) =>
    name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name)
  );
  let source = `const p = globalThis.process;\nexport default p;\n` +
    `export const { ${names.join(", ")} } = p;\n`;
  while (source.length % 3 === 0) source += " ";
  return `data:application/javascript;base64,${btoa(source)}`;
}

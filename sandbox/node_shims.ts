/**
 * The import map a sandbox process starts with, for Node built-ins:
 * - bare built-in names (`fs`, `worker_threads`) resolve to the built-in, as in Node;
 * - four built-ins resolve to a shim that exports the hardened *default export* under the
 *   real module's export names, because their real named exports are the unhardened
 *   values (bound when the module first ran):
 *   - `node:process`: `cwd`, `argv`, … would show host paths;
 *   - `node:v8`, `node:sqlite`, `node:module`: the harness refuses some of their members
 *     (heap snapshots hold the frame key; SQLite writes temporary files anywhere; module
 *     hooks would route imports around this map) on the default export, which is what
 *     `process.getBuiltinModule` and `require` return.
 *
 * The harness hardens Node before any code of the caller's runs (see harness.js, "Node,
 * hardened before the code"), so a shim only has to read the hardened default export.
 *
 * @module
 */

import * as nodeModuleModule from "node:module";
import * as nodeProcessModule from "node:process";
import * as nodeSqliteModule from "node:sqlite";
import * as nodeV8Module from "node:v8";

/** Built-ins whose `import` gets the hardened default export's values (see above). */
export const FROM_DEFAULT_EXPORT: Readonly<Record<string, object>> = {
  "node:process": nodeProcessModule,
  "node:v8": nodeV8Module,
  "node:sqlite": nodeSqliteModule,
  "node:module": nodeModuleModule,
};

/** The import map (WICG import maps: `imports` only), as a JSON-ready object. */
export interface ImportMap {
  imports: Record<string, string>;
}

/**
 * Builds the import map for the Node built-ins of the running Deno (the gateway runs the
 * same executable as its sandboxes, so the lists agree).
 */
export function nodeShimImportMap(): ImportMap {
  const imports: Record<string, string> = {};
  for (const name of nodeModuleModule.builtinModules) {
    const real = name.startsWith("node:") ? name : `node:${name}`;
    const url = real in FROM_DEFAULT_EXPORT ? defaultExportShimUrl(real) : real;
    if (url !== real) imports[real] = url;
    // A bare built-in name (`worker_threads`) resolves to the built-in too.
    if (!name.startsWith("node:")) imports[name] = url;
  }
  return { imports };
}

/**
 * The `data:` URL of the shim for `real` (one of {@link FROM_DEFAULT_EXPORT}): its hardened
 * default export, and that object's properties under the real module's export names (read
 * from the gateway's own module: the same Deno build).
 */
export function defaultExportShimUrl(real: string): string {
  const names = Object.keys(FROM_DEFAULT_EXPORT[real] ?? {}).filter((name) =>
    name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name)
  );
  // `getBuiltinModule` is the harness's captured, non-writable one; `node:process`'s
  // default export is `process` itself.
  const moduleObject = real === "node:process"
    ? "globalThis.process"
    : `globalThis.process.getBuiltinModule(${JSON.stringify(real)})`;
  const source = `const m = ${moduleObject};\nexport default m;\n` +
    `export const { ${names.join(", ")} } = m;\n`;
  return `data:application/javascript;base64,${btoa(source)}`;
}

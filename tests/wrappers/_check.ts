/**
 * Runs `deno check` on a snippet in a subprocess: the real type checker is the judge of
 * the declarations we generate.
 *
 * @module
 */

/**
 * Type-checks `source` as a module; with `dts`, that text is written to `decls.d.ts` as a
 * global declaration file and the module references it. Throws with the checker's output
 * when checking fails.
 */
export async function denoCheck(source: string, dts?: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-wrappers-check-" });
  try {
    const file = `${dir}/snippet.ts`;
    if (dts !== undefined) {
      await Deno.writeTextFile(`${dir}/decls.d.ts`, dts);
      source = `/// <reference path="./decls.d.ts" />\n${source}\nexport {};\n`;
    }
    await Deno.writeTextFile(file, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--no-config", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new Error(`deno check failed:\n${text}\n--- source ---\n${source}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

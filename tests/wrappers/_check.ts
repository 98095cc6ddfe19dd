/**
 * Runs `deno check` on a snippet in a subprocess: the real type checker is the judge of
 * the declarations we generate.
 *
 * @module
 */

/** Type-checks `source` as a module; throws with the checker's output when it fails. */
export async function denoCheck(source: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-wrappers-check-" });
  try {
    const file = `${dir}/snippet.ts`;
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

/**
 * Small statistics and table helpers for benchmarks, and the bare `deno run` baseline they share.
 *
 * @module
 */

/** The p-th percentile (0–100) of `values`, by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Times `fn` `runs` times after `warmup` untimed runs; returns milliseconds per run. */
export async function sample(
  runs: number,
  fn: () => Promise<unknown>,
  options: { warmup?: number; before?: () => Promise<unknown> } = {},
): Promise<number[]> {
  for (let i = 0; i < (options.warmup ?? 2); i++) {
    await options.before?.();
    await fn();
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await options.before?.();
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times;
}

/** Formats milliseconds with one decimal. */
export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

/** A Markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** "pass" or "FAIL" for a target. */
export function verdict(ok: boolean): string {
  return ok ? "pass" : "FAIL";
}

/**
 * The baseline most benchmarks compare against: `runs` bare `deno run`s (no permissions, no
 * config, no lockfile) of a program doing the trivial execution's work (compute 40 + 2 and
 * print it). Returns each run's wall-clock time in ms.
 *
 * @throws Error when a run does not print `42`.
 */
export async function bareDenoRun(runs: number): Promise<number[]> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/trivial.ts`;
  await Deno.writeTextFile(file, "const n: number = 40;\nconsole.log(JSON.stringify(n + 2));\n");
  try {
    return await sample(runs, async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", "--no-config", "--no-lock", file],
        cwd: dir,
        stdout: "piped",
        stderr: "null",
      }).output();
      if (new TextDecoder().decode(output.stdout).trim() !== "42") throw new Error("bad output");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

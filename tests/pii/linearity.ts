// Linearity checks without wall-clock assertions: every figure is a ratio of two CPU
// times measured in the same run (process.cpuUsage, so other processes on a shared machine
// do not count), best of a few runs.

import process from "node:process";

/** CPU time (user + system) `f` takes, in ms. */
export function cpuMs(f: () => void): number {
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** Best of `runs` {@linkcode cpuMs}, at least 0.05 ms (the clock's useful resolution). */
export function bestCpuMs(f: () => void, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, cpuMs(f));
  return Math.max(best, 0.05);
}

/** `unit(i)` repeated (i = 0, 1, …) until the text is `size` code units long. */
export function repeatTo(size: number, unit: (i: number) => string): string {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const u = unit(i);
    parts.push(u);
    n += u.length;
  }
  return parts.join("").slice(0, size);
}

/** Time for 4× the input over time for 1× (≈ 4 for a linear scan, ≈ 16 for a quadratic one). */
export function growth(
  scan: (text: string) => unknown,
  make: (size: number) => string,
  size: number,
): number {
  const small = make(size);
  const large = make(4 * size);
  scan(small); // warm up
  return bestCpuMs(() => scan(large), 5) / bestCpuMs(() => scan(small), 5);
}

/**
 * Cost of `text` relative to `baseline` of the same length (interleaved, best of three):
 * a bounded rescan (each trigger re-reading up to 512 characters) is linear, so only this
 * ratio shows it.
 */
export function relativeCost(
  scan: (text: string) => unknown,
  text: string,
  baseline: string,
): number {
  scan(text);
  scan(baseline);
  let t = Infinity, b = Infinity;
  for (let i = 0; i < 3; i++) {
    t = Math.min(t, cpuMs(() => scan(text)));
    b = Math.min(b, cpuMs(() => scan(baseline)));
  }
  return Math.max(t, 0.05) / Math.max(b, 0.05);
}

/** A log excerpt's line `i`: repeated to a size, the usual baseline of {@linkcode relativeCost}. */
export const logLine = (i: number): string =>
  `2024-05-01T10:00:00Z INFO user=ann path=/api/v1/orders status=200 ms=${i % 900}\n`;

/** How {@linkcode linearityFailures} measures and judges. */
export interface LinearityBounds {
  /** Size of the smaller text, in code units; default 64 Ki. */
  size?: number;
  /** Text of `size` units every unit's text is compared with; default {@linkcode logLine}s. */
  baseline?: string;
  /** Most time 4× the input may take, in times the 1× time; default 8. */
  maxGrowth?: number;
  /** Most cost relative to the baseline; default 25. */
  maxRelative?: number;
  /** Told each unit's final figures (to print them, say). */
  report?: (name: string, growth: number, relative: number) => void;
}

/**
 * The linearity checks the detector tests share, over named `units` (each repeated to a
 * text): {@linkcode growth} and {@linkcode relativeCost} of `scan`, one line per unit over a
 * bound (`[]` when all hold). A unit over a bound is measured once more before it counts: a
 * quadratic scan fails every time, a noisy neighbour on a shared machine does not.
 */
export function linearityFailures(
  scan: (text: string) => unknown,
  units: Array<[string, (i: number) => string]>,
  bounds: LinearityBounds = {},
): string[] {
  const size = bounds.size ?? 64 * 1024;
  const baseline = bounds.baseline ?? repeatTo(size, logLine);
  const maxGrowth = bounds.maxGrowth ?? 8;
  const maxRelative = bounds.maxRelative ?? 25;
  const failures: string[] = [];
  for (const [name, unit] of units) {
    const measure = () => ({
      g: growth(scan, (n) => repeatTo(n, unit), size),
      r: relativeCost(scan, repeatTo(size, unit), baseline),
    });
    let { g, r } = measure();
    if (g > maxGrowth || r > maxRelative) ({ g, r } = measure());
    bounds.report?.(name, g, r);
    if (g > maxGrowth) failures.push(`${name}: 4× input took ${g.toFixed(1)}× the time`);
    if (r > maxRelative) failures.push(`${name}: ${r.toFixed(1)}× the cost of a log excerpt`);
  }
  return failures;
}

/**
 * What the checker tests share: the red team's memory bomb and a process-liveness check.
 *
 * @module
 */

/**
 * Type-level string doubling (the red team's `dbl2`): 12 types of `seedChars` characters ×
 * 2^16, gigabytes of heap; inside a Worker it took the whole gateway down ("out of memory").
 */
export function memoryBomb(seedChars = 4096): string {
  const seed = "x".repeat(seedChars);
  const lines = [
    'type Dbl<S extends string, N extends 0[]> = N["length"] extends 16 ? S : Dbl<`${S}${S}`, [...N, 0]>;',
  ];
  for (let i = 0; i < 12; i++) {
    lines.push(`type A${i} = Dbl<"${String.fromCharCode(97 + i)}${seed}", []>;`);
    lines.push(`declare const a${i}: A${i}; a${i}.length;`);
  }
  return lines.join("\n");
}

/** Whether process `pid` still exists (a zombie not yet reaped counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits (at most 10 s) for `pid` to be gone; returns whether it is. */
export async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

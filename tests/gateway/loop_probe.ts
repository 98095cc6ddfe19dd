// A /healthz probe for tests of the shared event loop: while some work runs, /healthz is asked
// over HTTP again and again, and the slowest answer tells the longest the loop was held.

/** What {@linkcode probeHealthz} measured. */
export interface ProbeResult<T> {
  /** What `work` returned. */
  value: T;
  /** Slowest /healthz answer, in ms. */
  max: number;
  /** /healthz answers received. */
  count: number;
}

/** Runs `work` while /healthz at `url` is asked in a loop; the slowest answer in ms. */
export async function probeHealthz<T>(
  url: string,
  work: () => Promise<T>,
): Promise<ProbeResult<T>> {
  let done = false;
  let max = 0;
  let count = 0;
  const probe = (async () => {
    while (!done) {
      const started = performance.now();
      const reply = await fetch(`${url}/healthz`);
      await reply.body?.cancel();
      max = Math.max(max, performance.now() - started);
      count++;
    }
  })();
  let value: T;
  try {
    value = await work();
  } finally {
    done = true;
    // The answer in flight when the work ended counts too.
    await probe;
  }
  return { value, max, count };
}

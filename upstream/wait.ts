/**
 * Bounded waiting.
 *
 * @module
 */

/**
 * Waits for `promise` to settle, but at most `ms`; says whether it settled in time.
 * Never rejects, and leaves no timer behind.
 *
 * @param promise what to wait for
 * @param ms the most to wait
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

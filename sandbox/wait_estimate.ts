/**
 * How long a new execution would wait for a slot, for the admission check (`maxWaitMs`).
 *
 * The estimate follows what the request really waits for: the waiters served before it in
 * the tenant-fair order (`ExecutionQueue.waitingAhead`), each taking a slot as one
 * frees, and the running executions, each expected to free its slot from its *own* tenant's
 * recent hold times and how long it has held it already. A tenant's history never stands in
 * for another's: one tenant's long executions make its own requests wait, not another's.
 *
 * The requester's own tenant is judged by expectation (the mean); other tenants' executions
 * by the earliest plausible end (the shortest of their tenant's recent hold times that fits),
 * so that a tenant whose executions vary cannot get another tenant refused by making its
 * short executions look long: a false refusal costs the refused tenant the request, a false
 * admission only a wait in the fair queue. Overload is still refused: every waiter ahead
 * counts, and a tenant whose executions are all long holds its slots for real.
 *
 * @module
 */

/** Recent hold times kept per key. */
const SAMPLES = 16;
/** Keys whose history is kept (the least recently recorded are forgotten first). */
const MAX_KEYS = 4096;
/** Waiters ahead simulated one by one; the rest are spread evenly over the slots. */
const MAX_STEPS = 1024;

/** The recent times (ms) each key's executions held a slot: a ring of the last 16. */
export class HoldHistory {
  #rings = new Map<string, number[]>();
  #next = new Map<string, number>();

  /**
   * Records that an execution of `key` held its slot for `ms`.
   * @param key the queue key (tenant)
   * @param ms time from taking the slot to giving it back, in ms
   */
  record(key: string, ms: number): void {
    const ring = this.#rings.get(key) ?? [];
    const at = this.#next.get(key) ?? 0;
    ring[at] = Math.max(0, ms);
    // Re-inserted: the Map's order is the order of the last record, oldest first.
    this.#rings.delete(key);
    this.#rings.set(key, ring);
    this.#next.set(key, (at + 1) % SAMPLES);
    if (this.#rings.size > MAX_KEYS) {
      const oldest = this.#rings.keys().next().value as string;
      this.#rings.delete(oldest);
      this.#next.delete(oldest);
    }
  }

  /**
   * How long a waiting execution of `key` is expected to hold its slot, in ms: the mean of
   * its key's recent hold times when `own`, else the shortest of them; 0 with no history
   * (a key's first executions are held against no one).
   */
  holdMs(key: string, own: boolean): number {
    const ring = this.#rings.get(key);
    if (!ring || ring.length === 0) return 0;
    let sum = 0;
    let min = Infinity;
    for (const s of ring) {
      sum += s;
      min = Math.min(min, s);
    }
    return own ? sum / ring.length : min;
  }

  /**
   * When an execution of `key` that has held its slot for `heldMs` is expected to free it,
   * in ms from now. From its key's recent hold times longer than `heldMs`: their mean when
   * `own`, else the shortest, less `heldMs`. When none is longer (or there is no history)
   * it is expected to hold the slot as long again as it has.
   */
  remainingMs(key: string, heldMs: number, own: boolean): number {
    let sum = 0;
    let count = 0;
    let min = Infinity;
    for (const s of this.#rings.get(key) ?? []) {
      if (s <= heldMs) continue;
      sum += s;
      count++;
      min = Math.min(min, s);
    }
    if (count === 0) return heldMs;
    return (own ? sum / count : min) - heldMs;
  }
}

/** One running execution, as the estimate sees it. */
export interface HeldSlot {
  /** Its queue key (tenant). */
  key: string;
  /** How long it has held its slot, in ms. */
  heldMs: number;
}

/** What {@linkcode estimateStartMs} needs to know. */
export interface WaitInputs {
  /** Slots in all (`concurrency`). */
  slots: number;
  /** The executions holding a slot now. */
  running: Iterable<HeldSlot>;
  /**
   * The waiters served before the request, per key, in the order of the queue's first
   * round: `[key, how many of its waiters are ahead]` (`ExecutionQueue.waitingAhead`).
   */
  ahead: [string, number][];
  /** The request's own key. */
  requester: string;
  /** Recent hold times per key. */
  history: HoldHistory;
  /** Past this the exact answer does not matter (the request is refused): stop early, in ms. */
  limitMs: number;
}

/**
 * The expected time before a new request of `requester` gets a slot, in ms: slots free as
 * their executions are expected to end, each freed slot goes to the next waiter in the
 * tenant-fair order for that waiter's expected hold time, and the request takes the slot
 * that frees after all of them. Any value above `limitMs` may be returned once it is
 * certain that the answer is above it. Cost: O(slots + keys + min(waiters ahead, 1024) ×
 * log slots).
 */
export function estimateStartMs(inputs: WaitInputs): number {
  const { requester, history } = inputs;
  const free: number[] = [];
  for (const r of inputs.running) {
    free.push(history.remainingMs(r.key, r.heldMs, r.key === requester));
  }
  // A slot not held is free now (a handed-over slot is counted as held by the queue).
  while (free.length < Math.max(1, inputs.slots)) free.push(0);
  const heap = new MinHeap(free);
  const holds = new Map<string, number>();
  let restHoldMs = 0;
  for (const [key, count] of inputs.ahead) {
    const hold = history.holdMs(key, key === requester);
    holds.set(key, hold);
    restHoldMs += count * hold;
  }
  let steps = 0;
  for (const key of fairOrder(inputs.ahead)) {
    if (steps++ === MAX_STEPS) {
      // A long line: spread the rest of its work evenly over the slots.
      return Math.max(heap.peek(), (heap.sum() + restHoldMs) / heap.size);
    }
    const freeAt = heap.pop();
    // Slots free in time order: the request starts no earlier than this.
    if (freeAt > inputs.limitMs) return freeAt;
    const hold = holds.get(key) ?? 0;
    restHoldMs -= hold;
    heap.push(freeAt + hold);
  }
  return heap.peek();
}

/** The keys of `counts` in round-robin order, each as many times as its count. */
function* fairOrder(counts: [string, number][]): Generator<string> {
  let round = counts.filter(([, n]) => n > 0);
  for (let r = 0; round.length > 0; r++) {
    for (const [key] of round) yield key;
    // Dropping the keys that are done keeps the walk linear in what it yields.
    round = round.filter(([, n]) => n > r + 1);
  }
}

/** A binary min-heap of numbers. */
class MinHeap {
  #items: number[] = [];
  #sum = 0;

  constructor(items: number[]) {
    for (const item of items) this.push(item);
  }

  get size(): number {
    return this.#items.length;
  }

  sum(): number {
    return this.#sum;
  }

  peek(): number {
    return this.#items[0];
  }

  push(value: number): void {
    const items = this.#items;
    this.#sum += value;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= items[i]) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }

  pop(): number {
    const items = this.#items;
    const top = items[0];
    const last = items.pop()!;
    this.#sum -= top;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && items[l] < items[m]) m = l;
        if (r < items.length && items[r] < items[m]) m = r;
        if (m === i) break;
        [items[m], items[i]] = [items[i], items[m]];
        i = m;
      }
    }
    return top;
  }
}

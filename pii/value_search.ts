/**
 * Finds many known values in a text in one linear pass: an Aho–Corasick automaton over the
 * values written backwards, run over the text from its end, gives for every position the
 * longest value that starts there. Building it is linear in the values' total length, a
 * scan linear in the text (plus a constant per position), whatever the values share:
 * trying each value at each position (`startsWith`) was positions × values × shared prefix,
 * and 256 addresses `"a"×60 + i + "@example.com"` against 80,000 `a`s held the gateway's
 * shared event loop 7 s in one stretch (red team n3, B5).
 *
 * Both the build and the scan are cooperative: they call a `tick` every few hundred units of
 * work, which yields the event loop when its slice is used up (see pii/walk.ts `slicer`).
 *
 * Transitions live in one open-addressing hash table (typed arrays, a random seed per
 * automaton so values cannot be chosen to collide), not a `Map` per node: a session vault
 * holds up to 2 MiB of values, and a node per unit must stay a few dozen bytes.
 *
 * @module
 */

/** Called every {@linkcode UNITS_PER_TICK} units of work; may return a promise to await (a yield). */
export type Tick = () => Promise<void> | undefined;

/** Units of work (characters inserted, nodes linked, positions scanned) between two ticks. */
const UNITS_PER_TICK = 256;

/** The root node's id. */
const ROOT = 0;

/**
 * An automaton over a fixed list of values (see the module comment). Empty values are
 * ignored. Build it with {@linkcode buildValueSearch}.
 */
export class ValueSearch {
  /** Transition table: key (node × 65536 + unit + 1, 0 = free) and target node. */
  readonly #keys: Float64Array;
  readonly #targets: Int32Array;
  readonly #mask: number;
  readonly #seed: number;
  /** Per node: failure link, and the length of the longest value that is a suffix of it. */
  readonly #fail: Int32Array;
  readonly #out: Int32Array;
  /** Nodes in use. */
  #nodes = 1;
  /** Length of the shortest value (a text shorter than it has no match). */
  readonly shortest: number;

  /** Use {@linkcode buildValueSearch}. `units`: the values' total length. */
  constructor(units: number, shortest: number) {
    const nodes = units + 1;
    let capacity = 16;
    while (capacity < nodes * 2) capacity *= 2;
    this.#keys = new Float64Array(capacity);
    this.#targets = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#seed = crypto.getRandomValues(new Uint32Array(1))[0] | 0;
    this.#fail = new Int32Array(nodes);
    this.#out = new Int32Array(nodes);
    this.shortest = shortest;
  }

  /** Slot of the transition from `node` by `unit`: its own, or the free one it would take. */
  #slot(node: number, unit: number): number {
    const key = node * 65536 + unit + 1;
    let h = Math.imul(node ^ this.#seed, 0x9e3779b1) ^ Math.imul(unit + 1, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 13;
    let slot = h & this.#mask;
    for (;;) {
      const k = this.#keys[slot];
      if (k === key || k === 0) return slot;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** The node reached from `node` by `unit`, or -1. */
  #next(node: number, unit: number): number {
    const slot = this.#slot(node, unit);
    return this.#keys[slot] === 0 ? -1 : this.#targets[slot];
  }

  /** Inserts `value` backwards; returns its last node. Internal to the build. */
  insertReversed(value: string, depthOf: Int32Array, parentOf: Int32Array, unitOf: Uint16Array) {
    let node = ROOT;
    for (let i = value.length - 1; i >= 0; i--) {
      const unit = value.charCodeAt(i);
      const slot = this.#slot(node, unit);
      if (this.#keys[slot] !== 0) {
        node = this.#targets[slot];
        continue;
      }
      const child = this.#nodes++;
      this.#keys[slot] = node * 65536 + unit + 1;
      this.#targets[slot] = child;
      depthOf[child] = depthOf[node] + 1;
      parentOf[child] = node;
      unitOf[child] = unit;
      node = child;
    }
    this.#out[node] = value.length;
    return node;
  }

  /** Nodes in use. Internal to the build. */
  get nodes(): number {
    return this.#nodes;
  }

  /** Sets `node`'s failure link and longest value; its parent's must be set. Internal. */
  link(node: number, parent: number, unit: number): void {
    let fail = ROOT;
    if (parent !== ROOT) {
      for (let f = this.#fail[parent];;) {
        const next = this.#next(f, unit);
        if (next !== -1) {
          fail = next;
          break;
        }
        if (f === ROOT) break;
        f = this.#fail[f];
      }
    }
    this.#fail[node] = fail;
    if (this.#out[node] === 0) this.#out[node] = this.#out[fail];
  }

  /**
   * Raises `longest[i]` to the length of the longest value that starts at `i` in `text`, for
   * every `i` (`longest` has at least `text.length` entries). Linear in `text`; awaits
   * `tick()` every few hundred positions.
   */
  async longestAt(text: string, longest: Int32Array, tick: Tick): Promise<void> {
    let state = ROOT;
    let work = 0;
    for (let i = text.length - 1; i >= 0; i--) {
      const unit = text.charCodeAt(i);
      for (;;) {
        // Each failure step shortens the state; each position lengthens it by one at most:
        // the failure steps of a scan are at most its positions.
        const next = this.#next(state, unit);
        if (next !== -1) {
          state = next;
          break;
        }
        if (state === ROOT) break;
        state = this.#fail[state];
        work++;
      }
      const length = this.#out[state];
      if (length > longest[i]) longest[i] = length;
      if (++work >= UNITS_PER_TICK) {
        work = 0;
        const wait = tick();
        if (wait) await wait;
      }
    }
  }
}

/**
 * An automaton over `values` (see the module comment): linear in their total length, awaiting
 * `tick()` every few hundred units of work. Empty values are skipped.
 */
export async function buildValueSearch(
  values: readonly string[],
  tick: Tick,
): Promise<ValueSearch> {
  let units = 0;
  let shortest = Infinity;
  for (const value of values) {
    if (value.length === 0) continue;
    units += value.length;
    shortest = Math.min(shortest, value.length);
  }
  const search = new ValueSearch(units, shortest);
  const depthOf = new Int32Array(units + 1);
  const parentOf = new Int32Array(units + 1);
  const unitOf = new Uint16Array(units + 1);
  let work = 0;
  // A promise only when the slice is used up: awaiting one per node costs more than the node.
  const step = (n: number): Promise<void> | undefined => {
    work += n;
    if (work < UNITS_PER_TICK) return undefined;
    work = 0;
    return tick();
  };
  for (const value of values) {
    if (value.length === 0) continue;
    search.insertReversed(value, depthOf, parentOf, unitOf);
    const wait = step(value.length);
    if (wait) await wait;
  }
  // Breadth first (by depth, a counting sort): a node's failure link points to a shallower node.
  const nodes = search.nodes;
  let deepest = 0;
  for (let n = 1; n < nodes; n++) deepest = Math.max(deepest, depthOf[n]);
  const starts = new Int32Array(deepest + 2);
  for (let n = 1; n < nodes; n++) starts[depthOf[n] + 1]++;
  for (let d = 1; d < starts.length; d++) starts[d] += starts[d - 1];
  const order = new Int32Array(nodes);
  for (let n = 1; n < nodes; n++) order[starts[depthOf[n]]++] = n;
  for (let i = 0; i < nodes - 1; i++) {
    const node = order[i];
    search.link(node, parentOf[node], unitOf[node]);
    const wait = step(1);
    if (wait) await wait;
  }
  return search;
}

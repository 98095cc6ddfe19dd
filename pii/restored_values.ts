/**
 * The values a placeholder was restored to (value → placeholder), ready to be found again in
 * texts: {@linkcode replaceRestored} puts each exact occurrence back as its placeholder,
 * leftmost first and the longest value at a position, in time linear in the text (see
 * pii/value_search.ts), yielding the event loop every few ms.
 *
 * One execution restores values call by call into one growing map and searches every result
 * against it: the automata are kept per map (weakly) and grown like a binary counter, a new
 * batch of values getting an automaton of its own that is merged with the last one while that
 * one has no more values. Each value is thus built into O(log values) automata over an
 * execution (rebuilding all of them per call was 256 calls × 2 MiB of values), and a text is
 * scanned by O(log values) automata (8 for the 256 values one execution may restore).
 *
 * @module
 */

import { buildValueSearch, type Tick, type ValueSearch } from "./value_search.ts";

/** One automaton and the values it was built from. */
interface Group {
  values: string[];
  search: ValueSearch;
}

/** What is kept of a map between calls. */
interface Kept {
  /** The map's keys in its order, as far as the groups cover them. */
  keys: string[];
  groups: Group[];
}

const kept = new WeakMap<ReadonlyMap<string, string>, Kept>();

/**
 * A cooperative clock: the returned tick resolves nothing (no promise) until `sliceMs` ms
 * have passed since the last yield, then yields one macrotask turn (`setTimeout(0)`: timers
 * and I/O of other requests run) and throws `signal`'s reason if it was aborted meanwhile.
 */
export function clockTick(sliceMs: number, signal?: AbortSignal): Tick {
  let started = performance.now();
  return () => {
    if (performance.now() - started <= sliceMs) return undefined;
    return new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
      signal?.throwIfAborted();
      started = performance.now();
    });
  };
}

/**
 * The automata for `used`, built or brought up to date. `used` may grow between calls
 * (entries added at its end, as a `Map` adds them); if anything else changed (an entry
 * removed or replaced), everything is built again. Empty values are left out.
 */
async function groupsFor(used: ReadonlyMap<string, string>, tick: Tick): Promise<Group[]> {
  let state = kept.get(used);
  const keys: string[] = [];
  for (const key of used.keys()) keys.push(key);
  if (state) {
    // Same strings in the same order: usually the very same objects, compared by reference.
    const old = state.keys;
    let same = old.length <= keys.length;
    for (let i = 0; same && i < old.length; i++) same = old[i] === keys[i];
    if (!same) state = undefined;
  }
  if (!state) state = { keys: [], groups: [] };
  if (keys.length > state.keys.length) {
    let values = keys.slice(state.keys.length).filter((v) => v.length > 0);
    // A copy: a call searching the same map meanwhile (parallel tool calls) keeps the groups
    // it read, all of them, while this one builds.
    const groups = state.groups.slice();
    // Binary counter: merge while the last automaton has no more values than the new one.
    while (groups.length > 0 && groups[groups.length - 1].values.length <= values.length) {
      values = groups.pop()!.values.concat(values);
    }
    if (values.length > 0) groups.push({ values, search: await buildValueSearch(values, tick) });
    state = { keys, groups };
    kept.set(used, state);
  }
  return state.groups;
}

/**
 * Prepares a replacer for `used` (value → placeholder): see the module comment. The
 * replacer returns `text` itself when nothing in it was replaced. Both await `tick()` often
 * (throwing whatever it throws, e.g. an abort).
 */
export async function restoredReplacer(
  used: ReadonlyMap<string, string>,
  tick: Tick,
): Promise<(text: string) => Promise<string>> {
  const groups = await groupsFor(used, tick);
  let shortest = Infinity;
  for (const group of groups) shortest = Math.min(shortest, group.search.shortest);
  return async (text) => {
    if (text.length < shortest) return text;
    const longest = new Int32Array(text.length);
    for (const group of groups) await group.search.longestAt(text, longest, tick);
    let out = "";
    let copied = 0;
    let work = 0;
    for (let at = 0; at < text.length;) {
      const length = longest[at];
      // Matches do not overlap: each is read once (the lookup hashes it).
      const placeholder = length > 0 ? used.get(text.slice(at, at + length)) : undefined;
      if (placeholder !== undefined) {
        out += text.slice(copied, at) + placeholder;
        at += length;
        copied = at;
      } else {
        at++;
      }
      if (++work >= 4096) {
        work = 0;
        const wait = tick();
        if (wait) await wait;
      }
    }
    return copied === 0 ? text : out + text.slice(copied);
  };
}

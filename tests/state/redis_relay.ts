/**
 * A TCP relay to a local Redis for tests of one replica losing Redis while the others keep it.
 * The tests differ only in how the link fails, so one relay offers every way:
 * - `cut()`: reset (close every relayed connection, refuse new ones) until `mend()`;
 * - `freeze()`: black-hole (connections stay open, nothing gets through: a partition) until
 *   `unfreeze()`;
 * - `arm()`: forward until the holder's approval take (APPROVAL_SETTLE mode `take`) has gone
 *   through, then at once run `onTake` or, without one, freeze: the take runs in Redis and its
 *   reply is lost. From the red team (m2);
 * - `watch(text, hook)`: forward until a command containing `text` has gone through, then at
 *   once run `hook` (once); from the red team (rt-n2).
 *
 * @module
 */

/** How the relay acts on a take it was armed for. */
export interface RedisRelayOptions {
  /** Run when an armed relay has forwarded a take (stop the holder, say), instead of freezing. */
  onTake?: () => void;
}

/** A relay's Redis URL and its controls. */
export interface RedisRelay {
  /** The relay's Redis URL (database 0). */
  url: string;
  /** Closes every relayed connection and refuses new ones until {@linkcode RedisRelay.mend}. */
  cut(): void;
  /** Accepts connections again after {@linkcode RedisRelay.cut}. */
  mend(): void;
  /** Holds every byte in both directions (connections stay open) until `unfreeze()`. */
  freeze(): void;
  /** Lets everything through again (and disarms). */
  unfreeze(): void;
  /** Watches for the next take going to Redis; see {@linkcode RedisRelayOptions.onTake}. */
  arm(): void;
  /**
   * Runs `hook` once the next command containing `text` (as RESP writes it, e.g.
   * {@linkcode TAKE_MARKER}) has gone to Redis; nothing is held unless `hook` freezes.
   */
  watch(text: string, hook: () => void): void;
  /** Ends every connection and the listener. */
  close(): Promise<void>;
}

/** The take script's mode argument as RESP writes it. */
export const TAKE_MARKER = "$4\r\ntake\r\n";

/** Starts a relay to a local Redis on `port`; it forwards everything until told otherwise. */
export function redisRelay(port: number, options: RedisRelayOptions = {}): RedisRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let down = false;
  let frozen = false;
  let armed = false;
  let watching: { text: string; hook: () => void } | undefined;
  let thaw: Array<() => void> = [];
  const decoder = new TextDecoder();
  const closeAll = (conns: Iterable<Deno.Conn>) => {
    for (const c of [...conns]) {
      try {
        c.close();
      } catch { /* closed */ }
      open.delete(c);
    }
  };
  /** Copies `from` to `to`, waiting while frozen; `up` is the client-to-Redis direction. */
  const pump = async (from: Deno.Conn, to: Deno.Conn, up: boolean) => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        while (frozen) await new Promise<void>((r) => thaw.push(r));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
        if (!up || (!armed && !watching)) continue;
        const sent = decoder.decode(buf.subarray(0, n));
        if (armed && sent.includes(TAKE_MARKER)) {
          armed = false;
          if (options.onTake) options.onTake();
          else frozen = true;
        }
        if (watching && sent.includes(watching.text)) {
          const { hook } = watching;
          watching = undefined;
          hook();
        }
      }
    } catch { /* closed */ }
    closeAll([from, to]);
  };
  const accepting = (async () => {
    for await (const client of listener) {
      if (down) {
        client.close();
        continue;
      }
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(client).add(upstream);
      pump(client, upstream, true);
      pump(upstream, client, false);
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/0`,
    cut() {
      down = true;
      closeAll(open);
    },
    mend() {
      down = false;
    },
    freeze() {
      frozen = true;
    },
    unfreeze() {
      frozen = false;
      armed = false;
      const waiting = thaw;
      thaw = [];
      for (const r of waiting) r();
    },
    arm() {
      armed = true;
    },
    watch(text, hook) {
      watching = { text, hook };
    },
    async close() {
      this.unfreeze();
      this.cut();
      listener.close();
      await accepting;
    },
  };
}

/**
 * A TCP relay to Redis that forwards everything until the holder's take (APPROVAL_SETTLE mode
 * `take`) has gone through, then acts at once: black-holes every connection (the take runs in
 * Redis, its reply is lost: a partition), or runs a hook (stop the holder). From the red team
 * (m2).
 *
 * @module
 */

/**
 * A relay to a local Redis on `port`. `url` is its Redis URL; `arm()` watches for the next take;
 * `unfreeze()` lets everything through again; `close()` ends it all.
 */
export function takeTrapRelay(port: number, onTake?: () => void) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let frozen = false;
  let armed = false;
  let thaw: Array<() => void> = [];
  // The script's mode argument as RESP writes it.
  const marker = "$4\r\ntake\r\n";
  const decoder = new TextDecoder();
  const pump = async (from: Deno.Conn, to: Deno.Conn, up: boolean) => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        while (frozen) await new Promise<void>((r) => thaw.push(r));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
        if (up && armed && decoder.decode(buf.subarray(0, n)).includes(marker)) {
          armed = false;
          if (onTake) onTake();
          else frozen = true;
        }
      }
    } catch { /* closed */ }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch { /* closed */ }
      open.delete(c);
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(client).add(upstream);
      pump(client, upstream, true);
      pump(upstream, client, false);
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/0`,
    arm() {
      armed = true;
    },
    unfreeze() {
      frozen = false;
      armed = false;
      const waiting = thaw;
      thaw = [];
      for (const r of waiting) r();
    },
    async close() {
      this.unfreeze();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      listener.close();
      await accepting;
    },
  };
}

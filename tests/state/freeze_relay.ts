/**
 * A TCP relay to Redis that can black-hole its connections, for tests of a replica cut off
 * from Redis with its sockets still open (a partition: no reset, nothing gets through).
 *
 * @module
 */

/**
 * A relay to a local Redis on `port`. `url` is the relay's Redis URL; `freeze()` holds every
 * byte in both directions (connections stay open) until `unfreeze()`; `close()` ends it all.
 */
export function freezeRelay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let frozen = false;
  let thaw: Array<() => void> = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        while (frozen) await new Promise<void>((r) => thaw.push(r));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
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
      pump(client, upstream);
      pump(upstream, client);
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/0`,
    freeze() {
      frozen = true;
    },
    unfreeze() {
      frozen = false;
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

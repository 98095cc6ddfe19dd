/**
 * A TCP relay for tests of one replica losing Redis.
 *
 * @module
 */

/**
 * A TCP relay to a local Redis on `port` that can cut its clients off, so that one replica
 * loses Redis while the others keep it. `url` is the relay's Redis URL; `cut()` closes every
 * relayed connection and refuses new ones until `mend()`.
 */
export function relay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let down = false;
  const pipe = (from: Deno.Conn, to: Deno.Conn) =>
    from.readable.pipeTo(to.writable).catch(() => {}).finally(() => {
      for (const c of [from, to]) {
        try {
          c.close();
        } catch { /* closed */ }
        open.delete(c);
      }
    });
  const accepting = (async () => {
    for await (const client of listener) {
      if (down) {
        client.close();
        continue;
      }
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(client).add(upstream);
      pipe(client, upstream);
      pipe(upstream, client);
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/0`,
    cut() {
      down = true;
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      open.clear();
    },
    mend() {
      down = false;
    },
    async close() {
      this.cut();
      listener.close();
      await accepting;
    },
  };
}

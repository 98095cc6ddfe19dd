import { Gateway, parseConfig } from "../../gateway/mod.ts";
import { redactValueAsync } from "../../pii/mod.ts";
const config = parseConfig({ servers: {}, audit: { path: ":memory:" }, selection: { embedder: "lexical", cacheDir: await Deno.makeTempDir() }, sandbox: { timeoutMs: 10000, memoryMb: 256 } });
const gw = new Gateway(config, { poolSize: 1, logger: () => {} });
await gw.start();
const tenant = gw.tenants.authenticate(undefined);
for (const n of [40000, 100000, 349000]) {
  const code = `return new Array(${n}).fill(0).map(() => ({}));`;
  // loop lag probe
  let maxLag = 0; let last = performance.now(); let stop = false;
  (async () => { while (!stop) { await new Promise((r) => setTimeout(r, 1)); const now = performance.now(); maxLag = Math.max(maxLag, now - last - 1); last = now; } })();
  const t = performance.now();
  const r = await gw.execute({ code }, { tenant, requestId: "x", transport: "http" });
  const t2 = performance.now();
  const s = JSON.stringify(r);
  const t3 = performance.now();
  stop = true;
  console.log(n, "ok", r.ok, "exec ms", (t2 - t).toFixed(0), "sandboxMs", r.stats.sandboxMs, "stringify", (t3 - t2).toFixed(1), "max loop lag", maxLag.toFixed(0));
  const v = JSON.parse(s).result;
  const a = performance.now(); await redactValueAsync(v, { mode: "tokenize" }); console.log("  redactValueAsync alone", (performance.now() - a).toFixed(1));
  const b = performance.now(); JSON.parse(JSON.stringify(v)); console.log("  parse alone", (performance.now() - b).toFixed(1));
}
await gw.close();

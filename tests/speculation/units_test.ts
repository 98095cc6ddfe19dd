/**
 * The parts of speculation on their own: the static scan (a real parser, literals only,
 * bounded), canonical JSON, write epochs, the session cache's bounds and invalidation, the
 * predictor's argument reuse, confidence threshold and auto-off, and the configuration.
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import { buildNameMap, type ToolInfo } from "../../wrappers/mod.ts";
import {
  canonicalJson,
  MAX_SCANNED_CODE_CHARS,
  Predictor,
  scanLiteralCalls,
  SessionCache,
  WriteEpochs,
} from "../../gateway/speculation/mod.ts";
import { parseConfig, TenantDirectory } from "../../gateway/mod.ts";
import { carriesPersonalData } from "../../gateway/speculation/personal.ts";

const tool = (server: string, name: string): ToolInfo => ({
  id: `${server}.${name}`,
  server,
  name,
  description: "",
  inputSchema: { type: "object" },
});
const names = buildNameMap([
  tool("filesystem", "read_text_file"),
  tool("filesystem", "write_file"),
  tool("memory", "read_graph"),
]);

Deno.test("scan: literal calls through namespaces and tools.call, in order, without duplicates", () => {
  const calls = scanLiteralCalls(
    `
    const a = await filesystem.readTextFile({ path: "a.json" });
    const b = await filesystem.readTextFile({ "path": 'b.json', head: 10, tail: -1 });
    const again = await filesystem.readTextFile({ path: "a.json" });
    const g = await memory.readGraph();
    const c = await tools.call("filesystem.read_text_file", { path: \`c.json\`, x: [1, { y: null, z: true }] });
    return [a, b, g, c];`,
    names,
    { maxCalls: 10 },
  );
  assertEquals(calls, [
    { tool: "filesystem.read_text_file", args: { path: "a.json" } },
    { tool: "filesystem.read_text_file", args: { path: "b.json", head: 10, tail: -1 } },
    { tool: "memory.read_graph", args: {} },
    {
      tool: "filesystem.read_text_file",
      args: { path: "c.json", x: [1, { y: null, z: true }] },
    },
  ]);
});

Deno.test("scan: anything but a literal is skipped", () => {
  const calls = scanLiteralCalls(
    `
    const p = "x";
    await filesystem.readTextFile({ path: p });
    await filesystem.readTextFile({ path: \`\${p}.json\` });
    await filesystem.readTextFile({ ...{ path: "s" } });
    await filesystem.readTextFile({ [p]: "c" });
    await filesystem.readTextFile({ path: String(1) });
    await filesystem.readTextFile({ path });
    await tools.call(p, { path: "id" });
    await tools.call("unknown.tool", { path: "u" });
    await other.readTextFile({ path: "ns" });
    // filesystem.readTextFile({ path: "comment" })
    const s = 'filesystem.readTextFile({ path: "string" })';
    return s;`,
    names,
    { maxCalls: 10 },
  );
  assertEquals(calls, []);
});

Deno.test("scan: bounded in calls and in syntax nodes", () => {
  const code = Array.from(
    { length: 50 },
    (_, i) => `await filesystem.readTextFile({ path: "f${i}" });`,
  ).join("\n");
  assertEquals(scanLiteralCalls(code, names, { maxCalls: 3 }).length, 3);
  assertEquals(scanLiteralCalls(code, names, { maxCalls: 100, maxNodes: 20 }).length < 3, true);
  // Nesting deeper than the parser's recursion can take: no calls, no exception.
  const deep = "(".repeat(20_000) + `filesystem.readTextFile({ path: "d" })` + ")".repeat(20_000);
  assertEquals(scanLiteralCalls(deep, names, { maxCalls: 5 }), []);
  // Moderate nesting is walked without recursion.
  const nested = "(".repeat(500) + `filesystem.readTextFile({ path: "d" })` + ")".repeat(500);
  assertEquals(scanLiteralCalls(nested, names, { maxCalls: 5 }).length, 1);
  assert(MAX_SCANNED_CODE_CHARS > 0);
});

Deno.test("canonical JSON sorts keys at every level and rejects what is not JSON", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: "x" } }),
    '{"a":{"c":"x","d":[2,{"e":0,"f":1}]},"b":1}',
  );
  assertEquals(canonicalJson({ a: 1, b: undefined }), canonicalJson({ a: 1 }));
  assertEquals(canonicalJson({ f: () => 1 }), undefined);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assertEquals(canonicalJson(cycle), undefined);
});

Deno.test("canonical JSON gives up past its budget, before writing the whole value", () => {
  const big = { extra: Array(2_000_000).fill(0), a: "x" };
  // Observed before: the whole 4 MB text written (400 ms of the shared event loop) and then
  // found too long by the caller.
  const calls: number[] = [];
  const counting = new Proxy(big.extra, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) calls.push(Number(key));
      return Reflect.get(target, key, receiver);
    },
  });
  assertEquals(canonicalJson({ extra: counting }, 1024), undefined);
  assert(calls.length < 2048, `read ${calls.length} elements for a 1,024-unit budget`);
  assertEquals(canonicalJson(big, 1024), undefined);
  assertEquals(canonicalJson({ a: [1, 2], b: "x" }, 19), `{"a":[1,2],"b":"x"}`);
  assertEquals(canonicalJson({ a: [1, 2], b: "x" }, 18), undefined);
  // Holes are null, as JSON.stringify writes them.
  assertEquals(canonicalJson([, 1]), "[null,1]");
});

Deno.test("write epochs: a write voids what was fetched before it, also while in flight", () => {
  const epochs = new WriteEpochs();
  const before = epochs.of("fs");
  assert(epochs.current("fs", before));
  const end = epochs.beginWrite("fs");
  assert(!epochs.current("fs", before));
  const during = epochs.of("fs");
  assert(!epochs.current("fs", during), "nothing is served while a write is in flight");
  end(true);
  end(true); // idempotent
  assert(!epochs.current("fs", during));
  assert(epochs.current("fs", epochs.of("fs")));
  // Servers may share state: a write to one voids every server's reads, unless isolated.
  const shared = epochs.of("memory");
  epochs.beginWrite("fs")(true);
  assert(!epochs.current("memory", shared), "a write to fs voids memory's reads");
  const isolated = new WriteEpochs(30_000, () => 0, ["memory"]);
  const m = isolated.of("memory");
  isolated.beginWrite("fs")(true);
  assert(isolated.current("memory", m), "an isolated server is not affected by others");
  isolated.beginWrite("memory")(true);
  assert(!isolated.current("memory", m));
  // A restarted server's earlier results are void.
  const old = epochs.of("fs");
  epochs.reset("fs");
  assert(!epochs.current("fs", old));
});

Deno.test("write epochs: after a write its server never answered, nothing is served for a while", () => {
  let now = 0;
  const epochs = new WriteEpochs(1000, () => now);
  epochs.beginWrite("fs")(false);
  const after = epochs.of("fs");
  assert(!epochs.current("fs", after), "the write may still land");
  now = 999;
  assert(!epochs.current("fs", after));
  now = 1000;
  assert(epochs.current("fs", after));
  epochs.beginWrite("fs")(true);
  assert(epochs.current("fs", epochs.of("fs")), "an answered write settles at once");
});

const result = (text: string) => ({ content: [{ type: "text" as const, text }] });

Deno.test("session cache: TTL, epochs, per-session and per-tenant bounds, clearing servers", () => {
  let now = 0;
  const epochs = new WriteEpochs();
  const cache = new SessionCache(epochs, {
    maxEntriesPerSession: 2,
    maxCharsPerSession: 10_000,
    maxEntriesPerTenant: 3,
    maxCharsPerTenant: 10_000,
    maxCharsPerEntry: 200,
  }, () => now);
  const e = epochs.of("fs");
  cache.put("t", "s1", "k1", "fs", result("one"), e, 1000);
  assertEquals(cache.get("t", "s1", "k1"), result("one"));
  assertEquals(cache.get("t", "s2", "k1"), undefined, "sessions are separate");
  assertEquals(cache.get("u", "s1", "k1"), undefined, "tenants are separate");
  now = 1000;
  assertEquals(cache.get("t", "s1", "k1"), undefined, "expired");
  // Per-session entry bound: the oldest goes.
  cache.put("t", "s1", "a", "fs", result("a"), e, 1000);
  cache.put("t", "s1", "b", "fs", result("b"), e, 1000);
  cache.put("t", "s1", "c", "fs", result("c"), e, 1000);
  assertEquals(cache.get("t", "s1", "a"), undefined);
  assert(cache.get("t", "s1", "c"));
  // Per-tenant bound: another session's oldest goes; another tenant is untouched.
  cache.put("u", "s1", "x", "fs", result("x"), e, 1000);
  cache.put("t", "s2", "d", "fs", result("d"), e, 1000);
  cache.put("t", "s2", "e", "fs", result("e"), e, 1000);
  assertEquals(cache.stats().find((s) => s.tenant === "t")!.entries, 3);
  assert(cache.get("u", "s1", "x"));
  // Too big, errors, and results fetched before a write are not kept.
  cache.put("t", "s3", "big", "fs", result("x".repeat(500)), e, 1000);
  cache.put("t", "s3", "err", "fs", { ...result("no"), isError: true }, e, 1000);
  assertEquals(cache.get("t", "s3", "big"), undefined);
  assertEquals(cache.get("t", "s3", "err"), undefined);
  const end = epochs.beginWrite("fs");
  cache.put("t", "s3", "during", "fs", result("d"), epochs.of("fs"), 1000);
  end(true);
  assertEquals(cache.get("t", "s3", "during"), undefined);
  assertEquals(cache.get("t", "s2", "e"), undefined, "a write voids every session's reads");
  // clearServer drops only that server's entries of that session.
  const e2 = epochs.of("fs");
  cache.put("t", "s4", "f", "fs", result("f"), e2, 1000);
  cache.put("t", "s4", "m", "memory", result("m"), epochs.of("memory"), 1000);
  cache.clearServer("t", "s4", "fs");
  assertEquals(cache.get("t", "s4", "f"), undefined);
  assertEquals(cache.get("t", "s4", "m"), undefined, "servers may share state: all cleared");
});

Deno.test("predictor: transitions with argument reuse predict the next call", () => {
  const p = new Predictor();
  for (let i = 0; i < 3; i++) {
    p.observe("t", { tool: "fs.read", args: { path: "config.json" }, value: { next: `n${i}` } }, {
      tool: "fs.stat",
      args: { path: `n${i}`, verbose: true },
    });
  }
  const predicted = p.predict("t", { tool: "fs.read", args: {}, value: { next: "n9" } }, 0.8);
  assertEquals(predicted.map((x) => [x.tool, x.args]), [["fs.stat", {
    path: "n9",
    verbose: true,
  }]]);
  assertEquals(p.predict("other", { tool: "fs.read", args: {}, value: { next: "x" } }, 0.8), []);
  // Confidence below the threshold: no prediction.
  for (let i = 0; i < 4; i++) p.count("t", "fs.read", "fs.write");
  assertEquals(p.predict("t", { tool: "fs.read", args: {}, value: { next: "n9" } }, 0.8), []);
  assertEquals(p.predict("t", { tool: "fs.read", args: {}, value: { next: "n9" } }, 0.4).length, 1);
});

Deno.test("predictor: exact-call chains follow the most frequent next call while confident", () => {
  const p = new Predictor();
  const get = (key: string) => ({ tool: "kv.get", args: { key } });
  for (let i = 0; i < 3; i++) {
    p.observeCall("t", get("a"), get("b"));
    p.observeCall("t", get("b"), get("c"));
    p.observeCall("t", get("c"), get("a")); // a cycle is not followed twice
  }
  assertEquals(p.chain("t", get("a"), 0.8, 10).map((x) => x.args.key), ["b", "c"]);
  assertEquals(p.chain("t", get("a"), 0.8, 1).map((x) => x.args.key), ["b"]);
  // b is followed by d as often as by c: the chain stops below the threshold.
  for (let i = 0; i < 3; i++) p.observeCall("t", get("b"), get("d"));
  assertEquals(p.chain("t", get("a"), 0.8, 10).map((x) => x.args.key), ["b"]);
  assertEquals(p.chain("t", get("a"), 0.4, 10).map((x) => x.args.key), ["b", "c"]);
  assertEquals(p.chain("u", get("a"), 0.1, 10), []);
});

Deno.test("predictor: counts alone (audit history) never predict arguments", () => {
  const p = new Predictor();
  for (let i = 0; i < 10; i++) p.count("t", "a", "b");
  assertEquals(p.predict("t", { tool: "a", args: {}, value: {} }, 0.5), []);
});

Deno.test("predictor: low precision turns prediction off for that tenant only", () => {
  let now = 0;
  const p = new Predictor(() => now);
  for (let i = 0; i < 3; i++) {
    p.observe("t", { tool: "a", args: {}, value: "x" }, { tool: "b", args: { k: "x" } });
    p.observe("u", { tool: "a", args: {}, value: "x" }, { tool: "b", args: { k: "x" } });
  }
  assertEquals(p.predict("t", { tool: "a", args: {}, value: "y" }, 0.5).length, 1);
  for (let i = 0; i < 19; i++) p.judge("t", false);
  assert(p.enabled("t"), "not before enough predictions were judged");
  p.judge("t", false);
  assert(!p.enabled("t"));
  assertEquals(p.predict("t", { tool: "a", args: {}, value: "y" }, 0.5), []);
  assert(p.enabled("u"));
  assertEquals(p.stats().find((s) => s.tenant === "t")!.enabled, false);
  now += 11 * 60 * 1000;
  assert(p.enabled("t"), "it comes back after a while, with a clean window");
});

Deno.test("config: speculation defaults, tenant overrides, unknown keys refused", () => {
  const config = parseConfig({
    speculation: { ttlSeconds: 5, readOnly: ["memory.*"] },
    auth: {
      tenants: {
        a: { keys: [`sha256:${"a".repeat(64)}`] },
        b: { keys: [`sha256:${"b".repeat(64)}`], speculation: { enabled: false } },
      },
    },
  });
  assertEquals(config.speculation, {
    enabled: true,
    ttlSeconds: 5,
    minConfidence: 0.8,
    maxPrefetchPerExecution: 8,
    readOnly: ["memory.*"],
    unsettledSeconds: 600,
    isolatedServers: [],
  });
  // Top level only: not overridable per tenant.
  assertThrows(() =>
    parseConfig({
      auth: {
        tenants: {
          a: { keys: [`sha256:${"a".repeat(64)}`], speculation: { isolatedServers: ["x"] } },
        },
      },
    })
  );
  const tenants = new TenantDirectory(config);
  assertEquals(tenants.get("a")!.speculation.enabled, true);
  assertEquals(tenants.get("b")!.speculation, { ...config.speculation, enabled: false });
  assertThrows(() => parseConfig({ speculation: { enable: false } }), /unknown key "enable"/);
  assertThrows(() => parseConfig({ speculation: { maxPrefetchPerExecution: 65 } }));
});

Deno.test("predictor: argument memory is per API key, never holds personal data, and ages", () => {
  let now = 0;
  const p = new Predictor(() => now);
  const get = (key: string) => ({ tool: "kv.get", args: { key } });
  for (let i = 0; i < 3; i++) {
    p.observeCall("t", get("index"), get("salary:alice"), "key-a");
    p.observeCall("t", get("index"), get("[EMAIL_1]"), "key-a");
    p.observeCall("t", get("a"), get("bob@example.org"), "key-a");
    p.observe("t", { tool: "kv.get", args: {}, value: {} }, {
      tool: "kv.find",
      args: { owner: "[PHONE_2]" },
    }, "key-a");
  }
  assertEquals(p.chain("t", get("index"), 0.1, 5, "key-a").map((x) => x.args.key), [
    "salary:alice",
  ]);
  assertEquals(p.chain("t", get("index"), 0.1, 5, "key-b"), [], "another key learns nothing");
  assertEquals(p.chain("t", get("a"), 0.1, 5, "key-a"), [], "an address is never remembered");
  assertEquals(
    p.predict("t", { tool: "kv.get", args: {}, value: {} }, 0.1, "key-a"),
    [],
    "a placeholder constant is never a template",
  );
  // Argument reuse from this execution's own result: a placeholder there is not predicted.
  for (let i = 0; i < 3; i++) {
    p.observe("t", { tool: "kv.list", args: {}, value: { first: `k${i}` } }, {
      tool: "kv.get",
      args: { key: `k${i}` },
    }, "key-a");
  }
  assertEquals(
    p.predict("t", { tool: "kv.list", args: {}, value: { first: "k9" } }, 0.5, "key-a")
      .map((x) => x.args),
    [{ key: "k9" }],
  );
  assertEquals(
    p.predict("t", { tool: "kv.list", args: {}, value: { first: "[EMAIL_3]" } }, 0.5, "key-a"),
    [],
  );
  assertEquals(
    p.predict("t", { tool: "kv.list", args: {}, value: { first: "k9" } }, 0.5, "key-b"),
    [],
    "templates are per key",
  );
  // Forgotten after an hour unseen.
  now += 61 * 60 * 1000;
  assertEquals(p.chain("t", get("index"), 0.1, 5, "key-a"), []);
  assertEquals(
    p.predict("t", { tool: "kv.list", args: {}, value: { first: "k9" } }, 0.5, "key-a"),
    [],
  );
});

Deno.test("personal data: placeholders count, tagged (`[EMAIL_3_kqzmtwa]`) or untagged", () => {
  for (const json of ['{"to":"[EMAIL_3_kqzmtwa]"}', '{"to":"[CARD_12_abcdefg] x"}', '["[IP_1]"]']) {
    assertEquals(carriesPersonalData(json), true, json);
  }
  for (const json of ['{"to":"[EMAIL_0_kqzmtwa]"}', '{"to":"[NAME_1_kqzmtwa]"}', '"plain"']) {
    assertEquals(carriesPersonalData(json), false, json);
  }
});

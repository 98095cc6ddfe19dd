/** Configuration validation: defaults, strictness, errors that name the field. */

import { assertEquals, assertMatch, assertRejects, assertThrows } from "../assert.ts";
import { ConfigError, loadConfig, parseConfig } from "../../gateway/mod.ts";

Deno.test("the example configuration is valid", async () => {
  const config = await loadConfig(
    new URL("../../examples/airlock.config.json", import.meta.url).pathname,
  );
  assertEquals(Object.keys(config.servers), ["filesystem", "memory"]);
  assertEquals(config.sandbox.timeoutMs, 5000);
  assertEquals(config.pii.mode, "tokenize");
});

Deno.test("an empty configuration gets every default", () => {
  const config = parseConfig({});
  assertEquals(config.servers, {});
  assertEquals(config.sandbox.memoryMb, 128);
  assertEquals(config.sandbox.allowNet, []);
  assertEquals(config.selection.maxTools, 20);
  assertEquals(config.auth, undefined);
});

Deno.test("the DESIGN.md example validates, including remote servers and tenants", () => {
  const config = parseConfig({
    servers: {
      filesystem: { command: "npx", args: ["-y", "x"], env: {} },
      remote: { url: "http://127.0.0.1:9000/mcp", headers: {} },
    },
    sandbox: {
      timeoutMs: 5000,
      memoryMb: 128,
      maxOutputBytes: 1048576,
      concurrency: 4,
      queue: 64,
      allowNet: [],
      allowRead: [],
    },
    selection: { maxTools: 20, minScore: 0.3, modelDir: null },
    pii: {
      mode: "tokenize",
      types: ["email", "phone", "ssn", "credit_card", "iban", "ip", "secret"],
    },
    auth: {
      tenants: {
        acme: {
          keys: ["sha256:" + "a".repeat(64)],
          enabledTools: ["filesystem.*"],
          requestsPerMinute: 60,
        },
      },
    },
    audit: { path: "./data/audit.db" },
  });
  assertEquals("url" in config.servers.remote, true);
});

const bad: Array<[string, unknown, RegExp]> = [
  ["unknown top-level key", { sever: {} }, /\(root\): unknown key "sever"/],
  ["unknown nested key", { sandbox: { timeout: 5 } }, /sandbox: unknown key "timeout"/],
  ["bad value", { sandbox: { timeoutMs: -1 } }, /sandbox\.timeoutMs: /],
  ["wrong type", { sandbox: { memoryMb: "lots" } }, /sandbox\.memoryMb: /],
  ["server without command or url", { servers: { x: { args: [] } } }, /servers\.x: .*command.*url/],
  [
    "unknown server key",
    { servers: { x: { command: "a", argz: [] } } },
    /servers\.x: unknown key "argz"/,
  ],
  ["bad server url", { servers: { x: { url: "not a url" } } }, /servers\.x\.url/],
  ["bad namespace", { servers: { "9bad": { command: "a" } } }, /servers\.9bad/],
  [
    "loopback grant without port",
    { sandbox: { allowNet: ["127.0.0.1"] } },
    /sandbox\.allowNet\.0: .*loopback/,
  ],
  ["localhost grant without port", { sandbox: { allowNet: ["localhost"] } }, /loopback/],
  ["numeric loopback grant", { sandbox: { allowNet: ["2130706433"] } }, /loopback/],
  [
    "relative read grant",
    { sandbox: { allowRead: ["data"] } },
    /sandbox\.allowRead\.0: must be an absolute path/,
  ],
  ["bad pii type", { pii: { types: ["email", "dna"] } }, /pii\.types\.1/],
  [
    "plain-text api key",
    { auth: { tenants: { a: { keys: ["hunter2"] } } } },
    /auth\.tenants\.a\.keys\.0: must be "sha256:"/,
  ],
];
for (const [name, value, pattern] of bad) {
  Deno.test(`config errors name the field: ${name}`, () => {
    const error = assertThrows(() => parseConfig(value));
    assertEquals(error instanceof ConfigError, true);
    assertMatch(error.message, pattern);
  });
}

Deno.test("loopback grants with a port and ordinary hosts are accepted", () => {
  const config = parseConfig({
    sandbox: { allowNet: ["127.0.0.1:9000", "api.example.com", "[::1]:8080"] },
  });
  assertEquals(config.sandbox.allowNet.length, 3);
});

Deno.test("loadConfig reports unreadable and malformed files", async () => {
  await assertRejects(() => loadConfig("/nonexistent/airlock.json"), /cannot read configuration/);
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, "{ not json");
  await assertRejects(() => loadConfig(file), /is not valid JSON/);
  await Deno.remove(file);
});

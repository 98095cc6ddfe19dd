/** The `state` section of the configuration and `AIRLOCK_STATE_URL`. */

import { ConfigError, loadConfig, parseConfig } from "../../gateway/mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";

Deno.test("state: defaults, bad URLs and unknown keys", () => {
  assertEquals(parseConfig({}).state, undefined);
  assertEquals(parseConfig({ state: { url: "redis://127.0.0.1:6379/0" } }).state, {
    url: "redis://127.0.0.1:6379/0",
    keyPrefix: "airlock:",
    commandTimeoutMs: 1000,
    leaseMs: 15_000,
    vaultBytesPerTenant: 16 * 1024 * 1024,
  });
  assertThrows(
    () => parseConfig({ state: { url: "redis://h", vaultBytesPerTenant: 1000 } }),
    /state\.vaultBytesPerTenant/,
  );
  const bad = assertThrows(() => parseConfig({ state: { url: "http://x" } }), /state\.url: must/);
  assert(bad instanceof ConfigError);
  assertThrows(() => parseConfig({ state: { url: "redis://h", ttl: 1 } }), /unknown key "ttl"/);
});

Deno.test("state: AIRLOCK_STATE_URL applies when the file has no state section", async () => {
  const dir = await Deno.makeTempDir({ prefix: "airlock-state-config-" });
  try {
    await Deno.writeTextFile(`${dir}/a.json`, "{}");
    await Deno.writeTextFile(
      `${dir}/b.json`,
      JSON.stringify({ state: { url: "redis://file:1/0" } }),
    );
    Deno.env.set("AIRLOCK_STATE_URL", "redis://env:2/0");
    assertEquals((await loadConfig(`${dir}/a.json`)).state?.url, "redis://env:2/0");
    assertEquals((await loadConfig(`${dir}/b.json`)).state?.url, "redis://file:1/0");
    Deno.env.set("AIRLOCK_STATE_URL", "nope");
    await loadConfig(`${dir}/a.json`).then(
      () => Promise.reject(new Error("accepted a bad AIRLOCK_STATE_URL")),
      (error) => assertMatch(String(error), /AIRLOCK_STATE_URL .*invalid/),
    );
  } finally {
    Deno.env.delete("AIRLOCK_STATE_URL");
    await Deno.remove(dir, { recursive: true });
  }
});

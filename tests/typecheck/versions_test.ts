/**
 * The checker's declaration versions: bounded in all and per tenant, shared between tenants
 * with the same declarations, and a tenant that cycles through versions evicts its own.
 */

import { assertEquals } from "../assert.ts";
import { VersionCache } from "../../typecheck/versions.ts";

Deno.test("versions: a tenant cycling through versions evicts only its own", () => {
  const cache = new VersionCache<string>(4, 2);
  cache.set("b", "kb", "B");
  for (let i = 0; i < 50; i++) cache.set("a", `ka${i}`, `A${i}`);
  assertEquals(cache.get("b", "kb"), "B");
  assertEquals(cache.get("a", "ka49"), "A49");
  assertEquals(cache.get("a", "ka48"), "A48");
  assertEquals(cache.get("a", "ka47"), undefined);
  assertEquals(cache.size, 3);
});

Deno.test("versions: the total bound takes from the tenant holding the most", () => {
  const cache = new VersionCache<string>(3, 3);
  cache.set("a", "k1", "1");
  cache.set("a", "k2", "2");
  cache.set("b", "k3", "3");
  cache.set("c", "k4", "4"); // over 3: a holds the most, its least recently used goes
  assertEquals(cache.size, 3);
  assertEquals(cache.get("x", "k1"), undefined);
  assertEquals(["k2", "k3", "k4"].map((k) => cache.get("z", k) !== undefined), [true, true, true]);
});

Deno.test("versions: tenants with the same declarations share one copy until the last lets go", () => {
  const cache = new VersionCache<object>(8, 1);
  const parsed = { parsed: true };
  cache.set("a", "same", parsed);
  assertEquals(cache.get("b", "same"), parsed); // b now holds it too
  cache.set("a", "other", {}); // a's cap is 1: it lets go of "same"
  assertEquals(cache.get("b", "same"), parsed);
  cache.set("b", "third", {}); // the last holder lets go
  assertEquals(cache.size, 2);
  assertEquals(cache.get("c", "same"), undefined);
});

// Vault and VaultStore: stable placeholders, TTL expiry (injected clock), capacity.

import { detokenizeValue, redactText, Vault, VaultStore } from "../../pii/mod.ts";

function assertEquals(actual: unknown, expected: unknown, message = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\nexpected ${e}\nactual   ${a}`);
}

Deno.test("placeholders are numbered per type and stable per value", () => {
  const v = new Vault();
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1]");
  assertEquals(v.placeholderFor("email", "b@example.com"), "[EMAIL_2]");
  assertEquals(v.placeholderFor("phone", "+1 415 555 2671"), "[PHONE_1]");
  assertEquals(v.placeholderFor("credit_card", "4111111111111111"), "[CARD_1]");
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1]");
  // Same text, different type: a different mapping.
  assertEquals(v.placeholderFor("secret", "a@example.com"), "[SECRET_1]");
  assertEquals(v.lookup("[EMAIL_2]"), "b@example.com");
  assertEquals(v.lookup("[EMAIL_9]"), undefined);
});

Deno.test("mappings expire after the TTL since last use; numbers are never reused", () => {
  let now = 1_000;
  const v = new Vault({ ttlMs: 100, now: () => now });
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1]");
  now = 1_090;
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1]"); // refreshes
  now = 1_180;
  assertEquals(v.lookup("[EMAIL_1]"), "a@example.com");
  now = 1_191; // 101 ms after the last placeholderFor
  assertEquals(v.lookup("[EMAIL_1]"), undefined);
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_2]");
  assertEquals(v.lookup("[EMAIL_1]"), undefined);
  assertEquals(v.size, 1);
});

Deno.test("an expired placeholder is left as is by detokenizeValue", () => {
  let now = 0;
  const v = new Vault({ ttlMs: 10, now: () => now });
  const { text } = redactText("write to a@example.com", { mode: "tokenize", vault: v });
  assertEquals(detokenizeValue({ to: text }, v), { to: "write to a@example.com" });
  now = 11;
  assertEquals(detokenizeValue({ to: text }, v), { to: "write to [EMAIL_1]" });
});

Deno.test("maxEntries evicts the least recently used mapping", () => {
  const v = new Vault({ maxEntries: 2 });
  v.placeholderFor("email", "a@example.com");
  v.placeholderFor("email", "b@example.com");
  v.placeholderFor("email", "a@example.com"); // a is now most recent
  v.placeholderFor("email", "c@example.com"); // evicts b
  assertEquals(v.lookup("[EMAIL_2]"), undefined);
  assertEquals(v.lookup("[EMAIL_1]"), "a@example.com");
  assertEquals(v.lookup("[EMAIL_3]"), "c@example.com");
});

Deno.test("VaultStore: one vault per session, dropped after the TTL", () => {
  let now = 0;
  const store = new VaultStore({ ttlMs: 1_000, now: () => now });
  const a = store.get("session-a");
  a.placeholderFor("email", "a@example.com");
  if (store.get("session-a") !== a) throw new Error("same session should get the same vault");
  if (store.get("session-b") === a) throw new Error("sessions must not share vaults");
  now = 900;
  store.get("session-a"); // touch a
  now = 1_500; // b idle 1500 ms, a idle 600 ms
  assertEquals(store.size, 1);
  if (store.get("session-a") !== a) throw new Error("touched session expired too early");
  now = 3_000;
  const fresh = store.get("session-a");
  if (fresh === a) throw new Error("expired session kept its vault");
  assertEquals(fresh.lookup("[EMAIL_1]"), undefined);
});

Deno.test("VaultStore: maxSessions evicts the least recently used session", () => {
  const store = new VaultStore({ maxSessions: 2 });
  const a = store.get("a");
  store.get("b");
  store.get("a");
  store.get("c"); // evicts b
  assertEquals(store.size, 2);
  if (store.get("a") !== a) throw new Error("a should have survived");
});

Deno.test("invalid options and session ids are rejected with a kind", () => {
  for (const f of [() => new Vault({ ttlMs: 0 }), () => new VaultStore({ maxSessions: -1 })]) {
    try {
      f();
      throw new Error("no error");
    } catch (e) {
      assertEquals((e as { kind?: string }).kind, "invalid_option", String(e));
    }
  }
  try {
    new VaultStore().get("");
    throw new Error("no error");
  } catch (e) {
    assertEquals((e as { kind?: string }).kind, "invalid_session", String(e));
  }
});

Deno.test("expired mappings are dropped as the vault is used, not kept forever", () => {
  let now = 0;
  const v = new Vault({ ttlMs: 10, now: () => now });
  for (let i = 0; i < 100; i++) v.placeholderFor("ip", `10.0.0.${i}`);
  now = 20;
  v.placeholderFor("ip", "10.0.1.1");
  assertEquals(v.size, 1);
  assertEquals(v.lookup("[IP_101]"), "10.0.1.1");
});

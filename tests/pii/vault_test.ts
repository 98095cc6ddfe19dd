// Vault and VaultStore: stable placeholders, TTL expiry (injected clock), capacity; caps on
// entries and bytes per session and per tenant, so no tenant can evict another's vaults.

import { assertThrows } from "../assert.ts";
import { detokenizeValue, type PiiType, redactText, Vault, VaultStore } from "../../pii/mod.ts";

function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals(actual: unknown, expected: unknown, message = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\nexpected ${e}\nactual   ${a}`);
}

Deno.test("placeholders are numbered per type and stable per value", () => {
  const v = new Vault({ tag: "kqzmtwa" });
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1_kqzmtwa]");
  assertEquals(v.placeholderFor("email", "b@example.com"), `[EMAIL_2_${v.tag}]`);
  assertEquals(v.placeholderFor("phone", "+1 415 555 2671"), "[PHONE_1_kqzmtwa]");
  assertEquals(v.placeholderFor("credit_card", "4111111111111111"), "[CARD_1_kqzmtwa]");
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1_kqzmtwa]");
  // Same text, different type: a different mapping.
  assertEquals(v.placeholderFor("secret", "a@example.com"), "[SECRET_1_kqzmtwa]");
  assertEquals(v.lookup("[EMAIL_2_kqzmtwa]"), "b@example.com");
  assertEquals(v.lookup("[EMAIL_9_kqzmtwa]"), undefined);
});

Deno.test("mappings expire after the TTL since last use; numbers are never reused", () => {
  let now = 1_000;
  const v = new Vault({ tag: "kqzmtwa", ttlMs: 100, now: () => now });
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1_kqzmtwa]");
  now = 1_090;
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_1_kqzmtwa]"); // refreshes
  now = 1_180;
  assertEquals(v.lookup("[EMAIL_1_kqzmtwa]"), "a@example.com");
  now = 1_191; // 101 ms after the last placeholderFor
  assertEquals(v.lookup("[EMAIL_1_kqzmtwa]"), undefined);
  assertEquals(v.placeholderFor("email", "a@example.com"), "[EMAIL_2_kqzmtwa]");
  assertEquals(v.lookup("[EMAIL_1_kqzmtwa]"), undefined);
  assertEquals(v.size, 1);
});

Deno.test("an expired placeholder is refused by detokenizeValue", () => {
  let now = 0;
  const v = new Vault({ tag: "kqzmtwa", ttlMs: 10, now: () => now });
  const { text } = redactText("write to a@example.com", { mode: "tokenize", vault: v });
  assertEquals(detokenizeValue({ to: text }, v), { to: "write to a@example.com" });
  now = 11;
  assertThrows(() => detokenizeValue({ to: text }, v), /\[EMAIL_1_kqzmtwa\] does not stand for/);
});

Deno.test("maxEntries evicts the least recently used mapping", () => {
  const v = new Vault({ tag: "kqzmtwa", maxEntries: 2 });
  v.placeholderFor("email", "a@example.com");
  v.placeholderFor("email", "b@example.com");
  v.placeholderFor("email", "a@example.com"); // a is now most recent
  v.placeholderFor("email", "c@example.com"); // evicts b
  assertEquals(v.lookup("[EMAIL_2_kqzmtwa]"), undefined);
  assertEquals(v.lookup("[EMAIL_1_kqzmtwa]"), "a@example.com");
  assertEquals(v.lookup("[EMAIL_3_kqzmtwa]"), "c@example.com");
});

Deno.test("VaultStore: one vault per session, dropped after the TTL", () => {
  let now = 0;
  const store = new VaultStore({ ttlMs: 1_000, now: () => now });
  const a = store.get("session-a");
  const old = a.placeholderFor("email", "a@example.com");
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
  assertEquals(fresh.lookup(old), undefined);
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
  for (
    const f of [
      () => new Vault({ tag: "kqzmtwa", ttlMs: 0 }),
      () => new VaultStore({ maxSessions: -1 }),
    ]
  ) {
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
  const v = new Vault({ tag: "kqzmtwa", ttlMs: 10, now: () => now });
  for (let i = 0; i < 100; i++) v.placeholderFor("ip", `10.0.0.${i}`);
  now = 20;
  v.placeholderFor("ip", "10.0.1.1");
  assertEquals(v.size, 1);
  assertEquals(v.lookup("[IP_101_kqzmtwa]"), "10.0.1.1");
});

// --- Caps on entries and bytes -------------------------------------------------------------

const email = (i: number) => `user${i}@example.com`;

Deno.test("many small values: a vault keeps at most maxBytes (UTF-8), oldest go first", () => {
  const v = new Vault({ tag: "kqzmtwa", maxBytes: 10_000 });
  const placeholders: string[] = [];
  for (let i = 0; i < 5_000; i++) placeholders.push(v.placeholderFor("email", email(i)));
  // Each mapping holds key "email\0user…" + value + "[EMAIL_n]": about 60 bytes.
  if (!(v.bytes <= 10_000 && v.bytes > 9_000)) throw new Error(`bytes ${v.bytes}`);
  if (!(v.size < 200)) throw new Error(`size ${v.size}`);
  assertEquals(v.lookup(placeholders[0]), undefined, "the oldest stopped resolving");
  assertEquals(v.lookup(placeholders[4_999]), email(4_999), "the newest resolves");
  // Numbers are never reused: an evicted value comes back with a new number.
  assertEquals(v.placeholderFor("email", email(0)), "[EMAIL_5001_kqzmtwa]");
  assertEquals(v.lookup("[EMAIL_1_kqzmtwa]"), undefined);
});

Deno.test("many small values: the default caps bound a session (10,000 mappings, 2 MiB)", () => {
  const v = new Vault({ tag: "kqzmtwa" });
  for (let i = 0; i < 30_000; i++) {
    v.placeholderFor("ip", `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  }
  assertEquals(v.size, 10_000);
  if (v.bytes > 2 * 1024 * 1024) throw new Error(`bytes ${v.bytes}`);
  const long = (i: number) => `${"x".repeat(1000)}${i}@example.com`;
  for (let i = 0; i < 2_000; i++) v.placeholderFor("email", long(i));
  if (v.bytes > 2 * 1024 * 1024) throw new Error(`bytes ${v.bytes}`);
  assertEquals(v.lookup(v.placeholderFor("email", long(1_999))), long(1_999));
});

Deno.test("bytes are UTF-8: two-byte, three-byte and astral characters", () => {
  const v = new Vault({ tag: "kqzmtwa" });
  v.placeholderFor("secret", "é€😀"); // 2 + 3 + 4 bytes
  // key "secret\0é€😀" (7 + 9) + value (9) + "[SECRET_1_kqzmtwa]" (18)
  assertEquals(v.bytes, 43);
});

Deno.test("one huge value: masked, never stored, and redaction still happens", () => {
  const v = new Vault({ tag: "kqzmtwa" });
  const huge = "a".repeat(5 * 1024 * 1024) + "@example.com";
  assertEquals(v.placeholderFor("email", huge), "[REDACTED_EMAIL]");
  assertEquals(v.size, 0);
  assertEquals(v.bytes, 0);
  // Through the real detector: a 59 KB PEM private key is a secret far above 8 KiB.
  const pem = "-----BEGIN PRIVATE KEY-----\n" +
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n".repeat(1800) + "-----END PRIVATE KEY-----";
  const { text, counts } = redactText(`key: ${pem} and a@example.com`, {
    mode: "tokenize",
    vault: v,
  });
  assertEquals(text, "key: [REDACTED_SECRET] and [EMAIL_1_kqzmtwa]");
  assertEquals(counts, { secret: 1, email: 1 });
  assertEquals(v.size, 1, "only the e-mail address is stored");
  // Just under the cap is stored; multi-byte characters count as UTF-8.
  const small = new Vault({ tag: "kqzmtwa", maxValueBytes: 12 });
  assertEquals(small.placeholderFor("secret", "x".repeat(12)), "[SECRET_1_kqzmtwa]");
  assertEquals(small.placeholderFor("secret", "é".repeat(7)), "[REDACTED_SECRET]");
  assertEquals(small.placeholderFor("secret", "y".repeat(12)), "[SECRET_2_kqzmtwa]");
});

const ref = (tenant: string, session: string, keyId = "key") => ({ tenant, keyId, session });

Deno.test("many sessions of one tenant do not evict another tenant's session", () => {
  const store = new VaultStore(); // defaults: 1,000 sessions per tenant, 10,000 in all
  const victim = store.get(ref("b", "s"));
  const placeholder = victim.placeholderFor("email", "bob@example.com");
  for (let i = 0; i < 10_001; i++) {
    store.get(ref("a", `s${i}`)).placeholderFor("email", email(i));
  }
  if (store.get(ref("b", "s")) !== victim) throw new Error("tenant b's session was evicted");
  assertEquals(detokenizeValue({ to: placeholder }, store.get(ref("b", "s"))), {
    to: "bob@example.com",
  });
  const stats = store.stats();
  const a = stats.tenants.find((t) => t.tenant === "a")!;
  const b = stats.tenants.find((t) => t.tenant === "b")!;
  assertEquals([a.sessions, a.entries, a.evictedSessions], [1_000, 1_000, {
    tenant: 9_001,
    global: 0,
  }]);
  assertEquals([b.sessions, b.entries, b.evictedSessions], [1, 1, { tenant: 0, global: 0 }]);
  assertEquals(stats.sessions, 1_001);
  assertEquals(stats.entries, 1_001);
  assertEquals(stats.bytes, a.bytes + b.bytes);
});

Deno.test("a tenant over its entry or byte cap loses its own oldest sessions only", () => {
  const store = new VaultStore({
    perTenant: { maxEntries: 100, maxBytes: 1_000_000 },
    perSession: { maxEntries: 50 },
  });
  const b = store.get(ref("b", "s"));
  for (let i = 0; i < 40; i++) b.placeholderFor("email", email(i));
  const first = store.get(ref("a", "first"));
  const kept = first.placeholderFor("email", "first@example.com");
  for (let s = 0; s < 10; s++) {
    const v = store.get(ref("a", `s${s}`));
    for (let i = 0; i < 50; i++) v.placeholderFor("email", email(i));
  }
  const stats = store.stats();
  const a = stats.tenants.find((t) => t.tenant === "a")!;
  if (a.entries > 100) throw new Error(`tenant a holds ${a.entries} entries`);
  assertEquals(store.get(ref("a", "first")).lookup(kept), undefined, "a's oldest went");
  assertEquals(store.get(ref("b", "s")), b);
  assertEquals(b.size, 40);
  // Bytes: 2,000 bytes per tenant, 2 sessions of ~1,000 each.
  const bytes = new VaultStore({ perTenant: { maxBytes: 2_000 } });
  const other = bytes.get(ref("b", "s"));
  other.placeholderFor("email", "bob@example.com");
  for (let s = 0; s < 5; s++) {
    const v = bytes.get(ref("a", `s${s}`));
    for (let i = 0; i < 15; i++) v.placeholderFor("email", email(i));
  }
  const after = bytes.stats().tenants.find((t) => t.tenant === "a")!;
  if (after.bytes > 2_000) throw new Error(`tenant a holds ${after.bytes} bytes`);
  assertEquals(other.lookup(`[EMAIL_1_${other.tag}]`), "bob@example.com");
  assertEquals(bytes.get(ref("b", "s")), other);
});

Deno.test("the store's caps are a last resort: the tenant using the most loses", () => {
  const store = new VaultStore({ maxEntries: 100, perTenant: { maxEntries: 80 } });
  const b = store.get(ref("b", "s"));
  for (let i = 0; i < 30; i++) b.placeholderFor("email", email(i));
  for (let s = 0; s < 10; s++) {
    const v = store.get(ref("a", `s${s}`));
    for (let i = 0; i < 10; i++) v.placeholderFor("email", email(i));
  }
  const stats = store.stats();
  if (stats.entries > 100) throw new Error(`store holds ${stats.entries}`);
  assertEquals(store.get(ref("b", "s")), b, "the lighter tenant keeps its session");
  assertEquals(b.size, 30);
  const a = stats.tenants.find((t) => t.tenant === "a")!;
  if (a.evictedSessions.global === 0) throw new Error("no global eviction counted");
});

Deno.test("two API keys of one tenant with the same session id get separate vaults", () => {
  const store = new VaultStore();
  const mine = store.get({ tenant: "t", keyId: "sha256:aaaa", session: "shared" });
  const placeholder = mine.placeholderFor("email", "secret-person@example.com");
  const theirs = store.get({ tenant: "t", keyId: "sha256:bbbb", session: "shared" });
  if (theirs === mine) throw new Error("another key reached this key's vault");
  assertEquals(theirs.lookup(placeholder), undefined);
  assertThrows(() => detokenizeValue(placeholder, theirs), /does not stand for/);
  if (store.get({ tenant: "t", keyId: "sha256:aaaa", session: "shared" }) !== mine) {
    throw new Error("the same key lost its vault");
  }
  // Key identity and session id cannot be shifted into each other.
  const x = store.get({ tenant: "t", keyId: "ab", session: "c" });
  const y = store.get({ tenant: "t", keyId: "a", session: "bc" });
  if (x === y) throw new Error("(ab, c) and (a, bc) share a vault");
});

Deno.test("delete frees a session at once; a dropped vault still redacts", () => {
  const store = new VaultStore();
  const v = store.get(ref("t", "mcp-1"));
  v.placeholderFor("email", "a@example.com");
  assertEquals(store.delete(ref("t", "mcp-1")), true);
  assertEquals(store.delete(ref("t", "mcp-1")), false);
  assertEquals(store.stats().entries, 0);
  // An execution still holding the vault keeps working, outside the counts.
  assertEquals(v.placeholderFor("email", "b@example.com"), `[EMAIL_2_${v.tag}]`);
  assertEquals(store.stats().entries, 0);
  if (store.get(ref("t", "mcp-1")) === v) throw new Error("deleted session came back");
});

Deno.test("session ids and key identities are capped in length", () => {
  const store = new VaultStore();
  for (
    const r of [ref("t", "x".repeat(257)), { tenant: "t", keyId: "k".repeat(257), session: "s" }]
  ) {
    try {
      store.get(r);
      throw new Error("no error");
    } catch (e) {
      assertEquals((e as { kind?: string }).kind, "invalid_session", String(e));
    }
  }
  store.get(ref("t", "x".repeat(256)));
});

Deno.test("expired mappings and sessions leave the per-tenant figures", () => {
  let now = 0;
  const store = new VaultStore({ ttlMs: 1_000, now: () => now });
  store.get(ref("t", "a")).placeholderFor("email", "a@example.com");
  now = 500;
  store.get(ref("t", "b")).placeholderFor("email", "b@example.com");
  assertEquals(store.stats().tenants[0].entries, 2);
  now = 1_200;
  const t = store.stats().tenants[0];
  assertEquals([t.sessions, t.entries], [1, 1]);
  now = 5_000;
  assertEquals(store.stats(), {
    sessions: 0,
    entries: 0,
    bytes: 0,
    tenants: [{
      tenant: "t",
      sessions: 0,
      entries: 0,
      bytes: 0,
      evictedSessions: { tenant: 0, global: 0 },
      evictedEntries: 0,
      oversizedValues: 0,
    }],
  });
});

Deno.test("eviction order matches a reference LRU over random uses (10,000 steps)", () => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n; // the high bits: the low ones cycle quickly
  };
  const v = new Vault({ tag: "kqzmtwa", maxEntries: 16 });
  const model: string[] = []; // least recently used first
  const placeholders = new Map<string, string>();
  for (let step = 0; step < 10_000; step++) {
    const value = email(random(40));
    const placeholder = v.placeholderFor("email", value);
    const at = model.indexOf(value);
    if (at !== -1) {
      model.splice(at, 1);
      assertEquals(placeholder, placeholders.get(value), `step ${step}: stable`);
    } else if (model.length === 16) {
      const evicted = model.shift()!;
      assertEquals(v.lookup(placeholders.get(evicted)!), undefined, `step ${step}: evicted`);
    }
    model.push(value);
    placeholders.set(value, placeholder);
    if (step % 97 === 0) {
      for (const live of model) assertEquals(v.lookup(placeholders.get(live)!), live);
    }
  }
  assertEquals(v.size, 16);
});

Deno.test("a stored value does not keep the text it was found in alive", async () => {
  // A detector's finding is a slice of the tool result; V8 keeps a slice's parent alive.
  // Measured in a subprocess with GC exposed: 20 results of 4 MB, one address kept from
  // each, then the results dropped.
  const vault = new URL("../../pii/vault.ts", import.meta.url).href;
  const script = `
    import { Vault } from ${JSON.stringify(vault)};
    const heap = () => { gc(); gc(); return Deno.memoryUsage().heapUsed; };
    const vaults = [];
    const before = heap();
    for (let i = 0; i < 20; i++) {
      const text = "filler ".repeat(600_000) + "person" + i + "@example.com" + " end".repeat(10);
      const at = text.indexOf("person");
      const value = text.slice(at, text.indexOf(" ", at));
      vaults.push(new Vault({ tag: "kqzmtwa" }));
      vaults[i].placeholderFor("email", value);
    }
    console.log(JSON.stringify({ pinned: heap() - before, entries: vaults.reduce((n, v) => n + v.size, 0) }));
  `;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  const { pinned, entries } = JSON.parse(text);
  assertEquals(entries, 20);
  // 20 × 4.2 MB would stay pinned by slices; the copies take a few kB.
  if (!(pinned < 8_000_000)) throw new Error(`${(pinned / 1e6).toFixed(1)} MB still pinned`);
});

Deno.test("the store's session cap takes from the tenant with the most sessions", () => {
  const store = new VaultStore({ maxSessions: 10, perTenant: { maxSessions: 8 } });
  const mine = [0, 1, 2].map((i) => store.get(ref("b", `s${i}`)));
  for (let i = 0; i < 8; i++) store.get(ref("a", `s${i}`));
  const stats = store.stats();
  assertEquals(stats.sessions, 10);
  assertEquals(stats.tenants.map((t) => [t.tenant, t.sessions, t.evictedSessions]), [
    ["b", 3, { tenant: 0, global: 0 }],
    ["a", 7, { tenant: 0, global: 1 }],
  ]);
  mine.forEach((v, i) => {
    if (store.get(ref("b", `s${i}`)) !== v) throw new Error(`b's session ${i} was evicted`);
  });
});

Deno.test("one value, one placeholder: separators and case do not make a new one", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const same: Array<[string, string[]]> = [
    ["credit_card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"]],
    ["iban", [
      "DE89 3704 0044 0532 0130 00",
      "DE89370400440532013000",
      "de89 3704 0044 0532 0130 00",
    ]],
    ["phone", ["+1 415 555 2671", "+1 (415) 555-2671", "+14155552671", "+1.415.555.2671"]],
    ["ssn", ["123-45-6789", "123 45 6789", "123456789"]],
    ["email", ["Ann@Example.COM", "Ann@example.com"]],
  ];
  for (const [type, forms] of same) {
    const placeholders = forms.map((f) => vault.placeholderFor(type as PiiType, f));
    assertEquals(new Set(placeholders).size, 1, `${type}: ${placeholders}`);
    // The placeholder stands for the first form seen.
    assertEquals(vault.lookup(placeholders[0]), forms[0]);
  }
  // Different values stay different; an e-mail's local part keeps its case.
  assert(
    vault.placeholderFor("email", "ann@example.com") !==
      vault.placeholderFor("email", "Ann@example.com"),
  );
  assert(
    vault.placeholderFor("phone", "+14155552671") !== vault.placeholderFor("phone", "+14155552672"),
  );
});

// Red-team finding: a session's new vault (after expiry or eviction) numbered from 1 again,
// so a placeholder the agent still held came to mean whoever was named first afterwards.
Deno.test("a session's next vault never gives an old placeholder to another value", () => {
  let now = 0;
  const store = new VaultStore({
    ttlMs: 1_000,
    now: () => now,
    maxEntries: 20,
    perTenant: { maxEntries: 15 },
  });
  const held: string[] = [];
  const named = (vault: Vault, value: string) => {
    const ph = vault.placeholderFor("email", value);
    held.push(ph);
    return ph;
  };
  const mine = ref("a", "conv-1");
  const ann = named(store.get(mine), "ann@example.com");
  // 1. Expiry: the TTL passes, the session starts again.
  now = 5_000;
  const afterExpiry = store.get(mine);
  const mallory = named(afterExpiry, "mallory@evil.example");
  assert(mallory !== ann, `${mallory} is the placeholder ann had`);
  assertEquals(afterExpiry.lookup(ann), undefined);
  assertThrows(() => detokenizeValue({ to: ann }, afterExpiry), /does not stand for any value/);
  // 2. Eviction by the store's cap, caused by another tenant growing: tenant a uses the most,
  // so it loses its least recently used session, conv-1.
  const busy = store.get(ref("a", "busy"));
  for (let i = 0; i < 10; i++) busy.placeholderFor("email", email(i));
  const other = store.get(ref("b", "big"));
  for (let i = 0; i < 10; i++) other.placeholderFor("email", email(i));
  const afterEviction = store.get(mine);
  assert(afterEviction !== afterExpiry, "the session was not evicted");
  const eve = named(afterEviction, "eve@evil.example");
  // 3. Deleted (its MCP session closed), then opened again with the same id.
  store.delete(mine);
  const afterDelete = store.get(mine);
  const trent = named(afterDelete, "trent@evil.example");
  // Every placeholder ever given out is distinct, and the live vault resolves only its own.
  assertEquals(new Set(held).size, held.length, held.join(" "));
  for (const ph of [ann, mallory, eve]) assertEquals(afterDelete.lookup(ph), undefined);
  assertEquals(afterDelete.lookup(trent), "trent@evil.example");
});

Deno.test("vault tags: random, seven letters, validated", () => {
  const tags = new Set(Array.from({ length: 1_000 }, () => new Vault().tag));
  assertEquals(tags.size, 1_000);
  for (const tag of tags) assert(/^[a-hjkmnp-z]{7}$/.test(tag), tag);
  for (const tag of ["", "abcdef", "abcdefgh", "Abcdefg", "abcdefi", "abc1efg"]) {
    const error = assertThrows(() => new Vault({ tag }), /tag must be seven letters/);
    assertEquals((error as { kind?: string }).kind, "invalid_option");
  }
  const v = new Vault({ tag: "kqzmtwa" });
  assertEquals(v.placeholderFor("iban", "DE89370400440532013000"), "[IBAN_1_kqzmtwa]");
});

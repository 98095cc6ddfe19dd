// redactText / redactValue: modes, types, allow-list, counts, structured values.

import { assertNotEquals } from "../assert.ts";
import { mergeCounts, redactText, redactValue, Vault } from "../../pii/mod.ts";

function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals(actual: unknown, expected: unknown, message = "") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\nexpected ${e}\nactual   ${a}`);
}

const TEXT =
  "Mail ann@example.com or ANN@EXAMPLE.COM, call +1 415-555-2671, card 4111 1111 1111 1111, " +
  "SSN 123-45-6789, IBAN DE89370400440532013000 from 10.0.0.1 with ghp_R2d2C3poBB8Luke1Leia2Han3Solo4Chewie5.";

Deno.test("mask mode replaces each type with its [REDACTED_…] label", () => {
  const { text, counts } = redactText(TEXT, { mode: "mask" });
  assertEquals(
    text,
    "Mail [REDACTED_EMAIL] or [REDACTED_EMAIL], call [REDACTED_PHONE], card [REDACTED_CARD], " +
      "SSN [REDACTED_SSN], IBAN [REDACTED_IBAN] from [REDACTED_IP] with [REDACTED_SECRET].",
  );
  assertEquals(counts, { email: 2, phone: 1, credit_card: 1, ssn: 1, iban: 1, ip: 1, secret: 1 });
});

Deno.test("tokenize mode: stable numbered placeholders per distinct value", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const input = "a@example.com, b@example.com, a@example.com and +44 20 7946 0018";
  const { text, counts } = redactText(input, { mode: "tokenize", vault });
  assertEquals(
    text,
    "[EMAIL_1_kqzmtwa], [EMAIL_2_kqzmtwa], [EMAIL_1_kqzmtwa] and [PHONE_1_kqzmtwa]",
  );
  assertEquals(counts, { email: 3, phone: 1 });
  // Same vault, later call: same placeholders.
  assertEquals(redactText("b@example.com", { mode: "tokenize", vault }).text, "[EMAIL_2_kqzmtwa]");
  assertEquals(vault.lookup("[EMAIL_1_kqzmtwa]"), "a@example.com");
});

Deno.test("tokenize is the default-style mode without a vault: a fresh vault per call", () => {
  const first = redactText("x@example.com y@example.com", { mode: "tokenize" }).text;
  const second = redactText("y@example.com", { mode: "tokenize" }).text;
  const tag = /_([a-z]{7})\]/.exec(first)?.[1] ?? "";
  assertEquals(first, `[EMAIL_1_${tag}] [EMAIL_2_${tag}]`);
  // A fresh vault: numbered from 1 again, under another tag.
  assertEquals(second.replace(/_[a-z]{7}\]/, "]"), "[EMAIL_1]");
  assertNotEquals(second, `[EMAIL_1_${tag}]`);
});

Deno.test("off mode returns the input unchanged with no counts", () => {
  assertEquals(redactText(TEXT, { mode: "off" }), { text: TEXT, counts: {} });
  const value = { a: [TEXT] };
  const out = redactValue(value, { mode: "off" });
  if (out.value !== value) throw new Error("off mode should return the same value");
  assertEquals(out.counts, {});
});

Deno.test("per-type toggles: only the listed types are redacted", () => {
  const { text, counts } = redactText(TEXT, { mode: "mask", types: ["email", "ip"] });
  assertEquals(counts, { email: 2, ip: 1 });
  if (!text.includes("+1 415-555-2671") || !text.includes("4111 1111 1111 1111")) {
    throw new Error(`disabled types were redacted: ${text}`);
  }
  assertEquals(redactText(TEXT, { mode: "mask", types: [] }).text, TEXT);
});

Deno.test("allow-list: listed values are never redacted (e-mail case-insensitively)", () => {
  const { text, counts } = redactText(
    "ann@example.com, ANN@EXAMPLE.COM, bob@example.com, 10.0.0.1",
    {
      mode: "mask",
      allow: ["Ann@Example.com", "10.0.0.1"],
    },
  );
  assertEquals(text, "ann@example.com, ANN@EXAMPLE.COM, [REDACTED_EMAIL], 10.0.0.1");
  assertEquals(counts, { email: 1 });
});

Deno.test("invalid options are rejected with a kind", () => {
  for (const bad of [{ mode: "hide" }, { mode: "mask", types: ["name"] }]) {
    try {
      redactText("x", bad as never);
      throw new Error("no error");
    } catch (e) {
      assertEquals((e as { kind?: string }).kind, "invalid_option", String(e));
    }
  }
});

Deno.test("redactValue walks arrays and objects, redacts keys, keeps non-strings", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const input = {
    "ann@example.com": "a key is redacted too (red team d2)",
    users: [{ email: "ann@example.com", age: 41, admin: false, note: null }, {
      email: "bob@example.com",
      ips: ["10.0.0.1", "fe80::1"],
    }],
    card: 4111111111111111,
    count: 123456789012,
    nested: { deeper: { log: "call +1 415-555-2671 now" } },
  };
  const before = JSON.stringify(input);
  const { value, counts } = redactValue(input, { mode: "tokenize", vault });
  assertEquals(value, {
    "[EMAIL_1_kqzmtwa]": "a key is redacted too (red team d2)",
    users: [{ email: "[EMAIL_1_kqzmtwa]", age: 41, admin: false, note: null }, {
      email: "[EMAIL_2_kqzmtwa]",
      ips: ["[IP_1_kqzmtwa]", "[IP_2_kqzmtwa]"],
    }],
    card: "[CARD_1_kqzmtwa]",
    count: 123456789012,
    nested: { deeper: { log: "call [PHONE_1_kqzmtwa] now" } },
  });
  assertEquals(counts, { email: 3, ip: 2, credit_card: 1, phone: 1 });
  assertEquals(JSON.stringify(input), before, "input must not be modified");
});

Deno.test("redactValue on a bare string and on primitives", () => {
  assertEquals(redactValue("ann@example.com", { mode: "mask" }).value, "[REDACTED_EMAIL]");
  assertEquals(redactValue(42, { mode: "mask" }).value, 42);
  assertEquals(redactValue(null, { mode: "mask" }).value, null);
  assertEquals(redactValue(undefined, { mode: "mask" }).value, undefined);
});

Deno.test("redactValue keeps shared and cyclic references without looping", () => {
  const shared = { mail: "ann@example.com" };
  const cyclic: Record<string, unknown> = { a: shared, b: shared };
  cyclic.self = cyclic;
  const { value, counts } = redactValue(cyclic, { mode: "mask" });
  const v = value as Record<string, Record<string, unknown>>;
  if (v.a !== v.b || v.self !== v) throw new Error("references not preserved");
  assertEquals(v.a.mail, "[REDACTED_EMAIL]");
  assertEquals(counts, { email: 1 });
});

Deno.test("one vault keeps placeholders consistent across value, logs and error", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const opts = { mode: "tokenize" as const, vault };
  const result = redactValue({ to: "ann@example.com" }, opts);
  const logs = redactValue([{ level: "log", text: "sending to ann@example.com" }], opts);
  const error = redactText("failed: bob@example.com, ann@example.com", opts);
  assertEquals(result.value, { to: "[EMAIL_1_kqzmtwa]" });
  assertEquals(logs.value, [{ level: "log", text: "sending to [EMAIL_1_kqzmtwa]" }]);
  assertEquals(error.text, "failed: [EMAIL_2_kqzmtwa], [EMAIL_1_kqzmtwa]");
  assertEquals(mergeCounts(mergeCounts(result.counts, logs.counts), error.counts), { email: 4 });
});

Deno.test("mergeCounts adds per type and leaves its inputs alone", () => {
  const a = { email: 1, ip: 2 };
  const b = { ip: 3, secret: 1 };
  assertEquals(mergeCounts(a, b), { email: 1, ip: 5, secret: 1 });
  assertEquals(a, { email: 1, ip: 2 });
  assertEquals(mergeCounts({}, {}), {});
});

Deno.test("a JSON `__proto__` key stays an own key and is redacted, not a prototype", () => {
  const input = JSON.parse('{"__proto__": {"mail": "ann@example.com"}, "x": 1}');
  const { value } = redactValue(input, { mode: "mask" });
  const v = value as Record<string, unknown>;
  if (Object.getPrototypeOf(v) !== Object.prototype) throw new Error("prototype was replaced");
  assertEquals(Object.keys(v), ["__proto__", "x"]);
  assertEquals(JSON.stringify(v), '{"__proto__":{"mail":"[REDACTED_EMAIL]"},"x":1}');
});

Deno.test("an AWS secret key next to its access key id is redacted without a key name", () => {
  const id = "AKIAIOSFODNN7EXAMPLE";
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  for (
    const text of [
      `${id} ${secret}`,
      `${id},${secret},us-east-1`,
      `"${id}": "${secret}"`,
      `${id}\t${secret}`,
    ]
  ) {
    const out = redactText(text, { mode: "mask" });
    assert(!out.text.includes(secret), `${text} → ${out.text}`);
    assertEquals(out.counts.secret, 2);
  }
  // A 40-character hex hash after an id is not a secret key, nor is a longer token.
  for (const text of [`${id} da39a3ee5e6b4b0d3255bfef95601890afd80709`, `${id} ${secret}MORE`]) {
    assertEquals(redactText(text, { mode: "mask" }).counts.secret, 1, text);
  }
});

Deno.test("an address glued by a hyphen to digits (a file name) is still found", () => {
  const { text, counts } = redactText("open frank.miller@example.com-123-45-6789.txt now", {
    mode: "mask",
  });
  assert(!text.includes("frank.miller"), text);
  assert(!text.includes("example.com"), text);
  assertEquals(counts.email, 1, JSON.stringify(counts));
  // Still not an address: a retina asset, a package spec with digits after the hyphen.
  assertEquals(redactText("icon@2x.png-1", { mode: "mask" }).text, "icon@2x.png-1");
});

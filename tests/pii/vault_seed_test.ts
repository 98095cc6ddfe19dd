/** The vault's seam for a shared store: seed, takeAdded, rename. */

import { redactText, Vault } from "../../pii/mod.ts";
import { assert, assertEquals } from "../assert.ts";

Deno.test("vault seed: loaded mappings resolve both ways and numbering continues", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  vault.seed(
    [{ type: "email", value: "ann@example.com", placeholder: "[EMAIL_3_kqzmtwa]" }],
    { EMAIL: 5, PHONE: 2 },
  );
  assertEquals(vault.lookup("[EMAIL_3_kqzmtwa]"), "ann@example.com");
  assertEquals(
    vault.placeholderFor("email", "ann@EXAMPLE.com"),
    "[EMAIL_3_kqzmtwa]",
    "canonical form",
  );
  // Never a number at or below a counter another replica reached (old placeholders may live).
  assertEquals(vault.placeholderFor("email", "bob@example.com"), "[EMAIL_6_kqzmtwa]");
  const added = vault.takeAdded();
  assertEquals(added, [{
    type: "email",
    value: "bob@example.com",
    placeholder: "[EMAIL_6_kqzmtwa]",
    canonical: "bob@example.com",
    label: "EMAIL",
  }]);
  assertEquals(vault.takeAdded(), [], "taken once");
});

Deno.test("vault seed: malformed mappings are skipped, caps hold", () => {
  const vault = new Vault({ tag: "kqzmtwa", maxEntries: 2 });
  vault.seed([
    { type: "email", value: "a@example.com", placeholder: "[PHONE_1_kqzmtwa]" }, // wrong label
    { type: "nope" as "email", value: "x", placeholder: "[X_1]" },
    { type: "email", value: "b@example.com", placeholder: "[EMAIL_1_kqzmtwa]" },
    { type: "email", value: "c@example.com", placeholder: "[EMAIL_2_kqzmtwa]" },
    { type: "email", value: "d@example.com", placeholder: "[EMAIL_4_kqzmtwa]" },
  ]);
  assertEquals(vault.size, 2);
  assertEquals(vault.lookup("[EMAIL_1_kqzmtwa]"), undefined, "oldest made room");
  assertEquals(vault.lookup("[EMAIL_4_kqzmtwa]"), "d@example.com");
  assertEquals(vault.lookup("[PHONE_1_kqzmtwa]"), undefined);
  assertEquals(vault.placeholderFor("email", "e@example.com"), "[EMAIL_5_kqzmtwa]");
});

Deno.test("vault rename: a settled placeholder replaces the proposed one", () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  vault.seed([]);
  const text = redactText("mail ann@example.com and bob@example.com", {
    mode: "tokenize",
    vault,
  }).text;
  assertEquals(text, "mail [EMAIL_1_kqzmtwa] and [EMAIL_2_kqzmtwa]");
  vault.rename(
    new Map([["[EMAIL_1_kqzmtwa]", "[EMAIL_7_kqzmtwa]"], ["[EMAIL_2_kqzmtwa]", undefined]]),
  );
  assertEquals(vault.lookup("[EMAIL_7_kqzmtwa]"), "ann@example.com");
  assertEquals(vault.lookup("[EMAIL_1_kqzmtwa]"), undefined);
  assertEquals(vault.lookup("[EMAIL_2_kqzmtwa]"), undefined, "refused: dropped");
  assertEquals(vault.placeholderFor("email", "ann@example.com"), "[EMAIL_7_kqzmtwa]");
  // An unseeded vault keeps no list of additions (no cost on the memory path).
  const plain = new Vault({ tag: "kqzmtwa" });
  plain.placeholderFor("email", "ann@example.com");
  assertEquals(plain.takeAdded(), []);
  assert(plain.size === 1);
});

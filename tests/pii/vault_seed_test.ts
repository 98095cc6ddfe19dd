/** The vault's seam for a shared store: seed, takeAdded, rename. */

import { redactText, Vault } from "../../pii/mod.ts";
import { assert, assertEquals } from "../assert.ts";

Deno.test("vault seed: loaded mappings resolve both ways and numbering continues", () => {
  const vault = new Vault();
  vault.seed(
    [{ type: "email", value: "ann@example.com", placeholder: "[EMAIL_3]" }],
    { EMAIL: 5, PHONE: 2 },
  );
  assertEquals(vault.lookup("[EMAIL_3]"), "ann@example.com");
  assertEquals(vault.placeholderFor("email", "ann@EXAMPLE.com"), "[EMAIL_3]", "canonical form");
  // Never a number at or below a counter another replica reached (old placeholders may live).
  assertEquals(vault.placeholderFor("email", "bob@example.com"), "[EMAIL_6]");
  const added = vault.takeAdded();
  assertEquals(added, [{
    type: "email",
    value: "bob@example.com",
    placeholder: "[EMAIL_6]",
    canonical: "bob@example.com",
    label: "EMAIL",
  }]);
  assertEquals(vault.takeAdded(), [], "taken once");
});

Deno.test("vault seed: malformed mappings are skipped, caps hold", () => {
  const vault = new Vault({ maxEntries: 2 });
  vault.seed([
    { type: "email", value: "a@example.com", placeholder: "[PHONE_1]" }, // wrong label
    { type: "nope" as "email", value: "x", placeholder: "[X_1]" },
    { type: "email", value: "b@example.com", placeholder: "[EMAIL_1]" },
    { type: "email", value: "c@example.com", placeholder: "[EMAIL_2]" },
    { type: "email", value: "d@example.com", placeholder: "[EMAIL_4]" },
  ]);
  assertEquals(vault.size, 2);
  assertEquals(vault.lookup("[EMAIL_1]"), undefined, "oldest made room");
  assertEquals(vault.lookup("[EMAIL_4]"), "d@example.com");
  assertEquals(vault.lookup("[PHONE_1]"), undefined);
  assertEquals(vault.placeholderFor("email", "e@example.com"), "[EMAIL_5]");
});

Deno.test("vault rename: a settled placeholder replaces the proposed one", () => {
  const vault = new Vault();
  vault.seed([]);
  const text = redactText("mail ann@example.com and bob@example.com", {
    mode: "tokenize",
    vault,
  }).text;
  assertEquals(text, "mail [EMAIL_1] and [EMAIL_2]");
  vault.rename(new Map([["[EMAIL_1]", "[EMAIL_7]"], ["[EMAIL_2]", undefined]]));
  assertEquals(vault.lookup("[EMAIL_7]"), "ann@example.com");
  assertEquals(vault.lookup("[EMAIL_1]"), undefined);
  assertEquals(vault.lookup("[EMAIL_2]"), undefined, "refused: dropped");
  assertEquals(vault.placeholderFor("email", "ann@example.com"), "[EMAIL_7]");
  // An unseeded vault keeps no list of additions (no cost on the memory path).
  const plain = new Vault();
  plain.placeholderFor("email", "ann@example.com");
  assertEquals(plain.takeAdded(), []);
  assert(plain.size === 1);
});

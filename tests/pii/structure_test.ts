// Redacting structured values (red team d2): object keys are redacted like values, on every
// path (sync, async inline, async in workers), and restored by detokenizeValue; the value of
// a name/value pair is judged under the name beside it; and a key adds only what it means
// (`phone_count`, `password_changed_at`, paths and object names under a bare `key`).

import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  closeSharedPool,
  DetectionPool,
  detokenizeValue,
  pairedNames,
  redactKeyedText,
  redactText,
  redactValue,
  redactValueAsync,
  retokenizeValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { contextTypes } from "../../pii/keyed.ts";
import { forEachLeafAsync, mapLeaves, mapLeavesAsync, someLeaf } from "../../pii/walk.ts";
import { renderArguments } from "../../gateway/approval/argument_text.ts";

const mask = { mode: "mask" as const };

/** `redactValue` and both async paths (inline, workers) of `value`, checked to agree. */
async function everyPath(value: unknown, tag = "kqzmtwa", mode: "mask" | "tokenize" = "mask") {
  const sync = redactValue(value, { mode, vault: new Vault({ tag }) });
  const inline = await redactValueAsync(value, { mode, vault: new Vault({ tag }) });
  const pool = new DetectionPool({ size: 1 });
  try {
    const workers = await redactValueAsync(value, {
      mode,
      vault: new Vault({ tag }),
      pool,
      thresholdUnits: 0,
    });
    assertEquals(inline, sync);
    assertEquals(workers, sync);
  } finally {
    pool.close();
  }
  return sync;
}

Deno.test("structure: object keys are redacted like values, on every path", async () => {
  const value = {
    "ann.lee@example.com": 3,
    "93.184.216.34": [{ ip: "93.184.216.34" }],
    "4111 1111 1111 1111": "visa",
    users: { "bob@example.com": { "+1 415-555-2671": "cell" } },
    plain: { id: 1 },
  };
  assertEquals((await everyPath(value)).value, {
    "[REDACTED_EMAIL]": 3,
    "[REDACTED_IP]": [{ ip: "[REDACTED_IP]" }],
    "[REDACTED_CARD]": "visa",
    users: { "[REDACTED_EMAIL]": { "[REDACTED_PHONE]": "cell" } },
    plain: { id: 1 },
  });
  // Tokenize: a key before its value, in document order; one value, one placeholder.
  const out = await everyPath(value, "kqzmtwa", "tokenize");
  assertEquals(out.value, {
    "[EMAIL_1_kqzmtwa]": 3,
    "[IP_1_kqzmtwa]": [{ ip: "[IP_1_kqzmtwa]" }],
    "[CARD_1_kqzmtwa]": "visa",
    users: { "[EMAIL_2_kqzmtwa]": { "[PHONE_1_kqzmtwa]": "cell" } },
    plain: { id: 1 },
  });
  assertEquals(out.counts, { email: 2, ip: 2, credit_card: 1, phone: 1 });
  // A key is judged under the key of its object, as a value there would be.
  assertEquals(
    (await everyPath({ ssn: { "078051120": true }, phone: { "4155550134": "Ann" } })).value,
    { ssn: { "[REDACTED_SSN]": true }, phone: { "[REDACTED_PHONE]": "Ann" } },
  );
});

Deno.test("structure: two keys never collapse into one", async () => {
  const value = {
    "ann@example.com": 1,
    "bob@example.com": 2,
    "[REDACTED_EMAIL] (2)": 3, // already there: kept, and not taken by a redacted key
    "cy@example.com": 4,
    "[REDACTED_EMAIL]": 5,
  };
  const out = (await everyPath(value)).value as Record<string, number>;
  assertEquals(Object.keys(out).length, 5);
  assertEquals(Object.values(out).sort(), [1, 2, 3, 4, 5]);
  assertEquals(out["[REDACTED_EMAIL] (2)"], 3);
  assertEquals(out["[REDACTED_EMAIL]"], 5);
  // Tokenize: the vault gives one placeholder to two spellings of one address or SSN.
  const spellings = {
    "ann@Example.com": 1,
    "ann@example.com": 2,
    "078-05-1120": 3,
    "078051120": 4,
  };
  const tokens = (await everyPath(spellings, "kqzmtwa", "tokenize")).value as object;
  assertEquals(Object.values(tokens).sort(), [1, 2, 3, 4]);
  // Thousands of keys redacted alike: all kept, numbered in order.
  const many: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) many[`user${i}@example.com`] = i;
  const masked = redactValue(many, mask).value as Record<string, number>;
  assertEquals(Object.keys(masked).length, 20_000);
  assertEquals(masked["[REDACTED_EMAIL] (20000)"], 19_999);
});

Deno.test("structure: placeholders in keys are restored, and echoed keys tokenized again", async () => {
  const vault = new Vault({ tag: "kqzmtwa" });
  const { value } = redactValue({ byEmail: { "ann@example.com": 3, "bob@example.com": 5 } }, {
    mode: "tokenize",
    vault,
  });
  const used = new Map<string, string>();
  const restored = detokenizeValue(value, vault, used);
  assertEquals(restored, { byEmail: { "ann@example.com": 3, "bob@example.com": 5 } });
  assertEquals(
    await retokenizeValueAsync({ echo: restored }, used),
    { echo: { byEmail: { "[EMAIL_1_kqzmtwa]": 3, "[EMAIL_2_kqzmtwa]": 5 } } },
  );
  // Two keys that restore to one are refused, not merged.
  const error = assertThrows(() =>
    detokenizeValue({ "[EMAIL_1_kqzmtwa]": 1, "ann@example.com": 2 }, vault)
  );
  assertEquals((error as Error & { kind?: string }).kind, "duplicate_key");
  // A value with no `[` anywhere, keys included, comes back as it is; a key with one that
  // is no placeholder is kept.
  const plain = { "no placeholder": ["here"] };
  assert(detokenizeValue(plain, vault) === plain);
  assertEquals(detokenizeValue({ "[EMAIL_1]": 1 }, vault), { "[EMAIL_1]": 1 });
});

Deno.test("structure: the value of a name/value pair is judged under the name", async () => {
  const secret = "[REDACTED_SECRET]";
  const value = {
    env: [ // Kubernetes, ECS
      { name: "DB_PASSWORD", value: "S3cr3t!Pass" },
      { name: "STRIPE_KEY", value: "abcd1234efgh5678ijkl" },
      { name: "LOG_LEVEL", value: "debug" },
      { name: "customer_ssn", value: 78051120 },
    ],
    Parameters: [{ Name: "/prod/db/password", Value: "Pr0d!Passw0rd", Type: "SecureString" }],
    headers: [{ name: "X-Api-Key", value: "9f8e7d6c5b4a39281706" }], // HAR
    Tags: [{ Key: "deploy_token", Value: "Xk9mQ2pL7vR4nW8sT3yU" }], // AWS tags
    stack: [{ ParameterKey: "DbPassword", ParameterValue: "S3cr3t!Pass3" }], // CloudFormation
    settings: [{ setting_name: "smtp_password", setting_value: "Tr0ub4dor&3x" }],
    values: { value: ["S3cr3t!Pass"], name: "admin_password" }, // an array inherits the name
    notes: [{ name: "greeting", value: "hello world" }, { name: "phone", value: "n/a" }],
  };
  assertEquals((await everyPath(value)).value, {
    env: [
      { name: "DB_PASSWORD", value: secret },
      { name: "STRIPE_KEY", value: secret },
      { name: "LOG_LEVEL", value: "debug" },
      { name: "customer_ssn", value: "[REDACTED_SSN]" },
    ],
    Parameters: [{ Name: "/prod/db/password", Value: secret, Type: "SecureString" }],
    headers: [{ name: "X-Api-Key", value: secret }],
    Tags: [{ Key: "deploy_token", Value: secret }],
    stack: [{ ParameterKey: "DbPassword", ParameterValue: secret }],
    settings: [{ setting_name: "smtp_password", setting_value: secret }],
    values: { value: [secret], name: "admin_password" },
    notes: [{ name: "greeting", value: "hello world" }, { name: "phone", value: "n/a" }],
  });
  assertEquals(pairedNames({ id: 1, value: 2 }, ["id", "value"]), undefined);
  assertEquals(
    pairedNames({ key: "k", name: "n", value: 1 }, ["key", "name", "value"]),
    new Map([["value", "n"]]),
  );
  // The approval view judges pairs and keys as results are judged.
  const shown = renderArguments(
    { env: [{ name: "DB_PASSWORD", value: "S3cr3t!Pass" }], byEmail: { "ann@example.com": 1 } },
    (text, key) => redactKeyedText(text, key, mask).text,
  ).text;
  assertEquals(JSON.parse(shown), {
    env: [{ name: "DB_PASSWORD", value: secret }],
    byEmail: { "[REDACTED_EMAIL]": 1 },
  });
});

Deno.test("structure: a key adds only what it means", async () => {
  // Counts, times, flags: the key's last word says what it holds.
  const about = {
    phone_count: 4155550134,
    ssn_total: "078051120",
    password_changed_at: "2024-01-15T10:30:00Z",
    passwordUpdatedAt: "2024-01-15T10:30:00Z",
    phoneVerifiedAt: "2024-01-15T10:30:00Z",
    api_token_expires: "2027-01-01T00:00:00Z",
  };
  assertEquals((await everyPath(about)).value, about);
  // Object names under a bare `key` (S3 listings, KV servers, an approval's target).
  const names = {
    Contents: [{ Key: "logs/2024/01/15/app.log" }, { Key: "backups/2026-11-30/prod.sql.gz" }],
    key: "src/components/Button.tsx",
    items: [{ KEY: "reports/Q3/2026.pdf" }, { key: "x7Kq9PzLm2.tar.gz" }],
  };
  assertEquals((await everyPath(names)).value, names);
  assertEquals(
    redactKeyedText("backups/2026-11-30/prod.sql.gz", "key", mask).text,
    "backups/2026-11-30/prod.sql.gz",
  );
  // What keys mean is still read: the thing itself, numbered, camel-cased, and a token
  // under a bare `key`.
  assertEquals(
    (await everyPath({
      phone: 4155550134,
      phone_2: "4155550134",
      customerPhone: "4155550134",
      phone_number: "4155550134",
      ssn: "078051120",
      DB_PASSWORD: "S3cr3t!Pass",
      key: "Xk9mQ2pL7vR4nW8sT3yU",
      api_key: "backups/Xk9mQ2pL7vR4nW8sT3yU",
    })).value,
    {
      phone: "[REDACTED_PHONE]",
      phone_2: "[REDACTED_PHONE]",
      customerPhone: "[REDACTED_PHONE]",
      phone_number: "[REDACTED_PHONE]",
      ssn: "[REDACTED_SSN]",
      DB_PASSWORD: "[REDACTED_SECRET]",
      key: "[REDACTED_SECRET]",
      api_key: "[REDACTED_SECRET]",
    },
  );
  // Each key gives the types it speaks of, no other.
  assertEquals(contextTypes("password"), ["secret"]);
  assertEquals(contextTypes("ssn"), ["ssn"]);
  assertEquals(contextTypes("mobile"), ["phone"]);
  assertEquals(contextTypes("phone_count"), []);
  closeSharedPool();
});

Deno.test("structure: under a bare `key`, base64 key material is a secret and object names stay", async () => {
  // Key material with a `/` or `+` (base64) under a bare `key`, as KMS, JWK-ish and
  // encryption configs write it: a rule of keyed.ts's own took every value with a `/` under
  // `key` for an object name and let it through raw.
  const material = {
    key: "AbC9dEf8GhI7/JkL6MnO5PqR4StU3VwX2YzA1bCd",
    Key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9mX2pL",
    encryption: { key: "Qm9vW3p+Lk8xR2tZ/c5VnB7hJ4sD1fA0eT6yU9iO" },
    items: [{ KEY: "9fK2/mQ7xL4pR8vN3wS6tY1zB5cH0jD/eG2aU7i=" }],
  };
  const redacted = (await everyPath(material)).value as typeof material;
  assertEquals(redacted, {
    key: "[REDACTED_SECRET]",
    Key: "[REDACTED_SECRET]",
    encryption: { key: "[REDACTED_SECRET]" },
    items: [{ KEY: "[REDACTED_SECRET]" }],
  });
  // Object names, with the punctuation object stores' keys hold, stay under `key` and after
  // it in text alike.
  const names = {
    Contents: [
      { Key: "backups/db-2024-11-30T12:00:00Z.tar.gz" },
      { Key: "users/ann@corp/avatar.png" },
      { Key: "exports/a=1,b=2/part-0001.parquet" },
    ],
    key: "Xk9mQ2pL7vR4nW8sT3yUa8.pem",
  };
  assertEquals((await everyPath(names)).value, names);
  for (const name of ["backups/db-2024-11-30T12:00:00Z.tar.gz", "x7Kq9PzLm2.tar.gz"]) {
    assertEquals(redactText(`key: ${name}`, mask).text, `key: ${name}`);
  }
  closeSharedPool();
});

Deno.test("structure: the walks map keys in document order, each with its object's key", async () => {
  const value = { a: { "b@x": [1], c: 2 }, d: [{ e: 3 }] };
  const seen: unknown[] = [];
  const out = mapLeaves(value, (leaf) => leaf, (name, under) => {
    seen.push([name, under]);
    return name.toUpperCase();
  });
  assertEquals(seen, [["a", undefined], ["b@x", "a"], ["c", "a"], ["d", undefined], ["e", "d"]]);
  assertEquals(out, { A: { "B@X": [1], C: 2 }, D: [{ E: 3 }] });
  const visited: unknown[] = [];
  await forEachLeafAsync(
    value,
    (leaf, key) => visited.push(["leaf", leaf, key]),
    {},
    (name) => visited.push(["name", name]),
  );
  assertEquals(visited, [
    ["name", "a"],
    ["name", "b@x"],
    ["leaf", 1, "b@x"],
    ["name", "c"],
    ["leaf", 2, "c"],
    ["name", "d"],
    ["name", "e"],
    ["leaf", 3, "e"],
  ]);
  assertEquals(await mapLeavesAsync(value, (leaf) => leaf, {}, (name) => name.toUpperCase()), out);
  assert(await mapLeavesAsync(value, (leaf) => leaf, {}, (name) => name) === value);
  // Collisions, async as sync.
  const clash = { x: 1, y: 2, Z: 3 };
  const upper = (name: string) => name === "Z" ? name : "Z";
  assertEquals(mapLeaves(clash, (leaf) => leaf, upper), { "Z (2)": 1, "Z (3)": 2, Z: 3 });
  assertEquals(
    await mapLeavesAsync(clash, (leaf) => leaf, {}, upper),
    mapLeaves(clash, (l) => l, upper),
  );
  assert(someLeaf({ a: { "[k": 1 } }, () => false, (name) => name.startsWith("[")));
  assert(!someLeaf({ a: { k: 1 } }, () => false, (name) => name.startsWith("[")));
});

// A value under an object key is judged with its key as context (pii/keyed.ts), as the
// detectors judge `key: value` in text (red team d1: `{"password": "S3cr3t!Pass"}`, a parsed
// config file, came back raw while the same line as text was redacted). Every path that
// redacts a structured value: redactValue, redactValueAsync inline and in real worker
// threads, in mask and tokenize modes; arrays inheriting their key, numbers, long keys and
// long values, look-alikes that must stay, and a key never making a value less redacted than
// it is on its own.

import { assert, assertEquals } from "../assert.ts";
import {
  DetectionPool,
  findPii,
  findPiiUnder,
  KEY_CONTEXT_HEAD_UNITS,
  redactKeyedText,
  redactText,
  redactValue,
  redactValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { forEachLeafAsync, mapLeaves, mapLeavesAsync } from "../../pii/walk.ts";
import { CONTEXT_PROBES, givesContext } from "../../pii/keyed.ts";
import { bestCpuMs } from "./linearity.ts";
import { untag } from "../placeholders.ts";

/** The red team's config file (d1), with look-alikes that must stay. */
const CONFIG = {
  database: { host: "db.internal", user: "app", password: "S3cr3t!Pass", port: 5432 },
  stripe: { api_key: "k9Zq3Xw7Lm2Pn8Rt4Vy6Hs1J", mode: "live" },
  env: { DB_PASSWORD: "hunter2hunter2", SESSION_SECRET: "Xk9mQ2pL7vR4nW8sT3yU", NODE_ENV: "prod" },
  customer: { ssn: "078051120", phone: "4155550134", id: 4155559876, count: 78051121 },
};
const RAW = [
  "S3cr3t!Pass",
  "k9Zq3Xw7Lm2Pn8Rt4Vy6Hs1J",
  "hunter2hunter2",
  "Xk9mQ2pL7vR4nW8sT3yU",
  "078051120",
  "4155550134",
];
const MASKED = {
  database: { host: "db.internal", user: "app", password: "[REDACTED_SECRET]", port: 5432 },
  stripe: { api_key: "[REDACTED_SECRET]", mode: "live" },
  env: { DB_PASSWORD: "[REDACTED_SECRET]", SESSION_SECRET: "[REDACTED_SECRET]", NODE_ENV: "prod" },
  // `id` and `count` are no context: the same digits stay numbers.
  customer: { ssn: "[REDACTED_SSN]", phone: "[REDACTED_PHONE]", id: 4155559876, count: 78051121 },
};

/** Each way a structured value is redacted, in one mode, with one vault per call. */
function paths(mode: "mask" | "tokenize") {
  const pool = new DetectionPool({ size: 1 });
  return {
    pool,
    ways: {
      sync: (v: unknown) => redactValue(v, { mode, vault: new Vault() }),
      inline: (v: unknown) => redactValueAsync(v, { mode, vault: new Vault() }),
      workers: (v: unknown) =>
        redactValueAsync(v, { mode, vault: new Vault(), pool, thresholdUnits: 0 }),
    } as Record<string, (v: unknown) => unknown>,
  };
}

Deno.test("keyed: the red team's parsed config file, on every path, mask and tokenize", async () => {
  for (const mode of ["mask", "tokenize"] as const) {
    const { pool, ways } = paths(mode);
    try {
      for (const [name, redact] of Object.entries(ways)) {
        const out = await redact(CONFIG) as { value: unknown; counts: unknown };
        const text = JSON.stringify(out.value);
        assertEquals(RAW.filter((raw) => text.includes(raw)), [], `${mode}/${name}: ${text}`);
        assertEquals(out.counts, { secret: 4, ssn: 1, phone: 1 }, `${mode}/${name}`);
        if (mode === "mask") assertEquals(out.value, MASKED, name);
        else {
          assertEquals(untag(out.value), {
            ...CONFIG,
            database: { ...CONFIG.database, password: "[SECRET_1]" },
            stripe: { ...CONFIG.stripe, api_key: "[SECRET_2]" },
            env: { ...CONFIG.env, DB_PASSWORD: "[SECRET_3]", SESSION_SECRET: "[SECRET_4]" },
            customer: { ...CONFIG.customer, ssn: "[SSN_1]", phone: "[PHONE_1]" },
          }, name);
        }
      }
    } finally {
      pool.close();
    }
  }
});

Deno.test("keyed: a tokenize placeholder stands for the value alone, and resolves to it", () => {
  const vault = new Vault();
  const out = redactValue(CONFIG, { mode: "tokenize", vault }).value as typeof CONFIG;
  assertEquals(vault.lookup(out.database.password), "S3cr3t!Pass");
  assertEquals(vault.lookup(out.customer.ssn), "078051120");
  // The same value met later as text gets the same placeholder.
  assertEquals(
    redactText("password: S3cr3t!Pass", { mode: "tokenize", vault }).text,
    `password: ${out.database.password}`,
  );
});

Deno.test("keyed: arrays inherit their key, however nested; objects in them have their own", async () => {
  const value = {
    phones: [["4155550134", ["4155550135"]], "4155550136"],
    secrets: ["Xk9mQ2pL7vR4nW8sT3yU", ["Zx9aB3cD4eF5gH6iJ7kL8"]],
    ssn: [78051120, "078051120"],
    people: [{ name: "Ann", phone: "4155550137" }, { id: "4155550138" }],
  };
  const expected = {
    phones: [["[REDACTED_PHONE]", ["[REDACTED_PHONE]"]], "[REDACTED_PHONE]"],
    secrets: ["[REDACTED_SECRET]", ["[REDACTED_SECRET]"]],
    ssn: ["[REDACTED_SSN]", "[REDACTED_SSN]"],
    // An object's values are judged under its own keys (`id` is no context).
    people: [{ name: "Ann", phone: "[REDACTED_PHONE]" }, { id: "4155550138" }],
  };
  assertEquals(redactValue(value, { mode: "mask" }).value, expected);
  assertEquals((await redactValueAsync(value, { mode: "mask" })).value, expected);
  // A root array has no key: bare digits stay as they would in text.
  assertEquals(redactValue(["4155550134", 4155550134], { mode: "mask" }).value, [
    "4155550134",
    4155550134,
  ]);
});

Deno.test("keyed: numbers under a key, and numeric look-alikes that stay numbers", () => {
  const value = {
    ssn: 78051120, // SSN 078-05-1120 stored as a number: its leading zero is gone
    SSN: 123456789,
    phone: 4155550134,
    "Mobile": 4155550139,
    tel: 4155550140,
    // Not context: these stay numbers.
    id: 4155550134,
    count: 78051120,
    total: 123456789,
    amount: 1234567,
    small_ssn: 78,
  };
  const out = redactValue(value, { mode: "mask" });
  assertEquals(out.value, {
    ssn: "[REDACTED_SSN]",
    SSN: "[REDACTED_SSN]",
    phone: "[REDACTED_PHONE]",
    Mobile: "[REDACTED_PHONE]",
    tel: "[REDACTED_PHONE]",
    id: 4155550134,
    count: 78051120,
    total: 123456789,
    amount: 1234567,
    small_ssn: 78,
  });
  assertEquals(out.counts, { ssn: 2, phone: 3 });
});

Deno.test("keyed: credential names in every spelling a config uses", () => {
  const value = {
    "X-Auth-Token": "Zx9aB3cD4eF5gH6iJ7kL8",
    clientSecret: "Xk9mQ2pL7vR4nW8sT3yU",
    aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    DB_PASS: "hunter2hunter2",
    db: { "password ": "S3cr3t!Pass" },
    // Look-alikes: not credential names, or not secret-looking values.
    monkey: "Zx9aB3cD4eF5gH6iJ7kL8",
    password_hint: "the usual one",
    token_url: "https://auth.example.com/token",
    password2: "${DB_PASSWORD}",
  };
  const out = redactValue(value, { mode: "mask" }).value as Record<string, unknown>;
  assertEquals(out, {
    "X-Auth-Token": "[REDACTED_SECRET]",
    clientSecret: "[REDACTED_SECRET]",
    aws_secret_access_key: "[REDACTED_SECRET]",
    DB_PASS: "[REDACTED_SECRET]",
    db: { "password ": "[REDACTED_SECRET]" },
    monkey: "Zx9aB3cD4eF5gH6iJ7kL8",
    password_hint: "the usual one",
    token_url: "https://auth.example.com/token",
    password2: "${DB_PASSWORD}",
  });
});

Deno.test("keyed: what the key holds is not the value's; the key's tail is its context", () => {
  // A key that is itself personal data is redacted as a key (red team d2), and its value is
  // not redacted for it.
  const own = { "ann@example.com": "reviewer", "4111 1111 1111 1111": "visa" };
  assertEquals(redactValue(own, { mode: "mask" }).value, {
    "[REDACTED_EMAIL]": "reviewer",
    "[REDACTED_CARD]": "visa",
  });
  // A long key is judged by its tail, as text would be; a 1 MB key costs one cut.
  const long = "x".repeat(1_000_000) + "_password";
  const out = redactValue({ [long]: "S3cr3t!Pass" }, { mode: "mask" }).value as Record<
    string,
    string
  >;
  assertEquals(out[long], "[REDACTED_SECRET]");
  assertEquals(
    redactValue({ ["phone " + "y".repeat(100)]: "4155550134" }, { mode: "mask" }).value,
    {
      ["phone " + "y".repeat(100)]: "4155550134",
    },
  );
});

Deno.test("keyed: a key never makes a value less redacted than it is alone", () => {
  // In text each key takes context away: `version` before a dotted quad, a URL before an
  // address (it looks like the URL's user), `password: cc_number=4845` (a keyword value cut
  // at the space), a card number cut in two.
  const cases: Record<string, string>[] = [
    { version: "10.1.2.3", step: "192.168.243.218", table: "34.82.76.127" },
    { "https://x.example/a": "mailto:walter_patel@mail.example.org?subject=hello" },
    { password: "cc_number=4845 2072 9555 3111&amount=12.50" },
    { token: "iban=GB54 VNTU 7327 2125 6651 48" },
  ];
  for (const value of cases) {
    for (const [key, text] of Object.entries(value)) {
      const alone = findPii(text);
      assert(alone.length > 0, `the corpus value has a finding: ${text}`);
      const keyed = findPiiUnder(text, key);
      for (const f of alone) {
        assert(
          keyed.some((k) => k.start <= f.start && k.end >= f.end),
          `${key}: ${f.value} is no longer covered: ${JSON.stringify(keyed)}`,
        );
      }
    }
    const out = JSON.stringify(redactValue(value, { mode: "mask" }).value);
    for (const raw of ["10.1.2.3", "walter_patel", "2072 9555", "7327 2125"]) {
      assert(!out.includes(raw), `${raw} in ${out}`);
    }
  }
  // Under a credential key the value up to the `&` is the password (the keyed finding), and
  // the card after it is redacted with it.
  assertEquals(redactValue(cases[2], { mode: "mask" }).value, {
    password: "[REDACTED_SECRET]&amount=12.50",
  });
});

Deno.test("keyed: a long value is judged under its key at its head, alone everywhere", async () => {
  const filler = "lorem ipsum dolor sit amet ".repeat(400); // 10,800 characters
  const value = {
    password: "S3cr3t!Pass " + filler + " ann@example.com " + filler + " 4111 1111 1111 1111",
    // Past the head, a bare digit run is judged alone: no context, as in a long text.
    phone: filler + " 4155550134",
    // A long digit run cut by the head is not taken for a card.
    ssn: "7".repeat(KEY_CONTEXT_HEAD_UNITS + 100),
  };
  const expected = {
    password: "[REDACTED_SECRET] " + filler + " [REDACTED_EMAIL] " + filler + " [REDACTED_CARD]",
    phone: filler + " 4155550134",
    ssn: value.ssn,
  };
  assertEquals(redactValue(value, { mode: "mask" }).value, expected);
  const pool = new DetectionPool({ size: 1 });
  try {
    assertEquals(
      (await redactValueAsync(value, { mode: "mask", pool, thresholdUnits: 0 })).value,
      expected,
    );
  } finally {
    pool.close();
  }
});

Deno.test("keyed: redactKeyedText judges one value as `key: value`, redacting the value only", () => {
  assertEquals(
    redactKeyedText("S3cr3t!Pass", "password", { mode: "mask" }).text,
    "[REDACTED_SECRET]",
  );
  assertEquals(redactKeyedText("078051120", "ssn", { mode: "mask" }).counts, { ssn: 1 });
  assertEquals(redactKeyedText("078051120", "order_id", { mode: "mask" }).text, "078051120");
  assertEquals(redactKeyedText("S3cr3t!Pass", undefined, { mode: "mask" }).text, "S3cr3t!Pass");
  assertEquals(redactKeyedText("S3cr3t!Pass", "password", { mode: "off" }).text, "S3cr3t!Pass");
});

Deno.test("keyed: the walks give each leaf its key, arrays their own key, in document order", async () => {
  const value = { a: 1, list: [2, [3], { b: 4, c: [5] }], d: { e: 6 } };
  const expected = [[1, "a"], [2, "list"], [3, "list"], [4, "b"], [5, "c"], [6, "e"]];
  const sync: unknown[] = [];
  mapLeaves(value, (leaf, key) => (sync.push([leaf, key]), leaf));
  assertEquals(sync, expected);
  const visited: unknown[] = [];
  await forEachLeafAsync(value, (leaf, key) => void visited.push([leaf, key]));
  assertEquals(visited, expected);
  const mapped: unknown[] = [];
  await mapLeavesAsync(value, (leaf, key) => (mapped.push([leaf, key]), leaf));
  assertEquals(mapped, expected);
  const root: unknown[] = [];
  mapLeaves([1, [2]], (leaf, key) => (root.push([leaf, key]), leaf));
  assertEquals(root, [[1, undefined], [2, undefined]]);
});

Deno.test("keyed: the probes are found only after a context key, and keys cost their probes once", () => {
  for (const [probe] of CONTEXT_PROBES) assertEquals(findPii(probe), [], probe);
  for (const key of ["password", "api_key", "ssn", "phone", "tel", "Mobile"]) {
    assert(givesContext(key), key);
  }
  for (const key of ["id", "count", "name", "notes", "ref", "updated", "", undefined]) {
    assert(!givesContext(key), String(key));
  }
});

Deno.test("keyed: linear in the value whatever its keys (CPU-time ratios, no wall clock)", () => {
  // Each shape 4× larger must cost at most 8× (a quadratic walk would cost 16×): distinct
  // credential keys (a probe and a second read per value), 5,000-character keys, values
  // under nested arrays of one key.
  const shapes: Record<string, (n: number) => unknown> = {
    distinct: (n) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`svc${i}_api_key`, `v${i}Xk9mQ2pL7vR4nW8`]),
      ),
    long: (n) =>
      Object.fromEntries(
        Array.from(
          { length: n / 10 },
          (_, i) => ["k".repeat(5000) + i + "_password", `v${i}Xk9mQ2pL7vR4nW8`],
        ),
      ),
    nested: (n) => ({
      phone: Array.from({ length: n }, (_, i) => [[`41555${String(10000 + (i % 90000))}`]]),
    }),
  };
  for (const [name, make] of Object.entries(shapes)) {
    const small = make(4000);
    const large = make(16000);
    const redact = (v: unknown) => redactValue(v, { mode: "mask" });
    redact(small);
    const ratio = bestCpuMs(() => redact(large), 5) / bestCpuMs(() => redact(small), 5);
    assert(ratio <= 8, `${name}: 4× the input took ${ratio.toFixed(1)}× the time`);
  }
  // And what the key reads is found: the last of each shape.
  const out = redactValue(shapes.distinct(10), { mode: "mask" }).value as Record<string, string>;
  assertEquals(out.svc9_api_key, "[REDACTED_SECRET]");
});

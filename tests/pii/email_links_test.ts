// Tokens in e-mail links (red team n1, N1-15): a quoted-printable body (RFC 2045: soft line break
// `=` at the end of a line, `=3D` for `=`) split a reset token so its tail came back raw; a
// password-reset link whose token is a path segment and a Microsoft Teams / Office 365 incoming
// webhook URL came back raw. pii/quoted_printable.ts reads such text decoded (the finding covers
// the value as written, soft break included); pii/url_path_tokens.ts finds the path tokens.
// Text that is not quoted-printable, documentation paths and words after those path words stay.

import { assertEquals } from "../assert.ts";
import { redactText } from "../../pii/mod.ts";

const mask = { mode: "mask" as const };
const TOKEN = "Xk9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0OpQrStUvWxYz0123456789";
const QP = [
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Hi Ann,",
  `Reset your password: https://example.com/reset?token=3D${TOKEN.slice(0, 32)}=`,
  `${TOKEN.slice(32)}&u=3D42`,
  "Or call +1 415 555=",
  "0134, or write to ann.lee@exam=",
  "ple.com. Your temporary password=3DHv4nQ8wLm2Tz=",
  "6Xc9Rb3Ks7 expires soon.",
].join("\n");

/** [what, text, pieces that must not come back] */
const CASES: [string, string, string[]][] = [
  ["quoted-printable", QP, [TOKEN.slice(32), "0134", "ann.lee", "ple.com. Your", "6Xc9Rb3Ks7"]],
  ["quoted-printable crlf", QP.replaceAll("\n", "\r\n"), [TOKEN.slice(32), "6Xc9Rb3Ks7"]],
  [
    "reset link path",
    "Reset it here: https://app.example.com/reset-password/Qz7vK2mX9pL4wR8tN3bY6cF1hJ5dS0gA",
    ["Qz7vK2mX9pL4wR8tN3bY6cF1hJ5dS0gA"],
  ],
  [
    "invite and magic links",
    "Join: https://app.example.com/invite/8f3a9b2c4d5e4f6a8b7c9d0e1f2a3b4c?ref=mail " +
    "Sign in: https://app.example.com/auth/magic-link/Vb7nM3kL9pQ2wE5rT8yU1iO4",
    ["8f3a9b2c4d5e4f6a8b7c9d0e1f2a3b4c", "Vb7nM3kL9pQ2wE5rT8yU1iO4"],
  ],
  [
    "Teams webhook",
    "https://outlook.office.com/webhook/7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c@7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4d/IncomingWebhook/9c1e7a3f5b2d4e6a8c0b1d3f5a7e9c2b/7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4e",
    ["9c1e7a3f5b2d4e6a8c0b1d3f5a7e9c2b"],
  ],
  [
    "Teams webhook (webhookb2)",
    `{"url": "https://contoso.webhook.office.com/webhookb2/7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c@7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4d/IncomingWebhook/0a1b2c3d4e5f60718293a4b5c6d7e8f9/7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4e/V2Xk9mQ2pL7vRtYw3zAb4Cd5"}`,
    ["0a1b2c3d4e5f60718293a4b5c6d7e8f9", "V2Xk9mQ2pL7vRtYw3zAb4Cd5"],
  ],
];

Deno.test("tokens in e-mail links are hidden, however the mail wraps them", () => {
  const raw: string[] = [];
  for (const [what, text, pieces] of CASES) {
    const out = redactText(text, mask).text;
    for (const p of pieces) if (out.includes(p)) raw.push(`${what}: ${p} in ${out}`);
  }
  assertEquals(raw, []);
});

Deno.test("text that is not quoted-printable and plain link paths stay as written", () => {
  for (
    const text of [
      "export EMPTY=\nexport NEXT=1\n", // `=` at a line's end, no `=XX`
      "sum a=3D b\nline two\n", // `=3D` without a soft break
      "docs: https://example.com/docs/reset/how-to-reset-your-password",
      "https://example.com/verify/email-address-confirmation-help",
      "https://example.com/IncomingWebhook/",
    ]
  ) {
    assertEquals(redactText(text, mask), { text, counts: {} }, text);
  }
});

// Secrets, red team round 3 (d2, 2026-11-30), by class, with members of our own: passwords
// holding a bracket, provider token formats and secret URLs, password forms (XML, command-line
// flags, `mysql -p…`, passphrases, URL-encoded JSON); and values after credential-like names
// that are no credentials (object names under `key`, paging tokens, timestamps). Every
// FOUND member leaked (whole or in part) on the code before the fix, and every member of
// ALONE was redacted by it; each test fails there.

import { assertEquals } from "../assert.ts";
import { findPii, redactText, redactValue } from "../../pii/mod.ts";
import { startTestGateway } from "../helpers.ts";

const mask = { mode: "mask" as const };

/** The secrets found in `text`, as written. */
function secrets(text: string): string[] {
  return findPii(text, ["secret"]).map((f) => f.value);
}

/** Each text with the one secret it holds, as written. */
const FOUND: Array<[string, string]> = [
  // A bracket inside or at the start of a password.
  ["DB_PASSWORD=Kd8)f2Lq!x", "Kd8)f2Lq!x"],
  ["password=Kd8]f2Lq9z", "Kd8]f2Lq9z"],
  ["password=Kd8}f2Lq9z", "Kd8}f2Lq9z"],
  ["password=(Kd8#f2Lq", "(Kd8#f2Lq"],
  ["password=[Kd8#f2Lq", "[Kd8#f2Lq"],
  ["password=<Kd8#f2Lq", "<Kd8#f2Lq"],
  ['{"password":"Kd8)f2Lq!x"}', "Kd8)f2Lq!x"],
  ["password=a1b2c3)d4e5", "a1b2c3)d4e5"],
  ["export DB_PASS=Wq7}rT2m!k && ./run", "Wq7}rT2m!k"],
  ["connect(user=ann, password=Wq7]rT2m!k)", "Wq7]rT2m!k"],
  ["api_secret: Zq8)mW4pL9vR2nK7xT3y", "Zq8)mW4pL9vR2nK7xT3y"],
  // Provider formats, alone and in URLs.
  ["glpat-AbCdEfGhIjKlMnOpQrSt", "glpat-AbCdEfGhIjKlMnOpQrSt"],
  [
    "https://gitlab.example/api/v4/projects?x=1 glrt-x9Yz8Wv7Ut6Sr5Qp4On3M",
    "glrt-x9Yz8Wv7Ut6Sr5Qp4On3M",
  ],
  ["npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"],
  [
    "https://x.example/u/hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
  ],
  [
    "SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG",
    "SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG",
  ],
  ["GOCSPX-AbCdEf0123456789GhIjKlMnOp", "GOCSPX-AbCdEf0123456789GhIjKlMnOp"],
  ["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", "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"],
  [
    "dop_v1_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "dop_v1_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
  ],
  [
    "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMAACKlsz",
    "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMAACKlsz",
  ],
  [
    "https://hooks.slack.com/services/T024BE7LD/B01ABCD2EFG/AbCdEfGhIjKlMnOpQrStUvWx",
    "T024BE7LD/B01ABCD2EFG/AbCdEfGhIjKlMnOpQrStUvWx",
  ],
  [
    "https://discordapp.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGhIjKlMnOpQrStUvWxYz01",
    "123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGhIjKlMnOpQrStUvWxYz01",
  ],
  [
    "https://acct.blob.core.windows.net/c/b.pdf?sv=2022-11-02&sp=r&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRg%3D%3D",
    "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRg%3D%3D",
  ],
  [
    "https://b.s3.amazonaws.com/k?X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0&x=1",
    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
  ],
  // Password forms.
  ["<password>Tr0ub4dorX</password>", "Tr0ub4dorX"],
  ["<db><user>ann</user><apiKey>Xk9mQ2pL7vR4nW8sT3yU</apiKey></db>", "Xk9mQ2pL7vR4nW8sT3yU"],
  ["mysql -u root -pS3cr3tPass app", "S3cr3tPass"],
  ["mysqldump -uroot -pW9x#kQ2m shop > dump.sql", "W9x#kQ2m"],
  ["./deploy --password hunter2 --user ann", "hunter2"],
  ["vault login --token Xk9mQ2pL7vR4nW8sT3yU", "Xk9mQ2pL7vR4nW8sT3yU"],
  ['PASSWORD="correct horse battery staple"', "correct horse battery staple"],
  ["passphrase: 'purple monkey dishwasher lamp'", "purple monkey dishwasher lamp"],
  ["q=%7B%22password%22%3A%22Kd8f2Lq9zX%22%7D", "Kd8f2Lq9zX"],
  ["data=api_key%3DXk9mQ2pL7vR4nW8sT3yU%26v%3D2", "Xk9mQ2pL7vR4nW8sT3yU"],
];

/** Texts with no secret, each redacted on the code before the fix. */
const ALONE = [
  "key: backups/2026-11-30/prod.sql.gz",
  "Key: logs/2024/01/15/app.log",
  "key=src/components/Button.tsx",
  "nextPageToken: CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3",
  '{"NextContinuationToken": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="}',
  "GET /v1/items?page_token=Xk9mQ2pL7vR4nW8sT3yU&limit=50",
  "password_changed_at: 2024-01-15T10:30:00Z",
  '{"token_created": "2025-03-02T08:00:00Z", "secret_updated_on": "2025-03-02T08:00:01Z"}',
];

/** Texts with no secret that the fix must leave alone (near misses of the new forms). */
const STILL_ALONE = [
  "docker run -p8080:80 nginx",
  "ssh -p 2222 deploy@host",
  'password: "must be at least 8 characters"',
  '"password": "Enter your password"',
  "const password = (await readPassword());",
  "password: <your password>",
  "password: {type: String, required: true}",
  "signature: RSA-SHA256",
  "npm_config_cache=/tmp/npm hf_hub_download glpat-",
  "docker login --password-stdin < pw.txt",
  "elif sig == signal.CTRL_C_EVENT:",
  "Password: reset link sent to the account email",
  'key = (r"%s\\VC\\VC_OBJECTS_PLATFORM_INFO\\Win32\\Directories" % version)',
  "const keyValues = [errorInstancePath(it, errorPath)];",
  "this.activeSessionId=e}onRunEnd(e){log(e)}",
  "<key>CFBundleIdentifier2x9QmL7vR4nW8sT3yU</key>",
];

Deno.test("round 3: brackets, provider formats, secret URLs and password forms are found whole", () => {
  const wrong = FOUND.filter(([text, value]) =>
    JSON.stringify(secrets(text)) !== JSON.stringify([value])
  )
    .map(([text]) => `${text} → ${JSON.stringify(secrets(text))}`);
  assertEquals(wrong, []);
});

Deno.test("round 3: object names, paging tokens and timestamps after credential-like names stay", () => {
  assertEquals(ALONE.filter((t) => secrets(t).length > 0), []);
  assertEquals(STILL_ALONE.filter((t) => secrets(t).length > 0), []);
});

Deno.test("round 3: under an object key as in text (results, tool results, the approval view)", () => {
  const value = {
    DB_PASSWORD: "Kd8)f2Lq!x",
    password: "(Kd8#f2Lq",
    db: { password: "<Kd8#f2Lq", PASSWORD: "correct horse battery staple" },
    Contents: [{ Key: "logs/2024/01/15/app.log" }, { Key: "backups/2026-11-30/prod.sql.gz" }],
    key: "src/components/Button.tsx",
    NextContinuationToken: "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
    nextPageToken: "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3",
    password_changed_at: "2024-01-15T10:30:00Z",
  };
  assertEquals(redactValue(value, mask).value, {
    DB_PASSWORD: "[REDACTED_SECRET]",
    password: "[REDACTED_SECRET]",
    db: { password: "[REDACTED_SECRET]", PASSWORD: "[REDACTED_SECRET]" },
    Contents: [{ Key: "logs/2024/01/15/app.log" }, { Key: "backups/2026-11-30/prod.sql.gz" }],
    key: "src/components/Button.tsx",
    NextContinuationToken: "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
    nextPageToken: "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3",
    password_changed_at: "2024-01-15T10:30:00Z",
  });
  // The tail after a bracket is not left raw.
  assertEquals(redactText("password=a1b2c3)d4e5", mask).text, "password=[REDACTED_SECRET]");
});

Deno.test("round 3: the gateway redacts these in the result and logs, and leaves paging tokens", async () => {
  const leaks = [
    "DB_PASSWORD=Kd8)f2Lq!x",
    "mysql -u root -pS3cr3tPass app",
    "glpat-AbCdEfGhIjKlMnOpQrSt",
    "<password>Tr0ub4dorX</password>",
  ];
  const raws = ["Kd8)f2Lq!x", "f2Lq!x", "S3cr3tPass", "glpat-AbCdEfGhIjKlMnOpQrSt", "Tr0ub4dorX"];
  const gw = await startTestGateway({ pii: { mode: "mask" } });
  try {
    const code = `const t = ${JSON.stringify(leaks)};
      for (const x of t) console.log(x);
      return { t, page: { nextPageToken: "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3", Key: "logs/2024/01/15/app.log" } };`;
    const reply = await gw.execute(code);
    const out = JSON.stringify(reply.result) + JSON.stringify(reply.logs);
    assertEquals(raws.filter((raw) => out.includes(raw)), []);
    assertEquals((reply.result as { page: unknown }).page, {
      nextPageToken: "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3",
      Key: "logs/2024/01/15/app.log",
    });
  } finally {
    await gw.close();
  }
});

/**
 * Credentials in everyday configuration files, source code, HTTP request dumps and cookie
 * jars, read through the real filesystem MCP server, logged and returned as text through
 * `POST /v1/execute` (red team n1, N1-1, N1-2, N1-3: every secret here came back raw in the
 * result and the logs). Proves the end to end path: WordPress's wp-config.php, a Python
 * settings file, phpMyAdmin's config, .netrc, a Dockerfile's `ENV K V`, a shell history of
 * `aws/npm/git config set`, `Authorization:` headers with any scheme, a Netscape `cookies.txt`
 * and an operations log with Vault, Google OAuth and Telegram tokens (N1-4) come back with no
 * secret in the response body. Each value is 22+ random
 * characters that the detector redacts after `password=`; only the syntax differs.
 */

import { assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";

/** file name → [its text, the secrets in it that must not come back]. */
const FILES: Record<string, [string, string[]]> = {
  // WordPress: every install has these lines (database password and the salts).
  "wp-config.php": [
    [
      "<?php",
      "define( 'DB_NAME', 'wordpress' );",
      "define( 'DB_USER', 'wp' );",
      "define( 'DB_PASSWORD', 'Rq7vT2mXk9LpW4zN8sBc3d' );",
      "define( 'DB_HOST', 'localhost' );",
      "define( 'AUTH_KEY',         'k8s9d7F6g5H4j3K2l1M0n9B8v7C6x5Z4a3S2d1F0' );",
      "$table_prefix = 'wp_';",
    ].join("\n"),
    ["Rq7vT2mXk9LpW4zN8sBc3d", "k8s9d7F6g5H4j3K2l1M0n9B8v7C6x5Z4a3S2d1F0"],
  ],
  // Python: os.environ assignment and a settings dict written by subscript.
  "settings.py": [
    [
      'os.environ["DB_PASSWORD"] = "Hv4nQ8wLm2Tz6Xc9Rb3Ks7"',
      'settings["api_key"] = "Pw5eJ9rYt2Uo6Ia1Sd4Fg8"',
    ].join("\n"),
    ["Hv4nQ8wLm2Tz6Xc9Rb3Ks7", "Pw5eJ9rYt2Uo6Ia1Sd4Fg8"],
  ],
  // PHP: phpMyAdmin's config.inc.php and CodeIgniter's config arrays.
  "config.inc.php": [
    [
      "$cfg['Servers'][$i]['password'] = 'Zm3kW8qNv5Lr2Tx7Yc4Bh9';",
      "$config['db_password'] = 'Gd6sA1fH9jK3lQ7wE2rT5y';",
    ].join("\n"),
    ["Zm3kW8qNv5Lr2Tx7Yc4Bh9", "Gd6sA1fH9jK3lQ7wE2rT5y"],
  ],
  // .netrc (curl, git, heroku, ftp): the one-line form, and heroku's API key.
  ".netrc": [
    [
      "machine github.com login ann password Xk9mQ2pL7vRtYw3zAb4Cd5",
      "machine api.heroku.com",
      "  login ops@example.com",
      "  password 7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c",
    ].join("\n"),
    ["Xk9mQ2pL7vRtYw3zAb4Cd5", "7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c", "9d0e1f2a3b4c"],
  ],
  // Dockerfile: ENV's space form (the documented legacy syntax, still everywhere).
  "Dockerfile": [
    [
      "FROM node:20",
      "ENV DB_PASSWORD Nb8vC3xZ7lK2jH6gF1dS4a",
      "ENV API_TOKEN Qe5rT9yU3iO7pA1sD6fG2h",
    ].join("\n"),
    ["Nb8vC3xZ7lK2jH6gF1dS4a", "Qe5rT9yU3iO7pA1sD6fG2h"],
  ],
  // Shell history: the AWS CLI's own way to store a secret key, git/npm config.
  ".bash_history": [
    [
      "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
      "aws configure set aws_secret_access_key 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",
      "npm config set //registry.npmjs.org/:_authToken Jk4lZ8xC2vB6nM1qW5eR9t",
      "git config --global github.token Uy3tR7eW1qA5sD9fG2hJ6k",
    ].join("\n"),
    [
      "Zx8kQ2mLp7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0Op",
      "Jk4lZ8xC2vB6nM1qW5eR9t",
      "Uy3tR7eW1qA5sD9fG2hJ6k",
    ],
  ],
  "requests.log": [
    [
      "GET /_search HTTP/1.1",
      "Host: es.internal:9200",
      "Authorization: ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
      "",
      "GET /api/v1/users HTTP/1.1",
      "Authorization: SSWS 00Qk4mZ9pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0Op",
      "",
      "POST /services/collector HTTP/1.1",
      "Authorization: Splunk 7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c",
      "",
      "GET /api/v10/users/@me HTTP/1.1",
      "Authorization: Bot MTE4NjkzNzQ5ODQ2NDM2NTY0OQ.GxYz12.Rr9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9M",
      "",
      "GET /v1/domains HTTP/1.1",
      "Authorization: sso-key Hj3kQ2mLp7vRtYw3z:Ab4Cd5Ef6Gh7Ij8Kq",
      "",
      "GET /crm/v2/Leads HTTP/1.1",
      "Authorization: Zoho-oauthtoken 1000.Wq8mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8K.Kl9Mn0OpQrStUvWxYz012345",
    ].join("\n"),
    [
      "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
      "00Qk4mZ9pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0Op",
      "7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c",
      "Rr9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9M",
      "Ab4Cd5Ef6Gh7Ij8Kq",
      "Wq8mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8K",
    ],
  ],
  "cookies.txt": [
    [
      "# Netscape HTTP Cookie File",
      "# https://curl.se/docs/http-cookies.html",
      ".example.com\tTRUE\t/\tTRUE\t1767225600\tsessionid\tTz5kQ2mLp7vRtYw3zAb4Cd5Ef6Gh7Ij8K",
      "#HttpOnly_github.com\tFALSE\t/\tTRUE\t1767225600\tuser_session\tYp4nQ8wLm2Tz6Xc9Rb3Ks7Ef6Gh7Ij8K",
    ].join("\n"),
    ["Tz5kQ2mLp7vRtYw3zAb4Cd5Ef6Gh7Ij8K", "Yp4nQ8wLm2Tz6Xc9Rb3Ks7Ef6Gh7Ij8K"],
  ],
  "ops.log": [
    [
      "$ vault login hvs.CAESIJlWh0v7Tz3dQ2kXb9mN4pR8sY1uV6wE5tA3cF7gH2jKGh4KHGh2cy5aVlVwUXJrN3RZQ2hUQVNrR1dXUVk",
      "2024-01-15 10:30:00 DEBUG google.auth access_token=ya29.a0AfH6SMBQz9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0OpQrStUvWxYz refreshed",
      "refresh: 1//0gLm9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0OpQrStUvWxYz-abc",
      "curl https://api.telegram.org/bot5432109876:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ/sendMessage?chat_id=1",
    ].join("\n"),
    [
      "hvs.CAESIJlWh0v7Tz3dQ2kXb9mN4pR8sY1uV6wE5tA3cF7gH2jKGh4KHGh2cy5aVlVwUXJrN3RZQ2hUQVNrR1dXUVk",
      "1//0gLm9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8Kl9Mn0OpQrStUvWxYz-abc",
      "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ",
    ],
  ],
};

Deno.test({
  name: "config files, request dumps and cookie jars read as text come back without their secrets",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-config-files-" });
    for (const [name, [text]] of Object.entries(FILES)) {
      await Deno.writeTextFile(`${root}/${name}`, text + "\n");
    }
    const gw = await startTestGateway({
      pii: { mode: "mask" },
      servers: { filesystem: filesystemServer(root) },
      // The machine may be loaded: wait for a sandbox slot rather than refuse.
      sandbox: { timeoutMs: 20_000, maxWaitMs: 60_000 },
    });
    try {
      const leaks: Record<string, string[]> = {};
      for (const [name, [, secrets]] of Object.entries(FILES)) {
        await t.step(name, async () => {
          const code = `
            const r = await filesystem.readTextFile({ path: ${JSON.stringify(`${root}/${name}`)} });
            const text = typeof r === "string" ? r : (r.content ?? r.text);
            console.log(text);
            return text;`;
          const reply = await gw.post("/v1/execute", { code });
          assertEquals(reply.status, 200, JSON.stringify(reply.body));
          assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
          const body = JSON.stringify(reply.body);
          const raw = secrets.filter((s) => body.includes(s));
          if (raw.length) leaks[name] = raw;
        });
      }
      assertEquals(leaks, {}, "secrets returned raw");
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * Values in structured text are judged by the key above them, as in parsed JSON (red team n1,
 * N1-7): `{"passwords": {"postgres": …}}` returned parsed was redacted, while the same data read
 * through the real filesystem MCP server as text came back raw: a Helm-style values.yaml
 * (`passwords:` and `api_keys:` maps, an `adminPasswords:` list, a `password: |` block scalar),
 * `kubectl get secret -o yaml` (base64 data, pii/base64_text.ts), an INI `[secrets]` section, and
 * psql's and PowerShell's tables whose header names the column (`password`, `phone`, `Name/Value`).
 * Each value is checked in the whole response (result and logs); the rest stays readable.
 */

import { assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";

const FILES: Record<string, [string, string[]]> = {
  "values.yaml": [
    [
      "passwords:",
      "  postgres: Xk9mQ2pL7vRtYw3zAb4Cd5",
      "  redis: Hv4nQ8wLm2Tz6Xc9Rb3Ks7",
      "api_keys:",
      "  stripe: Pw5eJ9rYt2Uo6Ia1Sd4Fg8",
      "adminPasswords:",
      "  - Zm3kW8qNv5Lr2Tx7Yc4Bh9",
      "smtp:",
      "  password: |",
      "    Gd6sA1fH9jK3lQ7wE2rT5y",
    ].join("\n"),
    [
      "Xk9mQ2pL7vRtYw3zAb4Cd5",
      "Hv4nQ8wLm2Tz6Xc9Rb3Ks7",
      "Pw5eJ9rYt2Uo6Ia1Sd4Fg8",
      "Zm3kW8qNv5Lr2Tx7Yc4Bh9",
      "Gd6sA1fH9jK3lQ7wE2rT5y",
    ],
  ],
  // `kubectl get secret app -o yaml`: base64 of `postgres://app:Xk9mQ2pL7vRtYw3zAb4Cd5@db/prod`
  // and of `{"username":"ann","password":"Xk9mQ2pL7vRtYw3zAb4Cd5"}`. Parsed as JSON, a
  // Secret's `data` is redacted (README); as the YAML kubectl prints by default, not.
  "secret.yaml": [
    [
      "apiVersion: v1",
      "kind: Secret",
      "metadata:",
      "  name: app",
      "type: Opaque",
      "data:",
      "  DATABASE_URL: cG9zdGdyZXM6Ly9hcHA6WGs5bVEycEw3dlJ0WXczekFiNENkNUBkYi9wcm9k",
      "  config.json: eyJ1c2VybmFtZSI6ImFubiIsInBhc3N3b3JkIjoiWGs5bVEycEw3dlJ0WXczekFiNENkNSJ9",
    ].join("\n"),
    [
      "cG9zdGdyZXM6Ly9hcHA6WGs5bVEycEw3dlJ0WXczekFiNENkNUBkYi9wcm9k",
      "eyJ1c2VybmFtZSI6ImFubiIsInBhc3N3b3JkIjoiWGs5bVEycEw3dlJ0WXczekFiNENkNSJ9",
    ],
  ],
  "app.ini": [
    ["[secrets]", "stripe = Nb8vC3xZ7lK2jH6gF1dS4a", "github = Qe5rT9yU3iO7pA1sD6fG2h"].join("\n"),
    ["Nb8vC3xZ7lK2jH6gF1dS4a", "Qe5rT9yU3iO7pA1sD6fG2h"],
  ],
  // `psql -c "select password from …"` / `select email, phone …`, PowerShell `Get-…` tables.
  "query.txt": [
    [
      " password",
      "------------------------",
      " Jk4lZ8xC2vB6nM1qW5eR9t",
      "(1 row)",
      "",
      " id |      email      |   phone",
      "----+-----------------+------------",
      "  1 | ann@example.com | 4155550134",
      "",
      "Name                           Value",
      "----                           -----",
      "DB_PASSWORD                    Uy3tR7eW1qA5sD9fG2hJ6k",
    ].join("\n"),
    ["Jk4lZ8xC2vB6nM1qW5eR9t", "4155550134", "Uy3tR7eW1qA5sD9fG2hJ6k"],
  ],
};

Deno.test({
  name: "values in YAML, INI and table text are judged by the key above them, as in JSON",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-rt-n1k-" });
    for (const [name, [text]] of Object.entries(FILES)) {
      await Deno.writeTextFile(`${root}/${name}`, text + "\n");
    }
    const gw = await startTestGateway({
      pii: { mode: "mask" },
      servers: { filesystem: filesystemServer(root) },
      sandbox: { timeoutMs: 20_000 },
    });
    try {
      await t.step("control: the same values parsed as JSON are redacted", async () => {
        const reply = await gw.post("/v1/execute", {
          code: `return { passwords: { postgres: "Xk9mQ2pL7vRtYw3zAb4Cd5" },
                           api_keys: { stripe: "Pw5eJ9rYt2Uo6Ia1Sd4Fg8" } };`,
        });
        assertEquals(reply.body.result, {
          passwords: { postgres: "[REDACTED_SECRET]" },
          api_keys: { stripe: "[REDACTED_SECRET]" },
        });
      });
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
      await t.step("names and structure stay readable", async () => {
        const reply = await gw.post("/v1/execute", {
          code: `return (await filesystem.readTextFile({ path: ${
            JSON.stringify(`${root}/values.yaml`)
          } }));`,
        });
        const text = JSON.stringify(reply.body.result);
        for (const word of ["passwords:", "postgres:", "api_keys:", "adminPasswords:", "smtp:"]) {
          assertEquals(text.includes(word), true, `${word} in ${text}`);
        }
      });
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

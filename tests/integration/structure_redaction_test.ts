/**
 * Structured values through a real gateway (red team d2): object keys of a result are
 * redacted and, in tokenize mode, a later tool call that sends the object back reaches the
 * real MCP server with the real keys (and its echo comes back with placeholders again); the
 * value of a name/value pair (Kubernetes env, SSM parameters, HAR headers) read from a real
 * file through the filesystem MCP server is judged under its name; and an approver sees the
 * path a destructive call deletes under `key`, with the pairs and keys of the arguments
 * redacted.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { untag } from "../placeholders.ts";
import { withApprovalGateway } from "./approval_helpers.ts";

const EMAILS = ["ann.lee@example.com", "bob.ray@example.com"];

Deno.test({
  name: "structure: result keys are tokenized, and restored when the object is sent back",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "airlock-structure-" });
    const gw = await startTestGateway({
      pii: { mode: "tokenize" },
      servers: { sink: sinkServer(root) },
      sandbox: { timeoutMs: 20_000 },
    });
    try {
      const session = { "x-airlock-session": "structure-keys" };
      const first = await gw.post("/v1/execute", {
        code: `
          const rows = [
            { email: "ann.lee@example.com", ip: "93.184.216.34", n: 3 },
            { email: "bob.ray@example.com", ip: "93.184.216.34", n: 5 },
          ];
          return {
            byEmail: Object.fromEntries(rows.map((r) => [r.email, r.n])),
            byIp: Object.groupBy(rows, (r) => r.ip),
          };`,
      }, session);
      assertEquals(first.body.ok, true, JSON.stringify(first.body));
      const text = JSON.stringify(first.body);
      for (const raw of [...EMAILS, "93.184.216.34"]) assert(!text.includes(raw), text);
      const byEmail = first.body.result.byEmail as Record<string, number>;
      // Two keys stay two, each its own placeholder, the same as the value it stands for.
      assertEquals(untag(Object.keys(byEmail)), ["[EMAIL_1]", "[EMAIL_2]"]);
      assertEquals(Object.values(byEmail), [3, 5]);
      const [ipKey] = Object.keys(first.body.result.byIp);
      assertEquals(untag(ipKey), "[IP_1]");
      assertEquals(first.body.result.byIp[ipKey][0].ip, ipKey);
      assert(first.body.redactions.email >= 2 && first.body.redactions.ip >= 1, text);

      // The object sent back reaches the server with its real keys; what the server echoes
      // comes back with placeholders, even taken apart a character at a time.
      const path = `${root}/counts.json`;
      const second = await gw.post("/v1/execute", {
        code: `
          const r = await sink.store({ path: ${JSON.stringify(path)}, value: ${
          JSON.stringify(byEmail)
        } });
          return { echo: r.stored, spelled: Object.keys(r.stored).map((k) => k.split("").join(" ")) };`,
      }, session);
      assertEquals(second.body.ok, true, JSON.stringify(second.body));
      assertEquals(JSON.parse(await Deno.readTextFile(path)), {
        "ann.lee@example.com": 3,
        "bob.ray@example.com": 5,
      });
      assertEquals(second.body.result.echo, byEmail);
      const spelled = JSON.stringify(second.body.result.spelled);
      assert(!spelled.includes("a n n . l e e"), spelled);
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "structure: name/value pairs read from a real file are judged under their name",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "airlock-structure-" });
    const file = {
      spec: {
        containers: [{
          env: [
            { name: "DB_PASSWORD", value: "S3cr3t!Pass" },
            { name: "STRIPE_KEY", value: "abcd1234efgh5678ijkl" },
            { name: "LOG_LEVEL", value: "debug" },
          ],
        }],
      },
      Parameters: [{ Name: "/prod/db/password", Value: "Pr0d!Passw0rd", Type: "SecureString" }],
      entries: [{ request: { headers: [{ name: "X-Api-Key", value: "9f8e7d6c5b4a39281706" }] } }],
      Tags: [{ Key: "deploy_token", Value: "Xk9mQ2pL7vR4nW8sT3yU" }],
    };
    await Deno.writeTextFile(`${root}/deploy.json`, JSON.stringify(file, null, 2));
    const gw = await startTestGateway({
      pii: { mode: "mask" },
      servers: { filesystem: filesystemServer(root) },
      sandbox: { timeoutMs: 20_000 },
    });
    try {
      const reply = await gw.post("/v1/execute", {
        code: `
          const r = await filesystem.readTextFile({ path: ${
          JSON.stringify(root + "/deploy.json")
        } });
          return JSON.parse(typeof r === "string" ? r : (r.content ?? r.text));`,
      });
      assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
      const secret = "[REDACTED_SECRET]";
      assertEquals(reply.body.result, {
        spec: {
          containers: [{
            env: [
              { name: "DB_PASSWORD", value: secret },
              { name: "STRIPE_KEY", value: secret },
              { name: "LOG_LEVEL", value: "debug" },
            ],
          }],
        },
        Parameters: [{ Name: "/prod/db/password", Value: secret, Type: "SecureString" }],
        entries: [{ request: { headers: [{ name: "X-Api-Key", value: secret }] } }],
        Tags: [{ Key: "deploy_token", Value: secret }],
      });
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "structure: an approver sees the object a deletion names under `key`, pairs redacted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withApprovalGateway({
      prefix: "airlock-structure-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.delete_object", "sink.store"], timeoutSeconds: 20 },
      config: { pii: { mode: "tokenize" }, sandbox: { timeoutMs: 20_000 } },
    }, async ({ gw, root, decide }) => {
      const target = "backups/2026-11-30/prod.sql.gz";
      const running = gw.post("/v1/execute", {
        code: `return await sink.delete_object({ bucket: "prod", key: ${
          JSON.stringify(target)
        } });`,
      });
      const shown = (await decide("approve")).arguments;
      assertEquals(JSON.parse(shown), { bucket: "prod", key: target });
      const done = await running;
      assertEquals(done.body.result, { deleted: `prod/${target}` });

      const storing = gw.post("/v1/execute", {
        code: `
          try {
            await sink.store({ path: ${JSON.stringify(root + "/x.json")}, value: {
              env: [{ name: "DB_PASSWORD", value: "S3cr3t!Pass" }],
              byEmail: { "ann.lee@example.com": 3 },
              Contents: [{ Key: "logs/2024/01/15/app.log" }],
            } });
            return "stored";
          } catch (e) { return e.kind; }`,
      });
      const args = (await decide("deny")).arguments;
      for (const raw of ["S3cr3t!Pass", "ann.lee@example.com"]) {
        assert(!args.includes(raw), args);
      }
      const value = untag(JSON.parse(args).value);
      assertEquals(value.env, [{ name: "DB_PASSWORD", value: "[SECRET_1]" }]);
      assertEquals(Object.keys(value.byEmail), ["[EMAIL_1]"]);
      assertEquals(value.Contents, [{ Key: "logs/2024/01/15/app.log" }]);
      assertMatch(JSON.stringify((await storing).body.result), /approval_denied/);
    });
  },
});

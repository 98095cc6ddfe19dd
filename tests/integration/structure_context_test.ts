/**
 * Values whose own key says nothing about them, through a real gateway (red team round 4,
 * f1): `terraform output -json` and a 1Password item read from real files through the
 * filesystem MCP server, pair tuples (`Object.entries`, `[...headers]`) and cookies returned by
 * the code, and the same shapes shown to an approver, all judged under the key that gives
 * their context.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { withApprovalGateway } from "./approval_helpers.ts";

const PW = "S3cr3t!Pass";
const TOK = "q8Zr3LmN0pX7vTqW2kYb9HcJ";
const SECRET = "[REDACTED_SECRET]";

Deno.test({
  name: "structure context: files and values returned are judged under the key of their context",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "airlock-structure-context-" });
    await Deno.writeTextFile(
      `${root}/outputs.json`,
      JSON.stringify({
        db_password: { sensitive: true, type: "string", value: PW },
        region: { sensitive: false, type: "string", value: "eu-west-1" },
        owner: { value: { phone: { number: "4155550134" }, ssn: { value: "078051120" } } },
      }),
    );
    await Deno.writeTextFile(
      `${root}/item.json`,
      JSON.stringify({
        fields: [
          { id: "password", type: "CONCEALED", label: "password", value: PW },
          { id: "notes", type: "STRING", label: "notes", value: "blue" },
        ],
      }),
    );
    const gw = await startTestGateway({
      pii: { mode: "mask" },
      servers: { filesystem: filesystemServer(root) },
      sandbox: { timeoutMs: 20_000 },
    });
    try {
      const reply = await gw.post("/v1/execute", {
        code: `
          const read = async (name) => {
            const r = await filesystem.readTextFile({ path: ${JSON.stringify(root)} + "/" + name });
            return JSON.parse(typeof r === "string" ? r : (r.content ?? r.text));
          };
          const headers = new Headers({ "x-api-key": "${TOK}", accept: "application/json" });
          return {
            outputs: await read("outputs.json"),
            item: await read("item.json"),
            entries: Object.entries({ password: "${PW}", user: "ann" }),
            headers: [...headers],
            cookies: [
              { name: "session", value: "${TOK}", domain: "app.example.com", path: "/" },
              { name: "theme", value: "dark", domain: "app.example.com", path: "/" },
            ],
          };`,
      });
      assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
      const text = JSON.stringify(reply.body);
      for (const raw of [PW, TOK, "4155550134", "078051120"]) assert(!text.includes(raw), text);
      assertEquals(reply.body.result, {
        outputs: {
          db_password: { sensitive: true, type: "string", value: SECRET },
          region: { sensitive: false, type: "string", value: "eu-west-1" },
          owner: {
            value: { phone: { number: "[REDACTED_PHONE]" }, ssn: { value: "[REDACTED_SSN]" } },
          },
        },
        item: {
          fields: [
            { id: "password", type: "CONCEALED", label: "password", value: SECRET },
            { id: "notes", type: "STRING", label: "notes", value: "blue" },
          ],
        },
        entries: [["password", SECRET], ["user", "ann"]],
        headers: [["accept", "application/json"], ["x-api-key", SECRET]],
        cookies: [
          { name: "session", value: SECRET, domain: "app.example.com", path: "/" },
          { name: "theme", value: "dark", domain: "app.example.com", path: "/" },
        ],
      });
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "structure context: an approver sees the same shapes redacted as a result",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withApprovalGateway({
      prefix: "airlock-structure-context-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.store"], timeoutSeconds: 20 },
      config: { pii: { mode: "mask" }, sandbox: { timeoutMs: 20_000 } },
    }, async ({ gw, root, decide }) => {
      const storing = gw.post("/v1/execute", {
        code: `
          try {
            await sink.store({ path: ${JSON.stringify(root + "/x.json")}, value: {
              tf: { api_token: { sensitive: true, value: "${TOK}" } },
              keys: [{ keyName: "key1", value: "q8Zr3LmN0pX/7vTqW2kYb9HcJd4FsAeRg6UiOy1zAb=" }],
              entries: [["x-api-key", "${TOK}"]],
              cookies: [{ name: "laravel_session", value: "${TOK}" }],
              plain: { type: "string", value: "hello" },
            } });
            return "stored";
          } catch (e) { return e.kind; }`,
      });
      const shown = (await decide("deny")).arguments;
      assertEquals(JSON.parse(shown).value, {
        tf: { api_token: { sensitive: true, value: SECRET } },
        keys: [{ keyName: "key1", value: SECRET }],
        entries: [["x-api-key", SECRET]],
        cookies: [{ name: "laravel_session", value: SECRET }],
        plain: { type: "string", value: "hello" },
      });
      assertMatch(JSON.stringify((await storing).body.result), /approval_denied/);
    });
  },
});

/**
 * A command written as an argument list through a real gateway (red team l1): the approver of
 * a held `sink.store` call sees the command with the password replaced (program, flags, host
 * readable), the server gets the call as the code wrote it, and the agent's result (the
 * server's echo) comes back redacted the same way.
 */

import { assert, assertEquals } from "../assert.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { withApprovalGateway } from "./approval_helpers.ts";

const PW = "Kd8f2Lq!x9Tz";
const SECRET = "[REDACTED_SECRET]";

Deno.test({
  name: "command arrays: the approver and the agent see an argument list's password replaced",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withApprovalGateway({
      prefix: "airlock-command-arrays-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.store"], timeoutSeconds: 20 },
      config: { pii: { mode: "mask" }, sandbox: { timeoutMs: 20_000 } },
    }, async ({ gw, root, decide }) => {
      const value = {
        command: ["sshpass", "-p", PW, "ssh", "db"],
        containers: [{ name: "mysql", args: ["mysql", "-u", "root", `-p${PW}`] }],
        steps: [["redis-cli", "-h", "cache", "-a", PW, "ping"]],
      };
      const running = gw.post("/v1/execute", {
        code: `return await sink.store({ path: ${JSON.stringify(`${root}/f.json`)}, value: ${
          JSON.stringify(value)
        } });`,
      });
      const shown = (await decide("approve")).arguments;
      const reply = await running;
      assertEquals(reply.status, 200);
      const expected = {
        command: ["sshpass", "-p", SECRET, "ssh", "db"],
        containers: [{ name: "mysql", args: ["mysql", "-u", "root", `-p${SECRET}`] }],
        steps: [["redis-cli", "-h", "cache", "-a", SECRET, "ping"]],
      };
      assertEquals(JSON.parse(shown).value, expected, shown);
      // The server got what the code wrote; the agent sees its echo redacted.
      assertEquals(JSON.parse(await Deno.readTextFile(`${root}/f.json`)), value);
      const result = JSON.stringify(reply.body);
      assert(!result.includes(PW), result);
      assertEquals(reply.body.result, { stored: expected });
    });
  },
});

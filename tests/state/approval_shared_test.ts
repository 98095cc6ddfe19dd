/**
 * Human approval over two replicas sharing one real Redis: a call waiting for approval on
 * replica A is listed on replica B, answered there, and the call on A wakes (pub/sub) and runs
 * the real filesystem server's write; a denial through B leaves the file untouched.
 */

import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout } from "../services.ts";
import {
  AGENT,
  APPROVER,
  auth,
  pendingOn,
  replicaConfig,
  withReplicas,
} from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name: "approval over replicas: pending on A, answered through B, the call on A wakes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withReplicas({
      prefix: "airlock-approval-shared-",
      vaultKey: "9".repeat(64),
      config: (root, redisUrl) =>
        replicaConfig(
          redisUrl,
          { fs: filesystemServer(root) },
          { tools: ["fs.write_file"], timeoutSeconds: 30 },
          20_000,
        ),
    }, async ({ root, a, b }) => {
      const write = (name: string) =>
        `await fs.writeFile({ path: ${JSON.stringify(`${root}/${name}`)}, content: "yes" });
         return "written"`;

      await t.step("approved through B: the write on A runs", async () => {
        const running = a.post("/v1/execute", { code: write("approved.txt") }, auth(AGENT));
        const pending = await pendingOn(b);
        assertEquals(pending.tool, "fs.write_file");
        const answer = await b.post(
          `/v1/approvals/${pending.id}`,
          { decision: "approve" },
          auth(APPROVER),
        );
        assertEquals(answer.status, 200, JSON.stringify(answer.body));
        const reply = await running;
        assertEquals(reply.status, 200);
        assertEquals(reply.body.result, "written", JSON.stringify(reply.body));
        assertEquals(await Deno.readTextFile(`${root}/approved.txt`), "yes");
        // Settled everywhere: answering again through A is 409.
        const again = await a.post(
          `/v1/approvals/${pending.id}`,
          { decision: "deny" },
          auth(APPROVER),
        );
        assertEquals(again.status, 409);
      });

      await t.step("denied through A for a call waiting on B: untouched", async () => {
        const running = b.post("/v1/execute", { code: write("denied.txt") }, auth(AGENT));
        const pending = await pendingOn(a);
        const answer = await a.post(
          `/v1/approvals/${pending.id}`,
          { decision: "deny", reason: "not today" },
          auth(APPROVER),
        );
        assertEquals(answer.status, 200);
        const reply = await running;
        assertEquals(reply.status, 200);
        // The code did not catch the ToolError: the execution failed with the denial.
        assertEquals(reply.body.ok, false);
        assert(/not today/.test(JSON.stringify(reply.body.error)), JSON.stringify(reply.body));
        assert(!(await Deno.stat(`${root}/denied.txt`).then(() => true, () => false)));
      });
    });
  },
});

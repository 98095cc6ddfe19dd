/**
 * Human approval over two replicas sharing one real Redis: a call waiting for approval on
 * replica A is listed on replica B, answered there, and the call on A wakes (pub/sub) and runs
 * the real filesystem server's write; a denial through B leaves the file untouched.
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const AGENT = "agent-key";
const APPROVER = "approver-key";
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

Deno.test({
  name: "approval over replicas: pending on A, answered through B, the call on A wakes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const redis = await startRedis();
    const root = await Deno.makeTempDir({ prefix: "airlock-approval-shared-" });
    const gateways: TestGateway[] = [];
    try {
      const config = {
        state: { url: redis.url },
        servers: { fs: filesystemServer(root) },
        sandbox: { timeoutMs: 20_000, maxWaitMs: 20_000 },
        auth: {
          tenants: {
            acme: {
              keys: [hashApiKey(AGENT)],
              approverKeys: [hashApiKey(APPROVER)],
              requestsPerMinute: 10_000,
              approval: { tools: ["fs.write_file"], timeoutSeconds: 30 },
            },
          },
        },
      };
      const vaultKey = "9".repeat(64);
      gateways.push(
        await startTestGateway(config, { vaultKey }),
        await startTestGateway(config, { vaultKey }),
      );
      const [a, b] = gateways;
      for (const gw of gateways) assert(await waitFor(() => gw.gateway.state.health().up));
      const write = (name: string) =>
        `await fs.writeFile({ path: ${JSON.stringify(`${root}/${name}`)}, content: "yes" });
         return "written"`;
      const pendingOn = async (gw: TestGateway) => {
        let found: { id: string; tool: string } | undefined;
        assert(
          await waitFor(async () => {
            const list = await gw.get("/v1/approvals", auth(APPROVER));
            found = list.body.approvals?.[0];
            return found !== undefined;
          }, 20_000),
          "an approval became pending",
        );
        return found!;
      };

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
    } finally {
      for (const gw of gateways) await gw.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * From the red team (round 2 of issue 15): an approval answered through replica B while replica A's pub/sub connection is
 * down (a network blip, a Redis restart with persistence, Redis dropping a slow subscriber)
 * never reaches the call waiting on A. Pub/sub is at most once and nothing else wakes the
 * waiter: A's own timeout (`#settle("timeout")`) and the execution's end (`withdrawn`) both find
 * the record already settled and return without resolving it. The call, its execution (whose
 * wall clock is paused while a call waits for approval), the tenant's in-flight slot and the
 * client's request hang well past `timeoutSeconds`.
 */

import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert } from "../assert.ts";
import { findProgram, skipWithout, waitFor } from "../services.ts";
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
  name:
    "approvals: a settlement whose notice the waiting replica missed (subscriber reconnecting) still wakes the call",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withReplicas({
      prefix: "rt-missed-",
      vaultKey: "f".repeat(64),
      config: (root, redisUrl) => ({
        ...replicaConfig(
          redisUrl,
          { fs: filesystemServer(root) },
          { tools: ["fs.write_file"], timeoutSeconds: 3 },
          20_000,
        ),
        sandbox: { timeoutMs: 5_000, maxWaitMs: 20_000 },
      }),
    }, async ({ root, a, b, admin }) => {
      const started = Date.now();
      let finished: number | undefined;
      const running = a.post("/v1/execute", {
        code:
          `try { await fs.writeFile({ path: "${root}/x.txt", content: "y" }); return "written"; }
          catch (e) { return String(e); }`,
      }, auth(AGENT));
      running.then(() => finished = Date.now(), () => finished = Date.now());
      const { id } = await pendingOn(b, 10_000);
      // A's subscriber drops (as in a blip); the approver answers through B meanwhile.
      console.log(
        "pubsub clients before:",
        await admin.connection.run((c) =>
          c.sendCommand(["PUBSUB", "NUMSUB", "airlock:approvals:settled"])
        ),
      );
      let blip = true;
      const killing = (async () => {
        while (blip) {
          await admin.connection.run((c) => c.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]));
          await new Promise((r) => setTimeout(r, 0));
        }
      })();
      await new Promise((r) => setTimeout(r, 20));
      const answer = await b.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      blip = false;
      await killing;
      await waitFor(async () => {
        const n = await admin.connection.run((c) =>
          c.sendCommand(["PUBSUB", "NUMSUB", "airlock:approvals:settled"])
        ) as unknown[];
        return Number(n[1]) >= 2;
      });
      console.log(
        "subscribers back:",
        await admin.connection.run((c) =>
          c.sendCommand(["PUBSUB", "NUMSUB", "airlock:approvals:settled"])
        ),
      );
      console.log("answer through B:", answer.status);
      // Approved: the write should run at once; at worst the call ends by its 3 s timeout.
      await waitFor(() => finished !== undefined, Number(Deno.env.get("RT_WAIT") ?? 15_000));
      console.log(
        "execution finished after",
        finished === undefined ? "(still waiting)" : `${finished - started} ms`,
      );
      assert(
        finished !== undefined,
        `the approved call still waits ${
          Number(Deno.env.get("RT_WAIT") ?? 15_000) / 1000
        } s after its answer (timeout 3 s)`,
      );
    });
  },
});

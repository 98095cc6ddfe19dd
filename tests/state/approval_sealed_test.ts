/**
 * Approval records in Redis are sealed: a pending request's tool arguments (a file's path and
 * content naming a person, an address, a diagnosis that PII detection does not catch) and a
 * settled decision's reason are never in Redis in clear, neither in keys, values nor in the
 * settlement published to the other replicas. Real gateway, real `redis-server`, the real
 * filesystem MCP server.
 */

import { filesystemServer } from "../fixtures/servers/reference.ts";
import { assert, assertEquals } from "../assert.ts";
import { findProgram, skipWithout, waitFor } from "../services.ts";
import type { RedisState } from "../../state/mod.ts";
import {
  AGENT,
  APPROVER,
  auth,
  pendingOn,
  replicaConfig,
  withReplicas,
} from "./holder_replicas.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

async function dump(state: RedisState): Promise<string> {
  return await state.connection.run(async (c) => {
    const out: string[] = [];
    for (const k of await c.keys("*")) {
      out.push(k);
      const type = await c.type(k);
      if (type === "string") out.push(String(await c.get(k)));
      if (type === "hash") out.push(JSON.stringify(await c.hGetAll(k)));
      if (type === "zset") out.push(JSON.stringify(await c.zRange(k, 0, -1)));
    }
    return out.join("\n");
  });
}

Deno.test({
  name: "approvals in Redis: no tool argument, personal value or reason in clear, pending or " +
    "settled, and the other replicas still hear the decision",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withReplicas({
      prefix: "approval-sealed-",
      vaultKey: "b".repeat(64),
      config: (root, redisUrl) => ({
        ...replicaConfig(
          redisUrl,
          { fs: filesystemServer(root) },
          { tools: ["fs.write_file"], timeoutSeconds: 30 },
          20_000,
        ),
        pii: { mode: "tokenize" as const },
      }),
    }, async ({ root, a, b, admin }) => {
      const published: string[] = [];
      const unsubscribe = await admin.connection.subscribe(
        "airlock:approvals:settled",
        (m) => published.push(m),
      );
      const running = a.post("/v1/execute", {
        code: `await fs.writeFile({ path: "${root}/Zebulon Quaxley.txt",
          content: "Zebulon Quaxley, 12 Baker Street, diagnosis: type 2 diabetes" });
          return "written";`,
      }, { ...auth(AGENT), "x-airlock-session": "s" });
      // Listed through the other replica: it opens the sealed record.
      const shown = await pendingOn(b);
      const id = shown.id;
      assert(JSON.stringify(shown).includes("Baker Street"), JSON.stringify(shown));
      const pending = await dump(admin);
      // Approved through B with a reason naming the person; the call waiting on A goes on.
      const answer = await b.post(`/v1/approvals/${id}`, {
        decision: "approve",
        reason: "fine for Zebulon Quaxley",
      }, auth(APPROVER));
      assertEquals(answer.status, 200, JSON.stringify(answer.body));
      const done = await running;
      assertEquals(done.body.result, "written", JSON.stringify(done.body));
      assert(await waitFor(() => published.length > 0), "settlement published");
      const settled = await dump(admin);
      await unsubscribe();
      for (const clear of ["Zebulon", "Quaxley", "Baker Street", "diabetes"]) {
        assert(!pending.includes(clear), `${clear} in clear in Redis while pending:\n${pending}`);
        assert(!settled.includes(clear), `${clear} in clear in Redis once settled:\n${settled}`);
        assert(!published.join("\n").includes(clear), `${clear} published in clear`);
      }
    });
  },
});

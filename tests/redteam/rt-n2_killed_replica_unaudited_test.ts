/**
 * Red team rt-n2: a tool call that reached its server is on no audit record when the replica
 * running the execution is killed (SIGKILL, OOM killer, node loss) before the execution ends:
 * the execution's row and its call rows are only written when it ends. With approvals, the
 * `approved` row is there but no call row; without, nothing at all.
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { AuditLog } from "../../observability/audit.ts";
import { assert } from "../assert.ts";
import { startGatewayProcess, writeConfig } from "../e2e/process.ts";
import { waitFor } from "../services.ts";
import { descendants, reap } from "../state/process_tree.ts";

const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;

Deno.test({
  name: "rt-n2: a call that reached its server is audited even if the replica is then killed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-rtn2-kill-" }));
    const a = await startGatewayProcess(
      await writeConfig({
        servers: {
          sink: { command: Deno.execPath(), args: ["run", `--allow-write=${root}`, SINK] },
        },
        sandbox: { timeoutMs: 60_000 },
        auth: { tenants: { acme: { keys: [hashApiKey("agent")], requestsPerMinute: 1000 } } },
        audit: { path: `${root}/a.db` },
        selection: { embedder: "lexical", cacheDir: `${root}/emb` },
      }),
    );
    let children: number[] = [];
    try {
      const path = `${root}/deleted-prod-db.json`;
      const reply = fetch(`${a.url}/v1/execute`, {
        method: "POST",
        headers: { authorization: "Bearer agent", "content-type": "application/json" },
        body: JSON.stringify({
          code: `await sink.store({ path: ${JSON.stringify(path)}, value: "done" });
                 await new Promise((r) => setTimeout(r, 20000)); return 1`,
        }),
      }).then((r) => r.text(), (e) => String(e));
      assert(
        await waitFor(() => Deno.stat(path).then(() => true, () => false), 30_000),
        "the call reached the server",
      );
      children = await descendants(a.pid);
      // A moment for anything the gateway would write as the call completes.
      await new Promise((r) => setTimeout(r, 1000));
      a.kill("SIGKILL");
      await a.stop().catch(() => {});
      await reply;
      const log = AuditLog.open(`${root}/a.db`);
      let calls;
      try {
        calls = log.recent({ limit: 100 }).flatMap((r) => r.calls.map((c) => c.tool));
      } finally {
        log.close();
      }
      console.log("calls on the record:", JSON.stringify(calls));
      assert(calls.includes("sink.store"), "sink.store reached its server and is on no record");
    } finally {
      try {
        a.kill("SIGKILL");
      } catch { /* gone */ }
      await reap(children, waitFor);
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

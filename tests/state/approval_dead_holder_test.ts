/**
 * From the red team (j3): a replica that dies (SIGKILL) while its call waits for approval left
 * the request answerable through another replica: 200 `approved`, an `approved` row, and
 * nothing ran. Unanswered, it counted against the tenant's `maxPending` until its record
 * expired (deadline + 60 s), then vanished without a row. Here replica A is a real gateway
 * process, killed while it holds the call; replica B is in this process; one real Redis.
 * Answering through B fails clearly while A's lease runs (503: the holder does not answer),
 * the request is withdrawn once it lapsed (409, and B records `withdrawn`), it no longer
 * counts against `maxPending`, and nothing was stored.
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { RedisState } from "../../state/mod.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startGatewayProcess, writeConfig } from "../e2e/process.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";
import { alive, descendants } from "./process_tree.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const AGENT = "agent-key";
const APPROVER = "approver-key";
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;
const VAULT_KEY = "6".repeat(64);

Deno.test({
  name: "approval: a dead replica's pending request is withdrawn and recorded, never approved",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-dead-holder-" }));
    const admin = new RedisState({ url: redis.url });
    let b: TestGateway | undefined;
    let children: number[] = [];
    const vaultBefore = Deno.env.get("AIRLOCK_VAULT_KEY");
    Deno.env.set("AIRLOCK_VAULT_KEY", VAULT_KEY);
    try {
      const config = {
        state: { url: redis.url },
        servers: {
          sink: { command: Deno.execPath(), args: ["run", `--allow-write=${root}`, SINK] },
        },
        sandbox: { timeoutMs: 60_000, maxWaitMs: 60_000 },
        auth: {
          tenants: {
            acme: {
              keys: [hashApiKey(AGENT)],
              approverKeys: [hashApiKey(APPROVER)],
              requestsPerMinute: 10_000,
              approval: { tools: ["sink.store"], timeoutSeconds: 60, maxPending: 1 },
            },
          },
        },
      };
      const a = await startGatewayProcess(
        await writeConfig({
          ...config,
          audit: { path: ":memory:" },
          selection: { embedder: "lexical", cacheDir: `${root}/emb` },
        }),
      );
      b = await startTestGateway(config, { vaultKey: VAULT_KEY });
      const gw = b;
      assert(await waitFor(() => gw.gateway.state.health().up && admin.health().up));
      const store = (name: string) =>
        JSON.stringify({
          code: `try { await sink.store({ path: ${
            JSON.stringify(`${root}/${name}`)
          }, value: 1 }); return "stored" }
                 catch (e) { return String(e) }`,
        });
      const onA = fetch(`${a.url}/v1/execute`, {
        method: "POST",
        headers: { ...auth(AGENT), "content-type": "application/json" },
        body: store("f1.json"),
      }).then((r) => r.text(), (e) => String(e));
      const pending = async () =>
        (await gw.get("/v1/approvals", auth(APPROVER))).body.approvals as { id: string }[];
      assert(await waitFor(async () => (await pending()).length === 1, 30_000), "pending");
      const [{ id }] = await pending();
      const subscribers = async () =>
        Number(
          (await admin.connection.run((c) =>
            c.sendCommand(["PUBSUB", "NUMSUB", "airlock:approvals:settled"])
          ) as unknown[])[1],
        );
      assertEquals(await subscribers(), 2);

      children = await descendants(a.pid);
      a.kill("SIGKILL");
      await a.stop();
      await onA;
      // Redis has seen A's connections close.
      assert(await waitFor(async () => await subscribers() === 1), "A's subscriber gone");

      const early = await gw.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertEquals(early.status, 503, JSON.stringify(early.body));
      assertEquals(early.body.error.kind, "state_unavailable");
      assertMatch(early.body.error.message, /replica holding this call/);

      // A's lease lapses: its request no longer counts against maxPending (1): B can ask.
      assert(
        await waitFor(
          async () =>
            await admin.connection.run((c) => c.exists(`airlock:approvalholder:acme:${id}`)) === 0,
          15_000,
        ),
        "A's lease lapsed",
      );
      const onB = gw.post("/v1/execute", JSON.parse(store("f2.json")), auth(AGENT));
      let fresh: string | undefined;
      assert(
        await waitFor(async () => {
          fresh = (await pending()).find((p) => p.id !== id)?.id;
          return fresh !== undefined;
        }, 30_000),
        "B's call is pending, not refused over capacity",
      );
      assertEquals((await pending()).map((p) => p.id), [fresh], "A's request is not listed");

      const late = await gw.post(`/v1/approvals/${id}`, { decision: "approve" }, auth(APPROVER));
      assertEquals(late.status, 409, JSON.stringify(late.body));
      assertMatch(late.body.error.message, /withdrawn/);
      const rows = gw.gateway.audit!.recentApprovals({ limit: 100 }).filter((r) => r.id === id);
      assertEquals(rows.map((r) => [r.decision, r.decidedBy]), [["withdrawn", "airlock"]]);

      const approved = await gw.post(
        `/v1/approvals/${fresh}`,
        { decision: "approve" },
        auth(APPROVER),
      );
      assertEquals(approved.status, 200, JSON.stringify(approved.body));
      assertEquals((await onB).body.result, "stored");
      assertEquals(await Deno.readTextFile(`${root}/f2.json`), "1");
      assert(
        !(await Deno.stat(`${root}/f1.json`).then(() => true, () => false)),
        "A stored nothing",
      );
    } finally {
      if (vaultBefore === undefined) Deno.env.delete("AIRLOCK_VAULT_KEY");
      else Deno.env.set("AIRLOCK_VAULT_KEY", vaultBefore);
      await b?.close();
      await admin.close();
      // A's children (its MCP server, its warm sandboxes) end with it; any that did not is ended.
      await waitFor(() => children.every((pid) => !alive(pid)), 10_000);
      for (const pid of children.filter(alive)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

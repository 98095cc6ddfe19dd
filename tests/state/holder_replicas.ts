/**
 * Two replicas on one real Redis for tests of the replica holding an approval: A a real
 * `main.ts serve` process (so it can be stopped, killed or cut off), B in this process. A's
 * audit is a file, read once A has ended.
 *
 * @module
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { AuditLog } from "../../observability/audit.ts";
import { RedisState } from "../../state/mod.ts";
import { assert } from "../assert.ts";
import { type GatewayProcess, startGatewayProcess, writeConfig } from "../e2e/process.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { waitFor } from "../services.ts";
import { descendants, reap } from "./process_tree.ts";

export const AGENT = "agent-key";
export const APPROVER = "approver-key";
export const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;
const VAULT_KEY = "6".repeat(64);

/** The two replicas, A's call waiting for approval, and the tools to look at them. */
export interface HeldCall {
  a: GatewayProcess;
  b: TestGateway;
  admin: RedisState;
  /** The approval id of A's call. */
  id: string;
  /** A's client's response text (or the fetch error), once A answers or dies. */
  onA: Promise<string>;
  /** Whether the call ran (the sink stored its file). */
  ran(): Promise<boolean>;
  /** A's approval rows for `id` (A must have ended). */
  rowsOnA(): Array<[string, string | undefined]>;
  /** B's approval rows for `id`. */
  rowsOnB(): Array<[string, string | undefined]>;
  /** Ends A (if still running), B, Redis's clients and A's children; removes the directory. */
  close(): Promise<void>;
}

/**
 * Starts Redis-backed replicas A (reaching Redis at `redisUrlForA`, a relay, say) and B, and
 * has A hold one `sink.store` call waiting for approval (`timeoutSeconds`).
 */
export async function holdCallOnA(
  redisUrl: string,
  redisUrlForA: string,
  timeoutSeconds: number,
): Promise<HeldCall> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-holder-" }));
  const admin = new RedisState({ url: redisUrl });
  const vaultBefore = Deno.env.get("AIRLOCK_VAULT_KEY");
  Deno.env.set("AIRLOCK_VAULT_KEY", VAULT_KEY);
  const config = {
    state: { url: redisUrl },
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
          approval: { tools: ["sink.store"], timeoutSeconds, maxPending: 1 },
        },
      },
    },
  };
  let a: GatewayProcess | undefined;
  let b: TestGateway | undefined;
  let children: number[] = [];
  const close = async () => {
    try {
      a?.kill("SIGKILL");
    } catch { /* gone */ }
    await a?.stop().catch(() => {});
    await b?.close();
    await admin.close();
    await reap(children, waitFor);
    if (vaultBefore === undefined) Deno.env.delete("AIRLOCK_VAULT_KEY");
    else Deno.env.set("AIRLOCK_VAULT_KEY", vaultBefore);
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  try {
    a = await startGatewayProcess(
      await writeConfig({
        ...config,
        state: { url: redisUrlForA },
        audit: { path: `${root}/a.db` },
        selection: { embedder: "lexical", cacheDir: `${root}/emb` },
      }),
    );
    b = await startTestGateway(config, { vaultKey: VAULT_KEY });
    const gw = b;
    assert(await waitFor(() => gw.gateway.state.health().up && admin.health().up));
    const path = `${root}/f1.json`;
    const onA = fetch(`${a.url}/v1/execute`, {
      method: "POST",
      headers: { ...auth(AGENT), "content-type": "application/json" },
      body: JSON.stringify({
        code: `try { await sink.store({ path: ${JSON.stringify(path)}, value: 1 });
                 return "stored" } catch (e) { return String(e) }`,
      }),
    }).then((r) => r.text(), (e) => String(e));
    let id: string | undefined;
    assert(
      await waitFor(async () => {
        id = (await gw.get("/v1/approvals", auth(APPROVER))).body.approvals?.[0]?.id;
        return id !== undefined;
      }, 30_000),
      "A's call is pending",
    );
    // Its sandbox and MCP server, to end them whatever happens to A.
    children = await descendants(a.pid);
    const rows = (list: Array<{ id: string; decision: string; decidedBy?: string }>) =>
      list.filter((r) => r.id === id).map((r): [string, string | undefined] => [
        r.decision,
        r.decidedBy,
      ]);
    return {
      a,
      b,
      admin,
      id: id!,
      onA,
      ran: () => Deno.stat(path).then(() => true, () => false),
      rowsOnA() {
        const log = AuditLog.open(`${root}/a.db`);
        try {
          return rows(log.recentApprovals({ limit: 100 }));
        } finally {
          log.close();
        }
      },
      rowsOnB: () => rows(gw.gateway.audit!.recentApprovals({ limit: 100 })),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

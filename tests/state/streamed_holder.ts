/**
 * Two replicas on one real Redis, for tests of what the replica holding an approval reports
 * (from red team rt-n2): A is a real `main.ts serve` process reaching Redis through a relay the
 * test controls (`redisRelay` of redis_relay.ts, whose `watch` can hold everything once a chosen
 * command, e.g. the holder's take, has been written to Redis); B runs in this process. A's
 * client streams (SSE), so the test can end A's execution (close the stream) at a chosen moment.
 *
 * @module
 */

import { AuditLog } from "../../observability/audit.ts";
import { RedisState } from "../../state/mod.ts";
import { assert } from "../assert.ts";
import { type GatewayProcess, startGatewayProcess, writeConfig } from "../e2e/process.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { waitFor } from "../services.ts";
import { AGENT, auth, pendingOn, replicaConfig, sinkServer, storeCode } from "./holder_replicas.ts";
import { descendants, reap } from "./process_tree.ts";

export { AGENT, APPROVER, auth } from "./holder_replicas.ts";
const VAULT_KEY = "7".repeat(64);

export interface Held {
  a: GatewayProcess;
  b: TestGateway;
  id: string;
  /** Ends A's client's stream (the execution ends, its approvals are withdrawn). */
  disconnect(): void;
  /** A's client's stream text so far / at its end. */
  stream: Promise<string>;
  ran(): Promise<boolean>;
  /** A's audit (A must have ended): approval rows for id, and every call row. */
  auditOnA(): { approvals: Array<[string, string | undefined]>; calls: unknown[] };
  close(): Promise<void>;
}

/** A holds one `sink.store` call (SSE client) waiting for approval. */
export async function holdStreamedCallOnA(
  redisUrl: string,
  redisUrlForA: string,
  timeoutSeconds: number,
  code?: (path: string) => string,
): Promise<Held> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-streamed-" }));
  const admin = new RedisState({ url: redisUrl });
  const vaultBefore = Deno.env.get("AIRLOCK_VAULT_KEY");
  Deno.env.set("AIRLOCK_VAULT_KEY", VAULT_KEY);
  const config = replicaConfig(
    redisUrl,
    { sink: sinkServer(root) },
    { tools: ["sink.store"], timeoutSeconds, maxPending: 5 },
    60_000,
  );
  let a: GatewayProcess | undefined;
  let b: TestGateway | undefined;
  let children: number[] = [];
  const client = new AbortController();
  const close = async () => {
    client.abort();
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
    const body = code?.(path) ?? storeCode(path);
    let text = "";
    const stream = fetch(`${a.url}/v1/execute`, {
      method: "POST",
      headers: {
        ...auth(AGENT),
        "content-type": "application/json",
        accept: "text/event-stream",
      },
      body: JSON.stringify({ code: body }),
      signal: client.signal,
    }).then(async (r) => {
      const reader = r.body!.getReader();
      const dec = new TextDecoder();
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
      return text;
    }).catch((e) => text + "\n[client: " + String(e) + "]");
    const { id } = await pendingOn(gw, 30_000);
    children = await descendants(a.pid);
    return {
      a,
      b,
      id,
      disconnect: () => client.abort(),
      stream,
      ran: () => Deno.stat(path).then(() => true, () => false),
      auditOnA() {
        const log = AuditLog.open(`${root}/a.db`);
        try {
          return {
            approvals: log.recentApprovals({ limit: 100 }).filter((r) => r.id === id).map((
              r,
            ): [string, string | undefined] => [r.decision, r.decidedBy]),
            calls: log.recent({ limit: 100 }).flatMap((r) => r.calls),
          };
        } finally {
          log.close();
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

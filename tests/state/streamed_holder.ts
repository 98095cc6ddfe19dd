/**
 * Two replicas on one real Redis, for tests of what the replica holding an approval reports
 * (from red team rt-n2): A is a real `main.ts serve` process reaching Redis through a relay the
 * test controls (it can hold everything once a chosen command, e.g. the holder's take, has been
 * written to Redis); B runs in this process. A's client streams (SSE), so the test can end A's
 * execution (close the stream) at a chosen moment.
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
const VAULT_KEY = "7".repeat(64);

/** A relay to Redis: `onTake` runs once the next take went upstream; `freeze` holds all. */
export function trapRelay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let frozen = false;
  let onTake: (() => void) | undefined;
  let thaw: Array<() => void> = [];
  let marker = "$4\r\ntake\r\n";
  const decoder = new TextDecoder();
  const pump = async (from: Deno.Conn, to: Deno.Conn, up: boolean) => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        while (frozen) await new Promise<void>((r) => thaw.push(r));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
        if (up && onTake && decoder.decode(buf.subarray(0, n)).includes(marker)) {
          const hook = onTake;
          onTake = undefined;
          hook();
        }
      }
    } catch { /* closed */ }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch { /* closed */ }
      open.delete(c);
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(client).add(upstream);
      pump(client, upstream, true);
      pump(upstream, client, false);
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/0`,
    armTake(hook: () => void) {
      marker = "$4\r\ntake\r\n";
      onTake = hook;
    },
    /** Runs `hook` once a command containing `text` went upstream. */
    arm(text: string, hook: () => void) {
      marker = text;
      onTake = hook;
    },
    freeze() {
      frozen = true;
    },
    unfreeze() {
      frozen = false;
      const waiting = thaw;
      thaw = [];
      for (const r of waiting) r();
    },
    async close() {
      this.unfreeze();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      listener.close();
      await accepting;
    },
  };
}

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
          approval: { tools: ["sink.store"], timeoutSeconds, maxPending: 5 },
        },
      },
    },
  };
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
    const body = code?.(path) ??
      `try { await sink.store({ path: ${JSON.stringify(path)}, value: 1 });
         return "stored" } catch (e) { return String(e) }`;
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
    let id: string | undefined;
    assert(
      await waitFor(async () => {
        id = (await gw.get("/v1/approvals", auth(APPROVER))).body.approvals?.[0]?.id;
        return id !== undefined;
      }, 30_000),
      "A's call is pending",
    );
    children = await descendants(a.pid);
    return {
      a,
      b,
      id: id!,
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

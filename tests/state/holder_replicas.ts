/**
 * Two replicas on one real Redis, for the approval tests over replicas, set up one way here
 * instead of in each test:
 * - {@linkcode withReplicas}: a fresh Redis and two replicas A and B in this process, sharing
 *   one config ({@linkcode replicaConfig}) and vault key;
 * - {@linkcode holdCallOnA} / {@linkcode withHeldCall}: A a real `main.ts serve` process (so it
 *   can be stopped, killed or cut off, through a {@linkcode redisRelay}), B in this process, A
 *   holding one `sink.store` call waiting for approval. A's audit is a file, read once A has
 *   ended.
 *
 * @module
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { AuditLog } from "../../observability/audit.ts";
import { RedisState } from "../../state/mod.ts";
import { assert } from "../assert.ts";
import { type GatewayProcess, startGatewayProcess, writeConfig } from "../e2e/process.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { type RedisService, startRedis, waitFor } from "../services.ts";
import { descendants, reap } from "./process_tree.ts";
import { type RedisRelay, redisRelay } from "./redis_relay.ts";

export const AGENT = "agent-key";
export const APPROVER = "approver-key";
export const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;
const VAULT_KEY = "6".repeat(64);

/** The sink MCP server (tests/fixtures/servers/sink.ts), allowed to write under `root` only. */
export function sinkServer(root: string) {
  return { command: Deno.execPath(), args: ["run", `--allow-write=${root}`, SINK] };
}

/** Agent code storing 1 at `path` through the sink server: "stored", or the error's text. */
export function storeCode(path: string): string {
  return `try { await sink.store({ path: ${JSON.stringify(path)}, value: 1 });
                 return "stored" } catch (e) { return String(e) }`;
}

/**
 * The config every replica of a test shares: Redis state at `redisUrl`, `servers`, a sandbox
 * allowed `sandboxMs`, and one tenant `acme` with the {@linkcode AGENT} and
 * {@linkcode APPROVER} keys whose calls need approval as `approval` says.
 */
export function replicaConfig(
  redisUrl: string,
  servers: Record<string, unknown>,
  approval: { tools: string[]; timeoutSeconds: number; maxPending?: number },
  sandboxMs: number,
) {
  return {
    state: { url: redisUrl },
    servers,
    sandbox: { timeoutMs: sandboxMs, maxWaitMs: sandboxMs },
    auth: {
      tenants: {
        acme: {
          keys: [hashApiKey(AGENT)],
          approverKeys: [hashApiKey(APPROVER)],
          requestsPerMinute: 10_000,
          approval,
        },
      },
    },
  };
}

/**
 * Waits (up to `timeoutMs`) for an approval to be pending as `gw` lists it to the approver,
 * and returns the first one listed.
 */
export async function pendingOn(
  gw: TestGateway,
  timeoutMs = 20_000,
): Promise<{ id: string; tool: string; expiresAt: string }> {
  let found: { id: string; tool: string; expiresAt: string } | undefined;
  assert(
    await waitFor(async () => {
      found = (await gw.get("/v1/approvals", auth(APPROVER))).body.approvals?.[0];
      return found !== undefined;
    }, timeoutMs),
    "an approval became pending",
  );
  return found!;
}

/** What {@linkcode withReplicas} sets up. */
export interface Replicas {
  redis: RedisService;
  /** A fresh directory (its real path) for the servers' files; removed at the end. */
  root: string;
  a: TestGateway;
  b: TestGateway;
  /** A connection of the test's own to the same Redis. */
  admin: RedisState;
}

/**
 * Starts a fresh Redis and two replicas in this process with the config `config(root,
 * redisUrl)` (see {@linkcode replicaConfig}) and vault key `vaultKey`, waits until they and an
 * admin connection reach Redis, runs `fn`, and ends it all (directory too), whatever `fn` did.
 */
export async function withReplicas(
  options: {
    prefix: string;
    vaultKey: string;
    config: (root: string, redisUrl: string) => Record<string, unknown>;
  },
  fn: (replicas: Replicas) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: options.prefix }));
  const admin = new RedisState({ url: redis.url });
  const gateways: TestGateway[] = [];
  try {
    const config = options.config(root, redis.url);
    for (let i = 0; i < 2; i++) {
      gateways.push(await startTestGateway(config, { vaultKey: options.vaultKey }));
    }
    const [a, b] = gateways;
    assert(
      await waitFor(() =>
        a.gateway.state.health().up && b.gateway.state.health().up && admin.health().up
      ),
      "the replicas reach Redis",
    );
    await fn({ redis, root, a, b, admin });
  } finally {
    for (const gw of gateways) await gw.close();
    await admin.close();
    await redis.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** The two replicas, A's call waiting for approval, and the tools to look at them. */
export interface HeldCall {
  a: GatewayProcess;
  b: TestGateway;
  admin: RedisState;
  /** The approval id of A's call. */
  id: string;
  /** The directory the sink server may write to; A's call stores `f1.json` there. */
  root: string;
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
  const config = replicaConfig(
    redisUrl,
    { sink: sinkServer(root) },
    { tools: ["sink.store"], timeoutSeconds, maxPending: 1 },
    60_000,
  );
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
      body: JSON.stringify({ code: storeCode(path) }),
    }).then((r) => r.text(), (e) => String(e));
    const { id } = await pendingOn(gw, 30_000);
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
      id,
      root,
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

/**
 * Starts a fresh Redis and a {@linkcode redisRelay} to it, has A hold a call
 * ({@linkcode holdCallOnA}, `timeoutSeconds`) with the relay on A's link to Redis
 * (`relayed: "a"`), on B's (`"b"`) or on neither, runs `fn`, and ends it all, whatever `fn`
 * did. `onTake`, given the held call, is the relay's (see {@linkcode redisRelay}).
 */
export async function withHeldCall(
  options: { timeoutSeconds: number; relayed?: "a" | "b"; onTake?: (held: HeldCall) => void },
  fn: (held: HeldCall, relay: RedisRelay) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  let held: HeldCall | undefined;
  const { onTake } = options;
  const relay = redisRelay(redis.port, { onTake: onTake && (() => onTake(held!)) });
  try {
    held = await holdCallOnA(
      options.relayed === "b" ? relay.url : redis.url,
      options.relayed === "a" ? relay.url : redis.url,
      options.timeoutSeconds,
    );
    await fn(held, relay);
  } finally {
    await held?.close();
    await relay.close();
    await redis.stop();
  }
}

/**
 * One tenant answering its own approvals in a loop keeps a bounded number of confirmations in
 * Redis (red team rt-n2, N2-6): every settled approval's confirmation of what the holder did
 * was a sealed key of its own (`<prefix>approvalacted:<tenant>:<id>`, kept an hour) with no
 * per-tenant bound, unlike the settled records (whole: newest 5; brief: newest 128 per tenant).
 * A tenant whose MCP client answers its own elicitations grew Redis without limit; now the
 * confirmations are kept with the settled records (`<prefix>approvalsacted:<tenant>`).
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { hashApiKey } from "../../gateway/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const ignore = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });
const SINK = new URL("../fixtures/servers/sink.ts", import.meta.url).pathname;
const CALLS = 300;

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", { args: ["-p", String(port), ...args] })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "approvals: one tenant answering its own calls in a loop keeps at most 128 confirmations",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-acted-loop-" }));
    const gw = await startTestGateway({
      state: { url: redis.url },
      servers: {
        sink: { command: Deno.execPath(), args: ["run", `--allow-write=${root}`, SINK] },
      },
      sandbox: { timeoutMs: 60_000, maxWaitMs: 60_000 },
      auth: {
        tenants: {
          acme: {
            keys: [hashApiKey("agent")],
            requestsPerMinute: 1000,
            approval: { tools: ["sink.delete_object"], timeoutSeconds: 30 },
          },
        },
      },
    }, { vaultKey: "8".repeat(64) });
    try {
      assert(await waitFor(() => gw.gateway.state.health().up));
      const client = new Client({ name: "acted-loop", version: "1.0.0" }, {
        capabilities: { elicitation: {} },
      });
      client.setRequestHandler(
        ElicitRequestSchema,
        () => Promise.resolve({ action: "accept", content: { approve: true } }),
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
          requestInit: { headers: { authorization: "Bearer agent" } },
        }),
      );
      const started = Date.now();
      try {
        const out = await client.callTool(
          {
            name: "execute_code",
            arguments: {
              code: `let n = 0;
              for (let i = 0; i < ${CALLS}; i++) {
                await sink.delete_object({ bucket: "b", key: "k" + i }); n++;
              }
              return n`,
            },
          },
          undefined,
          { timeout: 120_000 },
        );
        console.log(
          "result",
          JSON.stringify((out.structuredContent as { result?: unknown }).result),
        );
      } finally {
        await client.close().catch(() => {});
      }
      const free = Number(
        await redisCli(
          redis.port,
          "EVAL",
          "return #redis.call('KEYS', ARGV[1])",
          "0",
          "*approvalacted:acme:*",
        ),
      );
      const hashLen = async (pattern: string) => {
        const key = (await redisCli(redis.port, "--scan", "--pattern", pattern)).split("\n")[0];
        return key ? Number(await redisCli(redis.port, "HLEN", key)) : 0;
      };
      const acted = await hashLen("*approvalsacted:acme");
      const brief = await hashLen("*approvalsbrief:acme");
      console.log(
        `${CALLS} approvals in ${Date.now() - started} ms: confirmations ${acted} (and ${free} ` +
          `keys of their own), brief records ${brief}`,
      );
      assertEquals(free, 0, "no confirmation key of its own per settlement");
      assert(acted > 0 && acted <= 128, `one tenant holds ${acted} confirmations`);
    } finally {
      await gw.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

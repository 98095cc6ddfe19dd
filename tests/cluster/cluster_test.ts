/**
 * The cluster end to end: real redis-server, PostgreSQL and nginx from Debian's packages, two
 * replicas (`examples/cluster/`) as real processes, clients through nginx's round robin.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Cluster, startCluster } from "../../examples/cluster/cluster.ts";
import { findProgram } from "../../examples/cluster/services.ts";
import { PostgresAuditLog } from "../../observability/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { untag } from "../placeholders.ts";
import { postgresBin, skipWithout, waitFor } from "../services.ts";

const ignore = skipWithout("cluster", {
  "redis-server": findProgram("redis-server"),
  postgresql: postgresBin(),
  nginx: findProgram("nginx"),
});

const DEMO = { authorization: "Bearer demo-key", "content-type": "application/json" };
const LIMITED = { authorization: "Bearer limited-key", "content-type": "application/json" };

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/v1/execute`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, body: parsed };
}

Deno.test({
  name: "cluster: two replicas behind nginx share limits, vault, sessions and audit",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const data = await Deno.makeTempDir({ prefix: "airlock-cluster-data-" });
    let cluster: Cluster | undefined;
    try {
      cluster = await startCluster({ dataDir: data, logs: "null" });
      const c = cluster;
      const [a, b] = c.replicas;

      await t.step(
        "a tenant limited to 10 a minute gets 429 on the 11th, over both replicas",
        async () => {
          const statuses = [];
          for (let i = 0; i < 11; i++) {
            statuses.push((await post(c.url, { code: `return ${i}` }, LIMITED)).status);
          }
          assertEquals(statuses, [...Array(10).fill(200), 429]);
          const audit = await PostgresAuditLog.open(c.postgres.url);
          try {
            await waitFor(async () =>
              (await audit.recentAsync({ tenant: "limited" })).length >= 10
            );
            const rows = await audit.recentAsync({ tenant: "limited" });
            assertEquals(rows.length, 10);
            for (const replica of ["a", "b"]) {
              const mine = await audit.recentAsync({ tenant: "limited", replica });
              assert(mine.length >= 4, `replica ${replica} served ${mine.length} of them`);
            }
          } finally {
            await audit.close();
          }
        },
      );

      await t.step(
        "a placeholder made through replica A reaches a real tool unmasked through B",
        async () => {
          const session = { ...DEMO, "x-airlock-session": "cluster-conv" };
          const first = await post(a.url, { code: "return 'mail ann@example.com'" }, session);
          assertEquals(first.status, 200);
          assertEquals(untag(first.body.result), "mail [EMAIL_1]");
          const ann = first.body.result.slice("mail ".length);
          const path = `${data}/from-b.txt`;
          const second = await post(b.url, {
            code: `await files.writeFile({ path: ${JSON.stringify(path)}, content: "to ${ann}" });
                 return await files.readTextFile({ path: ${JSON.stringify(path)} })`,
          }, session);
          assertEquals(second.status, 200, JSON.stringify(second.body));
          assertEquals(second.body.ok, true, JSON.stringify(second.body.error));
          assertEquals(await Deno.readTextFile(path), "to ann@example.com");
          // What came back is hidden again, with the session's placeholder.
          assert(JSON.stringify(second.body.result).includes(ann));
        },
      );

      await t.step(
        "a read cached through nginx is voided by a write through either replica",
        async () => {
          const session = { ...DEMO, "x-airlock-session": "cluster-cache" };
          const path = JSON.stringify(`${data}/cached.txt`);
          await Deno.writeTextFile(`${data}/cached.txt`, "version 1");
          const read = { code: `return (await files.readTextFile({ path: ${path} })).content` };
          const write = (v: number) => ({
            code: `await files.writeFile({ path: ${path}, content: "version ${v}" }); return 0`,
          });
          // deno-lint-ignore no-explicit-any
          const cached = (reply: { body: any }) => reply.body.tools?.calls?.[0]?.cached === true;
          // Kept by whichever replica read first, served through nginx by the next one. The
          // result is stored in Redis after its response has gone out, so a read right behind
          // it may still be served by a prefetch: read until the kept one serves it.
          const first = await post(c.url, read, session);
          assertEquals(first.body.result, "version 1", JSON.stringify(first.body));
          // deno-lint-ignore no-explicit-any
          let kept: { body: any } = first;
          assert(
            await waitFor(async () => cached(kept = await post(c.url, read, session))),
            `served from the shared cache: ${JSON.stringify(kept.body)}`,
          );
          assertEquals(kept.body.result, "version 1");
          for (const [writer, reader] of [[b, a], [a, b]]) {
            const version = writer === b ? 2 : 3;
            // Kept again (through nginx), then written through one replica directly.
            assert(
              await waitFor(async () => cached(await post(c.url, read, session))),
              "kept before the write",
            );
            const wrote = await post(writer.url, write(version), session);
            assertEquals(wrote.status, 200, JSON.stringify(wrote.body));
            // Read through the other replica: fresh, not the kept result.
            const after = await post(reader.url, read, session);
            assertEquals(after.body.result, `version ${version}`, JSON.stringify(after.body));
            assert(!cached(after), "not served from the cache after the write");
          }
        },
      );

      await t.step("several MCP sessions through nginx each do 20 calls", async () => {
        const clients: Client[] = [];
        try {
          for (let s = 0; s < 3; s++) {
            const client = new Client({ name: `cluster-${s}`, version: "1" });
            await client.connect(
              new StreamableHTTPClientTransport(new URL(`${c.url}/mcp`), {
                requestInit: { headers: { authorization: "Bearer demo-key" } },
              }),
            );
            clients.push(client);
          }
          await Promise.all(clients.map(async (client: Client, s: number) => {
            for (let i = 0; i < 20; i++) {
              const reply = await client.callTool({
                name: "execute_code",
                arguments: { code: `return ${s * 100 + i}` },
              }) as { structuredContent?: { result?: unknown }; isError?: boolean };
              assertEquals(reply.isError, false, JSON.stringify(reply));
              assertEquals(reply.structuredContent?.result, s * 100 + i);
            }
          }));
        } finally {
          for (const client of clients) await client.close().catch(() => {});
        }
      });

      await t.step("both replicas' audit rows are in PostgreSQL", async () => {
        const audit = await PostgresAuditLog.open(c.postgres.url);
        try {
          for (const replica of ["a", "b"]) {
            assert(
              await waitFor(async () =>
                (await audit.recentAsync({ tenant: "demo", replica })).length > 0
              ),
              `rows of replica ${replica}`,
            );
          }
        } finally {
          await audit.close();
        }
      });

      await t.step(
        "stopping Redis gives 503 state_unavailable; restarting it recovers",
        async () => {
          await c.redis.kill();
          let down = await post(c.url, { code: "return 1" }, DEMO);
          assert(
            await waitFor(async () => {
              down = await post(c.url, { code: "return 1" }, DEMO);
              return down.status === 503;
            }),
            `503 while Redis is down, got ${down.status}`,
          );
          assertEquals(down.body.error.kind, "state_unavailable");
          await c.redis.restart();
          assert(
            await waitFor(async () =>
              (await post(c.url, { code: "return 2" }, DEMO)).status === 200
            ),
            "service resumes",
          );
          // Both replicas, not just one.
          for (const r of c.replicas) {
            assert(
              await waitFor(async () =>
                (await post(r.url, { code: "return 3" }, DEMO)).status === 200
              ),
            );
          }
        },
      );

      await t.step("killing one replica leaves the service running", async () => {
        await b.kill();
        for (let i = 0; i < 6; i++) {
          const reply = await post(c.url, { code: `return ${i}` }, DEMO);
          assertEquals(
            reply.status,
            200,
            `request ${i} after the kill: ${JSON.stringify(reply.body)}`,
          );
          assertEquals(reply.body.result, i);
        }
      });
    } finally {
      await cluster?.stop();
      await Deno.remove(data, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Throughput of trivial executions through nginx (round robin) with 1 and with 2 replicas on
 * this machine, each cluster with real Redis (limits, leases, vault) and PostgreSQL (audit),
 * as `deno task cluster` runs it (`examples/cluster/`).
 *
 * Closed loop: `CLUSTER_CLIENTS` clients (default 8) each send the next request when the last
 * is answered, for `CLUSTER_SECONDS` (default 8) after a warm-up. Reported: executions a
 * second answered 200, refusals, p50/p99, and the ratio 2 replicas / 1 replica measured in the
 * same run. Both replicas share the machine's cores with nginx, Redis, PostgreSQL, their
 * sandboxes and this client, so on 2 cores the ratio shows what sharing state costs and how
 * little a second replica can add, not how a second machine would scale.
 *
 * `deno run -A bench/cluster.ts` (needs redis-server, postgresql and nginx installed).
 *
 * @module
 */

import { startCluster } from "../examples/cluster/cluster.ts";
import { findProgram, postgresBin } from "../examples/cluster/services.ts";
import { ms, percentile, table } from "./stats.ts";

const CLIENTS = Number(Deno.env.get("CLUSTER_CLIENTS") ?? 8);
const SECONDS = Number(Deno.env.get("CLUSTER_SECONDS") ?? 8);
const CODE = "const n: number = 40;\nreturn n + 2;";
const HEADERS = { authorization: "Bearer demo-key", "content-type": "application/json" };

interface Figures {
  replicas: number;
  perSecond: number;
  ok: number;
  refused: number;
  failed: number;
  p50: number;
  p99: number;
}

async function measure(replicas: number): Promise<Figures> {
  const cluster = await startCluster({
    replicas,
    logs: "null",
    overrides: {
      // The bench measures capacity, not the demo tenant's rate limit.
      auth: {
        tenants: {
          demo: {
            keys: ["sha256:c48a01f49fd0f2cc404bc3cbbc80e91457a3d41bb429a695243de4c61794155c"],
            requestsPerMinute: 1_000_000,
            maxConcurrent: 64,
          },
        },
      },
    },
  });
  try {
    const once = async () => {
      const started = performance.now();
      const response = await fetch(`${cluster.url}/v1/execute`, {
        method: "POST",
        headers: HEADERS,
        body: JSON.stringify({ code: CODE }),
      });
      await response.body?.cancel();
      return { status: response.status, ms: performance.now() - started };
    };
    for (let i = 0; i < 20; i++) await once(); // warm pools, connections, scripts
    const times: number[] = [];
    let ok = 0, refused = 0, failed = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const r = await once().catch(() => ({ status: 0, ms: 0 }));
        if (r.status === 200) {
          ok++;
          times.push(r.ms);
        } else if (r.status === 503 || r.status === 429) refused++;
        else failed++;
      }
    }));
    return {
      replicas,
      perSecond: ok / SECONDS,
      ok,
      refused,
      failed,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
    };
  } finally {
    await cluster.stop();
  }
}

if (!findProgram("redis-server") || !postgresBin() || !findProgram("nginx")) {
  console.log("## Cluster\n\nskipped: needs redis-server, postgresql and nginx installed\n");
  Deno.exit(0);
}
const one = await measure(1);
const two = await measure(2);
console.log(`## Cluster: trivial executions through nginx

${CLIENTS} clients in a closed loop for ${SECONDS} s each; Redis (limits, leases) and PostgreSQL
(audit) in the path; ${navigator.hardwareConcurrency} cores shared by everything.

${
  table(
    ["replicas", "executions/s (200)", "refused", "failed", "p50", "p99"],
    [one, two].map((f) => [
      f.replicas,
      f.perSecond.toFixed(1),
      f.refused,
      f.failed,
      ms(f.p50),
      ms(f.p99),
    ]),
  )
}

2 replicas / 1 replica: ×${(two.perSecond / one.perSecond).toFixed(2)} throughput on this machine.
`);

/**
 * The differential test of speculation: random sequences of reads and writes against the real
 * filesystem and memory MCP servers, run through two gateways, one with speculation (literal
 * prefetch, session cache, prediction) and one without, must give identical results in every
 * execution and leave identical upstream state (files and the memory graph). The sequences
 * re-read what they just wrote, within one execution and across executions and sessions, so a
 * stale prefetched or cached read would show as a difference. The test also checks that the
 * speculating gateway really served calls from prefetches and from the cache.
 */

import { assert, assertEquals } from "../assert.ts";
import { Prng } from "../pii/prng.ts";
import { filesystemServer, memoryServer } from "../fixtures/servers/reference.ts";
import { type Config, type ExecuteResponse, Gateway, parseConfig } from "../../gateway/mod.ts";

interface Side {
  gateway: Gateway;
  root: string;
  memoryFile: string;
  embeddings: string;
}

async function startSide(speculation: boolean): Promise<Side> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "airlock-diff-fs-" }));
  const memoryFile = `${await Deno.makeTempDir({ prefix: "airlock-diff-mem-" })}/memory.jsonl`;
  const embeddings = await Deno.makeTempDir({ prefix: "airlock-emb-" });
  const config: Config = parseConfig({
    servers: { fs: filesystemServer(root), memory: memoryServer(memoryFile) },
    audit: { path: ":memory:" },
    selection: { embedder: "lexical", cacheDir: embeddings },
    sandbox: { timeoutMs: 10_000, memoryMb: 64 },
    // Prediction needs little history here, so it takes part too.
    speculation: { enabled: speculation, minConfidence: 0.5 },
  });
  const gateway = new Gateway(config, { poolSize: 1, logger: () => {} });
  await gateway.start();
  return { gateway, root, memoryFile, embeddings };
}

async function stopSide(side: Side): Promise<void> {
  await side.gateway.close();
  for (const dir of [side.root, side.memoryFile.replace(/\/[^/]+$/, ""), side.embeddings]) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** One random operation as code; `@ROOT@` stands for the side's filesystem root. */
function randomOp(rng: Prng): string {
  const k = rng.int(0, 3);
  const word = `w${rng.int(0, 999)}`;
  // Some reads name their arguments through a variable: not literal, so never prefetched,
  // but cached across executions of a session like any read.
  const path = rng.next() < 0.3 ? `base + "/f${k}.txt"` : `"@ROOT@/f${k}.txt"`;
  const ops = [
    `fs.readTextFile({ path: ${path} })`,
    `fs.readTextFile({ path: ${path} })`,
    `fs.listDirectory({ path: "@ROOT@" })`,
    `fs.writeFile({ path: "@ROOT@/f${k}.txt", content: "${word}" })`,
    `fs.createDirectory({ path: "@ROOT@/d${k}" })`,
    `memory.readGraph({})`,
    `memory.readGraph({})`,
    `memory.searchNodes({ query: "e${k}" })`,
    `memory.openNodes({ names: ["e${k}"] })`,
    `memory.createEntities({ entities: [{ name: "e${k}", entityType: "t", observations: ["${word}"] }] })`,
    `memory.addObservations({ observations: [{ entityName: "e${k}", contents: ["${word}"] }] })`,
    `memory.deleteEntities({ entityNames: ["e${k}"] })`,
  ];
  return rng.pick(ops);
}

function randomProgram(rng: Prng): string {
  const lines = [`const base = "@ROOT@";`, `const out = [];`];
  const n = rng.int(3, 8);
  for (let i = 0; i < n; i++) {
    lines.push(
      `try { out.push({ ok: await ${
        randomOp(rng)
      } }); } catch (e) { out.push({ error: String(e.message) }); }`,
    );
  }
  lines.push("return out;");
  return lines.join("\n");
}

function normalize(value: unknown, root: string): unknown {
  return JSON.parse(JSON.stringify(value ?? null).replaceAll(root, "<ROOT>"));
}

async function fsState(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(root)) {
    out[entry.name] = entry.isFile ? await Deno.readTextFile(`${root}/${entry.name}`) : "<dir>";
  }
  return Object.fromEntries(Object.entries(out).sort());
}

async function memoryState(file: string): Promise<unknown[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

Deno.test({
  name: "speculation differential: identical results and upstream state with and without",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const on = await startSide(true);
    const off = await startSide(false);
    try {
      let served = 0;
      for (const seed of [13, 1013, 2026]) {
        const rng = new Prng(seed);
        for (let i = 0; i < 14; i++) {
          const program = randomProgram(rng);
          const session = `s${seed}-${i % 2}`;
          const results: unknown[] = [];
          for (const side of [on, off]) {
            const tenant = side.gateway.tenants.list()[0];
            const reply: ExecuteResponse = await side.gateway.execute(
              { code: program.replaceAll("@ROOT@", side.root) },
              { tenant, requestId: `${seed}-${i}`, transport: "http", sessionId: session },
            );
            assert(reply.ok, `${program}\n${JSON.stringify(reply.error)}`);
            if (side === on) {
              served += reply.tools.calls.filter((c) => c.prefetched || c.cached).length;
            } else {
              assert(reply.tools.calls.every((c) => !c.prefetched && !c.cached));
            }
            results.push(normalize(reply.result, side.root));
          }
          assertEquals(results[0], results[1], `seed ${seed}, execution ${i}:\n${program}`);
        }
      }
      assertEquals(await fsState(on.root), await fsState(off.root));
      assertEquals(await memoryState(on.memoryFile), await memoryState(off.memoryFile));
      // Not vacuous: the speculating side served many calls without a fresh upstream call.
      assert(served >= 20, `only ${served} calls were served by speculation`);
    } finally {
      await stopSide(on);
      await stopSide(off);
    }
  },
});

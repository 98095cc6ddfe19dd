/**
 * Tools inside the sandbox, end to end over HTTP: real reference MCP servers from npm
 * (filesystem, memory, everything over stdio and over Streamable HTTP) and the faulty
 * fixture server, called from agent code through the bridge.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { freePort, startTestGateway, type TestGateway } from "../helpers.ts";
import {
  everythingHttpCommand,
  everythingServer,
  filesystemServer,
  memoryServer,
} from "../fixtures/servers/reference.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

/**
 * Starts server-everything over HTTP in its own process group: `npx` runs it through
 * `sh -c` and `node`, so killing `npx` alone would leave those two running after the tests.
 */
async function startEverythingHttp(port: number): Promise<Deno.ChildProcess> {
  const spec = everythingHttpCommand(port);
  const child = new Deno.Command(spec.command, {
    args: spec.args,
    env: spec.env,
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  for (let i = 0; i < 600; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stopGroup(child);
  throw new Error("server-everything (HTTP) did not start");
}

/** Kills the whole process group of `child` (npx, sh, node) and waits for `child` to exit. */
async function stopGroup(child: Deno.ChildProcess): Promise<void> {
  try {
    Deno.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
  await child.status;
}

Deno.test({
  name: "tools: agent code calls real MCP servers through the bridge",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-fs-" });
    for (let i = 0; i < 5; i++) {
      await Deno.writeTextFile(
        `${root}/pkg${i}.json`,
        JSON.stringify({ name: `pkg${i}`, version: `1.${i}.0` }),
      );
    }
    await Deno.writeTextFile(`${root}/contact.txt`, "write to ada@example.com");
    const memoryDir = await Deno.makeTempDir({ prefix: "airlock-memory-" });
    const memoryFile = `${memoryDir}/memory.jsonl`;
    const httpPort = freePort();
    const httpServer = await startEverythingHttp(httpPort);
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({
        servers: {
          filesystem: filesystemServer(root),
          memory: memoryServer(memoryFile),
          everything: everythingServer(),
          remote: { url: `http://127.0.0.1:${httpPort}/mcp` },
          faulty: fixtureServer("faulty"),
        },
        sandbox: {
          timeoutMs: 20_000,
          toolTimeoutMs: 2000,
          maxToolCalls: 150,
          maxConcurrentCallsPerServer: 8,
        },
        selection: { embedder: "lexical" },
        pii: { mode: "off" },
      }, { poolSize: 2 });
      const g = gw;

      await t.step("every server is ready and listed", async () => {
        const ready = await g.get("/readyz");
        const states = Object.fromEntries(
          ready.body.upstreams.map((u: { name: string; state: string }) => [u.name, u.state]),
        );
        assertEquals(states, {
          everything: "ready",
          faulty: "ready",
          filesystem: "ready",
          memory: "ready",
          remote: "ready",
        });
        const tools = await g.get("/v1/tools");
        const ids = tools.body.tools.map((x: { id: string }) => x.id);
        for (const id of ["filesystem.read_text_file", "memory.read_graph", "remote.echo"]) {
          assert(ids.includes(id), `${id} is listed`);
        }
        const read = tools.body.tools.find((x: { id: string }) =>
          x.id === "filesystem.read_text_file"
        );
        assertEquals(read.inputSchema.type, "object");
        assert(read.outputSchema, "output schemas are kept");
      });

      await t.step("namespaced camelCase wrappers, typed and lazily bound", async () => {
        const reply = await g.execute(
          `const listing = await filesystem.listDirectory({ path: ${JSON.stringify(root)} });
           const names = String(listing.content).match(/pkg\\d\\.json/g) ?? [];
           const versions: Record<string, string> = {};
           for (const name of names) {
             const file = await filesystem.readTextFile({ path: ${
            JSON.stringify(root)
          } + "/" + name });
             versions[name] = JSON.parse(file.content).version;
           }
           return versions;`,
          { intent: "read package versions" },
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        assertEquals(reply.result, {
          "pkg0.json": "1.0.0",
          "pkg1.json": "1.1.0",
          "pkg2.json": "1.2.0",
          "pkg3.json": "1.3.0",
          "pkg4.json": "1.4.0",
        });
        assert(reply.tools.injected.includes("filesystem.list_directory"));
        assert(reply.tools.injected.includes("filesystem.read_text_file"));
        assertEquals(reply.tools.calls.length, 6);
        assert(reply.tools.calls.every((c: { ok: boolean; ms: number }) => c.ok && c.ms >= 0));
      });

      await t.step("tools.call by id, a tool the code names lazily, and text results", async () => {
        const reply = await g.execute(
          `const sum = await tools.call("everything.get-sum", { a: 2, b: 3 });
           const echoed = await everything.echo({ message: "hi" });
           const viaHttp = await remote.echo({ message: "over http" });
           return { sum, echoed, remote: viaHttp };`,
          { tools: ["everything.get-sum", "everything.echo", "remote.echo"] },
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        assertMatch(JSON.stringify(reply.result), /5/);
        assertMatch(String((reply.result as { echoed: string }).echoed), /hi/);
        assertMatch(String((reply.result as { remote: string }).remote), /over http/);
      });

      await t.step("structured content comes back as is", async () => {
        const reply = await g.execute(
          `return await everything.getStructuredContent({ location: "New York" });`,
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        const value = reply.result as Record<string, unknown>;
        assert(typeof value === "object" && value !== null && "temperature" in value);
      });

      await t.step("binary content comes back JSON-safe", async () => {
        const reply = await g.execute(`return await everything.getTinyImage({});`);
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        const items = reply.result as Array<{ type: string; mimeType?: string; data?: string }>;
        const image = items.find((i) => i.type === "image");
        assert(image, "an image item");
        assertEquals(image.mimeType, "image/png");
        assertMatch(image.data!, /^[A-Za-z0-9+/]+=*$/);
      });

      await t.step("memory server: write then read the graph", async () => {
        const reply = await g.execute(
          `await memory.createEntities({ entities: [{ name: "Airlock", entityType: "project",
             observations: ["runs code"] }] });
           const graph = await memory.readGraph({});
           return graph.entities.map((e: { name: string }) => e.name);`,
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        assertEquals(reply.result, ["Airlock"]);
      });

      await t.step("100 parallel calls fan out and all succeed", async () => {
        const reply = await g.execute(
          `const results = await Promise.all(Array.from({ length: 100 }, (_, i) =>
             everything.getSum({ a: i, b: 1 })));
           return results.length;`,
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        assertEquals(reply.result, 100);
        assertEquals(reply.tools.calls.length, 100);
      });

      await t.step(
        "a bad argument is refused before the upstream call, naming the field",
        async () => {
          const reply = await g.execute(
            `try { await filesystem.readTextFile({ path: 42 }); }
           catch (e) { return { name: e.name, message: e.message }; }`,
          );
          assertEquals((reply.result as { name: string }).name, "ToolError");
          assertMatch(
            (reply.result as { message: string }).message,
            /invalid arguments: path must be string/,
          );
          const missing = await g.execute(`await filesystem.readTextFile({});`);
          assertEquals(missing.error?.kind, "tool");
          assertMatch(missing.error!.message, /path is required/);
        },
      );

      await t.step("an unknown tool fails as a ToolError, not a crash", async () => {
        const reply = await g.execute(`await filesystem.launchMissiles({});`);
        assertEquals(reply.ok, false);
        assertEquals(reply.error?.kind, "tool");
        assertMatch(reply.error!.message, /no tool filesystem\.launchMissiles/);
      });

      await t.step("a tool outside the request's tools list is refused", async () => {
        const reply = await g.execute(
          `return await tools.call("memory.read_graph", {});`,
          { tools: ["filesystem.list_directory"] },
        );
        assertEquals(reply.ok, false);
        assertMatch(reply.error!.message, /not available to this execution/);
        assertEquals(reply.tools.calls[0].ok, false);
      });

      await t.step("an upstream error becomes a ToolError with the server's message", async () => {
        const reply = await g.execute(
          `await filesystem.readTextFile({ path: "/etc/passwd" });`,
        );
        assertEquals(reply.error?.kind, "tool");
        assertMatch(reply.error!.message, /ToolError: .*(denied|outside|not allowed)/i);
      });

      await t.step("a hanging tool times out; the code can catch it and go on", async () => {
        const reply = await g.execute(
          `let failure = "";
           try { await faulty.hang({}); } catch (e) { failure = e.message; }
           const still = await faulty.echo({ text: "alive" });
           return { failure, still };`,
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        assertMatch((reply.result as { failure: string }).failure, /time/i);
        assertMatch(JSON.stringify(reply.result), /alive/);
      });

      await t.step("calls made before a timeout are still reported", async () => {
        const reply = await g.execute(
          `await faulty.echo({ text: "side effect" });
           while (true) {}`,
          { limits: { timeoutMs: 1500 } },
        );
        assertEquals(reply.error?.kind, "timeout");
        assertEquals(reply.tools.calls.length, 1);
        assertEquals(reply.tools.calls[0].tool, "faulty.echo");
        assertEquals(reply.tools.calls[0].ok, true);
      });

      await t.step("the per-execution call cap holds", async () => {
        const reply = await g.execute(
          `let n = 0;
           try { for (let i = 0; i < 200; i++) { await everything.getSum({ a: 1, b: 1 }); n++; } }
           catch (e) { return { n, message: e.message }; }`,
        );
        assertEquals((reply.result as { n: number }).n, 150);
        assertMatch((reply.result as { message: string }).message, /limit of 150 tool calls/);
      });

      await t.step("a crashing server fails fast, others keep working", async () => {
        const reply = await g.execute(
          `let crash = "";
           try { await faulty.crash({}); } catch (e) { crash = e.message; }
           let after = "";
           try { await faulty.echo({ text: "x" }); } catch (e) { after = e.message; }
           const fine = await everything.getSum({ a: 1, b: 2 });
           return { crash, after, fine };`,
        );
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        const result = reply.result as { crash: string; after: string; fine: unknown };
        assert(result.crash.length > 0, "the crash surfaced as an error");
        assertMatch(result.after, /unavailable: server faulty is (failed|connecting)/);
        assertMatch(JSON.stringify(result.fine), /3/);
        const health = await g.get("/healthz");
        assertEquals(health.status, 200);
      });

      await t.step("tools.search works inside the sandbox", async () => {
        const reply = await g.execute(`return await tools.search("read a file", 3);`);
        assertEquals(reply.ok, true, JSON.stringify(reply.error));
        const hits = reply.result as Array<{ id: string; signature: string }>;
        assertEquals(hits.length, 3);
        assert(hits.some((h) => h.id.startsWith("filesystem.read")), JSON.stringify(hits));
        assertMatch(hits[0].signature, /\(args/);
      });
    } finally {
      await gw?.close();
      await stopGroup(httpServer);
      await Deno.remove(root, { recursive: true });
      await Deno.remove(memoryDir, { recursive: true });
    }
  },
});

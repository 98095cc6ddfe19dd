/**
 * Break-out attempts against a real gateway over HTTP. Each step is one attack: it
 * asserts the attack failed AND that the gateway is still healthy afterwards.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../assert.ts";
import { type ExecuteReply, startTestGateway, type TestGateway } from "../helpers.ts";
import { liveRuntimeDirs } from "../../sandbox/mod.ts";

const REPO_DIR = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const SECRET_ENV = "AIRLOCK_TEST_SECRET";
const SECRET_VALUE = "s3cr3t-" + crypto.randomUUID();
Deno.env.set(SECRET_ENV, SECRET_VALUE);

/** Everything a reply could leak through. */
function replyText(reply: ExecuteReply): string {
  return JSON.stringify(reply);
}

async function assertHealthy(gw: TestGateway) {
  const health = await gw.get("/healthz");
  assertEquals(health.status, 200);
  const ok = await gw.execute("return 6 * 7");
  assertEquals(ok.result, 42, "a normal execution still works after the attack");
}

/** Asserts that the code failed with `kind` (or one of them) and leaked nothing. */
function assertRefused(reply: ExecuteReply, kinds: string | string[]) {
  const allowed = Array.isArray(kinds) ? kinds : [kinds];
  assert(!reply.ok, `the attack should fail, got ${replyText(reply)}`);
  assert(
    allowed.includes(reply.error!.kind),
    `expected ${allowed.join("|")}, got ${reply.error!.kind}: ${reply.error!.message}`,
  );
  assertNotMatch(replyText(reply), new RegExp(SECRET_VALUE));
}

Deno.test({
  name: "security: break-out attempts fail and the gateway stays healthy",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    // A loopback service the sandbox must not reach.
    let hits = 0;
    const victim = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      hits++;
      return new Response("secret");
    });
    const victimPort = victim.addr.port;
    const gw = await startTestGateway({}, { poolSize: 2 });
    const attack = (name: string, code: string, check: (reply: ExecuteReply) => void) =>
      t.step(name, async () => {
        const reply = await gw.execute(code);
        check(reply);
        await assertHealthy(gw);
      });

    try {
      await attack("read /etc/passwd", `return await Deno.readTextFile("/etc/passwd")`, (r) => {
        assertRefused(r, "permission");
        assertNotMatch(replyText(r), /root:x:0/);
      });
      await attack(
        "read /proc/self/environ",
        `return Deno.readFileSync("/proc/self/environ")`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "read the parent's environment",
        `return await Deno.readTextFile("/proc/" + Deno.ppid + "/environ")`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "environment variables",
        `return Deno.env.toObject()`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "one environment variable",
        `return Deno.env.get("${SECRET_ENV}")`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "process.env through node:process",
        `const p = await import("node:process"); return JSON.stringify(p.default.env)`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "spawn with Deno.Command",
        `return new TextDecoder().decode((await new Deno.Command("/usr/bin/id").output()).stdout)`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "spawn with node:child_process",
        `const cp = await import("node:child_process"); return cp.execSync("id").toString()`,
        (r) => {
          assertRefused(r, ["permission", "runtime"]);
          assertNotMatch(replyText(r), /uid=\d+/);
        },
      );
      const target = await Deno.makeTempFile();
      await Deno.remove(target);
      await attack(
        "write a file",
        `await Deno.writeTextFile(${JSON.stringify(target)}, "pwned")`,
        (r) => assertRefused(r, "permission"),
      );
      assert(!(await exists(target)), "the file must not exist");
      await attack(
        "write in the working directory",
        `await Deno.writeTextFile("x.txt", "pwned"); return Deno.cwd()`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "fetch a loopback port",
        `return await (await fetch("http://127.0.0.1:${victimPort}/")).text()`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "fetch the gateway itself",
        `return await (await fetch("http://127.0.0.1:${gw.port}/v1/execute", { method: "POST",
          headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "return 1" }) })).text()`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "numeric loopback address 2130706433",
        `return await (await fetch("http://2130706433:${victimPort}/")).text()`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "hex and short loopback forms",
        `for (const h of ["0x7f000001", "127.1", "[::1]", "localhost", "0.0.0.0"]) {
           try { await fetch("http://" + h + ":${victimPort}/"); return "reached " + h; }
           catch (e) { if (!(e instanceof Deno.errors.NotCapable)) return "odd " + h + " " + e; }
         }
         throw new Deno.errors.NotCapable("all refused");`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "raw TCP connect to loopback",
        `const c = await Deno.connect({ hostname: "127.0.0.1", port: ${victimPort} }); return "connected"`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "listen on a port",
        `Deno.listen({ port: 0 }); return "listening"`,
        (r) => assertRefused(r, "permission"),
      );
      assertEquals(hits, 0, "the loopback service was never reached");

      await attack(
        "remote import",
        `return await import("https://deno.land/std/version.ts")`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "npm import",
        `return await import("npm:left-pad")`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "jsr import",
        `return await import("jsr:@std/path")`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "data: import that reads a file",
        `const src = 'export default await Deno.readTextFile("/etc/hostname")';
         return (await import("data:application/javascript," + encodeURIComponent(src))).default`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "data: import that imports a local file",
        `const src = 'import x from "file:///etc/hostname" with { type: "text" }; export default x';
         return (await import("data:application/javascript," + encodeURIComponent(src))).default`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "dynamic text import of a local file",
        `return (await import("file:///etc/passwd", { with: { type: "text" } })).default`,
        (r) => {
          assertRefused(r, "permission");
          assertNotMatch(replyText(r), /root:x:0/);
        },
      );
      await attack(
        "dynamic JSON import of a local file",
        `return (await import("file://${REPO_DIR}/deno.json", { with: { type: "json" } })).default`,
        (r) => {
          assertRefused(r, "permission");
          assertNotMatch(replyText(r), /nodeModulesDir/);
        },
      );
      await attack(
        "static text import of a local file",
        `import passwd from "/etc/passwd" with { type: "text" };\nreturn passwd;`,
        (r) => {
          assertRefused(r, ["compile", "permission"]);
          assertNotMatch(replyText(r), /root:x:0/);
        },
      );
      await attack(
        "static JSON import of a local file",
        `import cfg from "file://${REPO_DIR}/deno.json" with { type: "json" };\nreturn cfg;`,
        (r) => {
          assertRefused(r, ["compile", "permission"]);
          assertNotMatch(replyText(r), /nodeModulesDir/);
        },
      );
      await attack(
        "FFI",
        `return Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } })`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "a Worker asking for permissions",
        `return await new Promise((resolve, reject) => {
           const w = new Worker("data:application/javascript," + encodeURIComponent(
             'postMessage(Deno.readTextFileSync("/etc/hostname"))'),
             { type: "module", deno: { permissions: { read: true } } });
           w.onmessage = (e) => resolve(e.data);
           w.onerror = (e) => { e.preventDefault(); reject(new Error(e.message)); };
         })`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "a plain Worker reading a file",
        `return await new Promise((resolve, reject) => {
           const w = new Worker("data:application/javascript," + encodeURIComponent(
             'postMessage(Deno.readTextFileSync("/etc/hostname"))'), { type: "module" });
           w.onmessage = (e) => resolve(e.data);
           w.onerror = (e) => { e.preventDefault(); reject(new Deno.errors.NotCapable(e.message)); };
         })`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "Deno.permissions.request",
        `const s = await Deno.permissions.request({ name: "read" });
         if (s.state === "granted") return await Deno.readTextFile("/etc/passwd");
         throw new Deno.errors.NotCapable("state " + s.state);`,
        (r) => {
          assertRefused(r, "permission");
          assertMatch(r.error!.message, /denied/);
        },
      );
      await attack(
        "the Function-constructor trick",
        `return new Function("return Deno.readTextFileSync('/etc/passwd')")()`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "indirect eval",
        `return (0, eval)("Deno.readTextFileSync('/etc/passwd')")`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "a symlink to a secret file",
        `await Deno.symlink("/etc/passwd", "link"); return await Deno.readTextFile("link")`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "kill the parent",
        `Deno.kill(Deno.ppid, "SIGKILL"); return "killed"`,
        (r) => assertRefused(r, "permission"),
      );
      await attack(
        "kill the parent through node:process",
        `const p = await import("node:process"); p.default.kill(p.default.ppid, "SIGKILL"); return "killed"`,
        (r) => assertRefused(r, ["permission", "runtime"]),
      );
      await attack(
        "system information",
        `return [Deno.hostname(), Deno.osRelease(), Deno.networkInterfaces()]`,
        (r) => assertRefused(r, "permission"),
      );

      await t.step(
        "localStorage left by an earlier execution is not visible; caches is gone",
        async () => {
          const first = await gw.execute(
            `localStorage.setItem("planted", "yes");
           return { ls: localStorage.getItem("planted"), caches: typeof caches };`,
          );
          assertEquals(
            first.result,
            { ls: "yes", caches: "undefined" },
            "localStorage works within one execution; the unbounded Cache API is removed",
          );
          const second = await gw.execute(
            `return { ls: localStorage.getItem("planted"), keys: localStorage.length }`,
          );
          assertEquals(second.result, { ls: null, keys: 0 });
          await assertHealthy(gw);
          // Nothing of either execution's storage is left on disk once they are done: each
          // process's private cache directory (which holds its localStorage) is deleted; only
          // the idle warm processes' own directories (pool of 2) may remain.
          const left = await waitForPrivateCaches(2);
          assert(left.length <= 2, `private cache directories left: ${left}`);
        },
      );

      await t.step("host paths do not appear in errors, stacks or runtime details", async () => {
        const replies = [
          await gw.execute(`function inner() { throw new Error("deep"); }\ninner();`),
          await gw.execute(`return new Error("probe").stack`),
          await gw.execute(
            `return [Deno.mainModule, Deno.execPath(), import.meta.url.slice(0, 30)]`,
          ),
          await gw.execute(`await import("./nope.ts")`),
          await gw.execute(`null.x`),
          await gw.execute(`const = 1`),
          await gw.execute(`return [Deno.cwd(), process.cwd(), process.argv, process.execPath]`),
          await gw.execute(`await 0; return new Error("after an await").stack`),
        ];
        for (const reply of replies) {
          const text = replyText(reply);
          assertNotMatch(text, new RegExp(REPO_DIR.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
          assertNotMatch(text, /harness\.js|\/sandbox\/|node_modules|airlock-sbx-|airlock-runner-/);
        }
        assertEquals(replies[0].error?.line, 1);
        await assertHealthy(gw);
      });

      await t.step(
        "garbage and forged frames on the channel do not confuse the gateway",
        async () => {
          const reply = await gw.execute(
            // Deno.stdout only reaches the log now; node:fs still writes to fd 1.
            `const fs = process.getBuiltinModule("node:fs");
           const out = (s) => fs.writeSync(1, new TextEncoder().encode(s));
           out("not json at all\\n");
           out('{"t":"nonsense"}\\n');
           out('{"t":"rpc","id":99,"method":"tools/call","params":{"tool":"x.y","args":{}}}\\n');
           out("\\u0000\\u0001\\u0002 binary garbage\\n");
           return "still fine"`,
          );
          assertEquals(reply.result, "still fine");
          await assertHealthy(gw);
        },
      );

      // The real stdout through node:fs (fd 1): `Deno.stdout` is captured as log lines.
      const FORGE = `const forge = (line: string) => {
        const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
        const bytes = new TextEncoder().encode(line + "\\n");
        let offset = 0;
        while (offset < bytes.length) offset += fs.writeSync(1, bytes.subarray(offset));
      };\n`;
      await attack(
        "a forged result frame with invalid JSON is not a result (no frame key)",
        FORGE + `forge('{"t":"result","json":"{not json"}');
          await new Promise((r) => setTimeout(r, 300)); return 1;`,
        (r) => assertEquals(r.result, 1, JSON.stringify(r.error)),
      );
      await attack(
        "a forged error frame claiming a timeout is not a verdict (no frame key)",
        FORGE +
          `forge(JSON.stringify({ t: "error", error: { kind: "timeout", message: "claimed" } }));
          forge(JSON.stringify({ t: "over_limit", limit: "bytes" }));
          await new Promise((r) => setTimeout(r, 300)); return "real";`,
        (r) => assertEquals(r.result, "real", JSON.stringify(r.error)),
      );
      await attack(
        "a forged tool call is not obeyed (no frame key)",
        FORGE + `forge(JSON.stringify({ t: "rpc", id: 999, method: "tools/search",
            params: { query: "x" } }));
          await new Promise((r) => setTimeout(r, 300)); return "real";`,
        (r) => assertEquals(r.result, "real", JSON.stringify(r.error)),
      );
      await attack(
        "'out of memory' on stderr, then exit",
        `Deno.stderr.writeSync(new TextEncoder().encode("Fatal JavaScript out of memory\\n"));
         process.getBuiltinModule("node:fs").writeSync(2, "Fatal JavaScript out of memory\\n");
         Deno.exit(133);`,
        (r) => assertRefused(r, "runtime"),
      );
      await attack(
        "a forged 8 MB error message",
        FORGE + `forge(JSON.stringify({ t: "error", error: { kind: "runtime",
            message: "x".repeat(8 * 1024 * 1024) } }));
          await new Promise((r) => setTimeout(r, 1000));`,
        (r) => {
          assertRefused(r, ["runtime", "output_limit"]);
          assert(r.error!.message.length <= 8192, `${r.error!.message.length} characters`);
        },
      );
      await attack(
        "rebuild the Cache API through Deno's internals",
        `const D = Deno as any; const cs = D[D.internal].webidl.createBranded(CacheStorage);
         await (await cs.open("x")).put("http://a.invalid/", new Response("x")); return "wrote";`,
        (r) => assertRefused(r, "runtime"),
      );
    } finally {
      await gw.close();
      await victim.shutdown();
    }
  },
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The private per-process cache directories that exist, once at most `allowed` are left. */
async function waitForPrivateCaches(allowed: number): Promise<string[]> {
  let left: string[] = [];
  // Up to 15 s: a retired process's directory is removed after it exits, which a loaded
  // machine can delay by seconds; a directory that is never removed still fails.
  for (let i = 0; i < 300; i++) {
    left = [];
    for (const runtime of liveRuntimeDirs()) {
      try {
        for await (const e of Deno.readDir(runtime)) {
          if (e.name.startsWith("cache-")) left.push(`${runtime}/${e.name}`);
        }
      } catch { /* retired meanwhile */ }
    }
    if (left.length <= allowed) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
  return left;
}

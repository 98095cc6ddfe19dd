/** main.ts as a user runs it: `serve` with --config/--port and their variables, `exec`. */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { freePort } from "../helpers.ts";
import { MAIN, startGatewayProcess, writeConfig } from "./process.ts";

async function waitForHealth(url: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 200 && !exited; i++) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway at ${url} did not come up`);
}

function serve(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return child;
}

/** Runs a busy loop through the gateway on `port`; its timeout error tells which limit applied. */
async function runForever(port: number) {
  const reply = await fetch(`http://127.0.0.1:${port}/v1/execute`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: "while (true) {}" }),
  });
  return await reply.json();
}

Deno.test("serve honours --config and --port", async () => {
  const config = await writeConfig({ sandbox: { timeoutMs: 1000 } });
  const port = freePort();
  const child = serve(["--config", config, "--port", String(port)]);
  try {
    await waitForHealth(`http://127.0.0.1:${port}`, child);
    const body = await runForever(port);
    assertEquals(body.error.kind, "timeout");
    assertMatch(body.error.message, /1000 ms/, "the configured timeout applies");
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).bytes());
    assertMatch(stderr, /"msg":"listening"/);
    assertMatch(stderr, /loopback only/);
    assertEquals(status.code, 0, "SIGTERM shuts down cleanly");
    await Deno.remove(config);
  }
});

Deno.test("serve honours AIRLOCK_CONFIG and AIRLOCK_PORT", async () => {
  const config = await writeConfig({ sandbox: { timeoutMs: 700 } });
  const port = freePort();
  const child = serve([], { AIRLOCK_CONFIG: config, AIRLOCK_PORT: String(port) });
  try {
    await waitForHealth(`http://127.0.0.1:${port}`, child);
    assertMatch((await runForever(port)).error.message, /700 ms/);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel();
    await Deno.remove(config);
  }
});

Deno.test("serve refuses a bad configuration with the field named", async () => {
  const config = await writeConfig({ sandbox: { timeoutMs: "soon" } });
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--config", config],
  }).output();
  assertEquals(output.code, 2);
  assertMatch(new TextDecoder().decode(output.stderr), /sandbox\.timeoutMs/);
  await Deno.remove(config);
});

Deno.test("serve refuses a non-loopback address without auth", async () => {
  const config = await writeConfig({});
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--config", config, "--host", "0.0.0.0"],
  }).output();
  assertEquals(output.code, 2);
  assertMatch(new TextDecoder().decode(output.stderr), /loopback only/);
  await Deno.remove(config);
});

Deno.test("exec runs one file through the pipeline and prints JSON", async () => {
  const config = await writeConfig({});
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, "const n: number = 21;\nconsole.log('doubling');\nreturn n * 2;");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "exec", file, "--config", config],
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  const body = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(body.ok, true);
  assertEquals(body.result, 42);
  assertEquals(body.logs, [{ level: "log", text: "doubling" }]);

  await Deno.writeTextFile(file, "throw new Error('x')");
  const failed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "exec", file, "--config", config],
  }).output();
  assertEquals(failed.code, 1, "failed code exits 1");
  assert(JSON.parse(new TextDecoder().decode(failed.stdout)).error.kind === "runtime");

  // --check: a type error, and nothing runs (the log line before it is not written).
  await Deno.writeTextFile(file, "console.log('ran');\nconst n: number = 'x';\nreturn n;");
  const checked = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "exec", file, "--config", config, "--check"],
  }).output();
  assertEquals(checked.code, 1);
  const refused = JSON.parse(new TextDecoder().decode(checked.stdout));
  assertEquals(refused.error.kind, "type");
  assertEquals(refused.error.diagnostics[0].line, 2);
  assertEquals(refused.logs, []);
  await Deno.remove(file);
  await Deno.remove(config);
});

Deno.test({
  name: "serve drains running executions on SIGTERM before it exits",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({
      audit: { path: ":memory:" },
      selection: { embedder: "lexical" },
    });
    const gw = await startGatewayProcess(config);
    try {
      const pending = fetch(`${gw.url}/v1/execute`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          code: "await new Promise((r) => setTimeout(r, 1500)); return 'finished';",
        }),
      });
      await new Promise((r) => setTimeout(r, 400));
      const stopped = gw.stop();
      const reply = await pending;
      assertEquals(reply.status, 200);
      assertEquals((await reply.json()).result, "finished", "the running execution completed");
      assertEquals((await stopped).code, 0);
      assertMatch(gw.logs(), /draining/);
    } finally {
      await gw.stop();
      await Deno.remove(config);
    }
  },
});

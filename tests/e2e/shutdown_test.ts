/**
 * Graceful shutdown of the real process (`main.ts serve`, `main.ts mcp`) on a real signal:
 * the process exits only after the executions running at the signal are answered (or ended)
 * and their records, with their tool calls, are in the audit (SQLite file or PostgreSQL), or
 * their loss is logged with its count and the exit code says so. A second signal ends the
 * running executions but never skips writing their records.
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { AuditLog, type AuditRecord, PostgresAuditLog } from "../../observability/mod.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { postgresBin, type PostgresService, skipWithout, startPostgres } from "../services.ts";
import { type GatewayProcess, MAIN, REPO, startGatewayProcess, writeConfig } from "./process.ts";

const LEDGER = new URL("../fixtures/servers/ledger.ts", import.meta.url).pathname;
const ignorePostgres = skipWithout("shutdown (PostgreSQL audit)", { postgresql: postgresBin() });

/** A configuration with the ledger server and `audit` as given. */
function ledgerConfig(audit: Record<string, unknown>) {
  return writeConfig({
    servers: { ledger: { command: Deno.execPath(), args: ["run", "-A", LEDGER] } },
    selection: { embedder: "lexical" },
    audit,
  });
}

/** Code that says it started (a `log` event) and then writes `key` after `delayMs`. */
function writeAfterLog(key: string, delayMs: number): string {
  return `console.log("started");
await ledger.write({ key: ${JSON.stringify(key)}, delayMs: ${delayMs} });
return "written";`;
}

/**
 * Starts `code` as an event stream and resolves once its first `log` event arrived (the
 * execution is running); `rest` then resolves with the `result` (or `error`) event's data.
 */
async function startStreaming(gw: GatewayProcess, code: string) {
  const reply = await fetch(`${gw.url}/v1/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ code }),
  });
  assertEquals(reply.status, 200);
  const reader = reply.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const readUntil = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${pattern}:\n${text}`);
      text += value;
    }
  };
  await readUntil(/event: log/);
  return {
    /** The final event: `{ event, data }`. */
    async rest(): Promise<{ event: string; data: Record<string, unknown> }> {
      await readUntil(/event: (result|error)\ndata: .*\n/);
      const match = text.match(/event: (result|error)\ndata: (.*)\n/)!;
      await reader.cancel().catch(() => {});
      return { event: match[1], data: JSON.parse(match[2]) };
    },
  };
}

/** Waits until the process has logged `pattern` (it is still running). */
async function waitForLog(gw: GatewayProcess, pattern: RegExp): Promise<void> {
  while (!pattern.test(gw.logs())) await new Promise((r) => setTimeout(r, 20));
}

/** The one execution recorded in the SQLite audit at `path`. */
function sqliteRecords(path: string): AuditRecord[] {
  const audit = AuditLog.open(path);
  try {
    return audit.recent();
  } finally {
    audit.close();
  }
}

/** Asserts one recorded execution with its `ledger.write` call. */
function assertOneWrite(records: AuditRecord[], ok: boolean): void {
  assertEquals(records.length, 1, `one execution on the record: ${JSON.stringify(records)}`);
  assertEquals(records[0].ok, ok);
  assertEquals(records[0].calls.map((c) => c.tool), ["ledger.write"], "with its tool call");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-shutdown-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Starts `main.ts serve` with the ledger server and `audit` ({@link ledgerConfig}), runs `fn`
 * with it, and stops it (waiting for its exit) whatever `fn` did.
 */
async function withLedgerGateway(
  audit: Record<string, unknown>,
  fn: (gw: GatewayProcess) => Promise<void>,
): Promise<void> {
  const gw = await startGatewayProcess(await ledgerConfig(audit));
  try {
    await fn(gw);
  } finally {
    await gw.stop();
  }
}

Deno.test({
  name: "serve: SIGTERM during an execution: answered, recorded with its call, then exit 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/audit.db`;
      await withLedgerGateway({ path }, async (gw) => {
        const running = await startStreaming(gw, writeAfterLog("during-shutdown", 1500));
        const stopped = gw.stop();
        const { event, data } = await running.rest();
        assertEquals(event, "result");
        assertEquals(data.result, "written", "the running execution completed");
        assertEquals((await stopped).code, 0, gw.logs());
        assertOneWrite(sqliteRecords(path), true);
        assertMatch(gw.logs(), /"msg":"shut down"/);
      });
    });
  },
});

Deno.test({
  name: "serve: several executions finishing during the drain are all recorded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/audit.db`;
      await withLedgerGateway({ path }, async (gw) => {
        const running = [];
        for (let i = 0; i < 3; i++) {
          running.push(await startStreaming(gw, writeAfterLog(`k${i}`, 300 + 400 * i)));
        }
        const stopped = gw.stop();
        for (const r of running) assertEquals((await r.rest()).data.result, "written");
        assertEquals((await stopped).code, 0, gw.logs());
        const records = sqliteRecords(path);
        assertEquals(records.length, 3, JSON.stringify(records));
        for (const r of records) assertEquals(r.calls.map((c) => c.tool), ["ledger.write"]);
      });
    });
  },
});

Deno.test({
  name: "serve: a second SIGTERM ends the running execution, and its record is still written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/audit.db`;
      await withLedgerGateway({ path }, async (gw) => {
        // Longer than the drain: only the second signal ends it.
        const running = await startStreaming(gw, writeAfterLog("never", 600_000));
        const stopped = gw.stop();
        await waitForLog(gw, /draining running executions/);
        gw.kill("SIGTERM");
        const { data } = await running.rest();
        assert(data.ok !== true, `ended, not finished: ${JSON.stringify(data)}`);
        const status = await stopped;
        assertOneWrite(sqliteRecords(path), false);
        assertEquals(status.code, 0, gw.logs());
        assertMatch(gw.logs(), /SIGTERM again/);
      });
    });
  },
});

Deno.test({
  name: "mcp over stdio: a second SIGTERM ends the running call, and its record is still written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/audit.db`;
      const config = await ledgerConfig({ path });
      const transport = new StdioClientTransport({
        command: Deno.execPath(),
        args: ["run", "-A", MAIN, "mcp", "--config", config],
        cwd: REPO,
        stderr: "pipe",
      });
      let stderr = "";
      transport.stderr?.on(
        "data",
        (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk),
      );
      const client = new Client({ name: "airlock-test", version: "1.0.0" });
      let started!: () => void;
      const running = new Promise<void>((resolve) => started = resolve);
      client.setNotificationHandler(LoggingMessageNotificationSchema, () => started());
      // The process ends by itself once the record is written: its stdout closes.
      const exited = new Promise<void>((resolve) => client.onclose = () => resolve());
      await client.connect(transport);
      const pid = transport.pid!;
      try {
        await client.setLoggingLevel("debug");
        const call = client.callTool({
          name: "execute_code",
          arguments: { code: writeAfterLog("never", 600_000) },
        }).catch((error: unknown) => error);
        await running;
        Deno.kill(pid, "SIGTERM");
        // Bounded: a process that never says it is draining still gets its second signal.
        for (let i = 0; i < 500 && !/draining running executions/.test(stderr); i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        try {
          Deno.kill(pid, "SIGTERM");
        } catch { /* already gone: what it recorded is checked below */ }
        await call;
        await exited;
        assertOneWrite(sqliteRecords(path), false);
        assertMatch(stderr, /SIGTERM again/);
      } finally {
        await client.close();
      }
    });
  },
});

/** Whether a sandbox process running Deno descends from process `ancestor`. */
async function runsSandbox(ancestor: number): Promise<boolean> {
  const parentOf = async (pid: number) => {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  };
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (!cmdline.includes("airlock-runner-")) continue;
      if (Deno.readLinkSync(`/proc/${entry.name}/exe`) !== Deno.execPath()) continue;
      let pid = Number(entry.name);
      for (let depth = 0; depth < 8 && pid > 1; depth++) {
        pid = await parentOf(pid);
        if (pid === ancestor) return true;
      }
    } catch { /* gone meanwhile */ }
  }
  return false;
}

Deno.test({
  name: "exec: SIGTERM while the snippet runs: it finishes and is recorded before exit",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/audit.db`;
      const file = `${dir}/snippet.ts`;
      await Deno.writeTextFile(file, writeAfterLog("exec-during-shutdown", 1500));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "exec", file, "--config", await ledgerConfig({ path })],
        cwd: REPO,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      // The snippet runs once its sandbox process does (exec keeps no warm pool).
      while (!await runsSandbox(child.pid)) await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGTERM");
      const { code, stdout, stderr } = await output;
      const text = new TextDecoder().decode(stderr);
      assertEquals(JSON.parse(new TextDecoder().decode(stdout)).result, "written", text);
      assertEquals(code, 0, text);
      assertOneWrite(sqliteRecords(path), true);
    });
  },
});

async function withPostgres(fn: (pg: PostgresService) => Promise<void>) {
  const pg = await startPostgres();
  try {
    await fn(pg);
  } finally {
    await pg.stop();
  }
}

async function postgresRecords(url: string): Promise<AuditRecord[]> {
  const audit = await PostgresAuditLog.open(url);
  try {
    return await audit.recentAsync();
  } finally {
    await audit.close();
  }
}

Deno.test({
  name: "serve (PostgreSQL audit): SIGTERM during an execution: recorded with its call, exit 0",
  ignore: ignorePostgres,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withPostgres(async (pg) => {
      await withLedgerGateway({ url: pg.url }, async (gw) => {
        const running = await startStreaming(gw, writeAfterLog("during-shutdown", 1500));
        const stopped = gw.stop();
        assertEquals((await running.rest()).data.result, "written");
        assertEquals((await stopped).code, 0, gw.logs());
        assertOneWrite(await postgresRecords(pg.url), true);
      });
    });
  },
});

Deno.test({
  name: "serve (PostgreSQL audit): a store gone during the drain: the loss logged, exit 1",
  ignore: ignorePostgres,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withPostgres(async (pg) => {
      await withLedgerGateway({ url: pg.url }, async (gw) => {
        const running = await startStreaming(gw, writeAfterLog("store-gone", 1500));
        const stopped = gw.stop();
        await pg.stop();
        assertEquals((await running.rest()).data.result, "written");
        const status = await stopped;
        assertMatch(gw.logs(), /audit closed with 1 records not written/);
        assertMatch(gw.logs(), /shut down with 1 audit records not written/);
        assertEquals(status.code, 1, "the exit code says records were lost");
      });
    });
  },
});

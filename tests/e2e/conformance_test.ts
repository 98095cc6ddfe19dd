/**
 * The official MCP conformance suite against the real gateway (`main.ts serve` on an ephemeral
 * port): its `dns-rebinding-protection` scenario sends `initialize` to `/mcp` with a foreign
 * `Host`/`Origin` (must be refused with a 4xx) and with `localhost` (must be served); its
 * `logging-set-level` scenario sends `logging/setLevel` (must answer `{}`); and the protocol
 * basics: `server-initialize`, `ping`, `tools-list`, `server-sse-multiple-streams`.
 *
 * The suite's other server scenarios call tools, prompts and resources of its own reference
 * server (`test_image_content`, `test_tool_with_logging`, `test_prompt_with_arguments`, …) or
 * need completion, sampling or elicitation, which Airlock does not have by design; they are
 * not run here. (`tools-call-simple-text` and `tools-call-error` pass only because calling an
 * unknown tool gives an error result with text, so they prove nothing and are left out too.)
 *
 * The suite needs Node 22's `fs.globSync`, so it runs under Deno, pinned, outside this
 * project's configuration (its dependencies are not ours).
 */

import { assert, assertEquals } from "../assert.ts";
import { startGatewayProcess, writeConfig } from "./process.ts";

const CONFORMANCE = "npm:@modelcontextprotocol/conformance@0.1.16";

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

/** Runs one server scenario against `url`; returns its exit code, output and checks. */
async function runScenario(url: string, scenario: string) {
  const dir = await Deno.makeTempDir({ prefix: "airlock-conformance-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-config",
        "--no-lock",
        CONFORMANCE,
        "server",
        "--url",
        url,
        "--scenario",
        scenario,
        "-o",
        dir,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(output.stdout) +
      new TextDecoder().decode(output.stderr);
    const checks: Check[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory) continue;
      const file = `${dir}/${entry.name}/checks.json`;
      checks.push(...JSON.parse(await Deno.readTextFile(file)));
    }
    return { code: output.code, text, checks };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Scenarios that must pass, with the fewest checks each must report. */
const SCENARIOS: Array<[scenario: string, minChecks: number]> = [
  ["dns-rebinding-protection", 2],
  ["logging-set-level", 1],
  ["server-initialize", 1],
  ["ping", 1],
  ["tools-list", 1],
  ["server-sse-multiple-streams", 2],
];

Deno.test({
  name: "MCP conformance: the server scenarios Airlock supports pass against /mcp",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cacheDir = await Deno.makeTempDir({ prefix: "airlock-conformance-cache-" });
    const config = await writeConfig({
      servers: {},
      audit: { path: ":memory:" },
      selection: { embedder: "lexical", cacheDir },
      sandbox: { poolSize: 0 },
    });
    const gateway = await startGatewayProcess(config);
    try {
      for (const [scenario, minChecks] of SCENARIOS) {
        await t.step(scenario, async () => {
          const result = await runScenario(`${gateway.url}/mcp`, scenario);
          const summary = result.checks.map((c) => `${c.id}: ${c.status} ${c.errorMessage ?? ""}`);
          assertEquals(result.code, 0, `${result.text}\n${summary.join("\n")}`);
          assert(
            result.checks.length >= minChecks,
            `checks: ${summary.join("\n")}\n${result.text}`,
          );
          for (const check of result.checks) {
            assertEquals(check.status, "SUCCESS", summary.join("\n"));
          }
        });
      }
    } finally {
      await gateway.stop();
      await Deno.remove(config);
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});

/**
 * Red team n1 (N1-20): once a value is judged a secret or personal data in a response, every
 * exact occurrence of it anywhere in that response is replaced the same way. An app's `.env`
 * and its debug log are read through the real filesystem server: the password was hidden in
 * the `.env` and raw in the log line (and in tokenize mode the placeholder told the agent
 * which raw string it stood for). Proves, in mask and tokenize mode, that the password is
 * nowhere in the response when the log line is returned beside the `.env`, only logged, or
 * thrown in an error message, and that in tokenize mode both places show one placeholder.
 * Fails on the code before the fix (main d9899af).
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";

const PW = "Xk9mQ2pL7vRtYw3z";

/** Each way the log line reaches the response, beside the `.env` that makes PW a secret. */
const SHAPES: Record<string, string> = {
  "returned beside it": `return { env, log };`,
  "only logged": `console.log(log); return { env };`,
  "in an error message": `console.log(env); throw new Error("pool failed: " + log);`,
  "logged as a string, env logged as an object": `console.log({ env }); console.log(log);`,
};

Deno.test({
  name: "same value: a secret judged in one field of a response is hidden in every other",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-same-value-" });
    await Deno.writeTextFile(`${root}/.env`, `DB_HOST=db.internal\nDB_PASSWORD=${PW}\n`);
    await Deno.writeTextFile(
      `${root}/app.log`,
      `2024-01-15 10:30:00 DEBUG pool: connect app/${PW} -> db.internal ok\n`,
    );
    const read = (f: string) =>
      `(async () => { const r = await filesystem.readTextFile({ path: ${
        JSON.stringify(`${root}/${f}`)
      } }); return typeof r === "string" ? r : (r.content ?? r.text); })()`;
    try {
      for (const mode of ["mask", "tokenize"] as const) {
        const gw = await startTestGateway({
          pii: { mode },
          servers: { filesystem: filesystemServer(root) },
          sandbox: { timeoutMs: 20_000, maxWaitMs: 20_000 },
        });
        try {
          for (const [shape, tail] of Object.entries(SHAPES)) {
            await t.step(`${mode}: ${shape}`, async () => {
              const reply = await gw.post("/v1/execute", {
                code: `const env = await ${read(".env")}; const log = await ${read("app.log")};
                       ${tail}`,
              });
              assertEquals(reply.status, 200, JSON.stringify(reply.body));
              const body = JSON.stringify(reply.body);
              assertEquals(body.includes(PW), false, body);
              assert(/connect app\/\[(?:REDACTED_)?SECRET/.test(body), body);
              if (mode === "tokenize") {
                const placeholders = new Set(body.match(/\[SECRET_\d+_[a-z]{7}\]/g));
                assertEquals(placeholders.size, 1, body);
              }
            });
          }
        } finally {
          await gw.close();
        }
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

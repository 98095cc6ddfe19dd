/**
 * Values written with escapes are redacted end to end (red team d2): JSON exports written by a
 * Go encoder (`\u003c`, `\u0026`), a Python one (`\u00e9`, `\u00a0`), a PHP one (`\/`), and an
 * HTML page (`&#64;`, `&nbsp;`), read through the real filesystem MCP server, come back with
 * nothing raw in the result (the plain path), the logs and the error (the rendered path).
 */

import { assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";

const FILES: Record<string, string> = {
  "export_go.json":
    '{"rows":"\\u003ctr\\u003e\\u003ctd\\u003e4111111111111111\\u003c/td\\u003e\\u003ctd\\u003e078-05-1120' +
    "\\u003c/td\\u003e\\u003ctd\\u003e93.184.216.34\\u003c/td\\u003e\\u003ctd\\u003eDE89370400440532013000" +
    '\\u003c/td\\u003e\\u003c/tr\\u003e","link":"https://crm.example/c?id=7\\u0026ssn=078051120"}',
  "export_py.json": '{"name": "Jos\\u00e9 Garc\\u00eda", "email": "jos\\u00e9@example.com", ' +
    '"card": "5555\\u00a05555\\u00a05555\\u00a04444", ' +
    '"iban": "GB82\\u00a0WEST\\u00a01234\\u00a05698\\u00a07654\\u00a032"}',
  "export_php.json": '{"dsn":"postgres:\\/\\/admin:S3cr3t!Pass@db.internal:5432\\/app"}',
  "page.html": "<p>contact: bob.ray&#64;example.org, card 3782&nbsp;822463&nbsp;10005</p>",
};

/** Pieces of each value, as written or decoded: none may come back. */
const RAW = [
  "4111111111111111",
  "078-05-1120",
  "93.184.216.34",
  "DE89370400440532013000",
  "078051120",
  "@example.com",
  "5555\\u00a05555",
  "WEST\\u00a01234",
  "S3cr3t!Pass",
  "bob.ray",
  "822463",
];

Deno.test({
  name: "escaped exports read through the filesystem server: nothing raw in result or logs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "airlock-escapes-" });
    for (const [name, content] of Object.entries(FILES)) {
      await Deno.writeTextFile(`${root}/${name}`, content);
    }
    const code = `
      const out = {};
      for (const name of ${JSON.stringify(Object.keys(FILES))}) {
        const r = await filesystem.readTextFile({ path: ${JSON.stringify(root)} + "/" + name });
        const text = typeof r === "string" ? r : (r.content ?? r.text);
        console.log(text);
        console.log({ name, text });
        out[name] = text;
      }
      return out;`;
    const failing = `
      const r = await filesystem.readTextFile({ path: ${
      JSON.stringify(root + "/export_go.json")
    } });
      throw new Error("cannot import " + (typeof r === "string" ? r : (r.content ?? r.text)));`;
    try {
      for (const mode of ["mask", "tokenize"] as const) {
        await t.step(mode, async () => {
          const gw = await startTestGateway({
            pii: { mode },
            servers: { filesystem: filesystemServer(root) },
            sandbox: { timeoutMs: 20_000 },
          });
          try {
            const reply = await gw.post("/v1/execute", { code });
            assertEquals(reply.status, 200, JSON.stringify(reply.body));
            const body = reply.body;
            assertEquals(body.ok, true, JSON.stringify(body));
            assertEquals(Object.keys(body.result), Object.keys(FILES));
            const everything = JSON.stringify(body);
            assertEquals(RAW.filter((raw) => everything.includes(raw)), [], everything);
            assertEquals(body.logs.length, 8, JSON.stringify(body.logs));
            const counts = body.redactions ?? {};
            for (const type of ["credit_card", "ssn", "ip", "iban", "email", "secret"]) {
              if (!(counts[type] > 0)) throw new Error(`no ${type} counted: ${everything}`);
            }
            // An error message holding the Go export (the rendered path).
            const failed = await gw.post("/v1/execute", { code: failing });
            assertEquals(failed.body.ok, false, JSON.stringify(failed.body));
            const error = JSON.stringify(failed.body);
            assertEquals(RAW.filter((raw) => error.includes(raw)), [], error);
          } finally {
            await gw.close();
          }
        });
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * Text a tool returns base64-encoded is redacted in its decoded form, end to end (red team n1,
 * N1-18: GitHub contents, a Gmail message and a text resource blob came back with every value
 * readable after `atob`). Through the gateway (`POST /v1/execute`, mask mode), a fixture server
 * returns the real API shapes (tests/fixtures/servers/encoded_api.ts); the test decodes every
 * base64 run of the response (result and logs) and finds none of the values, finds what the
 * redaction wrote instead (the field still decodes to the text, redacted), and finds a binary
 * blob exactly as sent.
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { IMAGE, RAW } from "../fixtures/servers/encoded_api.ts";

/** Every base64/base64url run of 16+ characters in `text` (wrapped lines joined), decoded. */
function decodedRuns(text: string): string {
  let out = "";
  for (const [run] of text.replaceAll("\\n", "").matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)) {
    try {
      const std = run.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
      const bin = atob(std + "=".repeat((4 - std.length % 4) % 4));
      out += new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))) + "\n";
    } catch { /* not base64 */ }
  }
  return out;
}

Deno.test({
  name: "base64 text in tool results comes back redacted in its decoded form; binary stays",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({
      pii: { mode: "mask" },
      servers: { api: fixtureServer("encoded_api") },
    });
    try {
      const leaks: Record<string, string[]> = {};
      for (
        const [name, call, shows] of [
          ["github contents", `api.getFileContents({ path: ".env" })`, "DB_HOST=db.internal"],
          [
            "github contents, wrapped",
            `api.getFileContents({ path: ".env", wrapped: true })`,
            "DB_HOST=db.internal",
          ],
          ["gmail message", `api.getMessage({ id: "18c2f0a" })`, "it's Ann Lee"],
          ["resource blob", `api.readResource({ uri: "file:///srv/app/.env" })`, "DB_HOST="],
        ]
      ) {
        // Returned and logged: both paths (value and rendered text) go back.
        const reply = await gw.post("/v1/execute", {
          code:
            `const r = await ${call}; console.log(r); console.log(JSON.stringify(r)); return r;`,
        });
        assertEquals(reply.status, 200, JSON.stringify(reply.body));
        assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
        const decoded = decodedRuns(JSON.stringify(reply.body));
        const raw = RAW.filter((r) => decoded.includes(r));
        if (raw.length) leaks[name] = raw;
        assert(decoded.includes(shows), `${name}: the rest of the text is readable: ${decoded}`);
        assert(decoded.includes("[REDACTED_"), `${name}: ${decoded}`);
      }
      assertEquals(leaks, {}, "values returned base64-encoded");
      const image = await gw.post("/v1/execute", { code: `return await api.getImage({});` });
      assertEquals(image.status, 200, JSON.stringify(image.body));
      assert(JSON.stringify(image.body.result).includes(IMAGE), "binary blob unchanged");
    } finally {
      await gw.close();
    }
  },
});

/**
 * File names carry personal data with something glued on (`123-45-6789_W2_2025.pdf`,
 * `<digest>_bob.ray@example.org.txt`): the red team (2026-11-30) listed such a directory
 * with the real filesystem reference server and read the values raw in the result, the
 * logs and the audit. End to end over HTTP with the server from npm.
 */

import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";

const DIGEST = "3f9a".repeat(16);

/** File name → the value in it that must never be shown. */
const FILES: Record<string, string> = {
  "123-45-6789_W2_2025.pdf": "123-45-6789",
  "4111111111111111_visa.png": "4111111111111111",
  "card-5555555555554444-old.txt": "5555555555554444",
  "ann.lee@example.com_resume.pdf": "ann.lee@example.com",
  [`${DIGEST}_bob.ray@example.org.txt`]: "bob.ray@example.org",
  "+14155550134_cell.vcf": "4155550134",
  "10.1.2.3_host.log": "10.1.2.3",
  "W2_2025_078-05-1120.pdf": "078-05-1120",
};

Deno.test({
  name: "a directory listing of glued file names is redacted in the result, logs and audit",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "airlock-glued-" });
    for (const name of Object.keys(FILES)) await Deno.writeTextFile(`${root}/${name}`, "x");
    await Deno.writeTextFile(`${root}/notes.txt`, "x");
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({
        servers: { filesystem: filesystemServer(root) },
        sandbox: { timeoutMs: 20_000, toolTimeoutMs: 10_000 },
        selection: { embedder: "lexical" },
      });
      const reply = await gw.execute(
        `const listing = await filesystem.listDirectory({ path: ${JSON.stringify(root)} });
         const text = String(listing.content);
         console.log(text);
         return text.split("\\n");`,
        { tools: ["filesystem.list_directory"] },
      );
      assertEquals(reply.ok, true, JSON.stringify(reply.error));
      const shown = JSON.stringify(reply);
      const audited = JSON.stringify(gw.gateway.audit!.recent({ limit: 5 }));
      // The listing came through, with what was glued on kept around each placeholder.
      assert(shown.includes("notes.txt"), shown.slice(0, 400));
      assert(shown.includes("_W2_2025.pdf"), shown.slice(0, 400));
      assert(shown.includes(`${DIGEST}_[EMAIL_`), shown.slice(0, 400));
      for (const value of Object.values(FILES)) {
        assert(!shown.includes(value), `the response holds ${value}: ${shown.slice(0, 600)}`);
        assert(!audited.includes(value), `the audit holds ${value}`);
      }
    } finally {
      await gw?.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

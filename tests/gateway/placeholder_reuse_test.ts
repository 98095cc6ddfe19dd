/**
 * Red-team finding: a session's vault that expired, was dropped or was lost with a restart
 * started again at `[EMAIL_1]`, so a placeholder the agent still held came to mean whoever
 * was named first afterwards, and a write meant for ann reached mallory. Now a placeholder
 * never resolves to another value: one that no longer resolves is refused, nothing is sent.
 * Real gateway over real HTTP (memory vaults), real MCP server (the ledger fixture).
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { assertRefused, named, recipient, send } from "../placeholders.ts";

const CONV = { "x-airlock-session": "conv-1" };

function gateway(pii: Record<string, unknown> = {}): Promise<TestGateway> {
  return startTestGateway({
    pii: { mode: "tokenize", ...pii },
    servers: { ledger: fixtureServer("ledger") },
  });
}

Deno.test({
  name: "placeholders: an expired session's placeholder is refused, never re-bound",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await gateway({ ttlSeconds: 1 });
    try {
      const ann = await named(gw, "ann@example.com", CONV);
      // Past the TTL (1 s): the session's vault is gone.
      await new Promise((r) => setTimeout(r, 1500));
      const mallory = await named(gw, "mallory@evil.example", CONV);
      assert(mallory !== ann, `mallory got ann's placeholder ${ann}`);
      await assertRefused(gw, ann, CONV);
      // The current placeholder still works.
      assertEquals((await send(gw, mallory, CONV)).body.result, "sent");
      assertEquals(await recipient(gw), "mallory");
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "placeholders: a dropped session opened again with its id does not re-bind them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await gateway();
    try {
      const ann = await named(gw, "ann@example.com", CONV);
      // What an MCP session's close (or an eviction) does to its vault.
      assert(gw.gateway.vaults.delete({ tenant: "local", keyId: "", session: "conv-1" }));
      const mallory = await named(gw, "mallory@evil.example", CONV);
      assert(mallory !== ann, `mallory got ann's placeholder ${ann}`);
      await assertRefused(gw, ann, CONV);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "placeholders: after a restart the same session id does not re-bind them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const before = await gateway();
    let ann: string;
    try {
      ann = await named(before, "ann@example.com", CONV);
    } finally {
      await before.close();
    }
    const after = await gateway();
    try {
      const mallory = await named(after, "mallory@evil.example", CONV);
      assert(mallory !== ann, `mallory got ann's placeholder ${ann}`);
      await assertRefused(after, ann, CONV);
    } finally {
      await after.close();
    }
  },
});

Deno.test({
  name: "placeholders: without a session, one from an earlier execution is refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await gateway();
    try {
      const ann = await named(gw, "ann@example.com", {});
      await gw.post("/v1/execute", {
        code: `await ledger.put({ key: "from", value: "mallory@evil.example" }); return 1`,
      });
      // This execution's tool result names mallory first: she is its [EMAIL_1_…].
      const reply = await gw.post("/v1/execute", {
        code: `const from = (await ledger.get({ key: "from" })).value;
          await ledger.put({ key: "to", value: ${JSON.stringify(ann)} });
          return from;`,
      });
      assertEquals(reply.body.ok, false, JSON.stringify(reply.body));
      assertEquals(reply.body.tools.calls.map((c: { outcome: string }) => c.outcome), [
        "ok",
        "refused",
      ]);
      assertMatch(reply.body.error.message, /does not stand for any value/);
      assertEquals(await recipient(gw), "nobody");
    } finally {
      await gw.close();
    }
  },
});

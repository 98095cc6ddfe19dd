/**
 * Network egress is granted per tenant and nowhere else: a tenant whose `allowNet` names
 * a host:port reaches exactly that; another tenant, other ports and the gateway stay
 * unreachable.
 */

import { assertEquals, assertMatch } from "../assert.ts";
import { freePort, startTestGateway } from "../helpers.ts";
import { hashApiKey } from "../../gateway/mod.ts";

Deno.test({
  name: "security: sandbox egress follows the tenant's allowNet exactly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let hits = 0;
    const allowed = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      hits++;
      return new Response("hello from the allowed service");
    });
    const otherPort = freePort();
    const gw = await startTestGateway({
      auth: {
        tenants: {
          egress: {
            keys: [hashApiKey("egress-key")],
            allowNet: [`127.0.0.1:${allowed.addr.port}`],
          },
          sealed: { keys: [hashApiKey("sealed-key")] },
        },
      },
    });
    const run = async (key: string, code: string) =>
      (await gw.post("/v1/execute", { code }, { authorization: `Bearer ${key}` })).body;
    try {
      const granted = await run(
        "egress-key",
        `return await (await fetch("http://127.0.0.1:${allowed.addr.port}/")).text();`,
      );
      assertEquals(granted.result, "hello from the allowed service");

      const sealed = await run(
        "sealed-key",
        `return await (await fetch("http://127.0.0.1:${allowed.addr.port}/")).text();`,
      );
      assertEquals(sealed.error?.kind, "permission");

      const otherPortReply = await run(
        "egress-key",
        `return await (await fetch("http://127.0.0.1:${otherPort}/")).text();`,
      );
      assertEquals(otherPortReply.error?.kind, "permission");

      const gateway = await run(
        "egress-key",
        `return await (await fetch("http://127.0.0.1:${gw.port}/healthz")).text();`,
      );
      assertEquals(gateway.error?.kind, "permission");
      // A loopback address identifies nobody, so it is shown as written (pii/README.md,
      // "Addresses that identify nobody"); the refusal is the sandbox's.
      assertMatch(gateway.error.message, new RegExp(`net access to "127\\.0\\.0\\.1:${gw.port}"`));
      assertEquals(hits, 1, "only the granted tenant reached the service");
    } finally {
      await gw.close();
      await allowed.shutdown();
    }
  },
});

/**
 * A client's X-Request-Id is echoed, logged and stored in the audit, so one that holds
 * personal data or a secret is refused: the request gets a new id instead (redacting it
 * would leave no id worth tracing by). Labelled values (`card-4111…`) are plain tokens, and
 * were kept raw. Real gateway over HTTP.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("X-Request-Id holding a labelled value is replaced, a plain one is kept", async () => {
  const gw = await startTestGateway();
  try {
    const refused = [
      "card-4111111111111111",
      "id_4111111111111111",
      "req.4111111111111111",
      "key-AKIAIOSFODNN7EXAMPLE",
      "ip-10.1.2.3",
      "ip_fe80::1",
      "ssn-123-45-6789",
      "iban-DE89370400440532013000",
    ];
    const kept = ["req-42", "build-2024.11.30-7", "550e8400-e29b-41d4-a716-446655440000"];
    for (const sent of [...refused, ...kept]) {
      const reply = await gw.post("/v1/execute", { code: "return 1" }, { "x-request-id": sent });
      assertEquals(reply.status, 200);
      const echoed = reply.headers.get("x-request-id") ?? "";
      const stored = gw.gateway.audit!.recent({ limit: 1 })[0].requestId;
      assertEquals(stored, echoed, "the audit stores the id the client was told");
      if (kept.includes(sent)) assertEquals(echoed, sent);
      else {
        assert(echoed !== sent && !echoed.includes(sent.slice(-8)), `${sent} was kept`);
        assertMatch(echoed, UUID);
      }
    }
  } finally {
    await gw.close();
  }
});

Deno.test("X-Request-Id holding a value with a word glued on is replaced", async () => {
  // A word after the value used to make it an identifier (red team, 2026-11-30).
  const gw = await startTestGateway();
  try {
    const refused = [
      "4111111111111111_visa",
      "req-4111111111111111x",
      "078-05-1120_x",
      "10.1.2.3_host",
      "fe80::1_eth0",
      "DE89370400440532013000old",
      "AKIAIOSFODNN7EXAMPLEold",
    ];
    const kept = ["run_20240115T103000Z", "sha1-4111111111111111a3f9c2e1", "v1.2.3.4-beta"];
    for (const sent of [...refused, ...kept]) {
      const reply = await gw.post("/v1/execute", { code: "return 1" }, { "x-request-id": sent });
      assertEquals(reply.status, 200);
      const echoed = reply.headers.get("x-request-id") ?? "";
      if (kept.includes(sent)) assertEquals(echoed, sent);
      else {
        assert(echoed !== sent, `${sent} was kept`);
        assertMatch(echoed, UUID);
      }
    }
  } finally {
    await gw.close();
  }
});

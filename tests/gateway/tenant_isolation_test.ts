/**
 * Vault sessions belong to the tenant and the API key that made them; what a client sends
 * in headers cannot reach the audit raw; the vault shows per tenant on /metrics. Real
 * gateway over real HTTP, real MCP server.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";
import { untag } from "../placeholders.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const KEYS = { a1: "key-a-one", a2: "key-a-two", b: "key-b" };

async function gatewayWithTenants() {
  return await startTestGateway({
    servers: { ledger: fixtureServer("ledger") },
    auth: {
      tenants: {
        a: { keys: [hashApiKey(KEYS.a1), hashApiKey(KEYS.a2)], requestsPerMinute: 6000 },
        b: { keys: [hashApiKey(KEYS.b)], requestsPerMinute: 6000 },
      },
    },
  });
}

// Writes `placeholder` through the bridge; LAST_WRITE, run afterwards in an execution that
// restores nothing, reports what the server stored: the real address (15 characters) when
// the placeholder resolved, anything else when not, and how many writes there were.
const RESTORES = (placeholder: string) =>
  `await ledger.write({ key: ${JSON.stringify(placeholder)} }); return "written";`;
const LAST_WRITE = `const w = (await ledger.ledger({})).writes;
  return [w.at(-1).length === 15 ? "restored" : "literal", w.length];`;

Deno.test("a vault session belongs to the API key that made it, not to whoever knows its id", async () => {
  const gw = await gatewayWithTenants();
  try {
    const as = (key: string) => ({
      authorization: `Bearer ${key}`,
      "x-airlock-session": "shared-id",
    });
    const made = await gw.post("/v1/execute", { code: `return "ann@example.com";` }, as(KEYS.a1));
    const ann = made.body.result;
    assertEquals(untag(ann), "[EMAIL_1]");
    // The key that made the placeholder gets the real value into the tool...
    await gw.post("/v1/execute", { code: RESTORES(ann) }, as(KEYS.a1));
    const same = await gw.post("/v1/execute", { code: LAST_WRITE }, as(KEYS.a1));
    assertEquals(same.body.result, ["restored", 1]);
    // ...another key of the same tenant, and another tenant, with the same session id, do not:
    // the call is refused, nothing is written.
    for (const key of [KEYS.a2, KEYS.b]) {
      const refused = await gw.post("/v1/execute", { code: RESTORES(ann) }, as(key));
      assertEquals(refused.body.tools.calls[0].outcome, "refused", `key ${key}`);
      assertMatch(refused.body.error.message, /does not stand for any value/);
      const other = await gw.post("/v1/execute", { code: LAST_WRITE }, as(key));
      assertEquals(other.status, 200);
      assertEquals(other.body.result, ["restored", 1], `key ${key}`);
    }
    const metrics = (await gw.get("/metrics")).body as string;
    assert(/airlock_vault_sessions\{tenant="a"\} 2/.test(metrics), "two sessions of tenant a");
    assert(/airlock_vault_sessions\{tenant="b"\} 1/.test(metrics), "one session of tenant b");
    assert(/airlock_vault_entries\{tenant="a"\} 1/.test(metrics), metrics.slice(0, 200));
  } finally {
    await gw.close();
  }
});

Deno.test("header values a client controls are bounded and never stored raw", async () => {
  const gw = await gatewayWithTenants();
  try {
    const auth = { authorization: `Bearer ${KEYS.a1}` };
    const long = await gw.post("/v1/execute", { code: "return 1" }, {
      ...auth,
      "x-airlock-session": "s".repeat(257),
    });
    assertEquals(long.status, 400);
    assertEquals(long.body.error.kind, "invalid_request");

    for (const id of ["dave@example.com", "a b", "x".repeat(101), "ok\u00e9"]) {
      const reply = await gw.post("/v1/execute", { code: "return 1" }, {
        ...auth,
        "x-request-id": id,
      });
      assertEquals(reply.status, 200);
      const echoed = reply.headers.get("x-request-id")!;
      assert(echoed !== id && /^[0-9a-f-]{36}$/.test(echoed), `request id ${id} → ${echoed}`);
    }
    const kept = await gw.post("/v1/execute", { code: "return 1" }, {
      ...auth,
      "x-request-id": "trace-42.a:b_c",
    });
    assertEquals(kept.headers.get("x-request-id"), "trace-42.a:b_c");
    const audit = JSON.stringify(gw.gateway.audit!.recent({ limit: 20 }));
    assert(!audit.includes("dave@example.com"));
    assert(audit.includes("trace-42.a:b_c"));
  } finally {
    await gw.close();
  }
});

Deno.test("a tool that echoes a restored value gives the code the placeholder back, not the value", async () => {
  const gw = await gatewayWithTenants();
  try {
    const as = { authorization: `Bearer ${KEYS.a1}`, "x-airlock-session": "echo" };
    const made = await gw.post("/v1/execute", {
      code: `return ["carol.hidden@example.com", "4111 1111 1111 1111"];`,
    }, as);
    const [email, card] = made.body.result;
    assertEquals(untag(made.body.result), ["[EMAIL_1]", "[CARD_1]"]);
    // The tool gets the real value (it answers "wrote <value>"), the code sees the placeholder,
    // so it cannot spell the value out in a shape redaction would miss.
    const echoed = await gw.post("/v1/execute", {
      code: `const r = await ledger.write({ key: "${email} and ${card}" });
        const e = await ledger.write({ key: "${email}", delayMs: "x" }).catch((e) => e.message);
        return { spaced: r.split("").join(" "), r, e };`,
    }, as);
    assertEquals(echoed.status, 200);
    const text = JSON.stringify(echoed.body.result);
    assert(!text.includes("c a r o l"), text);
    assertEquals(echoed.body.result.r, `wrote ${email} and ${card}`);
    // The ledger holds the real values: the write did happen with them.
    const ledger = await gw.post("/v1/execute", {
      code: `return (await ledger.ledger({})).writes.map((w) => w.length);`,
    }, as);
    assertEquals(ledger.body.result, ["carol.hidden@example.com and 4111 1111 1111 1111".length]);
  } finally {
    await gw.close();
  }
});

Deno.test("with several tenants, one cannot hold every sandbox slot by default", async () => {
  const gw = await startTestGateway({
    auth: {
      tenants: {
        a: { keys: [hashApiKey(KEYS.a1)], requestsPerMinute: 6000 },
        b: { keys: [hashApiKey(KEYS.b)], requestsPerMinute: 6000 },
      },
    },
    sandbox: { concurrency: 4, timeoutMs: 3000 },
  });
  try {
    const busy = { code: "await new Promise((r) => setTimeout(r, 1500)); return 'a';" };
    const a = Array.from(
      { length: 4 },
      () => gw.post("/v1/execute", busy, { authorization: `Bearer ${KEYS.a1}` }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const b = await gw.post("/v1/execute", { code: "return 'b'" }, {
      authorization: `Bearer ${KEYS.b}`,
    });
    assertEquals(b.body.result, "b");
    const statuses = (await Promise.all(a)).map((r) => r.status).sort();
    // Two of a's four ran; the other two were refused with 429 and Retry-After, not queued.
    assertEquals(statuses, [200, 200, 429, 429]);
  } finally {
    await gw.close();
  }
});

Deno.test("restoring placeholders cannot blow a tool call up, and values stored then read stay hidden", async () => {
  const gw = await gatewayWithTenants();
  try {
    const as = { authorization: `Bearer ${KEYS.a1}`, "x-airlock-session": "expand" };
    const pem = "-----BEGIN PRIVATE KEY-----\n" + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".repeat(200) +
      "\n-----END PRIVATE KEY-----";
    const made = await gw.post("/v1/execute", {
      code: `return [${JSON.stringify(pem)}, "dana.hidden@example.org"];`,
    }, as);
    const [secret, email] = made.body.result;
    assertEquals(untag(made.body.result), ["[SECRET_1]", "[EMAIL_1]"]);
    // 50,000 placeholders of a 6 KB value would be 300 MB of arguments: refused, never sent.
    const expand = await gw.post("/v1/execute", {
      code: `try { await ledger.write({ key: "${secret}".repeat(50000) }); return "sent"; }
        catch (e) { return e.message; }`,
    }, as);
    assertEquals(expand.status, 200);
    assert(/grow past \d+ characters/.test(String(expand.body.result)), expand.body.result);
    assertEquals(expand.body.tools.calls[0].outcome, "refused");
    // A value stored by one call and read back by another is hidden again too.
    const stored = await gw.post("/v1/execute", {
      code: `await ledger.write({ key: "${email}" });
        const all = (await ledger.ledger({})).writes.join(" ");
        return all.split("").join(" ");`,
    }, as);
    assert(!String(stored.body.result).includes("d a n a"), stored.body.result);
    assertEquals(gw.gateway.upstream.status().find((s) => s.name === "ledger")!.restarts, 0);
  } finally {
    await gw.close();
  }
});

Deno.test("request ids that hold personal data are replaced, over HTTP and MCP", async () => {
  const gw = await gatewayWithTenants();
  try {
    for (const id of ["4111111111111111", "AKIAIOSFODNN7EXAMPLE", "10.1.2.3", "+14155552671"]) {
      const reply = await gw.post("/v1/execute", { code: "return 1" }, {
        authorization: `Bearer ${KEYS.a1}`,
        "x-request-id": id,
      });
      assert(reply.headers.get("x-request-id") !== id, id);
    }
    const audit = JSON.stringify(gw.gateway.audit!.recent({ limit: 10 }));
    assert(!audit.includes("4111111111111111") && !audit.includes("AKIAIOSFODNN7EXAMPLE"));
  } finally {
    await gw.close();
  }
});

Deno.test("upstream tool names and descriptions with personal data never reach callers, the audit or metrics raw", async () => {
  const gw = await startTestGateway({
    servers: { hostile: fixtureServer("ledger", ["--pii-tools"]) },
  });
  try {
    const listed = await gw.get("/v1/tools");
    const text = JSON.stringify(listed.body);
    for (
      const raw of [
        "ann.lee@example.com",
        "bob@example.org",
        "4111 1111",
        "AKIAIOSFODNN7EXAMPLE",
        "carl@example.net",
      ]
    ) {
      assert(!text.includes(raw), `/v1/tools shows ${raw}`);
    }
    assert(text.includes("hostile.notify"), "the tool itself is listed");
    const ready = JSON.stringify((await gw.get("/readyz")).body);
    assert(!ready.includes("ann.lee"), ready.slice(0, 300));
    assert(/name holds personal data/.test(ready), "the skipped tool is named in /readyz warnings");
    const call = await gw.execute(
      `try { return await tools.call("hostile.mail_ann.lee@example.com", { text: "x" }); }
      catch (e) { return e.message; }`,
    );
    assert(!JSON.stringify(call).includes("ann.lee@example.com"));
    const metrics = (await gw.get("/metrics")).body as string;
    assert(!metrics.includes("ann.lee"));
  } finally {
    await gw.close();
  }
});

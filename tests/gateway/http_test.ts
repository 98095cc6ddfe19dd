/** The HTTP contract of POST /v1/execute and /healthz, over real HTTP. */

import { SandboxUnavailableError } from "../../sandbox/mod.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";

Deno.test({
  name: "http: execute and error statuses",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const gw = await startTestGateway({ http: { maxBodyBytes: 4096 } });
    try {
      await t.step("GET /healthz", async () => {
        const reply = await gw.get("/healthz");
        assertEquals(reply.status, 200);
        assertEquals(reply.body.status, "ok");
      });

      await t.step("a successful execution has the documented shape", async () => {
        const reply = await gw.post("/v1/execute", {
          code: "console.log('hello');\nreturn { n: 42 };",
          intent: "demo",
        });
        assertEquals(reply.status, 200);
        assertEquals(reply.body.ok, true);
        assertEquals(reply.body.result, { n: 42 });
        assertEquals(reply.body.logs, [{ level: "log", text: "hello" }]);
        assertEquals(reply.body.tools, { injected: [], calls: [] });
        assertEquals(reply.body.redactions, {});
        assert(!("error" in reply.body), "no error when ok");
        assert(typeof reply.body.stats.durationMs === "number");
        assert(reply.body.stats.sandboxMs <= reply.body.stats.durationMs + 1);
      });

      await t.step("failed code is still a 200 with error", async () => {
        const reply = await gw.post("/v1/execute", { code: "\nthrow new Error('nope')" });
        assertEquals(reply.status, 200);
        assertEquals(reply.body.ok, false);
        assertEquals(reply.body.error.kind, "runtime");
        assertEquals(reply.body.error.line, 2);
      });

      await t.step("request limits may lower but not raise the maxima", async () => {
        const lowered = await gw.post("/v1/execute", {
          code: "while (true) {}",
          limits: { timeoutMs: 200 },
        });
        assertEquals(lowered.status, 200);
        assertEquals(lowered.body.error.kind, "timeout");
        const raised = await gw.post("/v1/execute", {
          code: "return 1",
          limits: { timeoutMs: 999_999 },
        });
        assertEquals(raised.status, 400);
        assertEquals(raised.body.error.kind, "invalid_request");
        assertMatch(raised.body.error.message, /limits\.timeoutMs/);
      });

      const invalid: Array<[string, unknown, RegExp]> = [
        ["missing code", { intent: "x" }, /code/],
        ["empty code", { code: "" }, /code: code must not be empty/],
        ["code of the wrong type", { code: 42 }, /code: /],
        ["unknown field", { code: "return 1", extra: true }, /unknown key "extra"/],
        ["bad tool id", { code: "return 1", tools: ["nodot"] }, /tools\.0: a tool id is/],
        ["bad limits", { code: "return 1", limits: { memoryMb: -5 } }, /limits\.memoryMb/],
        ["not an object", [1, 2], /expected object/],
      ];
      for (const [name, body, pattern] of invalid) {
        await t.step(`400 for ${name}, naming the field`, async () => {
          const reply = await gw.post("/v1/execute", body);
          assertEquals(reply.status, 400);
          assertEquals(reply.body.error.kind, "invalid_request");
          assertMatch(reply.body.error.message, pattern);
        });
      }

      await t.step("400 for malformed JSON and for a non-JSON content type", async () => {
        const malformed = await gw.post("/v1/execute", "{ nope");
        assertEquals(malformed.status, 400);
        assertEquals(malformed.body.error.kind, "invalid_request");
        const text = await fetch(`${gw.url}/v1/execute`, { method: "POST", body: "return 1" });
        assertEquals(text.status, 400);
        assertEquals((await text.json()).error.kind, "invalid_request");
      });

      await t.step("413 for an oversized body", async () => {
        const reply = await gw.post("/v1/execute", { code: "//" + "x".repeat(10_000) });
        assertEquals(reply.status, 413);
        assertEquals(reply.body.error.kind, "payload_too_large");
      });

      await t.step("404 with an error body for unknown routes", async () => {
        const reply = await gw.get("/v1/nothing");
        assertEquals(reply.status, 404);
        assertEquals(reply.body.error.kind, "not_found");
      });
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "http: a sandbox that cannot start is 503 unavailable with Retry-After, never 500",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway();
    const sandbox = gw.gateway.sandbox;
    const run = sandbox.run;
    try {
      // What Sandbox.run throws when spawning fails with EMFILE.
      sandbox.run = () =>
        Promise.reject(
          new SandboxUnavailableError("Too many open files (os error 24)", {
            retryAfterSeconds: 2,
          }),
        );
      const reply = await gw.post("/v1/execute", { code: "return 1" });
      assertEquals(reply.status, 503);
      assertEquals(reply.body.error.kind, "unavailable");
      assertMatch(reply.body.error.message, /Too many open files/);
      assertEquals(reply.headers.get("retry-after"), "2");
      sandbox.run = run;
      assertEquals((await gw.execute("return 1")).result, 1);
    } finally {
      sandbox.run = run;
      await gw.close();
    }
  },
});

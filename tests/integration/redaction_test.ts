/**
 * Redaction on every path back to the caller, through the real pipeline: the value, the
 * logs, the error message and stack, and tool-call errors; one vault per response so
 * placeholders agree; placeholders never turn back into values on the way out.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";
import { tagsOf, untag } from "../placeholders.ts";

const SECRETS = /ada@example\.com|4111 1111 1111 1111|078-05-1120|AKIAIOSFODNN7EXAMPLE/;

Deno.test({
  name: "redaction: value, logs, errors and stacks, in tokenize and mask modes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const tokenizing = await startTestGateway({ pii: { mode: "tokenize" } });
    const masking = await startTestGateway({
      pii: { mode: "mask", allow: ["support@example.com"] },
    });
    try {
      await t.step("tokenize: one placeholder per value across value, logs and error", async () => {
        const reply = await tokenizing.execute(
          `console.log("mail ada@example.com about card 4111 1111 1111 1111");
           console.error({ user: { email: "ada@example.com", ssn: "078-05-1120" } });
           const record = { contact: ["ada@example.com"], key: "AKIAIOSFODNN7EXAMPLE" };
           throw new Error("cannot bill ada@example.com: " + JSON.stringify(record));`,
        );
        const text = JSON.stringify(reply);
        assertNotMatch(text, SECRETS);
        assertEquals(untag(reply.logs[0].text), "mail [EMAIL_1] about card [CARD_1]");
        assertEquals(tagsOf(reply).length, 1, "one vault, one tag");
        assertMatch(reply.logs[1].text, /\[EMAIL_1_[a-z]{7}\][\s\S]*\[SSN_1_[a-z]{7}\]/);
        assertMatch(
          reply.error!.message,
          /cannot bill \[EMAIL_1_[a-z]{7}\]: .*\[SECRET_1_[a-z]{7}\]/,
        );
        assertEquals(reply.redactions, { email: 4, credit_card: 1, ssn: 1, secret: 1 });
      });

      await t.step("tokenize: nested values keep structure; keys are redacted too", async () => {
        const reply = await tokenizing.execute(
          `return { "ada@example.com": { ips: ["10.1.2.3", "version 1.2.3.4"], n: 4111111111111111 },
                    list: [[["deep 078-05-1120"]]], ok: true };`,
        );
        assertEquals(untag(reply.result), {
          "[EMAIL_1]": { ips: ["[IP_1]", "version 1.2.3.4"], n: "[CARD_1]" },
          list: [[["deep [SSN_1]"]]],
          ok: true,
        });
      });

      await t.step("a placeholder in the output is never turned back into a value", async () => {
        const session = { "x-airlock-session": "s-1" };
        const first = await tokenizing.post(
          "/v1/execute",
          { code: `return "ada@example.com"` },
          session,
        );
        const ada = first.body.result;
        assertEquals(untag(ada), "[EMAIL_1]");
        const second = await tokenizing.post(
          "/v1/execute",
          { code: `return "${ada} and " + "${ada}".length` },
          session,
        );
        assertEquals(second.body.result, `${ada} and ${ada.length}`);
      });

      await t.step("the stack of a failing execution is redacted too", async () => {
        const reply = await tokenizing.execute(
          `function ada_example_com() { throw new Error("for ada@example.com"); }\nada_example_com();`,
        );
        assertMatch(reply.error!.message, /\[EMAIL_1_[a-z]{7}\]/);
        assert(reply.error!.stack, "a stack is reported");
        assertNotMatch(JSON.stringify(reply.error), SECRETS);
      });

      await t.step("mask mode and the allow-list", async () => {
        const reply = await masking.execute(
          `console.log("ada@example.com");
           return ["ada@example.com", "support@example.com", "078-05-1120"];`,
        );
        assertEquals(reply.result, ["[REDACTED_EMAIL]", "support@example.com", "[REDACTED_SSN]"]);
        assertEquals(reply.logs[0].text, "[REDACTED_EMAIL]");
        assertEquals(reply.redactions, { email: 2, ssn: 1 });
      });
    } finally {
      await tokenizing.close();
      await masking.close();
    }
  },
});

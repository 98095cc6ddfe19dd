/**
 * Predictions never carry one session's (or API key's) arguments into another (red team of
 * issue 13, items 1 and 6): a chain learned by one key whose arguments hold a placeholder
 * never makes the gateway send another session's real value upstream; another key cannot
 * learn through `prefetched` which exact calls a key made; arguments with placeholders or
 * personal data are never prefetched at all.
 */

import { assert, assertEquals } from "../assert.ts";
import { untag } from "../placeholders.ts";
import { startSpecGateway } from "./harness.ts";
import type { Caller, ExecuteResponse } from "../../gateway/mod.ts";
import type { SpecHarness } from "./harness.ts";

const TWO_KEYS = {
  auth: {
    tenants: { t: { keys: [`sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`] } },
  },
};

/** Runs `code` as API key `keyId` of tenant `t` in `sessionId`. */
function as(h: SpecHarness, keyId: string, sessionId: string, code: string) {
  return h.gateway.execute({ code }, {
    tenant: h.gateway.tenants.get("t")!,
    keyId,
    requestId: crypto.randomUUID(),
    transport: "http",
    sessionId,
  } as Caller);
}

/** The ledger's read journal, each key spelled out as char codes (past the output redaction). */
async function journal(h: SpecHarness, keyId: string, session: string): Promise<string[]> {
  const reply: ExecuteResponse = await as(
    h,
    keyId,
    session,
    `const id = ["ledger", "ledger"].join(".");
     const l = await tools.call(id, {});
     return l.reads.map((k) => [...k].map((c) => c.charCodeAt(0)).join("-"));`,
  );
  assert(reply.ok, JSON.stringify(reply.error));
  return (reply.result as string[]).map((k) => String.fromCharCode(...k.split("-").map(Number)));
}

Deno.test({
  name: "isolation: a chain taught by one key never sends another session's PII upstream",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway(TWO_KEYS);
    try {
      // Both sessions hold an [EMAIL_1]: the victim's is a real address.
      const v0 = await as(h, "key-victim", "victim", `return "victim.person@corp.example";`);
      assertEquals(untag(v0.result), "[EMAIL_1]");
      const mine = await as(h, "key-attacker", "attacker", `return "someone@attacker.example";`);
      const ph = mine.result as string;
      const [head, tail] = [ph.slice(0, 7), ph.slice(7)];
      // The attacker teaches get(index) -> get([EMAIL_1_…]), through variables and literals.
      for (let i = 0; i < 6; i++) {
        const r = await as(
          h,
          "key-attacker",
          "attacker",
          `const a = ["index"][0]; const b = ["${head}", "${tail}"].join("");
           await ledger.get({ key: a }); await ledger.get({ key: b });
           await ledger.get({ key: "${ph}" }); return 1;`,
        );
        assert(r.ok, JSON.stringify(r.error));
      }
      // The same key in the same session: a placeholder is still never prefetched.
      const own = await as(
        h,
        "key-attacker",
        "attacker",
        `const a = ["index"][0]; await ledger.get({ key: a });
         const b = ["${head}", "${tail}"].join(""); await ledger.get({ key: b }); return 1;`,
      );
      assertEquals(own.tools.calls.map((c) => c.prefetched ?? false), [false, false]);
      // The victim's code only reads the index; then a literal read of its own placeholder.
      const v1 = await as(
        h,
        "key-victim",
        "victim",
        `const a = ["index"][0]; await ledger.get({ key: a }); return "done";`,
      );
      assertEquals(v1.tools.calls.map((c) => c.tool), ["ledger.get"]);
      const reads = await journal(h, "key-attacker", "attacker");
      assert(
        !reads.includes("victim.person@corp.example"),
        `the victim's address reached upstream: ${JSON.stringify(reads)}`,
      );
      // Only the code's own calls reached the server (the attacker's repeats were cached).
      assertEquals(reads, ["index", "someone@attacker.example", "index"]);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "isolation: another API key cannot test which exact calls a key made",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway(TWO_KEYS);
    try {
      const pair = (target: string) =>
        `const a = ["index"][0]; const b = [${JSON.stringify(target)}][0];
         await ledger.get({ key: a }); await ledger.get({ key: b }); return 1;`;
      for (let i = 0; i < 6; i++) await as(h, "key-hr", `hr-${i}`, pair("salary:alice"));
      const guess = async (target: string) => {
        const r = await as(h, "key-other", `other-${target}`, pair(target));
        return r.tools.calls[1].prefetched === true;
      };
      assertEquals([await guess("salary:bob"), await guess("salary:alice")], [false, false]);
      // The key that learned the chain does use it (the mechanism works, per key).
      const same = await as(h, "key-hr", "hr-new", pair("salary:alice"));
      assertEquals(same.tools.calls[1].prefetched, true);
    } finally {
      await h.close();
    }
  },
});

Deno.test({
  name: "isolation: literal calls with placeholders or personal data are never prefetched",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startSpecGateway();
    try {
      const session = "s";
      const carol = await h.run(`return "carol@example.org";`, { session }); // [EMAIL_1_…]
      const reply = await h.run(
        `const out = [];
         out.push((await ledger.get({ key: "${carol.result}" })).key);
         out.push((await ledger.get({ key: "dave@example.org" })).key);
         out.push((await ledger.get({ key: "card 4111 1111 1111 1111" })).key);
         out.push((await ledger.get({ key: "plain" })).key);
         return out.length;`,
        { session },
      );
      assert(reply.ok, JSON.stringify(reply.error));
      assertEquals(reply.tools.calls.map((c) => c.prefetched ?? false), [
        false,
        false,
        false,
        true,
      ]);
      // Each reached the server exactly once: nothing was sent before the code sent it.
      const reads = (await h.ledger()).reads;
      assertEquals(reads.length, 4, JSON.stringify(reads));
    } finally {
      await h.close();
    }
  },
});

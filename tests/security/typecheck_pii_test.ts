/**
 * `check: true` and the declarations vs. personal data in tool schemas (red team rttype items
 * 2 and 5). The checker checks against the declarations the caller may read (`/v1/types`:
 * redacted, property names included), never the raw catalogue, so type-level code that
 * spells a schema's value out character by character (which the redactor of the diagnostic
 * text no longer recognises) finds only placeholders; property names that are personal data
 * are redacted in `/v1/types`, `/v1/tools` and the "Expected properties" lists.
 */

import { assert, assertEquals, assertNotMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { hashApiKey } from "../../gateway/mod.ts";

const H = { authorization: "Bearer k" };
/** Every piece of personal data in the crm fixture's schemas. */
const RAW =
  /alice\.smith|bob\.jones|123-45-6789|415 555 0134|carol\.white|555 0199|dave\.brown|4155550134/;

/** `text` with the separators type-level code puts between characters removed. */
const squeeze = (text: string) => text.replace(/[_\s"'`|,+]/g, "");

Deno.test({
  name: "typecheck pii: the checker holds only what /v1/types serves; property names redacted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({
        servers: { crm: fixtureServer("crm") },
        auth: {
          tenants: {
            t: {
              keys: [hashApiKey("k")],
              requestsPerMinute: 10_000,
              enabledTools: ["crm.send_mail", "crm.set_flags"],
            },
          },
        },
        pii: { mode: "tokenize" },
      });
      const g = gw;
      const file = await g.get("/v1/types/crm.d.ts", H);
      assertEquals(file.status, 200);
      const fn = /(sendMail\w*)\(args/.exec(file.body as string)?.[1];
      assert(fn, file.body);

      await t.step("values spelt out by type-level code come back as placeholders", async () => {
        for (const field of ["to", "ssn", "phone"]) {
          const code = `
type Args = Parameters<typeof crm.${fn}>[0];
type Spell<S> = S extends \`\${infer H}\${infer T}\` ? \`\${H}_\${Spell<T>}\` : "";
const leak: 0 = null! as Spell<Args["${field}"]>;
`;
          const reply = await g.post("/v1/execute", { code, check: true }, H);
          assertEquals(reply.status, 200, JSON.stringify(reply.body));
          assertEquals(reply.body.error?.kind, "type", JSON.stringify(reply.body));
          assertNotMatch(squeeze(JSON.stringify(reply.body.error)), RAW);
        }
      });

      await t.step("a property name that is personal data: keyof spelt out", async () => {
        const code = `
type Flags = NonNullable<Parameters<typeof crm.setFlags>[0]>;
type Cc = Parameters<typeof crm.${fn}>[0]["cc"];
type Spell<S> = S extends \`\${infer H}\${infer T}\` ? \`\${H}_\${Spell<T>}\` : "";
const a: 0 = null! as Spell<keyof Flags & string>;
const b: 0 = null! as Spell<keyof NonNullable<Cc> & string>;
`;
        const reply = await g.post("/v1/execute", { code, check: true }, H);
        assertEquals(reply.body.error?.kind, "type", JSON.stringify(reply.body));
        assertNotMatch(squeeze(JSON.stringify(reply.body.error)), RAW);
      });

      await t.step("the Expected properties list names no personal data", async () => {
        const code = `await crm.setFlags({ nosuch: true });`;
        const reply = await g.post("/v1/execute", { code, check: true }, H);
        assertEquals(reply.body.error?.kind, "type", JSON.stringify(reply.body));
        const message = reply.body.error.diagnostics[0].message as string;
        assert(message.includes("Expected properties"), message);
        assertNotMatch(message, RAW);
      });

      await t.step(
        "/v1/types, tools.d.ts and /v1/tools carry no value or property name",
        async () => {
          assertNotMatch(file.body as string, RAW);
          const common = await g.get("/v1/types/tools.d.ts", H);
          assertNotMatch(common.body as string, RAW);
          const tools = await g.get("/v1/tools", H);
          assertEquals(tools.status, 200);
          assertNotMatch(JSON.stringify(tools.body), RAW);
        },
      );

      await t.step("a correct call still type-checks (required names match)", async () => {
        const code = `return typeof crm.${fn};`;
        const reply = await g.post("/v1/execute", { code, check: true }, H);
        assertEquals(reply.body.ok, true, JSON.stringify(reply.body));
      });
    } finally {
      await gw?.close();
    }
  },
});

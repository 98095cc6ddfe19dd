/**
 * Odd but real tool definitions, end to end over HTTP (the wild fixture server): the good
 * tools are listed and work, `/readyz` names what was skipped, declarations of the odd
 * tools type-check, and the code gets each tool's own words.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { denoCheck } from "../wrappers/_check.ts";
import { declarationsFor } from "../../wrappers/mod.ts";

Deno.test({
  name: "wild tool definitions: one bad tool does not take down its server",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({ servers: { wild: fixtureServer("wild") } });
      const g = gw;

      await t.step("/readyz is ready and names each skipped or reduced tool", async () => {
        // 503 only while the warm pool starts: the server's problems never make it unready.
        let ready = await g.get("/readyz");
        for (let i = 0; i < 300 && ready.status !== 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          ready = await g.get("/readyz");
        }
        assertEquals(ready.status, 200, JSON.stringify(ready.body));
        const [wild] = ready.body.upstreams;
        assertEquals(wild.state, "ready");
        assertEquals(wild.tools, 12);
        const byTool = new Map<string, string>(
          wild.warnings.map((w: { tool: string; problem: string }) => [w.tool, w.problem]),
        );
        for (const tool of ["huge_schema", "string_input", "(entry 3)", "(entry 10)"]) {
          assertMatch(byTool.get(tool) ?? "", /skipped$/, tool);
        }
        assertMatch(byTool.get("echo") ?? "", /listed more than once/);
        assertMatch(byTool.get("either") ?? "", /kept as is/);
        assertMatch(byTool.get("bad_output") ?? "", /outputSchema.*kept the tool without it/);
        assertMatch(byTool.get("long_description") ?? "", /cut$/);
      });

      await t.step("the good tools are listed and work", async () => {
        const listed = await g.get("/v1/tools");
        const ids = listed.body.tools.map((tool: { id: string }) => tool.id);
        for (const id of ["wild.echo", "wild.add", "wild.upper", "wild.count", "wild.ping"]) {
          assert(ids.includes(id), id);
        }
        assert(!ids.includes("wild.huge_schema"));
        const reply = await g.execute(
          `return [
             await wild.echo({ text: "hi" }),
             await wild.add({ a: 2, b: 3 }),
             await wild.upper({ text: "loud" }),
             await wild.count({ items: ["a", "b", "c"] }),
             await wild.ping(),
           ];`,
        );
        assertEquals(reply.error, undefined);
        assertEquals(reply.result, ["hi", { sum: 5 }, "LOUD", "3", "pong"]);
      });

      await t.step(
        "odd tools are callable; arguments are checked against odd schemas",
        async () => {
          const reply = await g.execute(
            `const odd = await wild.oddProps({ "a-b": "x", class: "c", "x y": 1, "ñandú": true, mode: 'a"b' });
           const tree = await wild.tree({ root: { name: "r", children: [{ name: "a" }, { name: "b", children: [{ name: "c" }] }] } });
           const either = await wild.either({ id: 7 });
           let refused = "";
           try { await wild.either({ id: "seven" }); } catch (e) { refused = e.message; }
           return { odd, tree, either, refused };`,
          );
          assertEquals(reply.error, undefined);
          const result = reply.result as Record<string, unknown>;
          assertEquals(result.odd, {
            "a-b": "x",
            class: "c",
            "x y": 1,
            "ñandú": true,
            mode: 'a"b',
          });
          assertEquals(result.tree, { nodes: 4 });
          assertEquals(result.either, { id: 7 });
          assertMatch(String(result.refused), /invalid arguments/);
        },
      );

      await t.step("a tool's error reaches the code in its own words", async () => {
        const reply = await g.execute(
          `const out = {};
           try { await wild.weather({ city: "Atlantis" }); } catch (e) { out.atlantis = { name: e.name, message: e.message }; }
           out.text = await wild.weather({ city: "Textville" });
           out.json = await wild.weather({ city: "Jsonville" });
           out.bad = await wild.weather({ city: "Badville" });
           out.good = await wild.weather({ city: "Paris" });
           out.badOutput = await wild.badOutput();
           return out;`,
        );
        assertEquals(reply.error, undefined);
        const out = reply.result as Record<string, unknown>;
        assertEquals(out.atlantis, { name: "ToolError", message: "unknown city Atlantis" });
        assertEquals(out.text, "21 degrees in Textville");
        assertEquals(out.json, { temperature: 19, unit: "C", source: "text" });
        assertEquals(out.bad, "hot in Badville");
        assertEquals(out.good, { temperature: 21.5, unit: "C" });
        assertEquals(out.badOutput, { items: [1, 2] });

        // The journal: the error in the tool's words, a warning where the schema was broken.
        const calls = reply.tools.calls as Array<Record<string, unknown>>;
        assertEquals(calls.map((c) => c.outcome), ["error", "ok", "ok", "ok", "ok", "ok"]);
        assertEquals(calls[0].error, "unknown city Atlantis");
        assertMatch(String(calls[1].warning), /returned no structured content.*text content/);
        assertMatch(String(calls[2].warning), /returned no structured content/);
        assertMatch(
          String(calls[3].warning),
          /^structured content ignored: at #\/properties\/temperature\/type: must be number/,
        );
        assert(!String(calls[3].warning).includes("hot"), "the warning never quotes the value");
        assertEquals(calls[0].warning, undefined);
        assertEquals(calls[4].warning, undefined);
        assertEquals(calls[5].warning, undefined);
      });

      await t.step("declarations of the odd tools type-check", async () => {
        const queries = [
          "odd property names comment",
          "counts the nodes of a tree",
          "either a name or an id",
          "temperature in a city",
          "long",
        ];
        const signatures = new Map<string, string>();
        for (const q of queries) {
          const found = await g.get(`/v1/tools/search?q=${encodeURIComponent(q)}&k=20`);
          assertEquals(found.status, 200);
          for (const hit of found.body.results) signatures.set(hit.id, hit.signature);
        }
        for (const id of ["wild.odd_props", "wild.tree", "wild.either", "wild.weather"]) {
          assert(signatures.has(id), `${id} found`);
        }
        // Each signature `wild.fn(args): Promise<T>` becomes a member of `declare const wild`.
        const members = [...signatures.values()].map((s) => s.replace(/^wild\./m, "  "));
        const source = `declare const wild: {\n${members.join(";\n")};\n};\n` +
          `const odd = await wild.oddProps({ "a-b": "x", class: "y", "x y": 1, "ñandú": true, mode: "*/" });\n` +
          `// @ts-expect-error the enum is a real union\n` +
          `await wild.oddProps({ "a-b": "x", class: "y", mode: "nope" });\n` +
          `const w: { temperature: number; unit: "C" | "F" } = await wild.weather({ city: "x" });\n` +
          `console.log(odd, w);\nexport {};\n`;
        await denoCheck(source);
        // The whole sandbox declaration file too.
        const dts = declarationsFor(g.gateway.upstream.catalogue(), { servers: ["wild"] });
        await denoCheck(
          `await wild.tree({ root: { name: "r", children: [{ name: "c" }] } });\n` +
            `await wild.either({ name: "n" });\n`,
          dts,
        );
      });
    } finally {
      await gw?.close();
    }
  },
});

Deno.test({
  name: "wild tool definitions: a well-formed tool with an outputSchema keeps its own words",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Only well-formed tools: the listing is fine even for the SDK's own validation, so
    // this isolates what happens to results.
    const gw = await startTestGateway({
      servers: { wild: fixtureServer("wild", ["--only", "weather,echo"]) },
    });
    try {
      const reply = await gw.execute(
        `let error = "";
         try { await wild.weather({ city: "Atlantis" }); } catch (e) { error = e.message; }
         const text = await wild.weather({ city: "Textville" });
         let nowhere = "";
         try { await wild.weather({ city: "Nowhere" }); } catch (e) { nowhere = e.message; }
         return { error, text, nowhere };`,
      );
      assertEquals(reply.result, {
        error: "unknown city Atlantis",
        text: "21 degrees in Textville",
        nowhere: '{"error":"no such city"}',
      });
      assertEquals(
        reply.tools.calls.map((c: { outcome: string }) => c.outcome),
        ["error", "ok", "error"],
      );
    } finally {
      await gw.close();
    }
  },
});

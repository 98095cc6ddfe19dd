/**
 * A tool's JSON text is measured before it is parsed on the gateway's main thread: past
 * MAX_TOOL_RESULT_VALUES values or MAX_JSON_DEPTH levels the code gets the text as a string
 * (it may parse it itself, in the sandbox). Members of the class: many empty objects (what an
 * echoing tool returns for one 4 MiB string argument), many numbers, deep nesting; and the
 * results at the bound are still parsed. Unit cases on `toolResultValue`, then a real gateway
 * with a real echoing MCP server.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";
import { startTestGateway } from "../helpers.ts";
import { MAX_TOOL_RESULT_VALUES, toolResultValue } from "../../gateway/tool_result.ts";
import { MAX_JSON_DEPTH } from "../../sandbox/mod.ts";
import { MAX_MESSAGE_VALUES } from "../../upstream/stdio_transport.ts";

const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });

/** An array of `n` copies of `item` as JSON text: `n + 1` values when `item` is one value. */
const arrayText = (item: string, n: number) => `[${new Array(n).fill(item).join(",")}]`;

Deno.test("tool result: JSON text past the value or depth bound stays text; within them it is parsed", () => {
  const cases: Record<string, string> = {
    "1.3 million empty objects": "[" + "{},".repeat(1_333_332) + "{}]",
    "numbers one past the bound": arrayText("0", MAX_TOOL_RESULT_VALUES),
    "an object of many members": `{${
      Array.from({ length: MAX_TOOL_RESULT_VALUES }, (_, i) => `"k${i}":1`).join(",")
    }}`,
    "nesting one level past the bound": "[".repeat(MAX_JSON_DEPTH + 1) +
      "]".repeat(MAX_JSON_DEPTH + 1),
  };
  for (const [name, json] of Object.entries(cases)) {
    assertEquals(typeof toolResultValue(text(json)), "string", name);
    assertEquals(toolResultValue(text(json)), json, name);
  }
  const atCap = arrayText("0", MAX_TOOL_RESULT_VALUES - 1);
  assertEquals((toolResultValue(text(atCap)) as unknown[]).length, MAX_TOOL_RESULT_VALUES - 1);
  const deep = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
  assert(Array.isArray(toolResultValue(text(deep))), "nesting at the bound must be parsed");
  assertEquals(toolResultValue(text('  {"a": [1, "x,[{"]} ')), { a: [1, "x,[{"] });
  assertEquals(toolResultValue(text("not json [")), "not json [");
});

Deno.test("real gateway: an echoed 4 MiB of empty objects reaches the code as text; a return value of 349,000 is redacted as before", async () => {
  const gw = await startTestGateway({
    servers: { faulty: fixtureServer("faulty") },
    sandbox: { timeoutMs: 20000, memoryMb: 512 },
  });
  try {
    const reply = await gw.execute(`
      const huge = "[" + "{},".repeat(1_333_332) + "{}]";
      const many = "[" + "0,".repeat(${MAX_TOOL_RESULT_VALUES}) + "0]";
      const fits = "[" + "0,".repeat(${MAX_TOOL_RESULT_VALUES - 2}) + "0]";
      const deep = "[".repeat(${MAX_JSON_DEPTH + 5}) + "]".repeat(${MAX_JSON_DEPTH + 5});
      const shape = (v) => typeof v === "string" ? "text " + v.length : "parsed " + v.length;
      return {
        huge: shape(await faulty.echo({ text: huge })),
        many: shape(await faulty.echo({ text: many })),
        fits: shape(await faulty.echo({ text: fits })),
        deep: shape(await faulty.echo({ text: deep })),
        parsedByTheCode: JSON.parse(await faulty.echo({ text: huge })).length,
      };`);
    assert(reply.ok, JSON.stringify(reply.error));
    assertEquals(reply.result, {
      huge: `text ${4_000_000}`,
      many: `text ${2 * MAX_TOOL_RESULT_VALUES + 3}`,
      fits: `parsed ${MAX_TOOL_RESULT_VALUES - 1}`,
      deep: `text ${2 * (MAX_JSON_DEPTH + 5)}`,
      parsedByTheCode: 1_333_333,
    });
    // The return value of many small values: walked in slices, uncopied when nothing is
    // redacted (tests/pii/walk_async_test.ts), with the same result and placeholders as before.
    const plain = await gw.execute(`return new Array(349_000).fill(0).map(() => ({}));`);
    assert(plain.ok, JSON.stringify(plain.error));
    assertEquals((plain.result as unknown[]).length, 349_000);
    assertEquals(plain.redactions, {});
    const one = await gw.execute(
      `const a = new Array(349_000).fill(0).map(() => ({})); a[200_000] = { to: "ann@example.com" };
       return a;`,
    );
    assert(one.ok, JSON.stringify(one.error));
    const rows = one.result as Record<string, string>[];
    assertEquals(rows.length, 349_000);
    assert(/^\[EMAIL_1_\w+\]$/.test(rows[200_000].to), rows[200_000].to);
    assertEquals(one.redactions, { email: 1 });
  } finally {
    await gw.close();
  }
});

Deno.test("real gateway: a server's reply of more values than MAX_MESSAGE_VALUES fails its call, unparsed; the server keeps serving", async () => {
  const gw = await startTestGateway({
    servers: { faulty: fixtureServer("faulty") },
    sandbox: { timeoutMs: 20000, memoryMb: 512 },
  });
  try {
    // A tool that turns its caller's text (one value, under every bound of a call) into
    // structured content of as many values as the text says: 1.3 million empty objects, then
    // numbers just past the bound; and one just under it still arrives whole.
    const reply = await gw.execute(`
      const outcome = async (text) => {
        try { return "ok " + (await faulty.structure({ text })).value.length; }
        catch (e) { return e.message; }
      };
      return [
        await outcome("[" + "{},".repeat(1_333_332) + "{}]"),
        await outcome("[" + "0,".repeat(${MAX_MESSAGE_VALUES}) + "0]"),
        await outcome("[" + "0,".repeat(${MAX_MESSAGE_VALUES - 100}) + "0]"),
        (await faulty.echo({ text: "still serving" })),
      ];`);
    assert(reply.ok, JSON.stringify(reply.error));
    const [objects, numbers, fits, echo] = reply.result as string[];
    assertMatch(objects, /held more than 200000 JSON values/);
    assertMatch(numbers, /held more than 200000 JSON values/);
    assertEquals(fits, `ok ${MAX_MESSAGE_VALUES - 99}`);
    assertEquals(echo, "still serving");
    const status = gw.gateway.upstream.status().find((s) => s.name === "faulty")!;
    assertEquals(status.state, "ready");
    assertEquals(status.restarts, 0);
  } finally {
    await gw.close();
  }
});

/**
 * The parts behind the approval view's hidden values (red team j1): a vault remembers where
 * each value came from, the execution judges it against the agent's code, the view shows
 * through only the agent's placeholders, and the MCP message says what is hidden.
 */
import { assert, assertEquals } from "../assert.ts";
import { Vault } from "../../pii/mod.ts";
import {
  hiddenList,
  hideUpstream,
  MAX_HIDDEN_LISTED,
  revealForView,
} from "../../gateway/approval/mod.ts";
import { occursIn, originInCode } from "../../gateway/value_origin.ts";
import { approvalMessage } from "../../api/mcp_approval.ts";

Deno.test("vault: a value's origin is upstream unless said, and turns to agent only", () => {
  const vault = new Vault();
  const file = vault.placeholderFor("ssn", "078051120");
  assertEquals(vault.originOf(file), "upstream");
  const own = vault.placeholderFor("secret", "/etc/cron.d/x;reboot", "agent");
  assertEquals(vault.originOf(own), "agent");
  // A function is asked for a new value, and for one held as upstream; never for the agent's.
  const asked: string[] = [];
  const judge = (value: string) => {
    asked.push(value);
    return value === "078-05-1120" ? "agent" as const : "upstream" as const;
  };
  assertEquals(vault.placeholderFor("secret", "/etc/cron.d/x;reboot", judge), own);
  assertEquals(vault.placeholderFor("ssn", "078-05-1120", judge), file);
  assertEquals(asked, ["078-05-1120"]);
  assertEquals(vault.originOf(file), "agent");
  // Never back: once the agent wrote a value, it knows it.
  vault.placeholderFor("ssn", "078051120", "upstream");
  assertEquals(vault.originOf(file), "agent");
  assertEquals(vault.originOf("[SSN_9_abcdefg]"), undefined);
});

Deno.test("vault: origins survive a shared store's round trip (seed, takeAdded)", () => {
  const a = new Vault();
  a.seed([]);
  const mine = a.placeholderFor("email", "me@example.com", "agent");
  const theirs = a.placeholderFor("email", "ann@example.com");
  const added = a.takeAdded();
  assertEquals(added.map((m) => m.origin), ["agent", undefined]);
  const b = new Vault({ tag: a.tag });
  b.seed(
    added.map(({ type, value, placeholder, origin }) => ({ type, value, placeholder, origin })),
  );
  assertEquals(b.originOf(mine), "agent");
  assertEquals(b.originOf(theirs), "upstream");
  // A mapping stored without an origin (an older version) is upstream, the cautious side.
  const c = new Vault({ tag: a.tag });
  c.seed([{ type: "email", value: "me@example.com", placeholder: mine }]);
  assertEquals(c.originOf(mine), "upstream");
});

Deno.test("value origin: the agent's values are those its code has, as written or escaped", () => {
  const code = `const p = "/etc/cron.d/x;reboot"; const q = "pa\\"ss:w0rd"; ` +
    `return { password: p, key: "ab" + "cd1234efgh", ssn: atob("MDc4MDUxMTIw") };`;
  const origin = originInCode(code);
  assertEquals(origin("/etc/cron.d/x;reboot"), "agent");
  assertEquals(origin('pa"ss:w0rd'), "agent");
  // Computed, decoded or never there: upstream.
  assertEquals(origin("abcd1234efgh"), "upstream");
  assertEquals(origin("078051120"), "upstream");
  assertEquals(origin(""), "upstream");
  assertEquals(origin(code + "x"), "upstream");
  // Past its budget every value is upstream (the cautious side), even one the code has.
  const spent = originInCode(code, code.length * 2);
  assertEquals(spent("078051120"), "upstream");
  assertEquals(spent("abcd1234efgh"), "upstream");
  assertEquals(spent("/etc/cron.d/x;reboot"), "upstream");
});

Deno.test("approval view: only the agent's placeholders are shown through, whatever is glued on", () => {
  const vault = new Vault();
  const file = vault.placeholderFor("ssn", "078051120");
  const own = vault.placeholderFor("secret", "/srv/x;reboot", "agent");
  const hidden = new Map<string, "upstream" | "unknown">();
  assertEquals(revealForView(`x${file}1 ${own}!`, vault, hidden), `x${file}1 /srv/x;reboot!`);
  // A placeholder that no longer resolves stays too, said to be unknown.
  const gone = `[EMAIL_3_${vault.tag}]`;
  assertEquals(revealForView(`to:${gone}`, vault, hidden), `to:${gone}`);
  assertEquals(hiddenList(hidden), [
    { placeholder: file, why: "upstream" },
    { placeholder: gone, why: "unknown" },
  ]);
  // Text that only looks like one, split or encoded, is not a placeholder: shown as it is.
  assertEquals(
    revealForView(`${file.slice(0, 4)}|${btoa(file)}`, vault, hidden),
    `${file.slice(0, 4)}|${btoa(file)}`,
  );
  // The list is bounded; the total is the map's size.
  const many = new Map<string, "upstream">();
  for (let i = 1; i <= 50; i++) many.set(`[SSN_${i}_abcdefg]`, "upstream");
  assertEquals(hiddenList(many).length, MAX_HIDDEN_LISTED);
});

Deno.test("approval view: the MCP message says which values are hidden and why", () => {
  const base = {
    tenant: "acme",
    executionId: "e",
    requestId: "r",
    server: "sink",
    tool: "sink.store",
    arguments: '{"value":"x[SSN_1_abcdefg]1"}',
    argumentsShortened: false,
    id: "a",
    requestedAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  };
  assertEquals(approvalMessage(base).includes("NOT SHOWN"), false);
  const message = approvalMessage({
    ...base,
    hiddenValues: [{ placeholder: "[SSN_1_abcdefg]", why: "upstream" }],
    hiddenValuesTotal: 3,
  });
  assert(message.includes("NOT SHOWN: 3 values"), message);
  assert(message.includes("[SSN_1_abcdefg] and 2 more"), message);
  assert(message.includes("only saw them as a placeholder"), message);
});

Deno.test("approval view: an upstream value written out raw is put back as its placeholder", async () => {
  const vault = new Vault();
  const ssn = vault.placeholderFor("ssn", "078051120");
  const own = vault.placeholderFor("secret", "/srv/x;reboot", "agent");
  assertEquals([...vault.valuesOf("upstream")], [["078051120", ssn]]);
  const args = { v: "x0780511201", "078051120": ["/srv/x;reboot"] };
  assertEquals(await hideUpstream(args, vault), { v: `x${ssn}1`, [ssn]: ["/srv/x;reboot"] });
  assertEquals(args.v, "x0780511201");
  // Nothing upstream: the arguments themselves.
  assertEquals(await hideUpstream(args, new Vault()), args);
  assertEquals(vault.originOf(own), "agent");
});

Deno.test("value origin: the code is searched in linear time, with includes' answers", () => {
  // Red team m3: V8's includes took 6.3 s for one 60,000-unit value whose end repeats through
  // 500,000 units of code. The linear search gives the same answers.
  const random = (n: number, alphabet: string) =>
    Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
  for (let i = 0; i < 2000; i++) {
    const text = random(1 + Math.floor(Math.random() * 40), "ab");
    const pattern = random(1 + Math.floor(Math.random() * 8), "ab");
    assertEquals(occursIn(text, pattern), text.includes(pattern), `${pattern} in ${text}`);
  }
  const code = "// " + "e".repeat(500_000);
  const value = "eyJhbGciOiJIUzI1NiJ9.eyJ" + "e".repeat(4000) + "B1" + "e".repeat(4000);
  assertEquals(occursIn(code, value), false);
  assertEquals(occursIn(code + value, value), true);
  // Charged by what it reads: a budget of one search of this code and value, then upstream.
  const origin = originInCode(code + value, code.length + 2 * value.length);
  assertEquals(origin(value), "agent");
  assertEquals(origin(value + "x"), "upstream", "past the budget");
});

/**
 * What an approver is shown of a call's arguments, through the per-execution gate with the
 * real redaction (the red team's rtappr items 1, 3, 6 and 7, each as a class): every value
 * redacted before it is rendered (escapes, keys, numbers), nothing that looks complete when
 * it is not (every key path, head and tail of long strings, marked cuts that a value cannot
 * forge), invisible characters escaped, and a bounded number of values visited whatever the
 * shape. Also the gate's and broker's refusals that must be denials (item 5) and the
 * per-execution waiting budget (item 4).
 */

import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import {
  ApprovalBroker,
  ApprovalGate,
  ApprovalPolicy,
  type ApprovalRequest,
  MAX_APPROVAL_ARGUMENT_CHARS,
  MemoryApprovalStore,
} from "../../gateway/approval/mod.ts";
import { approvalSchema } from "../../gateway/config.ts";
import { redactText, Vault } from "../../pii/mod.ts";

const CARD = "4111111111111111";
const SSN = "123-45-6789";
const IBAN = "DE89370400440532013000";
const SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const IP = "203.0.113.7";
const EMAIL = "ada@example.com";
const RAW = [CARD, SSN, IBAN, SECRET, IP, EMAIL];

const tool = { id: "fs.write_file", server: "fs" };

/** A gate with the real redaction (tokenize, one vault) and a channel that records requests. */
function setup(
  over: Record<string, unknown> = {},
  options: { store?: MemoryApprovalStore; hasApprovers?: boolean; answersItself?: boolean } = {},
) {
  const asked: ApprovalRequest[] = [];
  let notify: (() => void) | undefined;
  const broker = new ApprovalBroker({ store: options.store });
  const vault = new Vault();
  const gate = new ApprovalGate({
    policy: new ApprovalPolicy(approvalSchema.parse({ tools: ["fs.*"], ...over })),
    broker,
    tenant: "acme",
    hasApprovers: options.hasApprovers ?? true,
    executionId: crypto.randomUUID(),
    requestId: "r",
    channel: {
      answersItself: options.answersItself ?? false,
      ask: (r) => {
        asked.push(r);
        notify?.();
      },
    },
    redact: (text) => redactText(text, { mode: "tokenize", vault }).text,
  });
  /** The text the approver is shown for `args` (the call is then denied). */
  const shown = async (args: Record<string, unknown>): Promise<ApprovalRequest> => {
    const before = asked.length;
    const call = gate.check(tool, args);
    while (asked.length === before) await new Promise<void>((r) => notify = r);
    const request = asked.at(-1)!;
    await broker.answer("acme", request.id, { approve: false, decidedBy: "test" });
    await assertRejects(() => call);
    return request;
  };
  return { gate, broker, shown, asked };
}

const leaked = (text: string) => RAW.filter((v) => text.includes(v));

Deno.test("shown arguments: every value is redacted before it is rendered (escapes, keys, numbers)", async () => {
  const { shown } = setup();
  const cases: Record<string, unknown>[] = [
    // The red team's case: newlines before each value.
    { content: `card:\n${CARD}\nssn:\n${SSN}\niban:\n${IBAN}\nkey:\n${SECRET}\n` },
    // Tabs, quotes, backslashes and other escapes glue a letter to the value after them.
    { a: `x\t${CARD}`, b: `y\r${SSN}`, c: `"${IBAN}"`, d: `C:\\${SECRET}`, e: `h\t${IP}` },
    { f: `\u0007${CARD}`, g: `to\t${EMAIL}`, h: `\b${IBAN}\f` },
    // Nested arrays and objects.
    { edits: [{ oldText: `\n${CARD}`, newText: [`\t${SSN}`, { deep: `\n${SECRET}` }] }] },
    // A value in a key, and a card number sent as a JSON number.
    { [`\n${EMAIL}`]: 1, [CARD]: "key", n: Number(CARD) },
  ];
  for (const args of cases) {
    const text = (await shown(args)).arguments;
    assertEquals(leaked(text), [], `shown: ${text}`);
    assertMatch(text, /\[[A-Z]+_\d+_[a-z]{7}\]/, "placeholders stand where the values were");
  }
});

Deno.test("shown arguments: nothing looks complete that is not (every key, head and tail, marks)", async () => {
  const { shown } = setup();
  // A path longer than 1,000 characters: its end (the file) is shown, and the cut is marked.
  const hidden = "/srv/" + "./".repeat(520) + "important.txt";
  const path = await shown({ path: hidden, content: "x" });
  assertMatch(path.arguments, /important\.txt/);
  assertMatch(path.arguments, /^\{"path":"\/srv\/\.\/.*…\[\d+ of 1058 characters not shown\]…/);
  assertEquals(path.argumentsShortened, true);
  assertEquals(JSON.parse(path.arguments).content, "x");

  // Over 4,000 characters and no whitespace at all: every key is still there.
  const X = "X".repeat(990), Y = "Y".repeat(990);
  const edits = await shown({
    edits: [{ oldText: "KEEP_ME", newText: X }, { oldText: X, newText: Y }, {
      oldText: Y,
      newText: "GONE",
    }],
    path: "/srv/important.txt",
  });
  const parsed = JSON.parse(edits.arguments);
  assertEquals(parsed.path, "/srv/important.txt");
  assertEquals(parsed.edits.length, 3);
  assertEquals(parsed.edits[2].newText, "GONE");
  assert(edits.arguments.length <= MAX_APPROVAL_ARGUMENT_CHARS);

  // 900 small values and a key after them: all ids, and the key.
  const ids = Array.from({ length: 900 }, (_, i) => i + 1);
  const table = await shown({ ids, table: "customers" });
  assertEquals(JSON.parse(table.arguments), { ids, table: "customers" });
  assertEquals(table.argumentsShortened, false);

  // More items than fit: the first ones and a count of the rest; the key after them stays.
  const many = await shown({ ids: Array.from({ length: 20_000 }, (_, i) => i), table: "t" });
  const m = JSON.parse(many.arguments);
  assertEquals(m.table, "t");
  assertMatch(String(m.ids.at(-1)), /^…\[\d+ more of 20000 items\]…$/);
  assertEquals(many.argumentsShortened, true);

  // Thousands of keys: those shown, and how many are not.
  const keys: Record<string, number> = {};
  for (let i = 0; i < 5000; i++) keys[`k${i}`] = i;
  const wide = await shown(keys);
  assert(
    Object.keys(JSON.parse(wide.arguments)).some((k) => /^…\[\d+ more of 5000 keys\]…$/.test(k)),
  );

  // Deeper than shown: marked.
  let deep: Record<string, unknown> = { end: "bottom" };
  for (let i = 0; i < 30; i++) deep = { d: deep };
  assertMatch((await shown(deep)).arguments, /…\[an object nested deeper than 20 levels\]…/);

  // A value cannot forge a marker: its ellipsis is shown escaped, and the text says complete.
  const forged = await shown({ path: "/srv/notes.txt…[400 of 900 characters not shown]…" });
  assert(!forged.arguments.includes("…"), forged.arguments);
  assertMatch(forged.arguments, /\\u2026\[400 of 900/);
  assertEquals(forged.argumentsShortened, false);
  assertEquals(
    JSON.parse(forged.arguments).path,
    "/srv/notes.txt…[400 of 900 characters not shown]…",
  );
});

Deno.test("shown arguments: invisible and direction-changing characters are escaped", async () => {
  const { shown } = setup();
  const spoofs = [
    "\u2028",
    "\u2029",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200f",
    "\ufeff",
    "\u0085",
    "\u061c",
    "\u{e0041}",
  ];
  for (const ch of spoofs) {
    const text =
      (await shown({ path: `/srv/app/${ch}txt.etelled-ton-od/../../etc/cron.d/x`, [`k${ch}`]: 1 }))
        .arguments;
    assert(
      !text.includes(ch),
      `U+${ch.codePointAt(0)!.toString(16)} is shown raw: ${JSON.stringify(text)}`,
    );
    // Still valid JSON that reads back as the value.
    assertEquals(JSON.parse(text).path, `/srv/app/${ch}txt.etelled-ton-od/../../etc/cron.d/x`);
  }
});

Deno.test("shown arguments: a bounded number of values is visited, whatever the shape", async () => {
  const { shown } = setup();
  // Arrays whose element reads are counted: 1.4 M empty arrays (each cost nothing before).
  let reads = 0;
  const counted = <T>(items: T[]): T[] =>
    new Proxy(items, {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
  const empty = counted(Array.from({ length: 1_400_000 }, () => [] as unknown[]));
  const text = (await shown({ path: "x", content: "y", z: empty })).arguments;
  assert(reads <= 10_001, `${reads} elements read`);
  assertMatch(text, /"…\[\d+ more of 1400000 items\]…"\]\}$/);
  // Nested: arrays of arrays of empty objects.
  reads = 0;
  const nested = counted(
    Array.from({ length: 2000 }, () => counted(Array.from({ length: 700 }, () => ({})))),
  );
  await shown({ nested });
  assert(reads <= 10_001, `${reads} elements read`);
});

Deno.test("gate: one execution's waits for approval are bounded in all (executionWaitSeconds)", async () => {
  const { gate } = setup({ timeoutSeconds: 60, executionWaitSeconds: 1 });
  // Nobody answers: the first wait ends with the budget, not after 60 s.
  const first = await assertRejects(() => gate.check(tool, { n: 1 }));
  assertEquals((first as { kind?: string }).kind, "approval_timeout");
  assertMatch(first.message, /waiting time for approvals \(1 s in all\)/);
  // The budget is spent: the next call is refused at once, without asking.
  const second = await assertRejects(() => gate.check({ id: "fs.edit_file", server: "fs" }, {}));
  assertEquals((second as { kind?: string }).kind, "approval_timeout");
});

Deno.test("gate: a registry that fails, or an ask that fails, denies even with onUnavailable allow", async () => {
  class BrokenStore extends MemoryApprovalStore {
    override add(): Promise<boolean> {
      return Promise.reject(new Error("store down"));
    }
  }
  const broken = setup({ onUnavailable: "allow" }, { store: new BrokenStore() });
  const error = await assertRejects(() => broken.gate.check(tool, {}));
  assertEquals((error as { kind?: string }).kind, "approval_denied");

  // A client asked over elicitation that fails (refused, went away): denied, not "unavailable".
  const broker = new ApprovalBroker();
  const gate = new ApprovalGate({
    policy: new ApprovalPolicy(approvalSchema.parse({ tools: ["fs.*"], onUnavailable: "allow" })),
    broker,
    tenant: "lax",
    hasApprovers: false,
    executionId: crypto.randomUUID(),
    requestId: "r",
    channel: {
      answersItself: true,
      approver: "mcp-client:local",
      ask: () => Promise.reject(new Error("user rejected the request")),
    },
    redact: (text) => text,
  });
  const refused = await assertRejects(() => gate.check(tool, {}));
  assertEquals((refused as { kind?: string }).kind, "approval_denied");
});

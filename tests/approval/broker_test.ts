/**
 * The approval room on its own: policy matching, the in-memory store's per-tenant caps and
 * settle-once rule, the broker's answers (404 for unknown or another tenant's, 409 for
 * settled), timeouts, withdrawal, and the per-execution gate (scope, coalescing, caps,
 * unavailable approvers, argument text).
 */

import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import {
  ApprovalBroker,
  type ApprovalEvent,
  ApprovalGate,
  ApprovalPolicy,
  type ApprovalRequest,
  argumentText,
  MAX_APPROVAL_ARGUMENT_CHARS,
  MemoryApprovalStore,
} from "../../gateway/approval/mod.ts";
import { approvalSchema } from "../../gateway/config.ts";
import { GatewayError } from "../../gateway/mod.ts";

const policy = (over: Record<string, unknown> = {}) =>
  new ApprovalPolicy(approvalSchema.parse(over));

const newRequest = (tenant = "acme", tool = "fs.write_file") => ({
  tenant,
  executionId: crypto.randomUUID(),
  requestId: "r1",
  server: "fs",
  tool,
  arguments: "{}",
});

/** A broker whose settled events are collected. */
function broker(store = new MemoryApprovalStore()) {
  const events: ApprovalEvent[] = [];
  return { broker: new ApprovalBroker({ store, onSettled: (e) => events.push(e) }), events };
}

/** A channel that hands each announced request to the test. */
function recordingChannel() {
  const asked: ApprovalRequest[] = [];
  let notify: (() => void) | undefined;
  return {
    asked,
    channel: {
      answersItself: false,
      ask: (r: ApprovalRequest) => {
        asked.push(r);
        notify?.();
      },
    },
    /** Resolves once `n` requests have been announced. */
    async until(n: number) {
      while (asked.length < n) await new Promise<void>((r) => notify = r);
    },
  };
}

Deno.test("policy: globs and the MCP annotation defaults", () => {
  const p = policy({ tools: ["fs.write_file", "github.*"], destructive: true });
  assert(p.needsApproval({ id: "fs.write_file", annotations: { readOnlyHint: true } }));
  assert(p.needsApproval({ id: "github.create_issue" }));
  // No annotations: the MCP defaults say destructive.
  assert(p.needsApproval({ id: "fs.move_file" }));
  assert(p.needsApproval({ id: "fs.edit", annotations: { readOnlyHint: false } }));
  assert(!p.needsApproval({ id: "fs.read", annotations: { readOnlyHint: true } }));
  assert(!p.needsApproval({ id: "fs.mkdir", annotations: { destructiveHint: false } }));
  // Not destructive: only the globs count.
  const globsOnly = policy({ tools: ["github.*"] });
  assert(!globsOnly.needsApproval({ id: "fs.move_file" }));
  // A glob does not match across the id as a regular expression would.
  assert(!policy({ tools: ["fs.write.file"] }).needsApproval({ id: "fs.writeXfile" }));
});

Deno.test("store: per-tenant cap, settle once, settled ids remembered and bounded", async () => {
  let now = 1000;
  const store = new MemoryApprovalStore({
    maxSettledPerTenant: 2,
    settledTtlMs: 500,
    now: () => now,
  });
  const a = { ...newRequest("a"), id: "1", requestedAt: 0, expiresAt: 0 };
  const a2 = { ...a, id: "2" };
  const b = { ...newRequest("b"), id: "3", requestedAt: 0, expiresAt: 0 };
  assert(await store.add(a, 1));
  assert(!(await store.add(a2, 1)), "tenant a is full");
  assert(await store.add(b, 1), "tenant b is not crowded out by a");
  assertEquals(await store.get("b", "1"), undefined);
  assertEquals((await store.settle("a", "1", "approved"))?.id, "1");
  assertEquals(await store.settle("a", "1", "denied"), undefined, "settled only once");
  assertEquals((await store.settled("a", "1"))?.status, "approved");
  assertEquals(await store.settled("b", "1"), undefined, "another tenant's is not visible");
  now += 600;
  assertEquals(await store.settled("a", "1"), undefined, "forgotten after the ttl");
});

Deno.test("broker: answer, approve twice (409), unknown and other tenant (404)", async () => {
  const { broker: b, events } = broker();
  const ch = recordingChannel();
  const waiting = b.request(newRequest("acme"), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: ch.channel,
  });
  await ch.until(1);
  const id = ch.asked[0].id;
  assertEquals((await b.list("acme")).map((r) => r.id), [id]);
  assertEquals(await b.list("other"), []);
  const notFound = await assertRejects(() =>
    b.answer("other", id, { approve: true, decidedBy: "x" })
  );
  assert(notFound instanceof GatewayError && notFound.kind === "not_found");
  await b.answer("acme", id, { approve: true, scope: "execution", decidedBy: "key:sha256:ab" });
  const outcome = await waiting;
  assertEquals(outcome.status, "approved");
  assertEquals(outcome.answer?.scope, "execution");
  const twice = await assertRejects(() => b.answer("acme", id, { approve: false, decidedBy: "x" }));
  assert(twice instanceof GatewayError && twice.kind === "conflict");
  const unknown = await assertRejects(() =>
    b.answer("acme", crypto.randomUUID(), { approve: true, decidedBy: "x" })
  );
  assert(unknown instanceof GatewayError && unknown.kind === "not_found");
  assertEquals(events.map((e) => e.outcome.status), ["approved"]);
  assertEquals(b.pending(), []);
});

Deno.test("broker: timeout, withdrawal, and a decision arriving after either is 409", async () => {
  const { broker: b, events } = broker();
  const ch = recordingChannel();
  const timedOut = await b.request(newRequest(), {
    timeoutMs: 20,
    maxPending: 10,
    channel: ch.channel,
  });
  assertEquals(timedOut.status, "timeout");
  const late = await assertRejects(() =>
    b.answer("acme", ch.asked[0].id, { approve: true, decidedBy: "x" })
  );
  assert(late instanceof GatewayError && late.kind === "conflict");

  const cancel = new AbortController();
  const waiting = b.request(newRequest(), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: ch.channel,
    signal: cancel.signal,
  });
  await ch.until(2);
  cancel.abort();
  assertEquals((await waiting).status, "withdrawn");
  const afterCancel = await assertRejects(() =>
    b.answer("acme", ch.asked[1].id, { approve: true, decidedBy: "x" })
  );
  assert(afterCancel instanceof GatewayError && afterCancel.kind === "conflict");
  assertEquals(events.map((e) => e.outcome.status), ["timeout", "withdrawn"]);
});

Deno.test("broker: a tenant at its cap is denied at once, another tenant still asks", async () => {
  const { broker: b } = broker();
  const ch = recordingChannel();
  const first = b.request(newRequest("a"), {
    timeoutMs: 60_000,
    maxPending: 1,
    channel: ch.channel,
  });
  await ch.until(1);
  assertEquals(
    (await b.request(newRequest("a"), { timeoutMs: 60_000, maxPending: 1, channel: ch.channel }))
      .status,
    "over_capacity",
  );
  const other = b.request(newRequest("b"), {
    timeoutMs: 60_000,
    maxPending: 1,
    channel: ch.channel,
  });
  await ch.until(2);
  assertEquals(ch.asked[1].tenant, "b");
  await b.close();
  assertEquals((await first).status, "withdrawn");
  assertEquals((await other).status, "withdrawn");
});

Deno.test("broker: a channel that answers itself, and one that fails", async () => {
  const { broker: b } = broker();
  const approved = await b.request(newRequest(), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: {
      answersItself: true,
      ask: () => Promise.resolve({ approve: false, reason: "no", decidedBy: "mcp-client" }),
    },
  });
  assertEquals(approved.status, "denied");
  assertEquals(approved.answer?.reason, "no");
  const broken = await b.request(newRequest(), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: {
      answersItself: true,
      approver: "mcp-client:local",
      ask: () => Promise.reject(new Error("client gone")),
    },
  });
  // A person was asked and the asking failed: a denial, never "unavailable".
  assertEquals(broken.status, "denied");
  assertEquals(broken.answer?.decidedBy, "mcp-client:local");
});

function gate(over: Record<string, unknown>, channel?: ReturnType<typeof recordingChannel>) {
  const { broker: b, events } = broker();
  const g = new ApprovalGate({
    policy: policy({ tools: ["fs.*", "fs.write_*"], ...over }),
    broker: b,
    tenant: "acme",
    hasApprovers: true,
    executionId: crypto.randomUUID(),
    requestId: "r",
    channel: channel?.channel,
    redact: (text) => text.replaceAll("ada@example.com", "[EMAIL_1]"),
  });
  return { gate: g, broker: b, events };
}

const tool = { id: "fs.write_file", server: "fs" };

Deno.test("gate: a tool matching two globs is asked once; execution scope covers later calls", async () => {
  const ch = recordingChannel();
  const { gate: g, broker: b } = gate({}, ch);
  // 50 calls at once: one question; its execution-scoped approval lets all through.
  const calls = Array.from({ length: 50 }, (_, i) => g.check(tool, { path: `f${i}` }));
  await ch.until(1);
  await b.answer("acme", ch.asked[0].id, { approve: true, scope: "execution", decidedBy: "x" });
  await Promise.all(calls);
  await g.check(tool, { path: "later" });
  assertEquals(ch.asked.length, 1);
  // Call scope: the next call asks again.
  const ch2 = recordingChannel();
  const { gate: g2, broker: b2 } = gate({}, ch2);
  const one = g2.check(tool, {});
  await ch2.until(1);
  await b2.answer("acme", ch2.asked[0].id, { approve: true, decidedBy: "x" });
  await one;
  const two = g2.check(tool, {});
  await ch2.until(2);
  await b2.answer("acme", ch2.asked[1].id, { approve: false, reason: "enough", decidedBy: "x" });
  const denied = await assertRejects(() => two);
  assertEquals((denied as { kind?: string }).kind, "approval_denied");
  assertMatch(denied.message, /denied: enough/);
});

Deno.test("gate: unavailable approvers, onUnavailable, close withdraws, argument text", async () => {
  // No channel: nobody can be asked.
  const { gate: none, events } = gate({});
  const refused = await assertRejects(() => none.check(tool, {}));
  assertEquals((refused as { kind?: string }).kind, "approval_denied");
  await assertRejects(() => none.check(tool, {}));
  assertEquals(events.map((e) => e.outcome.status), ["unavailable"], "recorded once per tool");
  await gate({ onUnavailable: "allow" }).gate.check(tool, {});
  // A tool outside the policy is never held.
  await gate({}).gate.check({ id: "other.tool", server: "other" }, {});

  const ch = recordingChannel();
  const { gate: g } = gate({}, ch);
  const waiting = g.check(tool, { content: "mail ada@example.com", big: "x".repeat(100_000) });
  await ch.until(1);
  const text = ch.asked[0].arguments;
  assertMatch(text, /\[EMAIL_1\]/);
  assert(!text.includes("ada@example.com"), "the approver sees what the agent sees");
  assert(text.length <= MAX_APPROVAL_ARGUMENT_CHARS + 20, `${text.length} characters`);
  assertMatch(text, /…\[\d+ of 100000 characters not shown\]…/);
  // Many values: the list is cut, and says so.
  const many = argumentText({ list: Array.from({ length: 10_000 }, (_, i) => `item ${i}`) });
  assert(many.length <= MAX_APPROVAL_ARGUMENT_CHARS, `${many.length} characters`);
  assertMatch(many, /"…\[\d+ more of 10000 items\]…"\]\}$/);
  g.close();
  const withdrawn = await assertRejects(() => waiting);
  assertEquals((withdrawn as { kind?: string }).kind, "approval_denied");
  assertEquals(argumentText({ a: 1 }), '{"a":1}');
});

Deno.test("gate: the approval timeout throws approval_timeout and resumes the paused clock", async () => {
  const ch = recordingChannel();
  const { gate: g } = gate({ timeoutSeconds: 1 }, ch);
  let paused = 0;
  let resumed = 0;
  const context = {
    pauseDeadline: () => {
      paused++;
      return () => resumed++;
    },
  };
  const error = await assertRejects(() => g.check(tool, {}, context));
  assertEquals((error as { kind?: string }).kind, "approval_timeout");
  assertEquals([paused, resumed], [1, 1]);
});

Deno.test("broker: two brokers on one store (replicas): an answer taken by one wakes the other", async () => {
  const shared = new MemoryApprovalStore();
  const a = broker(shared);
  const b = broker(shared);
  const ch = recordingChannel();
  const waiting = a.broker.request(newRequest("acme"), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: ch.channel,
  });
  await ch.until(1);
  const id = ch.asked[0].id;
  // Replica B lists it and answers it; another tenant on B still cannot.
  assertEquals((await b.broker.list("acme")).map((r) => r.id), [id]);
  const foreign = await assertRejects(() =>
    b.broker.answer("other", id, { approve: true, decidedBy: "x" })
  );
  assert(foreign instanceof GatewayError && foreign.kind === "not_found");
  await b.broker.answer("acme", id, { approve: true, scope: "execution", decidedBy: "key:b" });
  const outcome = await waiting;
  assertEquals(outcome.status, "approved");
  assertEquals(outcome.answer?.decidedBy, "key:b");
  assertEquals(outcome.answer?.scope, "execution");
  assertEquals(a.broker.pending(), []);
  // Recorded once, by the replica that acted on it (held the call), with who decided.
  assertEquals(a.events.map((e) => [e.outcome.status, e.outcome.answer?.decidedBy]), [
    ["approved", "key:b"],
  ]);
  assertEquals(b.events.length, 0);
  const again = await assertRejects(() =>
    a.broker.answer("acme", id, { approve: false, decidedBy: "x" })
  );
  assert(again instanceof GatewayError && again.kind === "conflict");
  await a.broker.close();
  await b.broker.close();
});

Deno.test("broker: an approver's reason is masked before it is kept or shown", async () => {
  const { broker: b, events } = broker();
  const ch = recordingChannel();
  const waiting = b.request(newRequest(), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: ch.channel,
  });
  await ch.until(1);
  await b.answer("acme", ch.asked[0].id, {
    approve: false,
    reason: "ask ada@example.com first",
    decidedBy: "x",
  });
  const outcome = await waiting;
  assertEquals(outcome.answer?.reason, "ask [REDACTED_EMAIL] first");
  assertEquals(events[0].outcome.answer?.reason, "ask [REDACTED_EMAIL] first");
  assertEquals(
    (await b.store.settled("acme", ch.asked[0].id))?.answer?.reason,
    "ask [REDACTED_EMAIL] first",
  );
});

Deno.test("broker: a reason cut to its cap loses its partial last word before it is masked", async () => {
  const { broker: b } = broker();
  const ch = recordingChannel();
  const waiting = b.request(newRequest(), {
    timeoutMs: 60_000,
    maxPending: 10,
    channel: ch.channel,
  });
  await ch.until(1);
  // The cap (500) falls inside the card number: 15 of its 16 digits would be kept unmasked.
  const reason = `${"x".repeat(484)} 4111111111111111 rest`;
  await b.answer("acme", ch.asked[0].id, { approve: false, reason, decidedBy: "x" });
  const kept = (await waiting).answer?.reason ?? "";
  assert(!/\d{8}/.test(kept), kept);
  assert(kept.length <= 500);
});

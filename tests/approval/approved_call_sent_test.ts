/**
 * What the gateway says about an approved call follows what became of it (red team rt-n2,
 * N2-1): an approved call that waits for a per-server slot (the agent's code filled them) and is
 * stopped when the execution ends never reached its server, so the approver is not told
 * `200 approved`, `GET /v1/approvals/{id}` says `acted: not_sent`, and the call's row says it
 * was never sent (not "the server may or may not have acted"). Members: the code returns first,
 * the code throws, the execution's timeout, the gateway's shutdown; and a call that is sent is
 * `approved`.
 * One replica, in-memory approvals: no fault at all.
 */

import { hashApiKey } from "../../gateway/mod.ts";
import { NOT_SENT_ERROR } from "../../gateway/bridge.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { waitFor } from "../services.ts";

const LEDGER = new URL("../fixtures/servers/ledger.ts", import.meta.url).pathname;
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** Fills ledger's two slots for 6 s, asks for `ledger.put`, then `ending` (the code's end). */
function slotWaitCode(ending: string): string {
  return `
    const slow = [1, 2].map((i) => ledger.write({ key: "w" + i, delayMs: 6000 }).catch(() => 0));
    const put = ledger.put({ key: "approved-put", value: 1 }).then(() => "put ok", (e) => String(e));
    ${ending}`;
}

async function start(timeoutMs = 20_000): Promise<TestGateway> {
  return await startTestGateway({
    servers: { ledger: { command: Deno.execPath(), args: ["run", LEDGER] } },
    sandbox: { timeoutMs, maxConcurrentCallsPerServer: 2 },
    auth: {
      tenants: {
        acme: {
          keys: [hashApiKey("agent")],
          approverKeys: [hashApiKey("approver")],
          requestsPerMinute: 1000,
          approval: { tools: ["ledger.put"], timeoutSeconds: 60 },
        },
      },
    },
  });
}

async function pendingId(gw: TestGateway): Promise<string> {
  let id: string | undefined;
  assert(
    await waitFor(async () => {
      id = (await gw.get("/v1/approvals", auth("approver"))).body.approvals?.[0]?.id;
      return id !== undefined;
    }, 10_000),
    "the put waits for approval",
  );
  return id!;
}

/**
 * Runs `code` as the agent, waits for its call to be pending and approves it as the approver:
 * the execution (still running), the approval's id and the approver's answer.
 */
async function runAndApprove(gw: TestGateway, code: string) {
  const running = gw.post("/v1/execute", { code }, auth("agent"));
  const id = await pendingId(gw);
  const answer = await gw.post(`/v1/approvals/${id}`, { decision: "approve" }, auth("approver"));
  return { running, id, answer };
}

/** What reached the ledger server (a second execution reads it). */
async function ledgerText(gw: TestGateway): Promise<string> {
  let text = "";
  assert(
    await waitFor(async () => {
      const seen = await gw.post("/v1/execute", {
        code: `return await tools.call("ledger.ledger", {})`,
        tools: ["ledger.ledger"],
      }, auth("agent"));
      text = JSON.stringify(seen.body.result ?? "");
      return seen.body.ok === true;
    }, 20_000),
    "the ledger is read",
  );
  return text;
}

/** The answer and the record agree with the ledger: the put never reached the server. */
async function assertNotSent(
  gw: TestGateway,
  id: string,
  answer: { status: number; body: Record<string, unknown> },
): Promise<void> {
  // The record first (reading the ledger adds executions).
  const calls = gw.gateway.audit!.recent({ limit: 100 }).flatMap((r) => r.calls)
    .filter((c) => c.tool === "ledger.put");
  assertEquals(calls.map((c) => [c.outcome, c.error]), [["cancelled", NOT_SENT_ERROR]]);
  assert(!(await ledgerText(gw)).includes("put:approved-put"), "the put was not sent");
  assert(
    !(answer.status === 200 && answer.body.status === "approved"),
    `the approver was told ${answer.status} ${JSON.stringify(answer.body)}`,
  );
  if (answer.status === 202) assertEquals(answer.body.status, "unconfirmed");
  else assertEquals(answer.status, 409, JSON.stringify(answer.body));
  const standing = (await gw.get(`/v1/approvals/${id}`, auth("approver"))).body;
  assertEquals(standing.decision, "approved");
  assertEquals(standing.acted?.status, "not_sent", JSON.stringify(standing));
  const again = await gw.post(`/v1/approvals/${id}`, { decision: "approve" }, auth("approver"));
  assertEquals(again.status, 409);
  assert(/never sent/.test(again.body.error?.message ?? ""), JSON.stringify(again.body));
}

Deno.test({
  name: "an approved call stopped in the slot queue when the code returns is reported not sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await start();
    try {
      const { running, id, answer } = await runAndApprove(
        gw,
        slotWaitCode(`await new Promise((r) => setTimeout(r, 3000)); return "returned";`),
      );
      await running;
      await assertNotSent(gw, id, answer);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "an approved call stopped in the slot queue when the code throws is reported not sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await start();
    try {
      const { running, id, answer } = await runAndApprove(
        gw,
        slotWaitCode(
          `await new Promise((r) => setTimeout(r, 3000)); throw new Error("the code gives up");`,
        ),
      );
      assertEquals((await running).body.ok, false);
      await assertNotSent(gw, id, answer);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name:
    "an approved call stopped in the slot queue by the execution's timeout is reported not sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await start(4000);
    try {
      const { running, id, answer } = await runAndApprove(
        gw,
        slotWaitCode(`await put; return "never";`),
      );
      const reply = await running;
      assertEquals(reply.body.ok, false, JSON.stringify(reply.body));
      await assertNotSent(gw, id, answer);
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name:
    "an approved call stopped in the slot queue by the gateway's shutdown is confirmed not sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await start();
    let closed = false;
    try {
      const { running, id, answer } = await runAndApprove(
        gw,
        slotWaitCode(`await put; return "done";`),
      );
      // The put is approved and waits for a slot; the gateway shuts down, cutting the execution.
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
      const store = gw.gateway.approvals.store;
      await gw.gateway.close(200);
      closed = true;
      const reply = await running;
      assertEquals((await store.acted!("acme", id))?.status, "not_sent");
      const calls = (reply.body.tools?.calls ?? []) as Array<
        { tool: string; outcome: string; error?: string }
      >;
      assertEquals(
        calls.filter((c) => c.tool === "ledger.put").map((c) => [c.outcome, c.error]),
        [["cancelled", NOT_SENT_ERROR]],
        JSON.stringify(reply.body),
      );
    } finally {
      if (!closed) await gw.close();
    }
  },
});

Deno.test({
  name: "an approved call that is sent is reported approved, and acted approved",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await start();
    try {
      const { running, id, answer } = await runAndApprove(
        gw,
        `return await ledger.put({ key: "approved-put", value: 1 }).then(() => "put ok");`,
      );
      assertEquals([answer.status, answer.body.status], [200, "approved"]);
      assertEquals((await running).body.result, "put ok");
      const standing = (await gw.get(`/v1/approvals/${id}`, auth("approver"))).body;
      assertEquals(standing.acted?.status, "approved");
      assert((await ledgerText(gw)).includes("put:approved-put"));
    } finally {
      await gw.close();
    }
  },
});

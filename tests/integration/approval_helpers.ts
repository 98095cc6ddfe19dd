/**
 * What the approval tests share: a gateway that holds calls for approval with a way to answer
 * them ({@link withApprovalGateway}), the bearer header, an SSE reader for `POST /v1/execute`
 * with `Accept: text/event-stream`, polling `GET /v1/approvals`, and a file-exists check.
 *
 * @module
 */

import type { z } from "zod";
import { assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import type { approvalEntrySchema } from "../../api/approvals.ts";
import { hashApiKey } from "../../gateway/mod.ts";

/** The `authorization` header of an API key. */
export const auth = (key: string): Record<string, string> => ({
  authorization: `Bearer ${key}`,
});

/** Reads one SSE stream into events (`event:` name, parsed `data:` JSON) as they arrive. */
export async function* sseEvents(
  response: Response,
): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `GET /v1/approvals` with `key` (every 50 ms, up to 30 s) until one is pending, and
 * returns the first listed. Without `key` it asks as an anonymous caller (a gateway without
 * auth). Throws when a listing is refused or none becomes pending.
 */
// deno-lint-ignore no-explicit-any
export async function nextPending(gw: TestGateway, key?: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const reply = await gw.get("/v1/approvals", key === undefined ? {} : auth(key));
    assertEquals(reply.status, 200, JSON.stringify(reply.body));
    if (reply.body.approvals.length > 0) return reply.body.approvals[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no approval became pending");
}

/** A pending approval as `GET /v1/approvals` shows it to an approver (api/approvals.ts). */
export type ShownApproval = z.infer<typeof approvalEntrySchema>;

/** How {@link withApprovalGateway} configures its gateway. */
export interface ApprovalGatewayOptions {
  /** The approval policy: the configuration's `approval`, or the tenant's with `tenant`. */
  approval: Record<string, unknown>;
  /** The MCP servers (`servers` of the configuration), given the test's temporary directory. */
  servers: (root: string) => Record<string, unknown>;
  /**
   * Raw API keys (hashed here) of one tenant `acme` that holds the policy, allowed 10,000
   * requests a minute: `keys` run code, `approverKeys` answer (`decide` uses the first).
   * Without it the gateway has no auth, and anyone lists and answers approvals.
   */
  tenant?: { keys: string[]; approverKeys: string[] };
  /**
   * Raw API keys (hashed here) of further tenants beside `acme` (only with `tenant`), without
   * an approval policy: to show what another tenant's keys may not see.
   */
  otherTenants?: Record<string, { keys: string[]; approverKeys: string[] }>;
  /** More configuration (`pii`, `sandbox`, …) over {@link startTestGateway}'s defaults. */
  config?: Record<string, unknown>;
  /** The temporary directory's name prefix; default `airlock-approval-`. */
  prefix?: string;
}

/** What {@link withApprovalGateway} hands its test. */
export interface ApprovalGateway {
  /** The running gateway. */
  gw: TestGateway;
  /** The temporary directory made for the test (the servers' files), removed afterwards. */
  root: string;
  /**
   * Waits for the next pending approval ({@link nextPending}: every 50 ms, up to 30 s),
   * answers it with `decision` (and `reason`, if given) over `POST /v1/approvals/{id}` (with
   * the first approver key, if any), and returns it as the approver was shown it:
   * `arguments` is the JSON text shown. Throws when none becomes pending or the answer is
   * refused (not 200).
   */
  decide(decision: "approve" | "deny", reason?: string): Promise<ShownApproval>;
}

/**
 * Starts a real gateway over HTTP ({@link startTestGateway}) whose approval policy holds calls
 * for a person, with `options.servers` given a fresh temporary directory, and runs `test`
 * with it: the test starts an execution (without awaiting it), calls `decide` to answer the
 * held call and read what the approver was shown, then awaits the execution.
 *
 * Cleans up after itself, also when `test` throws: closes the gateway (its MCP servers and
 * sandboxes exit) and removes the directory.
 *
 * @returns what `test` returns
 */
export async function withApprovalGateway<T>(
  options: ApprovalGatewayOptions,
  test: (held: ApprovalGateway) => Promise<T>,
): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: options.prefix ?? "airlock-approval-" });
  const approver = options.tenant?.approverKeys[0];
  const policy = options.tenant === undefined ? { approval: options.approval } : {
    auth: {
      tenants: {
        acme: {
          keys: options.tenant.keys.map(hashApiKey),
          approverKeys: options.tenant.approverKeys.map(hashApiKey),
          requestsPerMinute: 10_000,
          approval: options.approval,
        },
        ...Object.fromEntries(
          Object.entries(options.otherTenants ?? {}).map(([name, t]) => [name, {
            keys: t.keys.map(hashApiKey),
            approverKeys: t.approverKeys.map(hashApiKey),
          }]),
        ),
      },
    },
  };
  try {
    const gw = await startTestGateway({
      ...options.config,
      servers: options.servers(root),
      ...policy,
    });
    try {
      return await test({
        gw,
        root,
        async decide(decision, reason) {
          const pending: ShownApproval = await nextPending(gw, approver);
          const answer = await gw.post(
            `/v1/approvals/${pending.id}`,
            reason === undefined ? { decision } : { decision, reason },
            approver === undefined ? {} : auth(approver),
          );
          assertEquals(answer.status, 200, JSON.stringify(answer.body));
          return pending;
        },
      });
    } finally {
      await gw.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

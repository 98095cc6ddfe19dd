/**
 * The bodies in flight to one Streamable HTTP server (`upstream/http_budget.ts`): one tenant may
 * hold at most its share of them, another tenant's calls still go, and a refusal tells of the
 * caller's own bytes only. A fetch that never answers stands in for a server that hangs.
 */

import assert from "node:assert/strict";

import { budgetedFetch } from "../../upstream/http_budget.ts";
import { UpstreamError } from "../../upstream/mod.ts";

/** The body the SDK POSTs for a `tools/call` (method first, id last), `size` characters of text. */
function callBody(id: number, size: number): string {
  return JSON.stringify({
    method: "tools/call",
    params: { name: "echo", arguments: { text: "a".repeat(size) } },
    jsonrpc: "2.0",
    id,
  });
}

Deno.test("http budget: each tenant holds at most its share of the bodies in flight", async () => {
  const hanging: Array<() => void> = [];
  const fetchFn = () =>
    new Promise<Response>((resolve) => hanging.push(() => resolve(new Response("{}"))));
  const owners = new Map<string, string>();
  const post = budgetedFetch("web", {
    maxChars: 4000,
    maxCharsPerOwner: 1000,
    ownerOfId: (id) => owners.get(id),
    fetch: fetchFn,
  });
  const send = (id: number, owner: string | undefined, size: number) => {
    if (owner !== undefined) owners.set(String(id), owner);
    return post("http://x/mcp", { method: "POST", body: callBody(id, size) })
      .then(() => "answered", (e: unknown) => e);
  };
  // The attacker's first call fits its share; its second passes it and is refused at once.
  const first = send(1, "attacker", 700);
  const second = await send(2, "attacker", 700);
  assert.ok(second instanceof UpstreamError, `${second}`);
  assert.equal((second as UpstreamError).reason, "overloaded");
  assert.match(
    (second as UpstreamError).message,
    /of this tenant's calls in flight \(at most 0\.0 MiB per tenant\)/,
  );
  // Another tenant, and the gateway's own calls, still go while the attacker's hangs.
  const victim = send(3, "victim", 700);
  const own = send(4, undefined, 700);
  assert.equal(hanging.length, 3, "the victim's and the gateway's calls were sent");
  for (const answer of hanging) answer();
  assert.deepEqual(await Promise.all([first, victim, own]), ["answered", "answered", "answered"]);
  // Answered, the attacker's share is free again.
  const again = send(5, "attacker", 700);
  hanging.at(-1)!();
  assert.equal(await again, "answered");
});

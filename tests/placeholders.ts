/**
 * PII placeholders in tests: vault tags are random (`[EMAIL_1_kqzmtwa]`), so fixed expected
 * text is compared with the tags taken out, and tags are checked on their own.
 *
 * @module
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import type { TestGateway } from "./helpers.ts";

/**
 * `value` with each vault tag taken out of its placeholders (`[EMAIL_1_kqzmtwa]` →
 * `[EMAIL_1]`), in every string, for comparing with fixed text: tags are random per vault.
 * Check tags separately where they matter (see {@linkcode tagsOf}).
 */
export function untag<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replace(/\[([A-Z]+_[1-9][0-9]*)_[a-z]{7}\]/g, "[$1]"));
}

/** The distinct vault tags in the placeholders of `value` (any strings in it), in order. */
export function tagsOf(value: unknown): string[] {
  const tags = new Set<string>();
  for (const m of JSON.stringify(value).matchAll(/\[[A-Z]+_[1-9][0-9]*_([a-z]{7})\]/g)) {
    tags.add(m[1]);
  }
  return [...tags];
}

/**
 * The placeholder `gw` shows for `email` when it is the first value named in `headers`'
 * session (or execution): `[EMAIL_1_…]`.
 */
export async function named(
  gw: TestGateway,
  email: string,
  headers: Record<string, string>,
): Promise<string> {
  const reply = await gw.post("/v1/execute", { code: `return ${JSON.stringify(email)}` }, headers);
  assertEquals(reply.status, 200, JSON.stringify(reply.body));
  assertEquals(untag(reply.body.result), "[EMAIL_1]");
  return reply.body.result;
}

/** Has the code put `placeholder` under the ledger fixture's key "to"; returns the reply. */
export function send(gw: TestGateway, placeholder: string, headers: Record<string, string>) {
  return gw.post("/v1/execute", {
    code: `await ledger.put({ key: "to", value: ${JSON.stringify(placeholder)} }); return "sent"`,
  }, headers);
}

/**
 * Who the ledger fixture's "to" holds: `nobody`, `ann`, `mallory` (compared inside the
 * sandbox: the result is redacted). `headers` authenticate, without a session.
 */
export async function recipient(
  gw: TestGateway,
  headers: Record<string, string> = {},
): Promise<string> {
  const reply = await gw.post("/v1/execute", {
    code: `const v = (await ledger.get({ key: "to" })).value;
      return v === null ? "nobody" : v === "ann@example.com" ? "ann"
        : v === "mallory@evil.example" ? "mallory" : "something else";`,
  }, headers);
  assertEquals(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.result;
}

/**
 * A write with `stale` in `headers`' session is refused, the error names it, and the
 * ledger's "to" is still unset. `reader` authenticates the check.
 */
export async function assertRefused(
  gw: TestGateway,
  stale: string,
  headers: Record<string, string>,
  reader: Record<string, string> = {},
) {
  const reply = await send(gw, stale, headers);
  assertEquals(reply.status, 200);
  assertEquals(reply.body.ok, false, JSON.stringify(reply.body));
  assertEquals(reply.body.tools.calls[0].outcome, "refused");
  assertMatch(reply.body.error.message, /does not stand for any value/);
  assert(reply.body.error.message.includes(stale), reply.body.error.message);
  assertEquals(await recipient(gw, reader), "nobody");
}

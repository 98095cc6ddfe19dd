/**
 * An `allowNet` grant of a host that reaches this machine without a port is refused in every
 * spelling the runtime (or the resolver) accepts, not only the ones on a list: IPv4-mapped,
 * IPv4-compatible, NAT64 and long or zero-padded forms of IPv6 loopback and unspecified
 * addresses, IPv4 in decimal, octal, hex and short forms, the names of this machine (with a
 * final dot, in full-width letters, from /etc/hosts). Before, `[::ffff:127.0.0.1]` passed,
 * and a sandbox so granted read the gateway's own API over a raw socket, and on a keyless
 * gateway approved its own held tool call. Found by red team rt-n3 (B2, 2026-11-30).
 */

import { assert, assertEquals, assertMatch, assertThrows } from "../assert.ts";
import { hashApiKey, parseConfig } from "../../gateway/mod.ts";
import { checkNetGrant } from "../../sandbox/mod.ts";
import { reachesThisMachine } from "../../sandbox/loopback.ts";

const LOCAL = [
  // The red team's: IPv4-mapped and long-form IPv6.
  "[::ffff:127.0.0.1]",
  "[0:0:0:0:0:ffff:7f00:1]",
  "[::ffff:7f00:1]",
  "[0:0:0:0:0:0:0:1]",
  // More of the class.
  "[0000:0000:0000:0000:0000:0000:0000:0001]",
  "[0::1]",
  "::ffff:127.0.0.1",
  "[::127.0.0.1]",
  "[::7f00:1]",
  "[::ffff:0:7f00:1]",
  "[64:ff9b::7f00:1]",
  "[::ffff:127.1.2.3]",
  "[::]",
  "[0:0:0:0:0:0:0:0]",
  "[::ffff:0.0.0.0]",
  "0177.0.0.1",
  "127.1",
  "127.0.0.1.",
  "127.255.255.254",
  "0x7f000001",
  "0x7F.0.0.1",
  "2130706433",
  "017700000001",
  "0",
  "0.0",
  "localhost.",
  "LOCALHOST",
  "ｌｏｃａｌｈｏｓｔ",
  "ip6-localhost",
  "ip6-loopback",
  "api.localhost",
];

const ELSEWHERE = [
  "api.example.com",
  "8.8.8.8",
  "[2001:db8::1]",
  "[::ffff:8.8.8.8]",
  "[64:ff9b::808:808]",
  "localhost.example.com",
  "128.0.0.1",
];

Deno.test("loopback grants: every spelling of this machine without a port is refused", () => {
  const accepted = LOCAL.filter((grant) => checkNetGrant(grant) === undefined);
  assertEquals(accepted, [], `accepted without a port: ${accepted.join(", ")}`);
});

Deno.test("loopback grants: the same hosts with a port, and other hosts, are accepted", () => {
  for (const host of LOCAL.filter((h) => h.startsWith("[") || !h.includes(":"))) {
    assertEquals(checkNetGrant(`${host}:8080`), undefined, `${host}:8080`);
  }
  for (const grant of ELSEWHERE) assertEquals(checkNetGrant(grant), undefined, grant);
});

Deno.test("loopback grants: names /etc/hosts gives a local address are local", () => {
  const hosts = "127.0.1.1\tbuildbox buildbox.lan # Debian's own name\n" +
    "::1 ip6-me\n10.0.0.5 db\n# 127.0.0.1 commented\n";
  assert(reachesThisMachine("buildbox", hosts));
  assert(reachesThisMachine("BUILDBOX.LAN.", hosts));
  assert(reachesThisMachine("ip6-me", hosts));
  assert(!reachesThisMachine("db", hosts));
  assert(!reachesThisMachine("commented", hosts));
});

Deno.test("loopback grants: a tenant's IPv4-mapped loopback grant is a configuration error", () => {
  const error = assertThrows(() =>
    parseConfig({
      auth: {
        tenants: { egress: { keys: [hashApiKey("k")], allowNet: ["[::ffff:127.0.0.1]"] } },
      },
    })
  );
  assertMatch(error.message, /allowNet\.0: .*loopback/);
  assertThrows(() => parseConfig({ sandbox: { allowNet: ["[0:0:0:0:0:0:0:1]"] } }));
});

// IP addresses that identify nobody (RFC 6890 special-purpose ranges every machine shares),
// and networks written with their prefix length: neither is redacted. Which ranges, and why
// the others (private, documentation, link-local, shared) still are: pii/README.md,
// "Addresses that identify nobody".

import { codeAt, isDigit } from "./chars.ts";

/**
 * The IPv4 address `a.b.c.d` (octets 0–255) is the same on every machine or on none, so it
 * identifies no one: "this network" 0.0.0.0/8 (`0.0.0.0:8080`, the unspecified address),
 * loopback 127.0.0.0/8, and 224.0.0.0/3: multicast groups (224/4), the reserved 240/4 and
 * the limited broadcast 255.255.255.255, which is also where every netmask of four or more
 * bits lies (`255.255.255.0`, `255.255.240.0`). Also the cloud services every virtual
 * machine reaches at one address: the instance metadata service 169.254.169.254 (AWS, GCP,
 * Azure, OpenStack), ECS's task metadata 169.254.170.2, Azure's 168.63.129.16 (red team n1:
 * an approver saw `curl http://[IP_1_…]/latest/meta-data/iam/security-credentials/`).
 */
export function ipv4Special(a: number, b: number, c: number, d: number): boolean {
  if (a === 169 && b === 254) return (c === 169 && d === 254) || (c === 170 && d === 2);
  if (a === 168 && b === 63 && c === 129 && d === 16) return true;
  return a === 0 || a === 127 || a >= 224;
}

/** AWS's instance metadata service over IPv6, `fd00:ec2::254`, as decimal groups. */
const IMDS_V6 = [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(":");

/**
 * The IPv6 address of eight 16-bit `groups` identifies no one: unspecified `::`, loopback
 * `::1`, multicast ff00::/8, AWS's instance metadata service `fd00:ec2::254`, or an IPv4
 * address that does (mapped `::ffff:127.0.0.1`, compatible `::0.0.0.0`).
 */
export function ipv6Special(groups: readonly number[]): boolean {
  if (groups[0] >= 0xff00) return true;
  if (groups.join(":") === IMDS_V6) return true;
  for (let g = 0; g < 5; g++) if (groups[g] !== 0) return false;
  if (groups[5] !== 0 && groups[5] !== 0xffff) return false;
  return ipv4Special(groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255);
}

/**
 * The prefix length written after an address ending before `end` (`/16` in
 * `192.168.0.0/16`), or -1 when there is none: `/` and one to three digits not followed by
 * another digit. Reads at most five characters.
 */
export function prefixAfter(text: string, end: number): number {
  if (codeAt(text, end) !== 47 /* / */) return -1;
  let k = end + 1;
  while (k - end <= 3 && isDigit(codeAt(text, k))) k++;
  if (k === end + 1 || k - end > 3 || isDigit(codeAt(text, k))) return -1;
  return Number(text.slice(end + 1, k));
}

/**
 * The address of `bits` bits (`words`, 16 bits each, most significant first) written with
 * prefix length `prefix` names a network, not a host: every bit past the prefix is zero
 * and at least two are (`10.0.0.0/8`, `2001:db8::/32`). `/32` (`/128`) is one host, and in
 * a `/31` (`/127`) both addresses are hosts (RFC 3021); `10.1.2.3/8` is a host's address
 * with its network's length (`ip addr` prints it so).
 */
export function isNetwork(words: readonly number[], prefix: number): boolean {
  const bits = words.length * 16;
  if (prefix < 0 || prefix > bits - 2) return false;
  for (let w = 0; w < words.length; w++) {
    const from = w * 16;
    if (from + 16 <= prefix) continue;
    const keep = Math.max(0, prefix - from); // leading bits of this word inside the prefix
    const hostMask = keep === 0 ? 0xffff : (0xffff >> keep);
    if ((words[w] & hostMask) !== 0) return false;
  }
  return true;
}

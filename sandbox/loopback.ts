/**
 * Whether a host of an `allowNet` grant reaches this machine: the loopback network
 * (127.0.0.0/8, `::1`), the unspecified address (`0.0.0.0`, `::`, which connects to this
 * machine), and every other spelling of those that the runtime accepts. A list of spellings
 * is not enough (red team rt-n3 B2): `[::ffff:127.0.0.1]`, `[0:0:0:0:0:0:0:1]`,
 * `[::ffff:7f00:1]`, `0177.0.0.1` or `127.1` all passed it. So the host is parsed the way a
 * URL parser does (WHATWG host parsing: IPv4 in decimal, octal, hex and short forms, IPv6 in
 * every form, names lowercased and IDNA-mapped), and the address it parses to is judged,
 * unwrapping the IPv6 forms that carry an IPv4 address.
 *
 * @module
 */

/** Host names that are this machine (Debian's /etc/hosts adds the `ip6-` ones). */
const LOOPBACK_NAMES = new Set(["localhost", "ip6-localhost", "ip6-loopback"]);

/**
 * IPv6 prefixes (first six 16-bit groups) whose last 32 bits are an IPv4 address: IPv4-mapped
 * `::ffff:0:0/96`, IPv4-compatible `::/96`, IPv4-translated `::ffff:0:0:0/96` and the NAT64
 * well-known prefix `64:ff9b::/96`.
 */
const IPV4_CARRIERS = [
  [0, 0, 0, 0, 0, 0xffff],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0xffff, 0],
  [0x64, 0xff9b, 0, 0, 0, 0],
];

/**
 * Whether `host` (a grant's host part: a name, an IPv4 address in any form, or an IPv6
 * address with or without brackets) reaches this machine. A host that cannot be parsed as
 * a URL host is judged as it is written.
 *
 * @param host the host, without a port
 * @param hosts the text of /etc/hosts (default: read now); names it maps to a local address
 *   are local
 * @returns true for loopback and unspecified addresses and names of this machine
 */
export function reachesThisMachine(host: string, hosts: string = etcHosts()): boolean {
  const parsed = urlHost(host);
  if (parsed === undefined) return nameIsLocal(host.toLowerCase(), hosts);
  return addressIsLocal(parsed) ?? nameIsLocal(parsed, hosts);
}

/** Whether a URL-normalised host is a local address; `undefined` when it is a name. */
function addressIsLocal(parsed: string): boolean | undefined {
  if (parsed.startsWith("[")) return ipv6IsLocal(parsed.slice(1, -1));
  const v4 = ipv4Of(parsed);
  return v4 === undefined ? undefined : ipv4IsLocal(v4);
}

/** Most of /etc/hosts read (it is small; a huge one is cut, not parsed whole). */
const MAX_HOSTS_CHARS = 256 * 1024;

/** The text of /etc/hosts (names there resolve before DNS), or "" when it cannot be read. */
function etcHosts(): string {
  try {
    return Deno.readTextFileSync("/etc/hosts").slice(0, MAX_HOSTS_CHARS);
  } catch {
    return "";
  }
}

/**
 * Whether `name` is given a local address by `hosts` (the text of an /etc/hosts): Debian
 * maps the machine's own name to 127.0.1.1, and adds `ip6-localhost` for `::1`.
 */
function hostsMapsLocal(name: string, hosts: string): boolean {
  for (const line of hosts.split("\n")) {
    const fields = line.replace(/#.*/, "").trim().split(/\s+/);
    if (fields.length < 2 || !fields.slice(1).some((f) => f.toLowerCase() === name)) continue;
    const address = urlHost(fields[0]);
    if (address !== undefined && addressIsLocal(address)) return true;
  }
  return false;
}

/** The host as a URL parser reads it (normalised), or `undefined` when it is not a host. */
function urlHost(host: string): string | undefined {
  // A bare IPv6 address (more than one colon) is written in brackets in a URL.
  const written = !host.startsWith("[") && host.includes(":") ? `[${host}]` : host;
  try {
    const url = new URL(`http://${written}/`);
    // Anything else in it (a user, a port, a path) means it was not only a host.
    if (url.username || url.password || url.port || url.pathname !== "/") return undefined;
    return url.hostname;
  } catch {
    return undefined;
  }
}

/**
 * `localhost`, `*.localhost`, the other names of this machine and names /etc/hosts gives a
 * local address, with or without a final dot.
 */
function nameIsLocal(name: string, hosts: string): boolean {
  const bare = name.replace(/\.+$/, "");
  return LOOPBACK_NAMES.has(bare) || bare.endsWith(".localhost") || hostsMapsLocal(bare, hosts);
}

/** The four octets of a dotted-quad address (as a URL parser serialises IPv4), or `undefined`. */
function ipv4Of(host: string): number[] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** 127.0.0.0/8 (loopback) and 0.0.0.0/8 (`0.0.0.0` connects to this machine). */
function ipv4IsLocal(octets: number[]): boolean {
  return octets[0] === 127 || octets[0] === 0;
}

/** `::1`, `::`, and IPv4-carrying forms of a local IPv4 address. */
function ipv6IsLocal(address: string): boolean {
  const groups = ipv6Groups(address);
  // Not an address a URL parser would have produced: judged local, as a grant it is refused.
  if (groups === undefined) return true;
  if (groups.slice(0, 7).every((g) => g === 0) && (groups[7] === 0 || groups[7] === 1)) {
    return true;
  }
  for (const prefix of IPV4_CARRIERS) {
    if (prefix.every((g, i) => groups[i] === g)) {
      return ipv4IsLocal([groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff]);
    }
  }
  return false;
}

/** The eight 16-bit groups of an IPv6 address in hex groups with at most one `::`. */
function ipv6Groups(address: string): number[] | undefined {
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const read = (text: string) => text === "" ? [] : text.split(":");
  const head = read(halves[0]);
  const tail = halves.length === 2 ? read(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array(missing).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

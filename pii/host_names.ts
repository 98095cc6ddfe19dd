/**
 * Host names that hold an IPv4 address in their first labels: cloud providers' and wildcard
 * DNS services' names (`ip-10-0-1-23.ec2.internal`,
 * `ec2-54-123-45-67.compute-1.amazonaws.com`, `54.123.45.67.nip.io`,
 * `203-0-113-9.static.example.net`) and reverse-DNS names (`9.113.0.203.in-addr.arpa`). The
 * address is as readable there as written plainly, so the number detector finds it there too;
 * this module says whether the text after the address is such a host name's remaining labels.
 *
 * @module
 */

import { COMMON_TLDS } from "./detect_email.ts";
import { codeAt, isAlnum, isLetter } from "./chars.ts";

/**
 * Top-level names of private and special-use networks (RFC 6762 `local`, RFC 8375
 * `home.arpa`, `arpa` for reverse DNS, the names providers use inside their networks, and
 * RFC 2606's `example`, `test` and `invalid`), which a host name may end in besides the
 * country codes and `COMMON_TLDS`. One list for every detector that reads host names.
 */
export const NETWORK_TLDS: ReadonlySet<string> = new Set([
  "internal",
  "local",
  "localdomain",
  "lan",
  "arpa",
  "intranet",
  "corp",
  "home",
  // Kubernetes service names (`10-244-1-5.default.svc`, `….svc.cluster.local`).
  "svc",
  "pod",
  "example",
  "test",
  "invalid",
]);

/** Whether `tld` (lower case) is a common or a private network's top-level name. */
export function knownTld(tld: string): boolean {
  return COMMON_TLDS.has(tld) || NETWORK_TLDS.has(tld);
}

/**
 * Two-letter file extensions, which a name such as `part-1-2-3-4.tar.gz` ends in: not read as
 * country codes here.
 */
const FILE_EXTENSIONS: ReadonlySet<string> = new Set([
  "gz",
  "xz",
  "bz",
  "js",
  "ts",
  "py",
  "rs",
  "go",
  "md",
  "sh",
  "db",
  "so",
  "ps",
  "pl",
  "rb",
  "cs",
  "fs",
  "hs",
  "ml",
  "kt",
  "el",
  "vb",
  "jl",
  "cc",
  "hh",
  "mm",
  "po",
  "mo",
  "ai",
]);

/**
 * Longest host-name tail read, in UTF-16 units: a provider's suffix (`.us-west-2.compute.internal`)
 * is under 40. Bounded so that text of many addresses in host-name labels is read a bounded
 * number of times per character.
 */
const MAX_TAIL_UNITS = 64;

/**
 * Whether `text` from `dot` (a `.` right after an address's last octet) continues as the
 * remaining labels of a host name: at least two labels of letters, digits and inner `-`, the
 * first starting with a letter, the last a top-level name (a common generic one, a
 * private-network one, or two letters that are no file extension), and then no further word
 * character. Reads at most {@linkcode MAX_TAIL_UNITS} units.
 */
export function hostNameAfter(text: string, dot: number): boolean {
  if (codeAt(text, dot) !== 46 || !isLetter(codeAt(text, dot + 1))) return false;
  const limit = Math.min(text.length, dot + 1 + MAX_TAIL_UNITS);
  let labels = 0;
  let labelStart = dot + 1;
  let i = dot + 1;
  while (true) {
    while (i < limit && (isAlnum(text.charCodeAt(i)) || text.charCodeAt(i) === 45)) i++;
    if (i === labelStart || codeAt(text, i - 1) === 45) return false;
    labels++;
    if (i < limit && text.charCodeAt(i) === 46 && isAlnum(codeAt(text, i + 1))) {
      i++;
      labelStart = i;
      continue;
    }
    break;
  }
  // A name that runs on (`_`, or the cap reached) is something else.
  const after = codeAt(text, i);
  if (i >= limit && i < text.length) return false;
  if (after === 95 || isAlnum(after)) return false;
  if (labels < 2) return false;
  const tld = text.slice(labelStart, i).toLowerCase();
  if (knownTld(tld)) return true;
  return tld.length === 2 && isLetter(tld.charCodeAt(0)) && isLetter(tld.charCodeAt(1)) &&
    !FILE_EXTENSIONS.has(tld);
}

/**
 * Whether the dashed address ending at `end` and starting at `start` is an EC2-style short host
 * name standing alone (`ip-10-0-1-23`, as `hostname` prints it): `ip-` right before it, at a
 * word's start, and no word character, `-` or further label after it.
 */
export function shortHostName(text: string, start: number, end: number): boolean {
  if (start < 3 || text.slice(start - 3, start).toLowerCase() !== "ip-") return false;
  const before = codeAt(text, start - 4);
  if (isAlnum(before) || before === 45 || before === 95 || before === 46) return false;
  const after = codeAt(text, end);
  if (after === 46 && isAlnum(codeAt(text, end + 1))) return false; // a longer name's label
  return !isAlnum(after) && after !== 45 && after !== 95;
}

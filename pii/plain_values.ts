/**
 * Values that say what they are whatever key they are under: an ARN, a URL without user
 * information and with nothing secret-looking in its path, query or fragment, a command
 * line, a host name, a cloud resource id, a region, a timestamp. None
 * is a credential, and a value judged under a key above it that says nothing of it (pairs.ts:
 * `{"credentials": {"prod": {"exec": "rm$IFS-rf$IFS/srv"}}}`) is judged alone when it is one
 * of these (red team j1: an approver saw `[SECRET_1_…]` for a command, a host and an ARN under
 * a password key). Judged alone, not let through: a token in a URL's query or a password in a
 * command's arguments is still found by the detectors on the value itself.
 *
 * Each shape is read from the value's start and is anchored, so a check costs at most one
 * pass over the value, capped at {@linkcode MAX_PLAIN_UNITS}.
 *
 * @module
 */

import { knownTld } from "./host_names.ts";
import { urlSecretParts } from "./value_parts.ts";

/** Longest value judged by its shape, in UTF-16 code units: a longer one is not. */
export const MAX_PLAIN_UNITS = 2048;

/** An Amazon Resource Name: `arn:aws:rds:us-east-1:123456789012:db:prod-master`. */
const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:[0-9]{12}|aws)?:[^\s]+$/;
/** An Azure resource id: `/subscriptions/<uuid>/resourceGroups/…`. */
const AZURE_ID = /^\/subscriptions\/[0-9a-fA-F-]{36}\/[^\s]*$/;
/** A URL whose authority holds no user information (no `@` before its path). */
const URL = /^[a-zA-Z][a-zA-Z0-9+.-]{0,15}:\/\/[^\s@/?#]*(?:[/?#][^\s]*)?$/;
/**
 * An AWS resource id (`i-0abc123def4567890`, `vol-…`, `sg-…`, `subnet-…`): a known prefix and 8
 * or 17 hex digits.
 */
const AWS_ID =
  /^(?:i|ami|vol|snap|sg|subnet|vpc|eni|igw|nat|rtb|acl|eipalloc|eipassoc|lt|tgw|tgw-attach|vpce|pcx|dopt|eigw|vgw|cgw|vpn|fs|fsap|key|sir|ipam|pl|lc|fleet|cr|r)-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** A cloud region or zone: AWS `us-east-1`, `eu-west-2a`; Google `europe-west1`, `us-central1-b`. */
const REGION =
  /^(?:(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-[0-9]{1,2}[a-z]?|(?:us|europe|asia|australia|northamerica|southamerica|me|africa)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)[0-9]{1,2}(?:-[a-z])?)$/;
/** An ISO 8601 date or date-time (`2024-01-15`, `2024-01-15T10:00:00.123Z`). */
const ISO_TIME =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$/;
/** An HTTP date (`Mon, 30 Nov 2026 12:00:00 GMT`). */
const HTTP_TIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (?:GMT|UTC|[+-][0-9]{4})$/;

/**
 * Programs whose name is no English word: a value that starts with one and a separator
 * (white space, `$IFS`, `${IFS}`) followed by anything is a command line
 * (`systemctl restart nginx`, `rm$IFS-rf$IFS/srv`).
 */
const PROGRAMS: ReadonlySet<string> = new Set([
  "sh",
  "bash",
  "zsh",
  "ksh",
  "pwsh",
  "powershell",
  "cmd",
  "python3",
  "deno",
  "php",
  "rm",
  "cp",
  "mv",
  "ln",
  "ls",
  "curl",
  "wget",
  "nc",
  "ncat",
  "netcat",
  "socat",
  "ssh",
  "scp",
  "sftp",
  "rsync",
  "unzip",
  "gzip",
  "chmod",
  "chown",
  "chgrp",
  "pkill",
  "killall",
  "sudo",
  "xargs",
  "grep",
  "sed",
  "awk",
  "dd",
  "mkfs",
  "umount",
  "systemctl",
  "journalctl",
  "docker",
  "podman",
  "kubectl",
  "git",
  "psql",
  "mysql",
  "mysqldump",
  "pg_dump",
  "dropdb",
  "createdb",
  "redis-cli",
  "mongosh",
  "aws",
  "gcloud",
  "az",
  "terraform",
  "ansible",
  "npm",
  "npx",
  "pnpm",
  "pip3",
  "openssl",
  "base64",
  "crontab",
  "mkdir",
  "rmdir",
  "nohup",
  "printf",
  "eval",
  "exec",
]);

/**
 * Programs whose name is also a word (`cat`, `find`, `make`): a value starting with one is a
 * command line only with a shell mark in it ({@linkcode SHELL_MARK}), so a passphrase such as
 * `cat horse battery staple` stays a passphrase.
 */
const WORD_PROGRAMS: ReadonlySet<string> = new Set([
  "cat",
  "echo",
  "find",
  "make",
  "kill",
  "sleep",
  "touch",
  "head",
  "tail",
  "tee",
  "env",
  "export",
  "source",
  "mount",
  "service",
  "go",
  "cd",
  "zip",
  "timeout",
  "node",
  "java",
  "python",
  "ruby",
  "perl",
  "helm",
  "bun",
  "dash",
  "tar",
  "yarn",
  "pip",
]);

/** How a program's name ends: white space, `$IFS` or `${IFS}` (its separators). */
const AFTER_PROGRAM = /^(?:[ \t]+|\$IFS|\$\{IFS\})[^\s]/;
/**
 * A mark of shell syntax or of a command's arguments: an option after a separator, a path, a
 * variable, a pipe, a redirection, a command separator.
 */
const SHELL_MARK = /(?:[ \t]|\$IFS|\$\{IFS\})[-/~$@"']|[|;<>`]|&&|\$\(/;

/**
 * Whether `text` is, whole, one of the shapes of the module comment: an ARN or an Azure
 * resource id, a URL without user information or secret-looking parts (value_parts.ts
 * `urlSecretParts`), an AWS resource id, a cloud region, an ISO 8601
 * or HTTP timestamp, a host name ({@linkcode isHostName}) or a command line
 * ({@linkcode isCommandLine}). False for a value longer than {@linkcode MAX_PLAIN_UNITS} units.
 * Linear in the length of `text`.
 */
export function isPlainValue(text: string): boolean {
  const n = text.length;
  if (n < 4 || n > MAX_PLAIN_UNITS) return false;
  // A URL is plain only when none of its path segments, query values or fragment pieces looks
  // secret (red team l1: `{"passwords": {"prod": "https://x.example/t/<random>"}}` was judged
  // alone, and a URL after a credential word is a place to the detectors).
  if (URL.test(text)) return urlSecretParts(text).length === 0;
  return ARN.test(text) || AZURE_ID.test(text) || AWS_ID.test(text) ||
    REGION.test(text) || ISO_TIME.test(text) || HTTP_TIME.test(text) || isHostName(text) ||
    isCommandLine(text);
}

/**
 * Whether `text` is a host name, with a port or not: at most 253 units of labels of letters,
 * digits and inner `-`, separated by dots; its last label a country code, a common top-level
 * name or a private network's, of letters; three labels at least, or two when the last is no
 * country code (`example.com`, `db-7.internal`; not `Secret.me`, `Summer.2024`).
 */
export function isHostName(text: string): boolean {
  let end = text.length;
  const colon = text.lastIndexOf(":");
  if (colon > 0 && /^[0-9]{1,5}$/.test(text.slice(colon + 1))) end = colon;
  if (end > 253) return false;
  const labels = text.slice(0, end).split(".");
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (!LABEL.test(label)) return false;
  }
  const tld = labels[labels.length - 1].toLowerCase();
  if (!/^[a-z]+$/.test(tld)) return false;
  if (tld.length === 2) return labels.length >= 3;
  return knownTld(tld);
}
/** A host name's label: 1 to 63 letters, digits and `-`, no `-` at either end. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Whether `text` is a command line: a program's name (or a path to it, `/usr/bin/curl`, after
 * an optional `sudo `), then a separator and more; a program in {@linkcode PROGRAMS} needs
 * nothing else, one whose name is a word ({@linkcode WORD_PROGRAMS}) a shell mark as well.
 */
export function isCommandLine(text: string): boolean {
  let i = 0;
  if (text.startsWith("sudo ")) {
    i = 5;
    while (text.charCodeAt(i) === 32) i++;
  }
  // The program: up to the first separator (white space or `$`), its path's last segment.
  let end = i;
  while (end < text.length && end - i <= 64) {
    const c = text.charCodeAt(end);
    if (c === 32 || c === 9 || c === 36 || c === 10 || c === 13) break;
    end++;
  }
  if (end >= text.length || end === i) return false;
  const path = text.slice(i, end);
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (!AFTER_PROGRAM.test(text.slice(end, end + 8))) return false;
  if (PROGRAMS.has(name)) return true;
  return WORD_PROGRAMS.has(name) && SHELL_MARK.test(text.slice(end));
}

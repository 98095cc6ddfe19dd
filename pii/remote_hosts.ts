// `user@host` written where a remote shell or copy tool takes a host: a login at a machine,
// not someone's e-mail address (red team n1: `ssh root@prod-db.example.com 'rm -rf …'`
// reached the approver as `ssh [EMAIL_1_…] 'rm -rf …'`).

import { codeAt } from "./chars.ts";

/**
 * Programs whose arguments name a host as `user@host` (and `user@host:path` for copies),
 * as a command word: after the line's start, a blank, a path's `/`, a shell separator or a
 * quote (`rsync -e "ssh -p 22" …`). `ssh-keygen -C ann@example.com` is not one of them.
 */
const REMOTE_TOOL =
  /(?:^|[\s/;|&(`'"])(?:ssh|scp|sftp|rsync|mosh|autossh|sshfs|ssh-copy-id|slogin|rsh|rcp|plink|pscp)(?=[\s'"]|$)/g;

/** What may follow a host argument: white space, the `:` of a path, a shell operator, a quote. */
const ENDS_HOST_WORD: ReadonlySet<number> = new Set([9, 10, 13, 32, 34, 38, 39, 41, 58, 59, 124]);

/** Most characters from a tool's name to a `user@host` read as its argument. */
const TOOL_REACH = 256;

/**
 * Tells, for the address candidates of one text in increasing order, which are hosts:
 * - `user@host:/path` or `user@host:~/path` anywhere (the remote path of scp, rsync, sftp);
 * - an argument of a {@linkcode REMOTE_TOOL} named at most {@linkcode TOOL_REACH} characters
 *   before it on its command (no line break, `;`, `|` or `&` between), as a word of its own:
 *   after a blank, `=` (`-o ProxyJump=ann@bastion`) or `,` (`-J a@b,c@d`), before white space,
 *   `:`, a shell operator, a quote or the end, and not inside a quote opened after the tool's name (`ssh db 'mail
 *   ann@example.com'` is an address in the remote command).
 * The tool names are found by one regular expression that only moves forward; each
 * candidate reads at most {@linkcode TOOL_REACH} characters back: linear.
 */
export class RemoteHosts {
  readonly #text: string;
  readonly #tool = new RegExp(REMOTE_TOOL.source, "g");
  /** The next tool name not yet passed; `undefined` until the first candidate asks. */
  #next: RegExpExecArray | null | undefined;
  /** Where the last tool name before the candidate ends, -1 before any. */
  #lastEnd = -1;
  /** The quote the last tool name was written inside (`"ssh …"`), or -1. */
  #lastQuote = -1;

  /** @param text The text whose candidates will be asked about. */
  constructor(text: string) {
    this.#text = text;
  }

  /**
   * Whether the address candidate `[start, end)` (its `@` inside) is a host. Candidates must
   * be asked about in increasing `start` order.
   */
  isHost(start: number, end: number): boolean {
    const text = this.#text;
    const after = codeAt(text, end);
    if (after === 58) {
      const path = codeAt(text, end + 1);
      if (path === 47 || (path === 126 && codeAt(text, end + 2) === 47)) return true;
    }
    // Texts with no address never pay for the search.
    if (this.#next === undefined) this.#next = this.#tool.exec(text);
    while (this.#next !== null && this.#next.index < start) {
      const m = this.#next;
      this.#lastEnd = m.index + m[0].length;
      const lead = m[0].charCodeAt(0);
      this.#lastQuote = lead === 34 || lead === 39 ? lead : -1;
      this.#next = this.#tool.exec(text);
    }
    if (this.#lastEnd === -1 || this.#lastEnd > start || start - this.#lastEnd > TOOL_REACH) {
      return false;
    }
    const before = codeAt(text, start - 1);
    if (before !== 32 && before !== 9 && before !== 61 && before !== 44) return false;
    if (after !== -1 && !ENDS_HOST_WORD.has(after)) return false;
    // The quote the tool's name is inside (`sh -c "ssh root@db"`) holds its arguments; its
    // closing quote ends it, and a quote opened after the name holds something else.
    let outer = this.#lastQuote;
    let quote = -1;
    for (let j = this.#lastEnd; j < start; j++) {
      const c = text.charCodeAt(j);
      if (quote !== -1) {
        if (c === quote) quote = -1;
        continue;
      }
      if (c === outer) outer = -1;
      else if (c === 34 || c === 39) quote = c;
      else if (c === 10 || c === 13 || c === 59 || c === 124 || c === 38) return false;
    }
    return quote === -1;
  }
}

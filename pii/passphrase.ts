// Passphrases: several words after a password name (`PASSWORD="correct horse battery
// staple"`), told from prose and from a command.

import { codeAt } from "./chars.ts";

/** Longest passphrase judged, in UTF-16 units. */
const PASSPHRASE_MAX = 128;

/**
 * Words that prose has and a passphrase of random words seldom does: with one of them, the
 * words after a password name are a message or a prompt (`"must be at least 8 characters"`,
 * `"Enter your password"`), not the password.
 */
const PROSE_WORDS = new Set(
  ("a an the is are was were be been being to of for and or not no in on at by with from " +
    "as if it its this that these your you my our their his her we they he she me must " +
    "should will can could may please enter required optional set changed change reset " +
    "successfully success invalid incorrect wrong expired updated characters character " +
    "minimum maximum least most new old user username field value here see use used using " +
    "than contain contains containing letters digits symbols number numbers password " +
    "passwords secret token hidden none null empty changeme example placeholder sent link " +
    "stored saved missing provided unchanged generated rotated expires strong weak accepted " +
    "rejected ok failed match matches mismatch login account email via when then after " +
    "before about below above only also all any each every same different")
    .split(" "),
);

/**
 * Programs that make unquoted words after a password name a command wherever they stand:
 * the ones that gain privilege, destroy, fetch or run more (no diceware list needs them).
 */
const COMMAND_PROGRAMS = new Set(
  ("sudo su doas rm rmdir curl wget bash sh zsh dash ksh fish chmod chown chgrp mkfs dd " +
    "reboot shutdown halt poweroff systemctl kill killall pkill nc ncat netcat eval exec " +
    "xargs nohup crontab iptables mysql psql dropdb createdb mongosh redis-cli kubectl " +
    "docker git ssh scp rsync python python3 perl ruby node npm npx pip")
    .split(" "),
);

/**
 * Verbs of the shell and of SQL that start a command (`drop table users cascade`,
 * `delete from users`, `mv a b`): first, they make the words a command, not a passphrase.
 */
const COMMAND_VERBS = new Set(
  ("drop delete truncate select insert update alter grant revoke create replace merge " +
    "call execute exec mv cp ln cat echo tee touch mkdir chroot mount umount export unset " +
    "source apt apt-get yum dnf brew make")
    .split(" "),
);

/**
 * The end of a passphrase from `vs` (red team d2: `PASSWORD="correct horse battery staple"`
 * came back raw): to the closing `quote` (or, with -1, to the end of the line), at most
 * {@linkcode PASSPHRASE_MAX} units, holding 3 to 10 words separated by single spaces, each
 * of 2 to 24 letters, digits or symbols without sentence punctuation, at least three
 * different, one of four or more characters, none of them {@linkcode PROSE_WORDS}. `vs`
 * when it is not one.
 */
export function passphraseEnd(text: string, vs: number, quote: number): number {
  let end = vs;
  while (end < text.length && end - vs <= PASSPHRASE_MAX) {
    const c = text.charCodeAt(end);
    if (c === quote || c === 10 || c === 13) break;
    end++;
  }
  if (end - vs > PASSPHRASE_MAX || end - vs < 12) return vs;
  if (quote !== -1 && codeAt(text, end) !== quote) return vs;
  const words = text.slice(vs, end).split(" ");
  if (words.length < 3 || words.length > 10) return vs;
  let long = false;
  for (const w of words) {
    if (!/^[A-Za-z0-9!@#$%^&*_+=~-]{2,24}$/.test(w) || PROSE_WORDS.has(w.toLowerCase())) {
      return vs;
    }
    // Unquoted, a flag, a variable or a shell operator is a command, not a word of the value;
    // so is a program an agent runs (`sudo`, `rm`, `curl`) anywhere, or a verb of the shell
    // or SQL first (`drop table users cascade`, `reboot now`; red team g1).
    if (quote === -1 && /^[-$]|&&|\|\|/.test(w)) return vs;
    if (
      quote === -1 && (COMMAND_PROGRAMS.has(w.toLowerCase()) ||
        (w === words[0] && COMMAND_VERBS.has(w.toLowerCase())))
    ) return vs;
    if (w.length >= 4) long = true;
  }
  if (!long || new Set(words.map((w) => w.toLowerCase())).size < 3) return vs;
  return end;
}

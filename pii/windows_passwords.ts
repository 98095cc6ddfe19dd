// Windows and PowerShell ways of giving a password in a command (red team n1, N1-13: each
// came back raw): `ConvertTo-SecureString "<pw>" -AsPlainText` (how a script holds a
// password), a PowerShell parameter ending in `Password` with a quoted value
// (`-CertificatePassword '<pw>'`), Sysinternals `psexec -p`, `winrs -p:`, `schtasks /rp`,
// `net user <name> <pw>`, and FreeRDP's `/p:` (N1-10). Each value stands where only a
// password goes: it is one unless a variable or a placeholder (`given`).
//
// @module

import type { Finding } from "./types.ts";
import { matchValue } from "./secret_value.ts";

/**
 * Each form up to where its value starts. A program's name, then at most 256 characters of
 * its line (no `|`, `&`, `;`: another command) before the flag, read lazily once per name:
 * linear. A value that opens a flag or a switch (`-`, `/`) or a prompt (`*`) is none.
 */
const WINDOWS_PASSWORD =
  /ConvertTo-SecureString(?:[ \t]+-String)?[ \t]+(?=["'])|-[A-Za-z]{1,40}(?:Password|Passphrase)[ \t]+(?=["'])|psexec(?:64)?(?:\.exe)?(?=[ \t])[^\r\n|&;]{0,256}?[ \t]-p[ \t]+(?=[^\/ \t\r\n-])|winrs(?:\.exe)?(?=[ \t])[^\r\n|&;]{0,256}?[ \t][-\/]p(?:assword)?:|schtasks(?:\.exe)?(?=[ \t])[^\r\n|&;]{0,256}?[ \t]\/rp[ \t]+(?=[^*\/ \t\r\n])|net(?:\.exe)?[ \t]+user[ \t]+[^ \t\r\n\/]{1,64}[ \t]+(?=[^*\/ \t\r\n])|[xw]freerdp3?(?=[ \t])[^\r\n|&;]{0,256}?[ \t]\/p:/gi;

/** A literal every {@linkcode WINDOWS_PASSWORD} match holds, any case. */
const HINTS = /secure|assw|assph|psexec|winrs|schtasks|net(?:\.exe)? +user|freerdp/i;

/**
 * Appends to `out` the passwords of {@linkcode WINDOWS_PASSWORD} forms in `text`; the
 * search resumes after each value.
 *
 * @param text The text to scan.
 * @param out Findings are appended here.
 */
export function findWindowsPasswords(text: string, out: Finding[]): void {
  // Only where one of the forms' literals is (a native scan): the regular expression, tried
  // at every position, cost more than the rest of the secret scan.
  if (!HINTS.test(text)) return;
  WINDOWS_PASSWORD.lastIndex = 0;
  for (let m = WINDOWS_PASSWORD.exec(text); m !== null; m = WINDOWS_PASSWORD.exec(text)) {
    const at = m.index + m[0].length;
    WINDOWS_PASSWORD.lastIndex = Math.max(at, matchValue(text, at, "given", out));
  }
}

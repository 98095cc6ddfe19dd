/**
 * Passwords and secrets in commands where no credential name stands before them (red team n1:
 * each came back raw from `redactText`, which every gateway path uses):
 * - N1-13: PowerShell's `ConvertTo-SecureString "<pw>" -AsPlainText` (three forms), a
 *   `-…Password` parameter with a quoted value, `psexec -p`, `winrs -p:`, `schtasks /rp`,
 *   `net user <name> <pw>`;
 * - N1-10: `xfreerdp /p:`, `gh secret set --body`, `dotnet user-secrets set`, here-strings into
 *   `wrangler secret put` and `passwd --stdin`, `echo <v> |` into `--password-stdin`,
 *   `--data-file=-` and `chpasswd`, `security … -w`, `lftp -u user,<v>`, `nmcli … password`,
 *   `::add-mask::`, `REG ADD … /v Password /d <v>` and `reg query`'s `Password REG_SZ <v>`.
 * Also that the command around each stays readable, and that a variable, a prompt (`*`), a
 * switch after `net user <name>`, another registry value and an ordinary pipe are left alone;
 * and that the scans are linear.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText } from "../../pii/mod.ts";
import { linearityFailures } from "./linearity.ts";
import { notHidden, secretsFound } from "./redaction_cases.ts";

const PW = "Xk9mQ2pL7vRtYw3z";

/** [member, text]: each must come back without {@linkcode PW}. */
const HIDDEN: Array<[string, string]> = [
  ["ConvertTo-SecureString", `$pw = ConvertTo-SecureString "${PW}" -AsPlainText -Force`],
  [
    "ConvertTo-SecureString -String",
    `$pw = ConvertTo-SecureString -String '${PW}' -AsPlainText -Force`,
  ],
  [
    "New-LocalUser",
    `New-LocalUser -Name ann -Password (ConvertTo-SecureString "${PW}" -AsPlainText -Force)`,
  ],
  [
    "-CertificatePassword",
    `Connect-AzAccount -ServicePrincipal -CertificatePassword '${PW}' -Tenant t`,
  ],
  ["-KeyPassphrase", `Export-Thing -KeyPassphrase "${PW}"`],
  ["psexec -p", `psexec \\\\srv -u admin -p ${PW} cmd`],
  ["winrs -p:", `winrs -r:srv -u:ann -p:${PW} ipconfig`],
  ["schtasks /rp", `schtasks /create /tn t /tr x.exe /ru ann /rp ${PW}`],
  ["net user", `net user ann ${PW} /add`],
  ["xfreerdp /p:", `xfreerdp /u:ann /p:${PW} /v:rdp.example.com`],
  ["gh secret set --body", `gh secret set DB_PASSWORD --body ${PW}`],
  ["dotnet user-secrets", `dotnet user-secrets set "DbPassword" "${PW}"`],
  ["wrangler here-string", `wrangler secret put API_KEY <<< ${PW}`],
  ["passwd --stdin", `passwd --stdin evil <<< ${PW}`],
  ["gcloud pipe", `echo -n ${PW} | gcloud secrets create db-password --data-file=-`],
  ["docker --password-stdin", `echo ${PW} | docker login -u ann --password-stdin`],
  ["chpasswd", `echo 'evil:${PW}' | chpasswd && usermod -aG sudo evil`],
  ["security -w", `security add-generic-password -a ann -s svc -w ${PW}`],
  ["lftp -u user,pw", `lftp -u ann,${PW} sftp://ftp.example.com`],
  ["nmcli password", `nmcli dev wifi connect HomeNet password ${PW}`],
  ["add-mask", `echo "::add-mask::${PW}"`],
  ["reg add", `REG ADD HKLM\\Software\\App /v Password /t REG_SZ /d ${PW}`],
  ["reg query", `    Password    REG_SZ    ${PW}`],
];

Deno.test("secret-setting and Windows commands: each secret is redacted", () => {
  assertEquals(notHidden(HIDDEN, PW), []);
});

Deno.test("secret-setting and Windows commands: the command stays readable, look-alikes stay", () => {
  assertEquals(
    redactText(`echo 'evil:${PW}' | chpasswd && usermod -aG sudo evil`, { mode: "mask" }).text,
    "echo 'evil:[REDACTED_SECRET]' | chpasswd && usermod -aG sudo evil",
  );
  assertEquals(
    redactText(`psexec \\\\srv -u admin -p ${PW} cmd /c del C:\\x`, { mode: "mask" }).text,
    "psexec \\\\srv -u admin -p [REDACTED_SECRET] cmd /c del C:\\x",
  );
  const kept = [
    "net user ann /delete",
    "net user ann * /add",
    "echo $PASS | docker login -u ann --password-stdin",
    'echo "build done" | tee log.txt',
    "gh secret set DB_PASSWORD --repo acme/app < secret.txt",
    "    InstallDir    REG_SZ    C:\\Program Files\\App",
    "$pw = Read-Host -AsSecureString",
    "psexec \\\\srv -u admin -p -i cmd",
  ];
  assertEquals(secretsFound(kept), []);
});

/** Text made of one member of the class, repeated: every new scan reads it in linear time. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["program names", () => "psexec winrs schtasks xfreerdp lftp nmcli "],
  ["program names, no flag", () => "gh secret set "],
  ["net user", (i) => `net user a${i % 10} `],
  ["ConvertTo-SecureString", () => 'ConvertTo-SecureString "'],
  ["PowerShell parameters", () => '-AdminPassword "'],
  ["echo pipes", (i) => `echo x${i % 10} | `],
  ["echo pipes into stdin", () => "echo x | --password-stdin "],
  ["reg add", () => "reg add /v Password "],
  ["reg query lines", () => "\n  Password  REG_SZ  "],
  ["here-strings", () => "secret put <<< "],
];

Deno.test("secret-setting and Windows commands: the scans are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const failures = linearityFailures((t) => findPii(t), REPEATED);
  if (failures.length > 0) throw new Error(failures.join("\n"));
});

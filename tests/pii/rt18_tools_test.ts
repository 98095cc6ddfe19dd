// Red team l1 (rt18), the text detectors' classes: the shell's escaping leaked most of a
// password (`Xk9\;abc\&Zq7…`, `My\ Secret\ Pass99`, `"abc\"def…"`, `"Sec"'ret…'`,
// `'$ecret…'`); tools the table missed (`sqlcmd.exe`, `"C:\…\7z.exe"`, `smbclient -Ubob%…`,
// `--user=bob%…` alone, a flag on a continued line, `SSHPASS=`, `REDISCLI_AUTH=`); session
// cookies of web frameworks in header text; a log's `name: ` prefix read as a command line,
// and a "command" glued to a quote taken as evidence; and the other side: a script, a path,
// a port hidden as a password (`sqlplus -s @/opt/x.sql`, `--two-pass <file>`, `--pwd <dir>`,
// `docker run … login -p 8080`). Every case of the first two tables fails on the code before
// the change; the third holds before and after.

import { assertEquals } from "../assert.ts";
import { redactText } from "../../pii/mod.ts";
import { readShellWord } from "../../pii/shell_word.ts";
import { linearityFailures } from "./linearity.ts";
import { sinkServer } from "../fixtures/servers/local.ts";
import { withApprovalGateway } from "../integration/approval_helpers.ts";

const PW = "Kd8f2Lq!x9Tz";
const TOK = "Xk9mQ2pL7vRtYw3zAb8cDe4F";
const text = (t: string) => redactText(t, { mode: "mask" }).text;

/** [text, what must not survive, what an approver must still read] */
const HIDE: Array<[string, string, string]> = [
  // Shell escaping.
  ["PGPASSWORD=Xk9\\;abc\\&Zq7Lm2RtW8p psql -h db", "Zq7Lm2RtW8p", " psql -h db"],
  ["export DB_PASSWORD=Xk9mQ2pL7vRtYw3zA\\;b8cDe4FgH5", "b8cDe4FgH5", "export DB_PASSWORD="],
  ["mysql -u root -pXk9\\;abc\\|Zq7Lm2RtW8p db", "Zq7Lm2RtW8p", " db"],
  ["sshpass -p My\\ Secret\\ Pass99 ssh host", "Pass99", " ssh host"],
  ['redis-cli -a "abc\\"defghijkLMN123" ping', "defghijkLMN123", "redis-cli -a "],
  [`redis-cli -a "Sec"'ret99PwQz' ping`, "ret99PwQz", " ping"],
  ["redis-cli -a '$ecretPassw0rd' ping", "ecretPassw0rd", " ping"],
  [`PGPASSWORD="Sec"'ret99PwQz' psql -h db`, "ret99PwQz", " psql -h db"],
  ["PGPASSWORD=My\\ Secret\\ Pass99 psql", "Pass99", " psql"],
  ["export DB_PASSWORD='$ecretPassw0rd'", "ecretPassw0rd", "export DB_PASSWORD="],
  // The tool table.
  [`C:\\bin\\sqlcmd.exe -S db -U sa -P ${PW}`, PW, "sqlcmd.exe -S db -U sa -P "],
  [`redis-cli.exe -h db -a ${PW}`, PW, "redis-cli.exe -h db -a "],
  [`"C:\\Program Files\\7-Zip\\7z.exe" a -p${PW} x.7z f`, PW, " x.7z f"],
  [`smbclient //srv/s -Ubob%${PW}`, PW, "smbclient //srv/s -Ubob%"],
  [`smbclient //srv/s --user=bob%${PW}`, PW, "--user=bob%"],
  [`sshpass \\\n-p ${PW} ssh host`, PW, " ssh host"],
  [`SSHPASS=${PW} sshpass -e ssh host`, PW, " sshpass -e ssh host"],
  [`REDISCLI_AUTH=${PW} redis-cli ping`, PW, " redis-cli ping"],
  [`SSHPASS='${PW}' sshpass -e ssh host`, PW, " sshpass -e ssh host"],
  // Session cookies in header text.
  [
    "Set-Cookie: wordpress_logged_in_4f2a9c0d1e2b3a4c5d6e7f8a9b0c1d2e=admin%7C1733000000%7CXk9mQ2pL7vRtYw3zAb8cDe4FgH5iJ6kL7%7Cabc123def456; path=/",
    "Xk9mQ2pL7vRtYw3zAb8cDe4FgH5iJ6kL7",
    "; path=/",
  ],
  [
    "Cookie: wordpress_sec_4f2a9c0d1e2b3a4c5d6e7f8a9b0c1d2e=admin%7C1733000000%7CXk9mQ2pL7vRtYw3zAb8cDe4FgH5iJ6kL7%7Cabc",
    "Xk9mQ2pL7vRtYw3zAb8cDe4FgH5iJ6kL7",
    "Cookie: wordpress_sec_",
  ],
  [`Cookie: .AspNetCore.Cookies=CfDJ8${TOK}; theme=dark`, TOK, "; theme=dark"],
  [`Set-Cookie: SSESS4f2a9c0d1e2b3a4c=${TOK}; path=/; HttpOnly`, TOK, "; path=/; HttpOnly"],
  [`cookie:jwt=${TOK}; lang=en`, TOK, "; lang=en"],
  // A log's `name: ` prefix is output, not a command line; a program glued to a quote is no
  // evidence of a command.
  ["git log: password=Xk9mQ2pL7vRtYw3zAb;8cDe4FgH5iJ6", "8cDe4FgH5iJ6", "git log: password="],
  ["cat config: DB_PASSWORD=Xk9mQ2pL7vRtYw3zAb;8cDe4FgH5iJ6", "8cDe4FgH5iJ6", "cat config: "],
  ['DB_PASSWORD=Kd8!q;rm"Zx9T2mLp', "Zx9T2mLp", "DB_PASSWORD="],
];

/** [text, what an approver must read]: a script, a path, a port is no password. */
const SHOW: Array<[string, string]> = [
  ["sqlplus -s @/opt/scripts/drop_tables.sql", "@/opt/scripts/drop_tables.sql"],
  ["sqlplus -s @scripts/purge_customers.sql", "@scripts/purge_customers.sql"],
  ["ffmpeg-normalize --two-pass /media/input.mp4", "/media/input.mp4"],
  ["tool --single-pass ./in.wav", "./in.wav"],
  ["tool --pwd /srv/www/prod", "/srv/www/prod"],
  ["docker run --rm busybox login -p 8080", "login -p 8080"],
];

/** [text, secret still hidden, text still shown]: what held before holds after. */
const KEPT: Array<[string, string, string]> = [
  [`sqlplus scott/${PW}@db`, PW, "@db"],
  [`sqlplus -s scott/${PW}@db @/opt/x.sql`, PW, "@/opt/x.sql"],
  [`docker login -u me -p ${PW} registry.example.com`, PW, " registry.example.com"],
  [`docker -H tcp://h:2375 login -p ${PW} r.example`, PW, " r.example"],
  [`az acr login -n reg -p ${PW}`, PW, "az acr login -n reg -p "],
  [`helm registry login r.example -p ${PW}`, PW, "helm registry login r.example -p "],
  [`crane auth login r.example -u me -p ${PW}`, PW, "crane auth login r.example -u me -p "],
  [`app --db-pass ${PW} --host db`, PW, " --host db"],
  [`app --pwd ${PW} --host db`, PW, " --host db"],
  [`PGPASSWORD=${PW};rm -rf /srv`, PW, ";rm -rf /srv"],
  [`DB_PASSWORD=Xk9mQ2pL7vRt;rm'' -rf /srv`, "Xk9mQ2pL7vRt", ";rm'' -rf /srv"],
  [`$ git log: PGPASSWORD=${PW};dropdb prod`, PW, ";dropdb prod"],
  [`cat -A x.log; PGPASSWORD=${PW};dropdb prod`, PW, ";dropdb prod"],
  [
    `env -i TERM=dumb PASSWORD=Xk9mQ2pL7vRtYw3zAb;dropdb prod`,
    "Xk9mQ2pL7vRtYw3zAb",
    ";dropdb prod",
  ],
  [`sshpass -p '${PW}' ssh -p 2222 host`, PW, "' ssh -p 2222 host"],
];

/** Ordinary text that stays as it is. */
const PLAIN: string[] = [
  "Set-Cookie: theme=dark; path=/; HttpOnly",
  "Cookie: wordpress_test_cookie=WP%20Cookie%20check; lang=en",
  "Set-Cookie: wordpress_logged_in_4f2a9c0d1e2b3a4c5d6e7f8a9b0c1d2e=deleted; expires=Thu, 01 Jan 1970 00:00:00 GMT",
  "ssh -p 2222 host.internal",
  "docker run -p 8080:80 nginx",
  "git log: fixed the parser; see issue 42",
  "echo 'done'; ls -la /srv",
  "sqlplus / as sysdba",
  "PGPASSWORD='$PW' psql -h db",
  "docker run --rm -it alpine sh -c 'login -p 2222'",
];

Deno.test("rt18 l1: passwords are hidden whole, and the command around them stays readable", () => {
  const bad: string[] = [];
  for (const [input, secret, shown] of [...HIDE, ...KEPT]) {
    const out = text(input);
    if (out.includes(secret) || !out.includes(shown)) bad.push(`${input}\n  → ${out}`);
  }
  assertEquals(bad, []);
});

Deno.test("rt18 l1: a script, a path or a port given to a tool is no password", () => {
  const bad: string[] = [];
  for (const [input, shown] of SHOW) {
    const out = text(input);
    if (!out.includes(shown)) bad.push(`${input}\n  → ${out}`);
  }
  assertEquals(bad, []);
});

Deno.test("rt18 l1: ordinary header, command and log text is left as it is", () => {
  assertEquals(PLAIN.map(text), PLAIN);
});

Deno.test("rt18 l1: a shell word is read as the shell reads it", () => {
  const word = (t: string) => {
    const w = readShellWord(t, 0, t.length);
    return [t.slice(0, w.end), w.quotedWhole, w.open];
  };
  assertEquals(word("a\\;b\\ c d"), ["a\\;b\\ c", 0, false]);
  assertEquals(word(`"Sec"'ret' x`), [`"Sec"'ret'`, 0, false]);
  assertEquals(word(`"a\\"b" x`), [`"a\\"b"`, 34, false]);
  assertEquals(word(`'a\\' x`), [`'a\\'`, 39, false]);
  assertEquals(word(`ab"cd x`), ["ab", 0, true]);
  assertEquals(word("ab;cd"), ["ab", 0, false]);
  // A continued line inside a word joins it (red team m1); before a blank it ends the word.
  assertEquals(word("ab\\\ncd"), ["ab\\\ncd", 0, false]);
  assertEquals(word("ab\\\n cd"), ["ab", 0, false]);
});

/** Units repeated to a large text, aimed at the new reads. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["escaped operators on a command line", () => "export PASSWORD=a\\;b\\&c\\ "],
  ["open quotes after a tool", () => `redis-cli -a "a"b"`],
  ["adjacent quoted pieces", () => `redis-cli -a "a"'b'"c"'d' `],
  ["SSHPASS values", () => "SSHPASS="],
  ["SSHPASS open quotes", () => `SSHPASS="SSHPASS='`],
  ["cookie headers", () => "Cookie: jwt=a; SSESS0123456789=b; "],
  ["cookie words", () => "ookie:ookie:Cookie:"],
  ["log prefixes", () => "git log: x: PASSWORD=a;b "],
  ["programs glued to quotes", () => `DB_PASSWORD=a;rm"b;ls'c `],
  ["windows tools", () => `"C:\\7z.exe" a -p`],
];

Deno.test("rt18 l1: the new reads are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const red = (t: string) => void redactText(t, { mode: "mask" });
  const failures = linearityFailures(red, REPEATED);
  assertEquals(failures, []);
});

/** [a held call's value, what the approver must not see, what the approver must see] */
const HELD: Array<[string, string, string]> = [
  ["PGPASSWORD=Xk9\\;abc\\&Zq7Lm2RtW8p psql -h db", "Zq7Lm2RtW8p", " psql -h db"],
  [`sshpass \\\n-p ${PW} ssh host`, PW, " ssh host"],
  [
    `Set-Cookie: SSESS4f2a9c0d1e2b3a4c=${TOK}; path=/`,
    TOK,
    "Set-Cookie: SSESS4f2a9c0d1e2b3a4c=",
  ],
  ["sqlplus -s @/opt/scripts/drop_tables.sql", "\u0000", "@/opt/scripts/drop_tables.sql"],
];

Deno.test({
  name: "rt18 l1: the approver of a held call sees the command, not the password",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bad: string[] = [];
    await withApprovalGateway({
      prefix: "rt18-tools-",
      servers: (root) => ({ sink: sinkServer(root) }),
      approval: { tools: ["sink.store"], timeoutSeconds: 30 },
    }, async ({ gw, root, decide }) => {
      let n = 0;
      for (const [value, hidden, shown] of HELD) {
        const running = gw.post("/v1/execute", {
          code: `return await sink.store({ path: ${JSON.stringify(`${root}/f${n++}`)}, value: ${
            JSON.stringify(value)
          } });`,
        });
        const seen = JSON.parse((await decide("approve")).arguments).value as string;
        const reply = await running;
        assertEquals(reply.status, 200);
        if (seen.includes(hidden) || !seen.includes(shown)) bad.push(`${value}\n  → ${seen}`);
      }
    });
    assertEquals(bad, []);
  },
});

// Values in structured text are judged by the key above them, as parsed JSON's are (red team n1,
// N1-7; pii/structured_text.ts): YAML maps, nested maps, lists (indented or at the key's own
// indentation, of scalars or of maps) and block scalars; INI sections; tables whose header names
// a column (psql, MySQL, Markdown, PowerShell's aligned `Name  Value`). Names, values that say
// what they are (hosts, URLs, numbers that fit their key) and sections or columns that give no
// context stay as written; `redactText` and `redactValue` of the same string agree; linear.

import { assertEquals } from "../assert.ts";
import { redactText, redactValue } from "../../pii/mod.ts";
import { linearityFailures } from "./linearity.ts";

const mask = { mode: "mask" as const };
const S = ["Xk9mQ2pL7vRtYw3zAb4Cd5", "Hv4nQ8wLm2Tz6Xc9Rb3Ks7", "Pw5eJ9rYt2Uo6Ia1Sd4Fg8"];

/** [what, text, values that must not come back] */
const HIDDEN: [string, string, string[]][] = [
  ["yaml map", `passwords:\n  postgres: ${S[0]}\n  redis: "${S[1]}"\n`, [S[0], S[1]]],
  ["yaml nested", `secrets:\n  db:\n    main: ${S[0]}\n  cache:\n    main: ${S[1]}\n`, [
    S[0],
    S[1],
  ]],
  ["yaml list", `api_tokens:\n  - ${S[0]}\n  - '${S[1]}'\n`, [S[0], S[1]]],
  ["yaml list at key indent", `adminPasswords:\n- ${S[0]}\n- ${S[1]}\n`, [S[0], S[1]]],
  [
    "yaml list of maps",
    `credentials:\n  - name: prod\n    secret_value_for: ${S[0]}\n  - name: dev\n    stripe: ${
      S[1]
    }\n`,
    [S[1]],
  ],
  ["yaml block scalar", `smtp:\n  password: |\n    ${S[0]}\nnext: 1\n`, [S[0]]],
  ["yaml block under context", `passwords:\n  admin: >-\n    ${S[0]}\n`, [S[0]]],
  ["yaml phones", `phones:\n  home: 4155550134\n  work: 415 555 0199\n`, [
    "4155550134",
    "555 0199",
  ]],
  ["ini section", `[secrets]\nstripe = ${S[0]}\ngithub=${S[1]}\n[other]\nname = x\n`, [S[0], S[1]]],
  [
    "ini crlf",
    `[api_keys]\r\nbilling: ${S[2]}\r\n`,
    [S[2]],
  ],
  ["psql one column", ` password\n----------\n ${S[0]}\n ${S[1]}\n(2 rows)\n`, [S[0], S[1]]],
  [
    "psql columns",
    ` id | email           | phone\n----+-----------------+------------\n  1 | ann@example.com | 4155550134\n`,
    ["ann@example.com", "4155550134"],
  ],
  [
    "mysql borders",
    `+----+------------------------+\n| id | api_token              |\n+----+------------------------+\n|  1 | ${
      S[2]
    } |\n+----+------------------------+\n`,
    [S[2]],
  ],
  ["markdown", `| user | password |\n| --- | --- |\n| ann | ${S[1]} |\n`, [S[1]]],
  [
    "powershell name/value",
    `Name                           Value\n----                           -----\nDB_PASSWORD                    ${
      S[0]
    }\nSTRIPE_KEY                     ${S[2]}\n`,
    [S[0], S[2]],
  ],
];

Deno.test("a value under a key that gives context is hidden in YAML, INI and tables", () => {
  const raw: string[] = [];
  for (const [what, text, values] of HIDDEN) {
    const out = redactText(text, mask).text;
    for (const v of values) if (out.includes(v)) raw.push(`${what}: ${v} in ${out}`);
    assertEquals(redactValue({ text }, mask).value, { text: out }, what);
  }
  assertEquals(raw, []);
});

/** Texts that must come back exactly as written. */
const KEPT: [string, string][] = [
  ["names", "passwords:\n  postgres:\n    rotate: weekly\n"],
  [
    "plain values",
    "credentials:\n  host: db.internal.example.com\n  prod: https://example.com/login\n",
  ],
  ["numbers that fit", "passwords:\n  min_length: 12\n  max_age_days: 90\n"],
  ["no context", `settings:\n  theme: solarized-dark\n  region: eu-west-1\n`],
  ["section without context", `[database]\nhost = db.internal\nport = 5432\n`],
  ["table without context", ` id | name  | city\n----+-------+------\n  1 | Ann   | Paris\n`],
  [
    "name/value of plain",
    `Name                           Value\n----                           -----\nPSModulePath                   C:\\Program Files\\WindowsPowerShell\\Modules\n`,
  ],
  ["log lines", "2026-11-30 12:00:00 INFO started\nERROR: connection refused\n  retrying\n"],
  [
    "yaml documents",
    "kind: Secret\n---\napiVersion: apps/v1\nkind: Deployment\nspec:\n  image: registry.example.com/team/app-server:2024.11.30-7f3a9b2c\n",
  ],
];

Deno.test("names, plain values and layouts without context stay as written", () => {
  for (const [what, text] of KEPT) assertEquals(redactText(text, mask).text, text, what);
});

Deno.test("reading the layouts is linear", () => {
  const scan = (t: string) => redactText(t, mask);
  assertEquals(
    linearityFailures(scan, [
      ["yaml map under context", (i) => i === 0 ? "passwords:\n" : `  k${i % 50}: v${i}\n`],
      ["yaml list under context", (i) => i === 0 ? "api_tokens:\n" : `  - abc${i}\n`],
      ["yaml containers", (i) => `${" ".repeat(i % 40)}passwords${i % 7}:\n`],
      ["block scalar", (i) => i === 0 ? "password: |\n" : "    line\n"],
      ["ini sections", (i) => i % 2 === 0 ? `[secrets${i % 9}]\n` : "a = b\n"],
      ["table rows", (i) => i === 0 ? " password | x\n----+--\n" : " abc | d\n"],
      ["rules", () => "---\n"],
      ["name/value rows", (i) => i === 0 ? "Name  Value\n----  -----\n" : "PATH  /bin\n"],
    ]),
    [],
  );
});

// A command written as an argument list (red team l1): the items of an array under a key
// that names one (`command`, `args`, `argv`, `Cmd`, `Entrypoint`…) or that starts with a
// known program are also read as the one command line they are, on every path (sync, async
// inline, async in workers, the approval view), the password hidden inside its item and the
// program and its other arguments left readable.

import { assert, assertEquals } from "../assert.ts";
import {
  CommandLine,
  commandLineOf,
  DetectionPool,
  findPii,
  MAX_COMMAND_ITEMS,
  MAX_COMMAND_UNITS,
  redactValue,
  redactValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { everyPath } from "./every_path.ts";

const PW = "Kd8f2Lq!x9Tz";
const TOK = "Xk9mQ2pL7vRtYw3zAb8cDe4F";
const SECRET = "[REDACTED_SECRET]";

Deno.test("command arrays: a password in an argument list is hidden inside its item", async () => {
  const cases: Array<[Record<string, unknown>, unknown]> = [
    [
      { command: ["sshpass", "-p", PW, "ssh", "db"] },
      { command: ["sshpass", "-p", SECRET, "ssh", "db"] },
    ],
    [{ args: ["--db-password", PW] }, { args: ["--db-password", SECRET] }],
    [
      { argv: ["mysql", "-u", "root", `-p${PW}`] },
      { argv: ["mysql", "-u", "root", `-p${SECRET}`] },
    ],
    [
      { cmd: ["redis-cli", "-a", PW, "ping"] },
      { cmd: ["redis-cli", "-a", SECRET, "ping"] },
    ],
    // A Kubernetes container's args (Redis names its password `requirepass`, `masterauth`).
    [
      { containers: [{ name: "redis", args: ["--requirepass", PW, "--masterauth", PW] }] },
      { containers: [{ name: "redis", args: ["--requirepass", SECRET, "--masterauth", SECRET] }] },
    ],
    // Docker's exec form, a compose file's and a GitHub Actions container's `command`.
    [
      { Config: { Entrypoint: ["/usr/bin/sshpass", "-p", PW], Cmd: ["ssh", "-p", "2222", "db"] } },
      {
        Config: {
          Entrypoint: ["/usr/bin/sshpass", "-p", SECRET],
          Cmd: ["ssh", "-p", "2222", "db"],
        },
      },
    ],
    [
      { services: { cache: { image: "redis", command: ["redis-cli", "-h", "db", "-a", PW] } } },
      { services: { cache: { image: "redis", command: ["redis-cli", "-h", "db", "-a", SECRET] } } },
    ],
    [
      { credentials: { entrypoint: ["app", "--token", TOK] } },
      { credentials: { entrypoint: ["app", "--token", SECRET] } },
    ],
    // Under a key that says nothing, an array that starts with a known program.
    [
      { value: ["sshpass", "-p", PW, "ssh", "db"] },
      { value: ["sshpass", "-p", SECRET, "ssh", "db"] },
    ],
    [
      { steps: [["/opt/mssql-tools/bin/sqlcmd", "-S", "db", "-U", "sa", "-P", PW]] },
      { steps: [["/opt/mssql-tools/bin/sqlcmd", "-S", "db", "-U", "sa", "-P", SECRET]] },
    ],
    // A password with spaces or quotes is one item, so one word of the line.
    [
      { command: ["sshpass", "-p", "my secret pw", "ssh", "db"] },
      { command: ["sshpass", "-p", SECRET, "ssh", "db"] },
    ],
    [
      { args: ["--password", `x'y"z w9`] },
      { args: ["--password", SECRET] },
    ],
    // A number among the items (a port) is part of the line, and stays a number.
    [
      { command: ["redis-cli", "-p", 6379, "-a", PW] },
      { command: ["redis-cli", "-p", 6379, "-a", SECRET] },
    ],
  ];
  for (const [value, expected] of cases) {
    assertEquals(await everyPath(value), expected, JSON.stringify(value));
  }
});

Deno.test("command arrays: ordinary argument lists stay as they are", async () => {
  const plain: Record<string, unknown>[] = [
    { command: ["ssh", "-p", "2222", "db.internal"] },
    { args: ["--port", "8080", "--host", "db.internal", "--verbose"] },
    { Cmd: ["ls", "-la", "/srv/www/prod"] },
    { command: ["docker", "run", "--rm", "-p", "8080:80", "nginx"] },
    { argv: ["mkdir", "-p", "/tmp/build/out"] },
    { tags: ["-p", "alpha", "beta"] },
    { command: ["git", "commit", "-m", "fix the login page's password form"] },
  ];
  for (const value of plain) assertEquals(await everyPath(value), value, JSON.stringify(value));
});

Deno.test("command arrays: tokenize gives the same placeholders on the sync and worker paths", async () => {
  const value = {
    jobs: [
      { command: ["sshpass", "-p", PW, "ssh", "db"] },
      { args: ["--db-password", PW, "--api-token", TOK] },
    ],
  };
  const sync = redactValue(value, { mode: "tokenize", vault: new Vault({ tag: "abcdefg" }) });
  const pool = new DetectionPool({ size: 1 });
  try {
    const workers = await redactValueAsync(value, {
      mode: "tokenize",
      vault: new Vault({ tag: "abcdefg" }),
      pool,
      thresholdUnits: 0,
    });
    assertEquals(workers.value, sync.value);
    assertEquals(workers.counts, sync.counts);
    assertEquals(pool.stats.workerBatches, 1);
  } finally {
    pool.close();
  }
  const text = JSON.stringify(sync.value);
  assert(!text.includes(PW) && !text.includes(TOK), text);
  assert(text.includes('"sshpass","-p","[SECRET_1_'), text);
});

Deno.test("command arrays: a finding across items hides the value item, not the flag", () => {
  const items = ["app", "--password", "hunter2", "run"];
  const line = commandLineOf(items, "args")!;
  assertEquals(line.text, "app --password hunter2 run");
  // As if a detector had read `--password hunter2` as one value.
  line.setFindings(items, ["secret"], [{
    type: "secret",
    start: 4,
    end: 22,
    value: "--password hunter2",
  }]);
  const none = () => [];
  assertEquals(line.itemFindings(items, 1, ["secret"], none), []);
  assertEquals(line.itemFindings(items, 2, ["secret"], none), [
    { type: "secret", start: 0, end: 7, value: "hunter2" },
  ]);
  assertEquals(line.itemFindings(items, 3, ["secret"], none), []);
});

Deno.test("command arrays: what is read as a command line, and its bounds", () => {
  assertEquals(commandLineOf(["rm", "-rf"], "tags")?.text, "rm -rf"); // a known program
  assertEquals(
    commandLineOf(["C:\\bin\\mysql.exe", "-u"], "tags")?.text,
    "'C:\\bin\\mysql.exe' -u",
  );
  assertEquals(commandLineOf(["alpha", "-p", "x"], "tags"), undefined);
  assertEquals(commandLineOf(["alpha", "-p"], "Entrypoint")?.text, "alpha -p");
  assertEquals(commandLineOf(["alpha", "-p"], "program_arguments")?.text, "alpha -p");
  assertEquals(commandLineOf(["sshpass"], "command"), undefined); // one item: no line
  assertEquals(commandLineOf(["sshpass", { p: 1 }], "command"), undefined);
  assertEquals(commandLineOf(["a", "", "b c", "it's"], "args")?.text, `a '' 'b c' 'it"s'`);
  // At most MAX_COMMAND_ITEMS items, and MAX_COMMAND_UNITS units: the first ones.
  const many = Array.from({ length: 1000 }, (_, i) => `--flag${i}`);
  const line = commandLineOf(many, "args")!;
  assertEquals(line.text.split(" ").length, MAX_COMMAND_ITEMS);
  const long = Array.from({ length: 10 }, () => "x".repeat(1000));
  const cut = commandLineOf(long, "args")!;
  assert(cut.text.length <= MAX_COMMAND_UNITS);
  assertEquals(cut.text.split(" ").length, 4);
  // Items not joined have nothing from the line (their own judgement still holds).
  assertEquals(cut.itemFindings(long, 9, ["secret"], findPii), []);
  assert(line instanceof CommandLine);
});

Deno.test("command arrays: a password past the bounds is judged by its item alone", () => {
  const items = [...Array.from({ length: MAX_COMMAND_ITEMS }, () => "-v"), "--password", PW];
  // `--password` and the password are past the items joined: the line finds nothing there.
  const out = redactValue({ args: items }, { mode: "mask" }).value as { args: string[] };
  assertEquals(out.args.slice(0, -1), items.slice(0, -1));
});

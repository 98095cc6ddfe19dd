/**
 * Red team: `process.binding` was refused because its handles adopt inherited file
 * descriptors with no permission check. `node:net`'s public `new Socket({ fd })` builds the
 * same Pipe handle: the code reads and writes any pipe or socket descriptor the sandbox
 * process inherited. A sandbox process inherits every descriptor of the gateway's that is not
 * close-on-exec (whatever launched the gateway left open: a supervisor's pipes, an activated
 * socket; here the tool that ran the tests had fd 251 open, and every sandbox had it too).
 *
 * The test launches the gateway side (a `Sandbox`) from a shell that leaves a pipe open on
 * fd 7 (into a host file) and one on fd 8 (from a host command), as a launcher may.
 */

import { assert } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("node fds: sandboxed code cannot read or write descriptors the gateway inherited", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const helper = `${dir}/helper.ts`;
    const written = `${dir}/written.txt`;
    await Deno.writeTextFile(
      helper,
      `import { Sandbox } from "${ROOT}sandbox/mod.ts";
const sandbox = new Sandbox({ timeoutMs: 15_000, memoryMb: 128, maxOutputBytes: 1 << 20,
  maxLogBytes: 1 << 16, concurrency: 1, queue: 10, poolSize: 0, allowNet: [], allowRead: [] });
const code = \`const net: any = await import("node:net");
  const out = new net.Socket({ fd: 7, readable: false, writable: true });
  await new Promise((r) => out.write("written by sandboxed code\\\\n", r));
  const inp = new net.Socket({ fd: 8, readable: true, writable: false });
  const read = await new Promise((r) => inp.once("data", (d: any) => r(String(d))));
  return { read };\`;
const r = await sandbox.run({ code });
await sandbox.close();
console.log(JSON.stringify(r.error ?? r.result));`,
    );
    const out = await new Deno.Command("bash", {
      args: [
        "-c",
        `exec 7> >(cat > ${written}) 8< <(echo "a host secret"; sleep 5); deno run -A ${helper}`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const said = new TextDecoder().decode(out.stdout).trim();
    await new Promise((r) => setTimeout(r, 300)); // cat flushes
    const file = await Deno.readTextFile(written).catch(() => "");
    const problems: string[] = [];
    if (said.includes("a host secret")) problems.push(`the code read the gateway's fd 8: ${said}`);
    if (file.includes("written by sandboxed code")) {
      problems.push(`the code wrote to the gateway's fd 7: ${JSON.stringify(file)}`);
    }
    assert(problems.length === 0, problems.join("; "));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/**
 * Helpers shared by the upstream tests: waiting for a state, finding leftover processes.
 *
 * @module
 */

/**
 * Polls `condition` every 20 ms until it holds; throws (with `what`) after `limitMs`.
 * The limit only keeps a broken test from hanging: nothing here measures time.
 */
export async function waitFor(
  what: string,
  condition: () => boolean,
  limitMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fresh marker to put in a server's environment so its processes can be found. */
export function newMarker(): string {
  return `airlock-test-${crypto.randomUUID()}`;
}

/**
 * Pids of live (not zombie) processes whose command line or environment contains
 * `marker`: every process a server started inherits its environment, so this finds
 * grandchildren too (e.g. the node process under `npx`).
 */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || state === "X") continue;
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (cmdline.includes(marker) || environ.includes(marker)) pids.push(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

export { freePort } from "../helpers.ts";

/** A server process a test runs itself (e.g. an HTTP upstream), in its own process group. */
export interface BackgroundProcess {
  /** Resolves with the first line (stdout or stderr) that matches. */
  waitForLine(pattern: RegExp): Promise<string>;
  /** Kills the process group and waits until the process and its pipes are done. */
  stop(): Promise<void>;
}

/**
 * Starts `command` with only PATH, HOME and `env` in its environment, collecting its
 * output lines so a test can wait for a readiness message.
 */
export function startBackground(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): BackgroundProcess {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    waitForLine(pattern) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        child.status.then(() =>
          reject(new Error(`process exited before printing ${pattern}:\n${lines.join("\n")}`))
        );
      });
    },
    async stop() {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await pumps;
    },
  };
}

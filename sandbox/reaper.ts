/**
 * The fallback for hosts without setpriv(1): one small shell process per gateway that
 * knows the process group of every live sandbox and kills them all when the gateway is
 * gone. It learns of the gateway's end from its stdin pipe, which the kernel closes
 * however the gateway ends (`kill -9` included); it runs in its own session and ignores
 * terminal signals, so the signal that killed the gateway's group does not take it along.
 *
 * Protocol on its stdin, one line each: `+<pgid>` (a sandbox started), `-<pgid>` (it has
 * exited). It holds only live groups, so its list is as long as the sandboxes running.
 *
 * @module
 */

const SCRIPT = `trap '' INT TERM HUP QUIT
set -f
live=""
while IFS= read -r line; do
  case "$line" in
    +*) live="$live \${line#+}" ;;
    -*) gone="\${line#-}"; next=""
        for p in $live; do [ "$p" = "$gone" ] || next="$next $p"; done
        live="$next" ;;
  esac
done
for p in $live; do kill -KILL "-$p" 2>/dev/null; done
`;

let reaper: WritableStreamDefaultWriter<Uint8Array> | null | undefined;

/**
 * Has the reaper kill the process group `pgid` if the gateway ends before `exited`
 * settles. Starts the reaper on first use; without `/bin/sh` it logs once and does nothing.
 */
export function reapOnGatewayExit(pgid: number, exited: Promise<unknown>): void {
  const writer = start();
  if (!writer) return;
  const encoder = new TextEncoder();
  writer.write(encoder.encode(`+${pgid}\n`)).catch(() => {});
  exited.finally(() => writer.write(encoder.encode(`-${pgid}\n`)).catch(() => {}));
}

/** Whether the reaper runs or can be started (`false` once starting it failed). */
export function reaperAvailable(): boolean {
  return reaper !== null;
}

function start(): WritableStreamDefaultWriter<Uint8Array> | null {
  if (reaper !== undefined) return reaper;
  try {
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", SCRIPT],
      clearEnv: true,
      stdin: "piped",
      stdout: "null",
      stderr: "null",
      // Its own session: a signal to the gateway's process group must not reach it.
      detached: true,
    }).spawn();
    // It lives as long as the gateway and must not keep it from exiting.
    child.unref();
    reaper = child.stdin.getWriter();
  } catch (error) {
    reaper = null;
    console.error(
      `airlock sandbox: no reaper either (${error instanceof Error ? error.message : error}); ` +
        "a crashed gateway leaves its running sandboxes behind",
    );
  }
  return reaper;
}

/**
 * The leftover checks of `deno task test` (`tests/run.ts`), run for real on fixture test
 * files: one leaves an orphaned grandchild running, one cleans up after itself, one leaves a
 * temporary directory.
 */
import { assert, assertEquals } from "./assert.ts";

/** Pids of live processes whose environment holds `marker` (every process below inherits it). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) continue;
      if (Deno.readTextFileSync(`/proc/${entry.name}/environ`).includes(marker)) {
        pids.push(Number(entry.name));
      }
    } catch {
      // It ended while we looked.
    }
  }
  return pids;
}

const RUN = new URL("./run.ts", import.meta.url).pathname;
const FIXTURES = new URL("./fixtures/run/", import.meta.url).pathname;

async function runWrapper(fixture: string, marker: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RUN, `${FIXTURES}${fixture}`],
    // The marker is inherited by every process below, so the test can look for survivors.
    env: { AIRLOCK_TEST_MARKER: marker, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("a grandchild a passing test leaves running is named, killed, and fails the run", async () => {
  if (Deno.build.os !== "linux") return; // The check needs prctl and /proc.
  const marker = `airlock-run-test-${crypto.randomUUID()}`;
  const run = await runWrapper("leaves_a_process.ts", marker);
  assert(run.stdout.includes("1 passed"), run.stdout);
  assertEquals(run.code, 1, run.stderr);
  assert(run.stderr.includes("LEFTOVER PROCESSES: 1 still running"), run.stderr);
  assert(/pid \d+ \(parent \d+\): sleep 300/.test(run.stderr), run.stderr);
  assertEquals(processesWith(marker), [], "the wrapper must kill what it reports");
});

Deno.test("a test that stops its whole process group passes the check", async () => {
  if (Deno.build.os !== "linux") return;
  const marker = `airlock-run-test-${crypto.randomUUID()}`;
  const run = await runWrapper("stops_its_processes.ts", marker);
  assertEquals(run.code, 0, run.stderr);
  assert(!run.stderr.includes("LEFTOVER"), run.stderr);
  assertEquals(processesWith(marker), []);
});

Deno.test("temporary files a test leaves are named and removed with the run's TMPDIR", async () => {
  const marker = `airlock-run-test-${crypto.randomUUID()}`;
  const run = await runWrapper("leaves_a_temp_dir.ts", marker);
  assertEquals(run.code, 0, run.stderr);
  const left = run.stdout.match(/LEFT (\S+)/)?.[1];
  assert(left, run.stdout);
  assert(run.stderr.includes("airlock-fixture-left-* ×1"), run.stderr);
  let exists = true;
  try {
    await Deno.stat(left);
  } catch (error) {
    exists = !(error instanceof Deno.errors.NotFound);
  }
  assert(!exists, `${left} is still there`);
});

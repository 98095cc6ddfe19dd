/**
 * Real Redis, PostgreSQL and nginx servers for tests (from `examples/cluster/services.ts`),
 * and the rule for machines without them: the tests that need them are skipped, loudly (a
 * line on stderr naming what is missing and how to install it); with `CI=true` nothing is
 * skipped: the test runs and fails. `.ci/run` installs them.
 *
 * @module
 */

export {
  findProgram,
  postgresBin,
  type PostgresService,
  type RedisService,
  type Service,
  startPostgres,
  startRedis,
  waitFor,
} from "../examples/cluster/services.ts";

const announced = new Set<string>();

/**
 * Whether tests needing `programs` should be ignored here: true when one is missing and
 * `CI` is not `true` (printed loudly once per suite); false otherwise (then a missing program
 * fails the test).
 */
export function skipWithout(suite: string, programs: Record<string, string | undefined>): boolean {
  const missing = Object.entries(programs).filter(([, path]) => path === undefined).map(([n]) => n);
  if (missing.length === 0) return false;
  if (Deno.env.get("CI") === "true") return false;
  if (!announced.has(suite)) {
    announced.add(suite);
    console.error(
      `\n!!! SKIPPED: the ${suite} tests: ${missing.join(", ")} not found. ` +
        "Install with: apt-get install -y redis-server postgresql nginx (as .ci/run does)\n",
    );
  }
  return true;
}

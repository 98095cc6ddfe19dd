#!/usr/bin/env bash
# Installs the servers the Redis, PostgreSQL and cluster tests run (redis-server, postgresql,
# nginx, from Debian's packages) when one is missing and this machine can: root with apt-get.
# Used by .ci/run and by `deno task test` (tests/run.ts); set AIRLOCK_NO_INSTALL=1 to skip.
# It never fails: a machine that cannot install gets those tests skipped loudly, or failed
# with CI=true (tests/services.ts).
set -uo pipefail
[ "${AIRLOCK_NO_INSTALL:-}" = 1 ] && exit 0
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 ||
  need+=(postgresql)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "--- apt-get install ${need[*]} (for the Redis, PostgreSQL and cluster tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A package whose service cannot start here still leaves its programs, which is all the
  # tests use.
  apt-get update -qq || echo "apt-get update failed" >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    echo "apt-get install ${need[*]} reported an error" >&2
else
  echo "cannot install ${need[*]} here (not root, or no apt-get): the tests that need them" \
    "are skipped (CI=true: they fail)" >&2
fi
exit 0

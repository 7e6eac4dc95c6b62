#!/usr/bin/env bash
# `npm test`: the whole suite. Installs what the tests need from Debian (Chromium for the
# GraphiQL browser test, redis-server for the shared limits), then runs every test file
# with node's built-in test runner.
# Extra arguments: files replace the list (`npm test -- test/graphiql.browser.test.ts`),
# flags go to node (`npm test -- --test-name-pattern=cost`).
set -uo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages the tests need, installed when missing (one apt-get update for all):
# chromium for the GraphiQL browser test, redis-server for the shared-limit tests.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "scripts/test.sh: installing Debian's ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || { echo "scripts/test.sh: apt-get update failed" >&2; exit 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || { echo "scripts/test.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi

# Arguments that are not flags are test files (they replace the full list); flags such as
# --test-name-pattern=X go to node's runner.
flags=()
files=()
for arg in "$@"; do
  case "$arg" in
    -*) flags+=("$arg") ;;
    *) files+=("$arg") ;;
  esac
done
if [ "${#files[@]}" -eq 0 ]; then
  mapfile -t files < <(find test -name '*.test.ts' | sort)
  if [ "${#files[@]}" -eq 0 ]; then
    echo "scripts/test.sh: no test files found under test/" >&2
    exit 1
  fi
fi

node --import tsx --test --test-concurrency=2 --test-timeout=120000 "${flags[@]}" "${files[@]}"
exit $?

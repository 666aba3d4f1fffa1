#!/usr/bin/env bash
# Runs one command with a throw-away PostgreSQL test server (scripts/test-env.sh), then stops it:
#   scripts/pg-test-server.sh build/ci/tests/tst_connectionpool
#   scripts/pg-test-server.sh ctest --test-dir build/ci -R 'connectionpool|schema'
# Without a command it keeps the server running until Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trap 'if declare -F flowdeck_test_env_cleanup >/dev/null; then flowdeck_test_env_cleanup || true; fi' EXIT
trap 'exit 130' INT TERM
# shellcheck source=scripts/test-env.sh
source "$ROOT/scripts/test-env.sh"

if (($# == 0)); then
    echo "==> Press Ctrl-C to stop the server"
    while true; do sleep 3600; done
fi
rc=0
"$@" || rc=$?
exit "$rc"

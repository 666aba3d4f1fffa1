# shellcheck shell=bash
# Throw-away services for the tests. Source it (scripts/setup.sh test does, before ctest):
#
#   source scripts/test-env.sh        # starts PostgreSQL, exports FLOWDECK_TEST_PG
#   build/ci/tests/tst_connectionpool # any test binary now also runs its PostgreSQL rows
#   flowdeck_test_env_cleanup         # stops the server and removes its folder
#
# The cluster comes from the Debian packages (postgresql), lives in a temporary folder, listens on
# 127.0.0.1 on a free port with trust authentication (local test use only) and runs as a non-root
# user: the current one, or for root 'postgres' (or a system user 'flowdeck-pg', created if needed).
# It runs without fsync (throw-away data); set FLOWDECK_TEST_PG_DURABLE=1 before sourcing to keep it.
# Safe under `set -euo pipefail`. When FLOWDECK_TEST_PG is already set, that server is used instead.
# scripts/pg-test-server.sh wraps this for one command: scripts/pg-test-server.sh ctest ...

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "test-env.sh: source this file (source scripts/test-env.sh), or use scripts/pg-test-server.sh" >&2
    exit 2
fi

# Runs a command as the cluster's owner, from a folder that user can enter.
_flowdeck_pg_as_owner() {
    if ((EUID == 0)); then
        (cd "$FLOWDECK_TEST_PG_DIR" && runuser -u "$FLOWDECK_TEST_PG_USER" -- "$@")
    else
        (cd "$FLOWDECK_TEST_PG_DIR" && "$@")
    fi
}

#: Stops the test cluster started by test-env.sh and removes its folder. Safe to call twice.
flowdeck_test_env_cleanup() {
    if [[ -n "${FLOWDECK_TEST_PG_DIR:-}" ]]; then
        if [[ -f "$FLOWDECK_TEST_PG_DIR/data/postmaster.pid" ]]; then
            _flowdeck_pg_as_owner "$FLOWDECK_TEST_PG_BIN/pg_ctl" -D "$FLOWDECK_TEST_PG_DIR/data" \
                -m immediate -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$FLOWDECK_TEST_PG_DIR"
        unset FLOWDECK_TEST_PG
    fi
    unset FLOWDECK_TEST_PG_DIR FLOWDECK_TEST_PG_BIN FLOWDECK_TEST_PG_USER
}

_flowdeck_test_env_fail() {
    printf 'test-env.sh: %s\n' "$1" >&2
    if [[ -n "${FLOWDECK_TEST_PG_DIR:-}" && -f "$FLOWDECK_TEST_PG_DIR/setup.log" ]]; then
        echo "test-env.sh: last lines of $FLOWDECK_TEST_PG_DIR/setup.log:" >&2
        tail -n 20 "$FLOWDECK_TEST_PG_DIR/setup.log" | sed 's/^/    /' >&2 || true
    fi
    flowdeck_test_env_cleanup
    return 1
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
_flowdeck_free_port() {
    local port _
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

_flowdeck_test_env_start() {
    if [[ -n "${FLOWDECK_TEST_PG_DIR:-}" && -n "${FLOWDECK_TEST_PG:-}" ]]; then
        echo "==> PostgreSQL test server already running: $FLOWDECK_TEST_PG"
        return 0
    fi
    if [[ -n "${FLOWDECK_TEST_PG:-}" ]]; then
        echo "==> Using the PostgreSQL server in FLOWDECK_TEST_PG"
        return 0
    fi

    local bindir
    # shellcheck disable=SC2012 # the folder names are version numbers
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$bindir" || ! -x "$bindir/initdb" || ! -x "$bindir/pg_ctl" ]]; then
        _flowdeck_test_env_fail "PostgreSQL server programs not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        return 1
    fi

    local user
    if ((EUID == 0)); then
        if id -u postgres >/dev/null 2>&1; then
            user=postgres
        else
            if ! id -u flowdeck-pg >/dev/null 2>&1 \
                && ! useradd --system --user-group --no-create-home --home-dir /nonexistent \
                    --shell /usr/sbin/nologin flowdeck-pg >/dev/null 2>&1; then
                _flowdeck_test_env_fail "cannot create the system user flowdeck-pg to run PostgreSQL"
                return 1
            fi
            user=flowdeck-pg
        fi
    else
        user="$(id -un)"
    fi

    local dir
    if ! dir="$(mktemp -d /tmp/flowdeck-pg.XXXXXX)"; then
        _flowdeck_test_env_fail "cannot create a temporary folder in /tmp"
        return 1
    fi
    FLOWDECK_TEST_PG_DIR="$dir"
    FLOWDECK_TEST_PG_BIN="$bindir"
    FLOWDECK_TEST_PG_USER="$user"
    if ((EUID == 0)); then
        chown "$user:" "$dir"
    fi
    chmod 700 "$dir"

    local log="$dir/setup.log"
    touch "$log"
    if ((EUID == 0)); then
        chown "$user:" "$log"
    fi
    if ! _flowdeck_pg_as_owner "$bindir/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --locale=C \
        --no-sync --no-instructions >>"$log" 2>&1; then
        _flowdeck_test_env_fail "initdb failed"
        return 1
    fi

    # Durability is pointless for a cluster that is deleted afterwards, and fsync makes every
    # DROP DATABASE (a checkpoint) take seconds. FLOWDECK_TEST_PG_DURABLE=1 keeps the defaults, for
    # benchmarks that should pay for durable commits.
    local settings="-c listen_addresses=127.0.0.1 -c max_connections=300"
    if [[ -z "${FLOWDECK_TEST_PG_DURABLE:-}" ]]; then
        settings+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi

    # Another process may take the port between the check and the start: try a few.
    local port="" started=0 _
    for _ in 1 2 3 4 5; do
        if ! port="$(_flowdeck_free_port)"; then
            break
        fi
        if _flowdeck_pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "$settings -p $port -k $dir" start >>"$log" 2>&1; then
            started=1
            break
        fi
        cat "$dir/server.log" >>"$log" 2>/dev/null || true
        rm -f "$dir/server.log"
    done
    if ((started == 0)); then
        _flowdeck_test_env_fail "PostgreSQL did not start (bin: $bindir, folder: $dir)"
        return 1
    fi

    if ! "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" flowdeck_test >>"$log" 2>&1; then
        _flowdeck_test_env_fail "cannot create the database flowdeck_test on 127.0.0.1:$port"
        return 1
    fi

    export FLOWDECK_TEST_PG="postgresql://$user@127.0.0.1:$port/flowdeck_test"
    # For fault tests that restart the server (pg_ctl -D "$FLOWDECK_TEST_PG_DIR/data" restart, run as
    # FLOWDECK_TEST_PG_USER when root).
    export FLOWDECK_TEST_PG_DIR FLOWDECK_TEST_PG_BIN FLOWDECK_TEST_PG_USER
    echo "==> PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') test server in $dir (stop it with flowdeck_test_env_cleanup)"
    echo "==> FLOWDECK_TEST_PG=$FLOWDECK_TEST_PG"
}

_flowdeck_test_env_start

#!/usr/bin/env bash
# Flowdeck's one set-up entry point. On a fresh Debian 12 machine, as root:
#   scripts/setup.sh run [ARGS...]   install what is missing, build the release preset, start the app
#   scripts/setup.sh test            install what is missing, build the ci preset, run every test
# Fast and idempotent when everything is already there: nothing is installed twice and the build is
# incremental.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# What building and running needs. qt6-base-dev already pulls libgl-dev, libvulkan-dev and
# qt6-qpa-plugins (its CMake config requires OpenGL headers); they are listed so that a missing one
# is named. libqt6svg6 carries the SVG icon engine, without which the window icon stays empty.
BASE_PACKAGES=(
    build-essential cmake ninja-build pkg-config git
    qt6-base-dev qt6-base-dev-tools qcoro-qt6-dev
    libqt6sql6-sqlite libqt6sql6-psql libqt6svg6 libsqlite3-dev
    libgl-dev qt6-qpa-plugins
)
# What the tests need on top: a PostgreSQL server for the database tests, an X server for GUI checks.
TEST_PACKAGES=(postgresql xvfb xauth)

log() { printf '==> %s\n' "$*"; }
die() {
    printf 'setup.sh: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
Usage: scripts/setup.sh run [ARGS...]   install missing packages, build (release), start flowdeck ARGS...
       scripts/setup.sh test            install missing packages, build (ci), run every test with ctest
EOF
}

is_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [[ "$status" == *"install ok installed"* ]]
}

ensure_packages() {
    command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian 12"
    local missing=() pkg
    for pkg in "$@"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        log "All $# required packages are installed"
        return
    fi
    if ((EUID != 0)); then
        {
            echo "setup.sh: missing Debian packages: ${missing[*]}"
            echo "Install them as root, then run this again:"
            echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
        } >&2
        exit 1
    fi
    log "Installing ${#missing[@]} missing packages: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# A build folder left by another generator or another checkout cannot be reconfigured by a preset.
discard_foreign_build_dir() {
    local dir="$1" cache="$1/CMakeCache.txt"
    [[ -f "$cache" ]] || return 0
    local generator home
    generator="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$cache")"
    home="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
    if [[ "$generator" != "Ninja" || "$home" != "$ROOT" ]]; then
        log "Removing $dir (configured for '${generator}' in '${home}')"
        rm -rf "$dir"
    fi
}

configure_and_build() {
    local preset="$1"
    shift
    discard_foreign_build_dir "build/$preset"
    log "Configuring preset '$preset' (build/$preset)"
    cmake --preset "$preset" >/dev/null
    log "Building preset '$preset' with $(nproc) jobs"
    cmake --build --preset "$preset" --parallel "$(nproc)" "$@"
}

cmd_run() {
    ensure_packages "${BASE_PACKAGES[@]}"
    configure_and_build release --target flowdeck
    local binary="build/release/app/flowdeck"
    [[ -x "$binary" ]] || die "$binary was not built"
    if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
        cat >&2 <<'EOF'
==> Note: no display (DISPLAY and WAYLAND_DISPLAY are unset). Command-line calls work as they are;
    for the window, run it under a virtual X server or without one:
        apt-get install -y xvfb xauth && xvfb-run -a scripts/setup.sh run
        QT_QPA_PLATFORM=offscreen scripts/setup.sh run
EOF
    fi
    log "Starting $binary${*:+ $*}"
    exec "$binary" "$@"
}

cmd_test() {
    ensure_packages "${BASE_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    configure_and_build ci
    # scripts/test-env.sh starts throw-away services (PostgreSQL) and exports their addresses; it
    # defines flowdeck_test_env_cleanup to stop them. The trap is set first, so that services are
    # stopped even when test-env.sh fails half-way.
    trap 'if declare -F flowdeck_test_env_cleanup >/dev/null; then flowdeck_test_env_cleanup || true; fi' EXIT
    if [[ -f scripts/test-env.sh ]]; then
        log "Preparing the test environment (scripts/test-env.sh)"
        # shellcheck source=/dev/null
        source scripts/test-env.sh
    fi
    log "Running the tests"
    local rc=0
    ctest --test-dir build/ci --output-on-failure --timeout 600 || rc=$?
    exit "$rc"
}

main() {
    local command="${1:-}"
    if (($# > 0)); then shift; fi
    case "$command" in
    run) cmd_run "$@" ;;
    test)
        (($# == 0)) || die "'test' takes no arguments"
        cmd_test
        ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"

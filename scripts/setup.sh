#!/usr/bin/env bash
# Flowdeck's one set-up entry point. On a fresh Debian 12 machine, as root:
#   scripts/setup.sh run [ARGS...]   install what is missing, build the release preset, start the app
#   scripts/setup.sh test            install what is missing, build the ci preset, run every test, then
#                                    build the .deb and check it (lint, install, run, validate, purge)
#   scripts/setup.sh package         install what is missing, build the .deb (package preset) and lint it
# Fast and idempotent when everything is already there: nothing is installed twice and the build is
# incremental.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# What building and running needs. qt6-base-dev already pulls libgl-dev, libvulkan-dev and
# qt6-qpa-plugins (its CMake config requires OpenGL headers); they are listed so that a missing one
# is named. libqt6svg6 carries the SVG icon engine, without which the window icon stays empty.
# tzdata: QTimeZone reads the IANA zones (schedules' --timezone Europe/Berlin, and the local zone)
# from /usr/share/zoneinfo; a minimal Debian 12 image has none, and every zone but UTC is unknown.
BASE_PACKAGES=(
    build-essential cmake ninja-build pkg-config git
    qt6-base-dev qt6-base-dev-tools qcoro-qt6-dev
    libqt6sql6-sqlite libqt6sql6-psql libqt6svg6 libsqlite3-dev
    libgl-dev qt6-qpa-plugins tzdata
)
# What the tests need on top: a PostgreSQL server for the database tests, an X server for GUI checks.
TEST_PACKAGES=(postgresql xvfb xauth)
# What building and checking the .deb needs: CPack's DEB generator calls dpkg-shlibdeps (dpkg-dev),
# lintian checks the package, desktop-file-validate and appstreamcli the desktop integration, man the
# man page, bash-completion the completion script as bash loads it; ccache keeps the package's own
# Release build fast.
PACKAGE_PACKAGES=(dpkg-dev file lintian desktop-file-utils appstream man-db groff-base ccache bash-completion)

log() { printf '==> %s\n' "$*"; }
die() {
    printf 'setup.sh: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
Usage: scripts/setup.sh run [ARGS...]   install missing packages, build (release), start flowdeck ARGS...
       scripts/setup.sh test            install missing packages, build (ci), run every test with ctest,
                                        then build, lint, install, try out and purge the .deb
       scripts/setup.sh package         install missing packages, build the .deb (build/package) and lint it
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
    # ccache (installed with the package tools) makes a second build of the same tree quick.
    local launcher=()
    command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    log "Configuring preset '$preset' (build/$preset)"
    cmake --preset "$preset" "${launcher[@]}" >/dev/null
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

# Builds build/package/flowdeck_VERSION_ARCH.deb (Release, CPack) and sets DEB to its path.
build_package() {
    discard_foreign_build_dir build/package
    local launcher=()
    command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    log "Configuring preset 'package' (build/package)"
    cmake --preset package "${launcher[@]}" >/dev/null
    log "Building preset 'package' with $(nproc) jobs"
    cmake --build --preset package --parallel "$(nproc)"
    rm -f build/package/flowdeck_*.deb
    log "Making the .deb (CPack, dependencies from dpkg-shlibdeps)"
    (cd build/package && cpack -G DEB >/dev/null)
    DEB="$(ls build/package/flowdeck_*.deb)"
    log "Built $DEB ($(du -k "$DEB" | cut -f1) KB); depends on: $(dpkg-deb -f "$DEB" Depends)"
}

# No errors; the warnings left are explained in README.md (Installing as a Debian package).
lint_package() {
    log "Checking $DEB with lintian"
    lintian --fail-on error --display-info "$DEB" || die "lintian found errors in $DEB"
}

# dpkg ARGS..., waiting up to two minutes for another dpkg or apt run to finish first.
dpkg_waiting() {
    local i err
    err="$(mktemp)"
    for ((i = 0; i < 120; i++)); do
        if dpkg "$@" 2>"$err"; then
            rm -f "$err"
            return 0
        fi
        if ! grep -q 'lock' "$err"; then
            cat "$err" >&2
            rm -f "$err"
            return 1
        fi
        sleep 1
    done
    cat "$err" >&2
    rm -f "$err"
    return 1
}

# Installs $DEB with dpkg -i, tries the installed application, purges it and checks that nothing is
# left behind.
check_package() {
    ((EUID == 0)) || die "checking the package installs it: run as root"
    if is_installed flowdeck; then
        die "the flowdeck package is installed here; the check would replace and purge it (dpkg -P flowdeck first)"
    fi
    local scratch
    scratch="$(mktemp -d)"
    log "Installing $DEB (dpkg -i)"
    if ! dpkg_waiting -i "$DEB" >/dev/null; then
        dpkg_waiting -P flowdeck >/dev/null 2>&1 || true
        die "dpkg -i $DEB failed"
    fi
    local files
    files="$(dpkg -L flowdeck)"

    log "Trying out the installed flowdeck"
    # A separate bash, so that -e stops at the first failing step.
    if ! bash -euo pipefail -s "$scratch" "$files" <<'EOF'
cd "$1"
export HOME="$1" FLOWDECK_DB="$1/check.db" XDG_RUNTIME_DIR="$1"
/usr/bin/flowdeck --version
/usr/bin/flowdeck validate /usr/share/flowdeck/flows/hello.json
/usr/bin/flowdeck run /usr/share/flowdeck/flows/hello.json >/dev/null
/usr/bin/flowdeck runs ls --state completed | grep hello >/dev/null
MANPAGER=cat MANWIDTH=80 man flowdeck 2>/dev/null | grep 'concurrency-limit' >/dev/null
# The completion script, as bash loads it, completes subcommands and state names.
bash -c 'source /usr/share/bash-completion/completions/flowdeck
         COMP_WORDS=(flowdeck runs ls --state c); COMP_CWORD=4; _flowdeck
         printf "%s\n" "${COMPREPLY[@]}"' | grep -x completed >/dev/null
desktop-file-validate /usr/share/applications/flowdeck.desktop
appstreamcli validate --no-net /usr/share/metainfo/io.github.flowdeck.Flowdeck.metainfo.xml >/dev/null
# The worker unit, as an instance (systemd-analyze verifies without systemd running).
if command -v systemd-analyze >/dev/null 2>&1; then
    cp /lib/systemd/system/flowdeck-worker@.service "$1/flowdeck-worker@check.service"
    systemd-analyze verify --man=no "$1/flowdeck-worker@check.service"
fi
# Nothing was written beside the binary or into the installed data.
[[ "$(find /usr/bin -name 'flowdeck*')" == /usr/bin/flowdeck ]]
diff <(find /usr/share/flowdeck -type f | sort) <(grep '^/usr/share/flowdeck/.*\.json$' <<<"$2" | sort)
EOF
    then
        dpkg_waiting -P flowdeck >/dev/null 2>&1 || true
        rm -rf "$scratch"
        die "the installed package does not work (see above)"
    fi
    rm -rf "$scratch"

    log "Purging the package"
    dpkg_waiting -P flowdeck >/dev/null
    local left=() path
    while IFS= read -r path; do
        # Folders such as /usr/bin stay: they belong to other packages too.
        if [[ -e "$path" && ! -d "$path" ]] || [[ "$path" == */flowdeck* && -e "$path" ]]; then
            left+=("$path")
        fi
    done <<<"$files"
    for path in /etc/flowdeck /var/lib/flowdeck /var/lib/private/flowdeck; do
        [[ -e "$path" ]] && left+=("$path")
    done
    ((${#left[@]} == 0)) || die "purging flowdeck left behind: ${left[*]}"
    log "The package installs, works and purges without a trace"
}

cmd_package() {
    ensure_packages "${BASE_PACKAGES[@]}" "${PACKAGE_PACKAGES[@]}"
    build_package
    lint_package
}

cmd_test() {
    ensure_packages "${BASE_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${PACKAGE_PACKAGES[@]}"
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
    local started=$SECONDS
    build_package
    lint_package
    check_package
    log "Package step: $((SECONDS - started)) s"
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
    package)
        (($# == 0)) || die "'package' takes no arguments"
        cmd_package
        ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# Install what hostmgr needs into ./.venv. Idempotent; safe to run again.
#   scripts/install.sh          the server
#   scripts/install.sh --test   the server, the test tools and the test services
# The configured engine (HOSTMGR_RUNTIME, default docker) and proxy
# (HOSTMGR_PROXY=caddy) come from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

apt_install() {
    # Only what is missing, so a machine that has everything needs no network.
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "install: missing Debian packages ${missing[*]}; run as root" >&2
        exit 1
    fi
    echo "install: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if command -v dpkg-query >/dev/null; then
    if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
        || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        apt_install python3 python3-venv
    fi
    if [ "$with_tests" = 1 ]; then
        # Both engines, the stand-in image's busybox, Caddy, the test databases,
        # PHP with php-parser and Smarty for the WHMCS module's tests, and Chromium
        # for the panel's browser tests.
        apt_install docker.io podman runc busybox-static postgresql redis-server caddy \
            php-cli php-curl php-parser smarty3 chromium
    else
        case "${HOSTMGR_RUNTIME:-docker}" in
            docker) apt_install docker.io ;;
            podman) apt_install podman runc ;;
        esac
        [ "${HOSTMGR_PROXY:-none}" = caddy ] && apt_install caddy
    fi
fi

python3 -c 'import sys; assert sys.version_info >= (3, 11), "hostmgr needs Python 3.11+"'
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$with_tests" = 1 ]; then
    .venv/bin/python -m pip install --quiet -e '.[test]'
else
    .venv/bin/python -m pip install --quiet -e .
fi
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && .venv/bin/python -m pip install --quiet -e "$plugin"
done
echo "install: done ($(.venv/bin/hostmgr --help >/dev/null && echo hostmgr ready))"

#!/usr/bin/env bash
# Installs what `make test` / `make demo` need on a fresh Debian machine (Rust, gcc and
# Python 3 are assumed). Installs only what is missing; needs root (or sudo) for apt.
set -euo pipefail

need_apt=()
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v valgrind >/dev/null || need_apt+=(valgrind)
if ! command -v php >/dev/null || ! php -m 2>/dev/null | grep -qi '^ffi$'; then
    need_apt+=(php-cli)
fi
if [ "${PIRSCH_NEED_NGINX:-0}" = 1 ]; then
    command -v nginx >/dev/null || need_apt+=(nginx)
    [ -d /usr/share/nginx/src ] || need_apt+=(nginx-dev)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "install-deps: installing ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import pytest' 2>/dev/null; then
    echo "install-deps: installing pytest"
    python3 -m pip install -q pytest
fi

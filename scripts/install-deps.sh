#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine (Rust, gcc and Python 3 are
# assumed); `install-deps.sh demo` only what `make demo` needs (php-cli for the PHP example).
# Installs only what is missing; needs root (or sudo) for apt.
set -euo pipefail
profile=${1:-test}

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ "$profile" = demo ]; then
    if ! command -v php >/dev/null || ! php -m 2>/dev/null | grep -qi '^ffi$'; then
        if [ -n "$SUDO" ] && ! sudo -n true 2>/dev/null; then
            echo "install-deps: php-cli is missing and this user cannot install it: the demo skips PHP (run: sudo apt-get install php-cli)"
            exit 0
        fi
        echo "install-deps: installing php-cli (for the PHP example)"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends php-cli >/dev/null \
            || echo "install-deps: php-cli could not be installed: the demo skips PHP"
    fi
    exit 0
fi

need_apt=()
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v cmake >/dev/null || need_apt+=(cmake)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v g++ >/dev/null || need_apt+=(g++)
# The C++ tests (scripts/test-cpp.sh): clang++ beside g++, clang's sanitizer runtimes, and
# cpp-httplib for the example server.
command -v clang++ >/dev/null || need_apt+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.asan-x86_64.a >/dev/null 2>&1 || need_apt+=(libclang-rt-dev)
[ -f /usr/include/httplib.h ] || need_apt+=(libcpp-httplib-dev)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v doxygen >/dev/null || need_apt+=(doxygen)
if ! command -v php >/dev/null || ! php -m 2>/dev/null | grep -qi '^ffi$'; then
    need_apt+=(php-cli)
fi
command -v phpunit >/dev/null || need_apt+=(phpunit)
command -v composer >/dev/null || need_apt+=(composer)
command -v php-fpm8.2 >/dev/null || [ -x /usr/sbin/php-fpm8.2 ] || need_apt+=(php8.2-fpm)
[ -x /usr/sbin/nginx ] || need_apt+=(nginx)
[ -d /usr/share/nginx/src ] || need_apt+=(nginx-dev)
# The Apache module (make apache-module, make test-apache): apache2 and apxs, mod_remoteip
# and the MPMs come with apache2-bin.
[ -x /usr/sbin/apache2 ] || need_apt+=(apache2)
command -v apxs >/dev/null || need_apt+=(apache2-dev)
# PHP inside Apache for the module's PHP test (php8.2-fpm, above, is the other way).
[ -f /usr/lib/apache2/modules/libphp8.2.so ] || need_apt+=(libapache2-mod-php8.2)

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "install-deps: installing ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

need_pip=()
for mod in pytest gunicorn uvicorn; do
    python3 -c "import $mod" 2>/dev/null || need_pip+=("$mod")
done
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "install-deps: installing ${need_pip[*]} (pip)"
    python3 -m pip install -q --root-user-action=ignore "${need_pip[@]}"
fi

#!/usr/bin/env bash
# Builds bindings/nginx as a dynamic module for the installed nginx, the way Debian builds its
# own modules: configure a copy of nginx-dev's tree with its conf_flags, then `make modules`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# nginx's configure and the Makefile it writes cannot take paths with whitespace: build
# through a link to the checkout that has none.
if [[ "$ROOT" =~ [[:space:]] ]]; then
    link="${TMPDIR:-/tmp}/pirsch-checkout-$(printf %s "$ROOT" | sha256sum | cut -c1-12)"
    ln -sfn "$ROOT" "$link"
    ROOT=$link
fi
SRC=${1:-/usr/share/nginx/src}
# PIRSCH_NGINX_OUT: the output folder (default target/nginx); PIRSCH_RPATH: see bindings/nginx/config.
OUT=${PIRSCH_NGINX_OUT:-target/nginx}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac   # relative: to the checkout (through the link)
rm -rf "$OUT/src"
mkdir -p "$OUT"
cp -r "$SRC" "$OUT/src"
cd "$OUT/src"
. ./conf_flags
export PIRSCH_INCLUDE=$ROOT/include PIRSCH_LIBDIR=$ROOT/target/release
./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$ROOT/bindings/nginx" --builddir="$OUT/build" > "$OUT/configure.log" 2>&1 \
    || { tail -30 "$OUT/configure.log"; exit 1; }
make -s -f "$OUT/build/Makefile" modules CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -fPIC" > "$OUT/make.log" 2>&1 \
    || { cat "$OUT/make.log" | grep -E "error|warning" | head -30; exit 1; }
cp "$OUT/build/ngx_http_pirsch_module.so" "$OUT/ngx_http_pirsch_module.so"
echo "nginx-module: $OUT/ngx_http_pirsch_module.so (nginx $(nginx -v 2>&1 | sed 's|.*/||'))"

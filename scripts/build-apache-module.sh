#!/usr/bin/env bash
# Builds bindings/apache/mod_pirsch.c with apxs (Debian's apache2-dev) against libpirsch, in
# a copy under the output folder (apxs writes its objects beside the source).
#   PIRSCH_INCLUDE   where pirsch.h is        (default: include/)
#   PIRSCH_LIBDIR    where libpirsch.so is    (default: target/release/)
#   PIRSCH_RPATH     where the module looks for libpirsch.so.0 at run time:
#                    unset -> PIRSCH_LIBDIR (dev builds), empty -> no rpath (packages and
#                    installs: the system's libdir), a path -> that path.
#   PIRSCH_APACHE_OUT  the output folder (default target/apache)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# libtool and apxs cannot take paths with whitespace: build through a link without any.
if [[ "$ROOT" =~ [[:space:]] ]]; then
    link="${TMPDIR:-/tmp}/pirsch-checkout-$(printf %s "$ROOT" | sha256sum | cut -c1-12)"
    ln -sfn "$ROOT" "$link"
    ROOT=$link
fi
APXS=${APXS:-apxs}
command -v "$APXS" >/dev/null || { echo "apache-module: $APXS is missing: apt-get install apache2-dev" >&2; exit 2; }
INC=${PIRSCH_INCLUDE:-$ROOT/include}
LIBDIR=${PIRSCH_LIBDIR:-$ROOT/target/release}
RPATH=${PIRSCH_RPATH-$LIBDIR}
OUT=${PIRSCH_APACHE_OUT:-target/apache}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac   # relative: to the checkout (through the link)
[ -f "$LIBDIR/libpirsch.so" ] || { echo "apache-module: $LIBDIR/libpirsch.so is missing: run \`make build\`" >&2; exit 1; }
rm -rf "$OUT/build"
mkdir -p "$OUT/build"
cp bindings/apache/mod_pirsch.c "$OUT/build/"
cd "$OUT/build"
args=(-c -I"$INC" -Wc,-Wall -Wc,-Wextra -Wc,-Werror -Wc,-O2 -Wc,-g -L"$LIBDIR" -lpirsch)
[ -n "$RPATH" ] && args+=(-Wl,-Wl,-rpath,"$RPATH")  # apxs hands -Wl,X to libtool as X
"$APXS" "${args[@]}" mod_pirsch.c > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; exit 1; }
if grep -E "(warning|error):" "$OUT/build.log" >&2; then exit 1; fi
cp .libs/mod_pirsch.so "$OUT/mod_pirsch.so"
echo "apache-module: $OUT/mod_pirsch.so ($(apache2 -v 2>/dev/null | sed -n 's/^Server version: //p'))"

#!/usr/bin/env bash
# `make install` into a temporary prefix, then build the C example against it with
# pkg-config, dynamically and statically, and run both against the stand-in.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
STANDIN_PID=""
trap 'kill $STANDIN_PID 2>/dev/null || true; rm -rf "$OUT"' EXIT
PREFIX="$OUT/prefix"
make -s install PREFIX="$PREFIX" >/dev/null
for f in lib/libpirsch.so lib/libpirsch.so.0 lib/libpirsch.a include/pirsch.h lib/pkgconfig/pirsch.pc; do
    [ -e "$PREFIX/$f" ] || { echo "install-test: $f missing"; exit 1; }
done
[ "$(readlink "$PREFIX/lib/libpirsch.so")" = libpirsch.so.0 ] || { echo "install-test: bad soname link"; exit 1; }
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"

cc -Wall -Wextra -Werror examples/c/pageview.c -o "$OUT/pageview-dyn" \
    $(pkg-config --cflags --libs pirsch) -Wl,-rpath,"$(pkg-config --variable=libdir pirsch)"
ldd "$OUT/pageview-dyn" | grep -q "libpirsch.so.0 => $PREFIX/lib/" || { echo "install-test: not linked to the installed .so"; exit 1; }

# Static: the archive itself, plus the system libraries pkg-config --static lists.
cc -Wall -Wextra -Werror examples/c/pageview.c -o "$OUT/pageview-static" \
    $(pkg-config --cflags pirsch) "$(pkg-config --variable=libdir pirsch)/libpirsch.a" \
    $(pkg-config --static --libs pirsch | sed 's/-lpirsch//; s/-L[^ ]*//')
if ldd "$OUT/pageview-static" | grep -q libpirsch; then echo "install-test: static build still needs libpirsch.so"; exit 1; fi

target/release/pirsch-standin --port 0 --quiet --port-file "$OUT/port" > /dev/null &
STANDIN_PID=$!
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.05; done
export PIRSCH_BASE_URL="http://127.0.0.1:$(cat "$OUT/port")" PIRSCH_CLIENT_ID=standin-client PIRSCH_CLIENT_SECRET=standin-secret
"$OUT/pageview-dyn" > /dev/null
"$OUT/pageview-static" > /dev/null
n=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))["items"]["hit"])' "$PIRSCH_BASE_URL/_standin/counters")
[ "$n" = 4 ] || { echo "install-test: expected 4 page views (2 per build) at the stand-in, got $n"; exit 1; }
echo "install-test: installed to a prefix; pkg-config builds (shared and static) sent their page views: 2 passed, 0 failed"

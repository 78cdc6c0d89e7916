#!/usr/bin/env bash
# `make install` into a temporary prefix, as a user would run it: refused before `make build`;
# stripped shared library with its debug info beside it; the C example built with pkg-config
# (shared and static) and the C and C++ examples built through the CMake package
# (pirsch::pirsch, pirsch::pirsch_static), all run against the stand-in; `make uninstall`
# leaves no file behind.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
STANDIN_PID=""
trap 'kill $STANDIN_PID 2>/dev/null || true; rm -rf "$OUT"' EXIT
passed=0
ok() { echo "install-test: ok: $*"; passed=$((passed + 1)); }
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }

# Nothing built: make install says what to do and installs nothing.
if make -s install REL="$OUT/nothing" PREFIX="$OUT/early" > "$OUT/early.log" 2>&1; then fail "make install succeeded with nothing built"; fi
grep -q 'run `make build` first' "$OUT/early.log" || fail "make install without a build did not say 'run make build first': $(cat "$OUT/early.log")"
[ ! -e "$OUT/early" ] || fail "make install without a build created $OUT/early"
ok "make install with nothing built refuses and says: $(grep -o 'run `make build` first.*' "$OUT/early.log")"

PREFIX="$OUT/prefix"
make -s install PREFIX="$PREFIX" >/dev/null
MULTIARCH=$(cc -print-multiarch 2>/dev/null || true)
LIBDIR="$PREFIX/lib${MULTIARCH:+/$MULTIARCH}"
for f in "$LIBDIR/libpirsch.so" "$LIBDIR/libpirsch.so.0" "$LIBDIR/libpirsch.a" "$PREFIX/include/pirsch.h" "$PREFIX/include/pirsch.hpp" \
         "$LIBDIR/pkgconfig/pirsch.pc" "$LIBDIR/cmake/pirsch/pirsch-config.cmake" \
         "$LIBDIR/cmake/pirsch/pirsch-config-version.cmake"; do
    [ -e "$f" ] || fail "$f missing"
done
[ "$(readlink "$LIBDIR/libpirsch.so")" = libpirsch.so.0 ] || fail "bad libpirsch.so link"
so="$LIBDIR/$(readlink "$LIBDIR/libpirsch.so.0")"
readelf -S "$so" | grep -q '\.debug_info' && fail "installed $so still has debug info"
readelf -S "$so" | grep -q '\.gnu_debuglink' || fail "installed $so has no .gnu_debuglink"
dbg="$LIBDIR/.debug/$(basename "$so").debug"
readelf -S "$dbg" | grep -q '\.debug_line' || fail "$dbg holds no debug info"
size=$(stat -c %s "$so")
[ "$size" -lt $((8 * 1024 * 1024)) ] || fail "installed $so is $size bytes (more than 8 MB: not stripped?)"
ok "libdir $LIBDIR; $(basename "$so") $((size / 1024)) KiB stripped, debug info $(( $(stat -c %s "$dbg") / 1024 )) KiB in .debug/, libpirsch.a $(( $(stat -c %s "$LIBDIR/libpirsch.a") / 1024 / 1024 )) MiB"

export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
[ "$(pkg-config --variable=libdir pirsch)" = "$LIBDIR" ] || fail "pirsch.pc's libdir is $(pkg-config --variable=libdir pirsch), not $LIBDIR"
cc -Wall -Wextra -Werror examples/c/pageview.c -o "$OUT/pageview-dyn" \
    $(pkg-config --cflags --libs pirsch) -Wl,-rpath,"$(pkg-config --variable=libdir pirsch)"
ldd "$OUT/pageview-dyn" | grep -q "libpirsch.so.0 => $LIBDIR/" || fail "not linked to the installed .so"
# Static: the archive itself, plus the system libraries pkg-config --static lists.
cc -Wall -Wextra -Werror examples/c/pageview.c -o "$OUT/pageview-static" \
    $(pkg-config --cflags pirsch) "$(pkg-config --variable=libdir pirsch)/libpirsch.a" \
    $(pkg-config --static --libs pirsch | sed 's/-lpirsch//; s/-L[^ ]*//')
if ldd "$OUT/pageview-static" | grep -q libpirsch; then fail "static build still needs libpirsch.so"; fi
# C++: pirsch.hpp is installed beside pirsch.h, so the same flags build the C++ example.
c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -Wconversion examples/cpp/pageview.cpp -o "$OUT/pageview-cpp" \
    $(pkg-config --cflags --libs pirsch) -Wl,-rpath,"$(pkg-config --variable=libdir pirsch)"
ldd "$OUT/pageview-cpp" | grep -q "libpirsch.so.0 => $LIBDIR/" || fail "the C++ example is not linked to the installed .so"
ok "pkg-config builds, shared and static, and the C++ example (pirsch.hpp)"

cmake -S examples/cmake -B "$OUT/cmake" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" \
    -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" > "$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log"; fail "cmake configure"; }
cmake --build "$OUT/cmake" > "$OUT/cmake-build.log" 2>&1 || { cat "$OUT/cmake-build.log"; fail "cmake build"; }
ldd "$OUT/cmake/pageview" | grep -q "libpirsch.so.0 => $LIBDIR/" || fail "CMake's pageview is not linked to the installed .so"
ldd "$OUT/cmake/pageview-cpp" | grep -q "libpirsch.so.0 => $LIBDIR/" || fail "CMake's pageview-cpp is not linked to the installed .so"
if ldd "$OUT/cmake/pageview-static" | grep -q libpirsch; then fail "CMake's pageview-static still needs libpirsch.so"; fi
ok "find_package(pirsch CONFIG): pirsch::pirsch (C and C++) and pirsch::pirsch_static build"

target/release/pirsch-standin --port 0 --quiet --port-file "$OUT/port" > /dev/null &
STANDIN_PID=$!
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.05; done
export PIRSCH_BASE_URL="http://127.0.0.1:$(cat "$OUT/port")" PIRSCH_CLIENT_ID=standin-client PIRSCH_CLIENT_SECRET=standin-secret
for p in "$OUT/pageview-dyn" "$OUT/pageview-static" "$OUT/cmake/pageview" "$OUT/cmake/pageview-static" "$OUT/cmake/pageview-cpp"; do
    "$p" > "$OUT/run.log" 2>&1 || { cat "$OUT/run.log"; fail "$p"; }
done
n=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))["items"]["hit"])' "$PIRSCH_BASE_URL/_standin/counters")
[ "$n" = 9 ] || fail "expected 9 page views (2 from each C build, 1 from C++) at the stand-in, got $n"
ok "the five programs sent their 9 page views"

make -s uninstall PREFIX="$PREFIX" >/dev/null
left=$(find "$PREFIX" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
ok "make uninstall removed every file"

make -s install PREFIX=/usr LIBDIR=/usr/lib64 INCLUDEDIR=/usr/include/x DESTDIR="$OUT/staged" >/dev/null
grep -qx 'libdir=/usr/lib64' "$OUT/staged/usr/lib64/pkgconfig/pirsch.pc" || fail "LIBDIR is not pirsch.pc's libdir"
grep -q '"/usr/include/x"' "$OUT/staged/usr/lib64/cmake/pirsch/pirsch-config.cmake" || fail "INCLUDEDIR is not in the CMake package"
[ -z "$(find "$OUT/staged" -path "$OUT/staged/usr/lib64" -prune -o -path "$OUT/staged/usr/include" -prune -o ! -type d -print)" ] \
    || fail "DESTDIR install wrote outside LIBDIR and INCLUDEDIR"
ok "PREFIX, LIBDIR, INCLUDEDIR and DESTDIR are honoured"
echo "install-test: $passed passed, 0 failed"

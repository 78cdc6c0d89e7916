#!/usr/bin/env bash
# The C tests: the header compiles as C99 and C++ with all warnings as errors; the C example
# builds with -Werror; tests/c/test_abi.c runs against the stand-in under ASan+UBSan (leaks
# are errors) and under valgrind (any error or definite leak fails); tests/c/free_memory.c
# checks that pirsch_free gives a full queue's memory back.
set -euo pipefail
cd "$(dirname "$0")/.."
REL=target/release
OUT=$(mktemp -d)
STANDIN_PID=""
trap 'kill $STANDIN_PID 2>/dev/null || true; rm -rf "$OUT"' EXIT

WARN="-Wall -Wextra -Wpedantic -Werror"
echo '#include <pirsch.h>' > "$OUT/h.c"
gcc -std=c99 $WARN -Iinclude -fsyntax-only "$OUT/h.c"
g++ -std=c++11 $WARN -Iinclude -fsyntax-only -x c++ "$OUT/h.c"
echo "c-tests: header compiles as C99 and C++11 with $WARN"

others=$(nm -D --defined-only $REL/libpirsch.so | awk '{print $3}' | grep -v '^pirsch_' || true)
[ -z "$others" ] || { echo "c-tests: libpirsch.so exports more than pirsch_*: $others"; exit 1; }
[ "$(readelf -d $REL/libpirsch.so | grep -o 'libpirsch.so.[0-9]*')" = libpirsch.so.0 ] || { echo "c-tests: soname is not libpirsch.so.0"; exit 1; }
echo "c-tests: libpirsch.so (soname libpirsch.so.0) exports only pirsch_* ($(nm -D --defined-only $REL/libpirsch.so | wc -l) symbols)"

make -s -C examples/c PIRSCH_ROOT=../.. CFLAGS="-O2 -Wall -Wextra -Werror" pageview >/dev/null
echo "c-tests: examples/c builds with -Wall -Wextra -Werror"

$REL/pirsch-standin --port 0 --quiet --port-file "$OUT/port" > /dev/null &
STANDIN_PID=$!
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.05; done
export PIRSCH_BASE_URL="http://127.0.0.1:$(cat "$OUT/port")"

LINK=(-Iinclude "-L$REL" -lpirsch "-Wl,-rpath,$PWD/$REL")   # an array: the checkout's path may hold spaces
gcc -std=c99 $WARN -g -fsanitize=address,undefined -fno-omit-frame-pointer tests/c/test_abi.c -o "$OUT/test_abi_asan" "${LINK[@]}"
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$OUT/test_abi_asan" 2> "$OUT/stderr" || { cat "$OUT/stderr"; exit 1; }
echo "c-tests: test_abi passed under AddressSanitizer + UBSan (leak detection on)"
# The library prints nothing unless asked (no logger, no PIRSCH_LOG), failures included.
[ ! -s "$OUT/stderr" ] || { echo "c-tests: the library wrote to stderr:"; cat "$OUT/stderr"; exit 1; }
echo "c-tests: nothing was printed to stderr"

# valgrind runs against an unoptimised build: optimised Rust code loads the unused payload of
# a None speculatively, which memcheck reports as a branch on uninitialised memory.
cargo build -q -p pirsch
ln -sf libpirsch.so target/debug/libpirsch.so.0
gcc -std=c99 $WARN -g tests/c/test_abi.c -o "$OUT/test_abi" -Iinclude -Ltarget/debug -lpirsch -Wl,-rpath,"$PWD/target/debug"
valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no "$OUT/test_abi"
echo "c-tests: test_abi passed under valgrind (memcheck, leaks are errors)"

# pirsch_free gives a full queue's memory back to the system (its own process: the RSS is
# what is measured; no sanitizer: they replace the allocator).
gcc -std=c99 $WARN -D_DEFAULT_SOURCE -O2 tests/c/free_memory.c -o "$OUT/free_memory" "${LINK[@]}"
"$OUT/free_memory"

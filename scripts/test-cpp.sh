#!/usr/bin/env bash
# The C++ tests (make test-cpp):
#  1. the compile matrix: g++ and clang++, C++17 and C++20, all warnings as errors, over
#     tests/cpp/test_client.cpp and examples/cpp/{pageview,server}.cpp (pirsch.hpp included);
#  2. every ```c block of README.md compiled as C11 (gcc) and as C++17 (g++, clang++), and
#     every ```cpp block as C++17;
#  3. tests/cpp/test_client.cpp through the real library against the stand-in, built with
#     each compiler under AddressSanitizer + UBSan (leaks are errors);
#  4. examples/cpp/server (cpp-httplib) under AddressSanitizer: real requests in, the page
#     views checked at the stand-in (tests/cpp/server_test.py); and examples/cpp/pageview.
# Where the library is: PIRSCH_LIB_DIR (target/release), PIRSCH_INCLUDE_DIR (include: the
# pirsch.h to build against; pirsch.hpp always comes from this checkout's include/),
# PIRSCH_STANDIN (target/release/pirsch-standin). Needs g++, clang++ (+ libclang-rt-dev),
# libcpp-httplib-dev and python3: scripts/install-deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIB_DIR=${PIRSCH_LIB_DIR:-target/release}
INC_DIR=${PIRSCH_INCLUDE_DIR:-include}
STANDIN=${PIRSCH_STANDIN:-target/release/pirsch-standin}

die() { echo "test-cpp: $*" >&2; exit 1; }
[ -f "$LIB_DIR/libpirsch.so" ] || die "$LIB_DIR/libpirsch.so is missing: run \`make build\` (or set PIRSCH_LIB_DIR)"
[ -e "$LIB_DIR/libpirsch.so.0" ] || die "$LIB_DIR/libpirsch.so.0 (the soname link) is missing: \`make build\` makes it"
[ -f "$INC_DIR/pirsch.h" ] || die "$INC_DIR/pirsch.h is missing (PIRSCH_INCLUDE_DIR)"
[ -x "$STANDIN" ] || die "$STANDIN is missing: run \`make build\` (or set PIRSCH_STANDIN)"
for tool in gcc g++ clang++ python3 pkg-config; do
    command -v $tool >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
pkg-config --exists cpp-httplib || die "cpp-httplib is missing: run scripts/install-deps.sh (Debian: libcpp-httplib-dev)"
LIB_DIR=$(cd "$LIB_DIR" && pwd)
INC_DIR=$(cd "$INC_DIR" && pwd)
STANDIN=$(cd "$(dirname "$STANDIN")" && pwd)/$(basename "$STANDIN")

OUT=$(mktemp -d)
STANDIN_PID=""
cleanup() {
    [ -z "$STANDIN_PID" ] || kill "$STANDIN_PID" 2>/dev/null || true
    rm -rf "$OUT"
}
trap cleanup EXIT

WARN=(-Wall -Wextra -Wpedantic -Werror -Wconversion -Wshadow -Wsign-conversion)
# pirsch.h's own -Wshadow warning under g++ (the function pirsch_stats hides the struct's
# name) is silenced inside pirsch.hpp; a C snippet includes pirsch.h directly, so the README's
# C++ builds use the same flags without -Wshadow.
SNIPPET_WARN=(-Wall -Wextra -Wpedantic -Werror -Wconversion -Wsign-conversion)
C_WARN=(-Wall -Wextra -Wpedantic -Werror)
INCS=(-I"$INC_DIR" -I"$ROOT/include")   # pirsch.h from INC_DIR first, pirsch.hpp from here
LINK=(-L"$LIB_DIR" -lpirsch -Wl,-rpath,"$LIB_DIR" -pthread)
read -r -a HTTPLIB_CFLAGS <<<"$(pkg-config --cflags cpp-httplib)"
read -r -a HTTPLIB <<<"$(pkg-config --cflags --libs cpp-httplib)"
failed=0

if grep -q 'define PIRSCH_STATISTIC_COUNT' "$INC_DIR/pirsch.h"; then
    echo "test-cpp: $INC_DIR/pirsch.h has the statistics API: its C++ part is compiled and tested too"
else
    echo "test-cpp: $INC_DIR/pirsch.h has no statistics API (PIRSCH_STATISTIC_COUNT): pirsch.hpp leaves that part out"
fi

# ---- 1. The compile matrix ---------------------------------------------------------------
SOURCES=(tests/cpp/test_client.cpp examples/cpp/pageview.cpp examples/cpp/server.cpp)
echo
echo "C++ compile matrix (${WARN[*]})"
printf '%-16s %-8s' compiler standard
for src in "${SOURCES[@]}"; do printf ' %-17s' "$(basename "$src")"; done
echo
for cxx in g++ clang++; do
    version=$($cxx -dumpversion)
    for std in c++17 c++20; do
        printf '%-16s %-8s' "$cxx $version" "$std"
        for src in "${SOURCES[@]}"; do
            log="$OUT/$cxx-$std-$(basename "$src").log"
            extra=()
            [ "$(basename "$src")" != server.cpp ] || extra=("${HTTPLIB_CFLAGS[@]}")
            if $cxx -std=$std "${WARN[@]}" "${INCS[@]}" "${extra[@]}" -c "$src" -o "$OUT/matrix.o" >"$log" 2>&1; then
                printf ' %-17s' ok
            else
                printf ' %-17s' FAIL
                failed=1
            fi
        done
        echo
    done
done
if [ $failed = 1 ]; then
    for log in "$OUT"/*.log; do [ ! -s "$log" ] || { echo "== $(basename "$log" .log)"; head -40 "$log"; }; done
    die "the compile matrix failed"
fi

# ---- 2. The README's snippets: C as C and as C++, C++ as C++ ------------------------------
python3 tests/cpp/readme_snippets.py README.md "$OUT/readme" >"$OUT/snippets"
echo
echo "README.md's snippets (C: ${C_WARN[*]}; C as C++: ${SNIPPET_WARN[*]}; C++: the matrix's flags)"
printf '%-22s %-14s %-14s %-14s\n' snippet "C11 gcc" "C++17 g++" "C++17 clang++"
while read -r snip; do
    line=${snip#readme_}
    if [ "${snip##*.}" = c ]; then
        printf '%-22s' "README.md:${line%.c} (c)"
        builds=("gcc -std=c11 ${C_WARN[*]}" "g++ -x c++ -std=c++17 ${SNIPPET_WARN[*]}" "clang++ -x c++ -std=c++17 ${SNIPPET_WARN[*]}")
    else
        printf '%-22s %-14s' "README.md:${line%.cpp} (cpp)" -
        builds=("g++ -std=c++17 ${WARN[*]} ${HTTPLIB_CFLAGS[*]}" "clang++ -std=c++17 ${WARN[*]} ${HTTPLIB_CFLAGS[*]}")
    fi
    for build in "${builds[@]}"; do
        log="$OUT/readme/${snip%.*}-${build%% *}.log"
        # shellcheck disable=SC2086  # $build is a compiler and its flags
        if $build "${INCS[@]}" -c "$OUT/readme/$snip" -o "$OUT/snippet.o" >"$log" 2>&1; then
            printf ' %-14s' ok
        else
            printf ' %-14s' FAIL
            failed=1
        fi
    done
    echo
done <"$OUT/snippets"
if [ $failed = 1 ]; then
    for log in "$OUT"/readme/*.log; do [ ! -s "$log" ] || { echo "== $(basename "$log" .log)"; head -30 "$log"; }; done
    die "a README snippet does not compile (the wrapped sources are made by tests/cpp/readme_snippets.py)"
fi

# ---- 3. test_client under ASan + UBSan, against the stand-in ----------------------------
"$STANDIN" --port 0 --quiet --port-file "$OUT/port" >/dev/null &
STANDIN_PID=$!
for _ in $(seq 200); do [ -s "$OUT/port" ] && break; sleep 0.05; done
[ -s "$OUT/port" ] || die "the stand-in did not start"
export PIRSCH_BASE_URL="http://127.0.0.1:$(cat "$OUT/port")"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
# The sanitizers split their options at spaces and colons: the suppressions file goes by a
# path without either (OUT is under TMPDIR, not the checkout).
cp tests/cpp/lsan.supp "$OUT/lsan.supp"
export LSAN_OPTIONS="suppressions=$OUT/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
SAN=(-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)

echo
for cxx in g++ clang++; do
    $cxx -std=c++17 "${WARN[@]}" "${SAN[@]}" "${INCS[@]}" tests/cpp/test_client.cpp -o "$OUT/test_client-$cxx" "${LINK[@]}"
    echo "test-cpp: tests/cpp/test_client.cpp ($cxx, C++17, AddressSanitizer + UBSan, leaks are errors):"
    if ! "$OUT/test_client-$cxx" 2>"$OUT/test_client.err" | sed 's/^/    /'; then
        cat "$OUT/test_client.err" >&2
        die "test_client ($cxx) failed"
    fi
    if [ -s "$OUT/test_client.err" ]; then
        cat "$OUT/test_client.err" >&2
        die "test_client ($cxx) wrote to stderr (a sanitizer report, or the library printing unasked)"
    fi
done

# ---- 4. The examples: the cpp-httplib server under ASan, and pageview -------------------
echo
g++ -std=c++17 "${WARN[@]}" "${SAN[@]}" "${INCS[@]}" examples/cpp/server.cpp -o "$OUT/server" "${LINK[@]}" "${HTTPLIB[@]}"
echo "test-cpp: examples/cpp/server.cpp (g++, cpp-httplib $(pkg-config --modversion cpp-httplib), AddressSanitizer + UBSan):"
python3 tests/cpp/server_test.py "$OUT/server" "$PIRSCH_BASE_URL" | sed 's/^/    /' || die "the cpp-httplib server test failed"

g++ -std=c++17 -O2 "${WARN[@]}" "${INCS[@]}" examples/cpp/pageview.cpp -o "$OUT/pageview" "${LINK[@]}"
echo "test-cpp: examples/cpp/pageview.cpp against the stand-in:"
PIRSCH_CLIENT_SECRET=pa_standin_key "$OUT/pageview" | sed 's/^/    /' || die "examples/cpp/pageview failed"

echo
echo "test-cpp: all passed"

#!/usr/bin/env bash
# Tests the PHP package (bindings/php): its PHPUnit suite against the API stand-in, then the
# end-to-end tests (tests/php): nginx -> PHP-FPM -> Pirsch\Native\Tracker -> libpirsch -> stand-in,
# and the README's install (a new Composer project, offline; a stock Debian PHP-FPM with only
# the README's settings; broken setups answering 200).
# Needs `make build` and php-cli, phpunit, php8.2-fpm, nginx and composer (Debian packages).
# Every process a suite starts runs in its own process group, killed when the script ends.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

export PIRSCH_LIBRARY="${PIRSCH_LIBRARY:-$ROOT/target/release/libpirsch.so.0}"
export PIRSCH_HEADER="${PIRSCH_HEADER:-$ROOT/include/pirsch.h}"
PHPUNIT="${PHPUNIT:-$(command -v phpunit || echo /usr/bin/phpunit)}"

missing=()
command -v php >/dev/null || missing+=("php (php-cli)")
[ -x "$PHPUNIT" ] || missing+=("phpunit")
ls /usr/sbin/php-fpm* >/dev/null 2>&1 || missing+=("php-fpm (php8.2-fpm)")
[ -x /usr/sbin/nginx ] || missing+=("nginx")
command -v composer >/dev/null || missing+=("composer")
if [ ${#missing[@]} -gt 0 ]; then
    echo "test-php: missing ${missing[*]}: apt-get install php-cli phpunit php8.2-fpm nginx composer" >&2
    exit 2
fi
for f in "$PIRSCH_LIBRARY" "$PIRSCH_HEADER" target/release/pirsch-standin; do
    [ -e "$f" ] || { echo "test-php: $f is missing: run \`make build\`" >&2; exit 2; }
done
php -r 'exit(extension_loaded("ffi") ? 0 : 1);' || { echo "test-php: PHP's FFI extension is not loaded" >&2; exit 2; }

group=""
cleanup() {
    if [ -n "$group" ] && kill -0 -- "-$group" 2>/dev/null; then
        kill -TERM -- "-$group" 2>/dev/null
        sleep 0.5
        kill -KILL -- "-$group" 2>/dev/null
    fi
    group=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

results=()
failed=0
run() {   # run NAME TIMEOUT COMMAND...: in a new process group, bounded in time
    local name=$1 limit=$2 start rc
    shift 2
    echo "== $name"
    start=${EPOCHREALTIME/[.,]/}
    setsid timeout --kill-after=5 "$limit" "$@" &
    group=$!
    wait "$group"
    rc=$?
    cleanup
    local tenths=$(( (${EPOCHREALTIME/[.,]/} - start) / 100000 ))
    local took="$((tenths / 10)).$((tenths % 10))"
    if [ $rc -eq 0 ]; then
        results+=("PASS  $name (${took}s)")
    else
        [ $rc -eq 124 ] && results+=("FAIL  $name (timed out after ${limit}s)") || results+=("FAIL  $name (exit $rc, ${took}s)")
        failed=1
    fi
}

run "PHPUnit: bindings/php against the stand-in" 60 "$PHPUNIT" -c bindings/php/phpunit.xml.dist
run "end to end: nginx -> PHP-FPM -> libpirsch -> stand-in; README install on stock Composer and PHP-FPM" 120 "$PHPUNIT" -c tests/php/phpunit.xml

echo
echo "PHP test summary:"
printf '  %s\n' "${results[@]}"
if [ $failed -ne 0 ]; then
    echo "test-php: FAILED"
    exit 1
fi
echo "test-php: all passed"

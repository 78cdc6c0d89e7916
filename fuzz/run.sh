#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer, ASan, overflow checks and debug assertions on) and runs
# each for a bounded time, one worker each (the machine's cores are shared), then prints a
# summary: runs, executions per second, coverage, corpus, and any crash with its artifact.
#
#   fuzz/run.sh fuzz  [SECONDS] [TARGET...]   `make fuzz`: SECONDS per target (default 60);
#                                             the corpus grows in fuzz/work/TARGET (ignored
#                                             by git) from the seeds in fuzz/corpus/TARGET.
#   fuzz/run.sh smoke [TARGET...]             `make test`: the seeds, then a fixed 50,000
#                                             runs (seed 1, at most 15 s) of each target,
#                                             in a scratch corpus. Without a nightly
#                                             toolchain it says so and passes.
#
# cargo-fuzz is used when installed. Without it the same binaries are built by plain cargo
# with the flags cargo-fuzz 0.13 passes (nothing is installed by a test run: installing
# cargo-fuzz takes minutes and needs crates.io; `cargo install cargo-fuzz` for `make fuzz`).
set -u
cd "$(dirname "$0")"
MODE=${1:-fuzz}
shift || true
ALL="from_headers client_ip time transport config"
TRIPLE=x86_64-unknown-linux-gnu
BIN=target/$TRIPLE/release

if [ "$MODE" = fuzz ]; then
    SECONDS_EACH=60
    if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then SECONDS_EACH=$1; shift; fi
fi
TARGETS=${*:-$ALL}

if ! cargo +nightly --version >/dev/null 2>&1; then
    msg="no nightly toolchain (rustup toolchain install nightly): the fuzz targets need one"
    if [ "$MODE" = smoke ]; then
        echo "test-fuzz-smoke: SKIPPED, $msg"
        exit 0
    fi
    echo "make fuzz: $msg" >&2
    exit 2
fi

started=$(date +%s)
if cargo fuzz --version >/dev/null 2>&1; then
    how="cargo fuzz build"
    build() { cargo +nightly fuzz build -O -a "$@"; }
else
    how="cargo build with cargo-fuzz's flags (cargo-fuzz is not installed)"
    build() {
        RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Zsanitizer=address \
-Cllvm-args=-sanitizer-coverage-stack-depth -Cdebug-assertions -Ccodegen-units=1" \
            cargo +nightly build --release --target $TRIPLE --bins
    }
fi
echo "fuzz: building the targets ($how)"
if ! build >target-build.log 2>&1; then
    tail -30 target-build.log
    echo "fuzz: the build failed (whole log: fuzz/target-build.log)" >&2
    exit 1
fi
echo "fuzz: built in $(($(date +%s) - started)) s"

summary=()
failed=0
for t in $TARGETS; do
    dict=()
    case $t in
        from_headers | client_ip) dict=(-dict=dict/from_headers.dict) ;;
        config) dict=(-dict=dict/config.dict) ;;
    esac
    mkdir -p "artifacts/$t"
    if [ "$MODE" = smoke ]; then
        work=work/smoke/$t
        rm -rf "$work"
        limits=(-runs=50000 -max_total_time=15 -seed=1)
    else
        work=work/$t
        limits=(-max_total_time="$SECONDS_EACH")
    fi
    mkdir -p "$work"
    log=work/$t.log
    t0=$(date +%s%N)
    # libFuzzer writes new inputs to the first folder only: the seeds stay as committed.
    "$BIN/$t" "$work" "corpus/$t" "${dict[@]}" "${limits[@]}" -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" -close_fd_mask=1 >"$log" 2>&1
    rc=$?
    cs=$(( ($(date +%s%N) - t0) / 10000000 ))
    took=$(printf '%d.%02d s' $((cs / 100)) $((cs % 100)))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    # libFuzzer's own average is in whole seconds (0 for a short run): ours, from the wall time.
    [ -n "$runs" ] && [ "$cs" -gt 0 ] && eps=$((runs * 100 / cs))
    corpus=$(find "$work" -type f | wc -l)
    if [ $rc -eq 0 ]; then
        summary+=("$(printf '%-13s ok  %9s runs in %8s (%6s exec/s)  cov %5s  corpus %5s' "$t" "${runs:-?}" "$took" "${eps:-?}" "${cov:-?}" "$corpus")")
    else
        failed=1
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        summary+=("$(printf '%-13s FAILED (exit %s) after %s runs: %s; log fuzz/%s' "$t" "$rc" "${runs:-?}" "${art:-no artifact}" "$log")")
        grep -m1 -A2 -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)" "$log" | sed 's/^/    /'
    fi
done

echo
if [ "$MODE" = smoke ]; then
    echo "fuzz smoke (seeds + 50,000 runs each, ASan, overflow checks) in $(($(date +%s) - started)) s:"
else
    echo "fuzz (${SECONDS_EACH} s per target, ASan, overflow checks) in $(($(date +%s) - started)) s:"
fi
printf '  %s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
    echo "Reproduce: fuzz/target/$TRIPLE/release/TARGET ARTIFACT (or cargo +nightly fuzz run TARGET ARTIFACT)"
    exit 1
fi

#!/bin/sh
# make bench-instructions: instructions per page view on the request path, by cachegrind.
# Prints the total and the functions that take the most. Needs valgrind (make deps).
# LIBDIR=dir counts another build of libpirsch.so (to compare two commits).
set -eu
cd "$(dirname "$0")/.."
N=${N:-20000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v valgrind >/dev/null || scripts/install-deps.sh
cc -O2 -Iinclude bench/instructions.c -o "$out/instructions" -L${LIBDIR:-target/release} -lpirsch \
    -Wl,-rpath,"${LIBDIR:-$(pwd)/target/release}"
for n in 0 "$N"; do
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out/cg.$n" \
        "$out/instructions" "$n" 2>"$out/log.$n" || { cat "$out/log.$n" >&2; exit 1; }
done
python3 - "$out/cg.0" "$out/cg.$N" "$N" <<'PY'
import collections, sys

def per_function(path):
    d, fn = collections.Counter(), None
    for line in open(path):
        if line.startswith("fn="):
            fn = line[3:].strip()
        elif fn and line[:1].isdigit():
            parts = line.split()
            if len(parts) >= 2:
                d[fn] += int(parts[1])
    return d

base, run, n = per_function(sys.argv[1]), per_function(sys.argv[2]), int(sys.argv[3])
diff = {f: (run[f] - base.get(f, 0)) / n for f in run}
print(f"instructions per page view, from_headers + enqueue (cachegrind, {n} page views, 11 request headers):"
      f" {sum(diff.values()):.0f}")
for f, v in sorted(diff.items(), key=lambda kv: -kv[1])[:int(__import__("os").environ.get("TOP", "12"))]:
    print(f"  {v:7.0f}  {f[:100]}")
PY

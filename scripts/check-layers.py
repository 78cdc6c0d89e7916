#!/usr/bin/env python3
"""The layers of src/: every module imports only from layers below it (or its own), so that
there is no circle. Reads each file's `crate::<module>` references outside its test modules
(`#[cfg(test)] mod ...` to the end of the file), prints the import graph between top-level
modules, and exits 1 with the offending file and line when an import points upwards.

    python3 scripts/check-layers.py [--graph]
"""
import pathlib
import re
import sys

# Highest first. Modules on one line form one layer and may import each other only as
# listed in SAME_LAYER (one direction).
LAYERS = [
    ["ffi"],
    ["client"],
    ["process"],
    ["queue"],
    ["api", "spool"],
    ["config"],
    ["item"],
    ["error", "log", "time", "scan", "rand", "fork", "panic", "backoff"],
]
SAME_LAYER = {("log", "error"), ("time", "error"), ("backoff", "rand")}
# Re-exports for fuzz/ only (feature "fuzzing"): above everything, imported by nothing.
OUTSIDE = {"lib", "fuzzing"}

RANK = {m: len(LAYERS) - i for i, layer in enumerate(LAYERS) for m in layer}


def top_module(path, src):
    rel = path.relative_to(src)
    return rel.parts[0].removesuffix(".rs")


def main():
    src = pathlib.Path(__file__).resolve().parent.parent / "src"
    edges = {}
    bad = []
    for path in sorted(src.rglob("*.rs")):
        me = top_module(path, src)
        if me in OUTSIDE:
            continue
        if me not in RANK:
            bad.append(f"{path.relative_to(src.parent)}: module {me!r} is in no layer of scripts/check-layers.py")
            continue
        text = path.read_text()
        cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod ", text, re.M)
        if cut:
            text = text[: cut.start()]
        for n, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("//"):
                continue
            for other in re.findall(r"\bcrate::([a-z_]+)", line):
                if other == me or other in ("log_at",):
                    continue
                edges.setdefault(me, set()).add(other)
                up = RANK.get(other, 99) > RANK[me]
                same = RANK.get(other) == RANK[me] and (me, other) not in SAME_LAYER
                if up or same:
                    bad.append(f"{path.relative_to(src.parent)}:{n}: {me} imports {other} ({'upwards' if up else 'within its layer'})")
    if "--graph" in sys.argv or bad:
        for me in sorted(edges, key=lambda m: -RANK.get(m, 0)):
            print(f"{me:8} -> {', '.join(sorted(edges[me], key=lambda m: -RANK.get(m, 0)))}")
    if bad:
        print("\n".join(bad))
        sys.exit(1)
    print(f"check-layers: {len(edges)} modules import only downwards ({len(LAYERS)} layers)")


main()

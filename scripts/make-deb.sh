#!/usr/bin/env bash
# `make deb`: libpirsch0, libpirsch-dev, libnginx-mod-http-pirsch and libapache2-mod-pirsch (+ -dbgsym) with
# dpkg-buildpackage + debhelper (debian/), into target/deb/. dpkg-buildpackage writes its
# results to the parent of the source tree, so it runs in a copy of the working tree
# (target/deb/src/libpirsch-VERSION, the files git tracks or would track, mtimes kept) whose
# target/ links to a cargo cache kept between runs (target/deb/cargo-target): a second `make deb`
# recompiles nothing that did not change. Nothing is written outside the checkout except cargo's
# and apt's caches. Then lintian; any error fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
OUT=$TOP/target/deb
if [[ "$TOP" =~ [[:space:]] ]]; then
    # Debian's nginx module build (nginx-dev's configure) and debian/rules' $(CURDIR) cannot
    # take a path with whitespace: build in a folder of this user's that has none, reached
    # from the checkout as target/deb (a link), so everything else finds the packages as usual.
    away="${TMPDIR:-/tmp}/pirsch-deb-$(id -u)-$(printf %s "$TOP" | sha256sum | cut -c1-12)"
    [[ "$away" =~ [[:space:]] ]] && { echo "make deb: TMPDIR ($TMPDIR) holds whitespace too; set TMPDIR to a path without" >&2; exit 2; }
    mkdir -p "$away" "$TOP/target"
    [ -L "$OUT" ] || rm -rf "$OUT"
    ln -sfn "$away" "$OUT"
    OUT=$away
fi
start=$(date +%s)

need=()
for pair in dpkg-buildpackage:dpkg-dev dh:debhelper dh_nginx:nginx-dev dh_apache2:apache2-dev lintian:lintian pkg-config:pkg-config fakeroot:fakeroot; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "deb: installing ${need[*]}"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null \
        || { $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null; }
fi
command -v cargo >/dev/null || { echo "deb: cargo is needed (rustup; Rust >= 1.85)" >&2; exit 1; }

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
DEBVERSION=$(dpkg-parsechangelog -l debian/changelog -S Version)
case $DEBVERSION in
    "$VERSION"|"$VERSION"-*|"$VERSION"+*) ;;
    *) echo "deb: debian/changelog says $DEBVERSION but Cargo.toml says $VERSION: add a changelog entry (dch -v $VERSION)" >&2; exit 1 ;;
esac

SRC=$OUT/src/libpirsch-$VERSION
mkdir -p "$OUT/cargo-target"
rm -rf "$OUT/src" "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$SRC"
# Tracked and untracked-but-not-ignored files as they are in the working tree (a deleted one is
# skipped), with their mtimes, so cargo's fingerprints in the cache stay valid.
git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$SRC"
# Folders get their mtimes too (build.rs watches src/ as a folder).
(cd "$SRC" && find . -type d -print0) | while IFS= read -r -d '' d; do
    [ -d "$TOP/$d" ] && touch -r "$TOP/$d" "$SRC/$d"
done
ln -s "$OUT/cargo-target" "$SRC/target"

echo "deb: dpkg-buildpackage -b in ${SRC#$TOP/} (log: target/deb/build.log)"
# Each line of the log gets the seconds since the start.
if ! (cd "$SRC" && dpkg-buildpackage -b -us -uc 2>&1; echo "exit status $?") \
        | while IFS= read -r line; do printf '%4d %s\n' $(( $(date +%s) - start )) "$line"; done > "$OUT/build.log" \
    || ! tail -n1 "$OUT/build.log" | grep -q ' exit status 0$'; then
    grep -E "error|Error|ERROR|dh_.*: " "$OUT/build.log" | tail -30 >&2
    echo "deb: dpkg-buildpackage failed, see target/deb/build.log" >&2
    exit 1
fi
mv "$OUT"/src/*.deb "$OUT"/src/*.changes "$OUT"/src/*.buildinfo "$OUT"/
build_s=$(( $(date +%s) - start ))

echo "deb: lintian"
lintian --fail-on error --tag-display-limit 0 "$OUT"/*.changes > "$OUT/lintian.txt" 2>&1 && lint=0 || lint=$?
cat "$OUT/lintian.txt"
errors=$(grep -c '^E: ' "$OUT/lintian.txt" || true)
warnings=$(grep -c '^W: ' "$OUT/lintian.txt" || true)
[ "$lint" = 0 ] && [ "$errors" = 0 ] || { echo "deb: lintian reports $errors error(s)" >&2; exit 1; }

for f in "$OUT"/*.deb; do
    printf 'deb: %-60s %8s bytes\n' "${f#$TOP/}" "$(stat -c %s "$f")"
done
echo "deb: done in ${build_s} s (+ lintian: $errors errors, $warnings warnings) -> target/deb/"

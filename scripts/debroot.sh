#!/usr/bin/env bash
# Makes (once) and prints the pristine Debian 12 root that `make test-packages` copies for every
# run: debootstrap (minbase) plus generic build tools, nothing of ours. Cached in
# ${PIRSCH_DEBROOT_CACHE:-target/debroot}: root/ is the tree, stamp says it is complete and
# which recipe made it (a changed recipe rebuilds it). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${PIRSCH_DEBROOT_CACHE:-$PWD/target/debroot}
case $CACHE in /*) ;; *) CACHE=$PWD/$CACHE ;; esac
# debootstrap cannot chroot into a path with whitespace: keep the root in a folder without.
if [[ "$CACHE" =~ [[:space:]] ]]; then
    CACHE="${TMPDIR:-/tmp}/pirsch-debroot-$(id -u)-$(printf %s "$CACHE" | sha256sum | cut -c1-12)"
fi
ROOT=$CACHE/root
MIRROR=${PIRSCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${PIRSCH_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
# Generic tools the test needs in the root; nginx and apache2 themselves are only downloaded (to apt's cache), the
# test installs it together with our packages.
TOOLS=ca-certificates,gcc,libc6-dev,make,cmake,pkg-config
RECIPE="bookworm minbase $TOOLS +updates +security +nginx-downloaded +apache2-downloaded v1"

if [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$RECIPE" ] && [ -x "$ROOT/usr/bin/apt-get" ]; then
    echo "$ROOT"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "debroot: needs root (debootstrap, chroot)" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
fi
# A half-made root from an interrupted run may still have things mounted in it.
for m in proc dev/pts dev; do mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"; done
rm -rf "$ROOT" "$CACHE/stamp"
mkdir -p "$CACHE"
start=$(date +%s)
echo "debroot: debootstrap bookworm into $ROOT (once; cached)" >&2
debootstrap --variant=minbase --include="$TOOLS" bookworm "$ROOT" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
# Services never start inside the test root (nginx's postinst would try to bind port 80 of the
# shared loopback); the test starts nginx itself.
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
chroot "$ROOT" apt-get update -qq >> "$CACHE/debootstrap.log" 2>&1
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade >> "$CACHE/debootstrap.log" 2>&1
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq --download-only install nginx apache2 >> "$CACHE/debootstrap.log" 2>&1
echo "$RECIPE" > "$CACHE/stamp"
echo "debroot: made in $(( $(date +%s) - start )) s, $(du -sh "$ROOT" | cut -f1)" >&2
echo "$ROOT"

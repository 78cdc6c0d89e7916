#!/usr/bin/env bash
# `make test-packages`: the .deb files of target/deb/ on a clean Debian 12.
# A throwaway copy (overlayfs over the cached pristine root of scripts/debroot.sh; cp -a where
# overlayfs is missing) becomes a chroot in which:
#   apt-get install ./*.deb nginx apache2  succeeds, the modules are enabled (modules-enabled,
#                                        mods-enabled), have no RUNPATH, the library is found by ld.so;
#   nginx + 2 lines of configuration     (credentials, `pirsch on`; plus pirsch_base_url for the
#                                        stand-in) sends exactly the page views it served;
#   apache2 + 2 lines of configuration   (PirschAccessKeyFile, Pirsch On; plus PirschBaseURL)
#                                        likewise;
#   a C program via pkg-config and one via CMake (find_package + pirsch::pirsch) send one each;
#   apt-get remove --purge               of our packages removes every file of ours and nothing else.
# The stand-in runs outside the chroot on 127.0.0.1 (a chroot shares the loopback network).
# Needs root (chroot, mount). Prints `test-packages: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
T0=$(date +%s)
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "test-packages: needs root (chroot, mount)" >&2; exit 1; }
    exec sudo --preserve-env=PATH,PIRSCH_DEBROOT_CACHE,PIRSCH_DEBIAN_MIRROR,PIRSCH_DEBIAN_SECURITY "$0" "$@"
fi

ARCH=$(dpkg --print-architecture)
DEBS=()
for p in libpirsch0 libpirsch-dev libnginx-mod-http-pirsch libapache2-mod-pirsch; do
    f=$(ls target/deb/${p}_*_"$ARCH".deb 2>/dev/null | head -n1)
    [ -n "$f" ] || { echo "test-packages: target/deb/${p}_*.deb missing: run make deb" >&2; exit 1; }
    DEBS+=("$f")
done
STANDIN=$TOP/target/release/pirsch-standin
[ -x "$STANDIN" ] || STANDIN=$TOP/target/deb/cargo-target/release/pirsch-standin
[ -x "$STANDIN" ] || { echo "test-packages: no pirsch-standin built (make build)" >&2; exit 1; }

PRISTINE=$(scripts/debroot.sh | tail -n1)
T_ROOT=$(date +%s)
RUN=$TOP/target/pkgtest
# The chroot and its overlay cannot sit under a path with whitespace either.
[[ "$RUN" =~ [[:space:]] ]] && RUN="${TMPDIR:-/tmp}/pirsch-pkgtest-$(id -u)-$(printf %s "$TOP" | sha256sum | cut -c1-12)"
M=$RUN/merged
LOG=$RUN/log
STANDIN_PID=

unmount_all() {
    for m in "$M/dev/pts" "$M/dev" "$M/proc" "$M"; do
        if mountpoint -q "$m" 2>/dev/null; then umount "$m" 2>/dev/null || umount -l "$m"; fi
    done
}
cleanup() {
    set +e
    if [ -f "$M/run/nginx.pid" ] && mountpoint -q "$M/proc"; then
        kill -QUIT "$(cat "$M/run/nginx.pid")" 2>/dev/null; sleep 1
    fi
    if [ -f "$M/run/apache2/apache2.pid" ] && mountpoint -q "$M/proc"; then
        kill -TERM "$(cat "$M/run/apache2/apache2.pid")" 2>/dev/null; sleep 1
    fi
    [ -n "$STANDIN_PID" ] && kill "$STANDIN_PID" 2>/dev/null && wait "$STANDIN_PID" 2>/dev/null
    unmount_all
    # Keep the logs for a failed run; drop the copy.
    rm -rf "$RUN/upper" "$RUN/work" "$RUN/copy"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# An earlier run killed hard may have left its mounts.
unmount_all
rm -rf "$RUN"
mkdir -p "$RUN/upper" "$RUN/work" "$M" "$LOG"
if mount -t overlay overlay -o "lowerdir=$PRISTINE,upperdir=$RUN/upper,workdir=$RUN/work" "$M" 2>/dev/null; then
    how=overlayfs
else
    rm -rf "$M"; cp -a "$PRISTINE" "$RUN/copy"; ln -s copy "$M"; M=$RUN/copy; how="cp -a"
fi
mount -t proc proc "$M/proc"
mount --bind /dev "$M/dev"
mount --bind /dev/pts "$M/dev/pts"
in_root() { chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

PASSED=0; FAILED=0
ok()   { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
bad()  { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@" >> "$LOG/checks.log" 2>&1; then ok "$what"; else bad "$what (see target/pkgtest/log/checks.log)"; fi; }

# The file list of the root (apt's and dpkg's own bookkeeping, logs, caches and the test's
# scratch folder left out).
snapshot() {
    (cd "$M" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./sys -o -path ./run -o -path ./tmp \
        -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./var/log \
        -o -path ./root/.cache \) -prune -o -print | sort) > "$1"
}

echo "test-packages: root $PRISTINE ($how copy, ready after $((T_ROOT - T0)) s)"

# --- the stand-in, outside the chroot ---
"$STANDIN" --port 0 --quiet --port-file "$RUN/standin.port" > "$LOG/standin.log" 2>&1 &
STANDIN_PID=$!
for _ in $(seq 100); do [ -s "$RUN/standin.port" ] && break; sleep 0.05; done
API=http://127.0.0.1:$(cat "$RUN/standin.port")
hits() { python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]+"/_standin/counters"))["items"]["hit"])' "$API"; }
received_urls() { python3 -c 'import json,sys,urllib.request; [print(i["body"]["url"]) for i in json.load(urllib.request.urlopen(sys.argv[1]+"/_standin/received?kind=hit"))["items"]]' "$API"; }
wait_hits() { for _ in $(seq 150); do [ "$(hits)" -ge "$1" ] && return 0; sleep 0.1; done; return 1; }

# --- install ---
snapshot "$RUN/files.pristine"
mkdir -p "$M/tmp/debs"
cp "${DEBS[@]}" "$M/tmp/debs/"
t=$(date +%s)
if in_root sh -c 'cd /tmp/debs && apt-get install -y -q ./*.deb nginx apache2' > "$LOG/apt-install.log" 2>&1; then
    ok "apt-get install ./*.deb nginx apache2 ($(( $(date +%s) - t )) s)"
else
    bad "apt-get install ./*.deb nginx apache2"; tail -20 "$LOG/apt-install.log"; exit 1
fi
MA=$(in_root gcc -print-multiarch)   # /lib is /usr/lib (merged /usr): ld.so may say either
LIBDIR=/usr/lib/$MA
MOD=/usr/lib/nginx/modules/ngx_http_pirsch_module.so
lib_installed() {
    readlink "$M$LIBDIR/libpirsch.so.0" | grep -x libpirsch.so.0.1.0 && chroot "$M" /sbin/ldconfig -p | grep -E "libpirsch\.so\.0 \(.*\) => (/usr)?/lib/$MA/libpirsch\.so\.0\$"
}
check "libpirsch0 installs $LIBDIR/libpirsch.so.0 -> libpirsch.so.0.1.0, known to ld.so" lib_installed
check "libpirsch.so.0.1.0 is stripped (no .debug_info) and exports only pirsch_*" \
    sh -c "! readelf -S '$M$LIBDIR/libpirsch.so.0.1.0' | grep -q debug_info && [ -z \"\$(nm -D --defined-only '$M$LIBDIR/libpirsch.so.0.1.0' | awk '{print \$3}' | grep -v '^pirsch_')\" ]"
check "the module is in /usr/lib/nginx/modules, with no RUNPATH/RPATH, NEEDED libpirsch.so.0" \
    sh -c "readelf -d '$M$MOD' > '$LOG/module.dynamic' && ! grep -Eq 'RUNPATH|RPATH' '$LOG/module.dynamic' && grep -q 'NEEDED.*libpirsch.so.0' '$LOG/module.dynamic'"
check "modules-available/mod-http-pirsch.conf loads it; modules-enabled/50-mod-http-pirsch.conf links there" \
    sh -c "grep -qx 'load_module modules/ngx_http_pirsch_module.so;' '$M/usr/share/nginx/modules-available/mod-http-pirsch.conf' && [ \"\$(readlink '$M/etc/nginx/modules-enabled/50-mod-http-pirsch.conf')\" = /usr/share/nginx/modules-available/mod-http-pirsch.conf ]"
check "libnginx-mod-http-pirsch depends on nginx-abi-* and libpirsch0" \
    sh -c "chroot '$M' dpkg-query -W -f='\${Depends}\n' libnginx-mod-http-pirsch | tee /dev/stderr | grep -E '(^|, )nginx-abi-[0-9]' | grep -q 'libpirsch0 '"

# --- nginx: the module from modules-enabled plus two lines (and the stand-in's URL) ---
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The default site listens on port 80 of the loopback the chroot shares with this machine; the
# test moves it to a free port (that is not part of what a user configures).
sed -i -e "s/listen 80 default_server;/listen 127.0.0.1:$PORT default_server;/" -e '/listen \[::\]:80/d' "$M/etc/nginx/sites-available/default"
echo pa_standin_key > "$M/etc/nginx/pirsch.key"; chmod 600 "$M/etc/nginx/pirsch.key"
cat > "$M/etc/nginx/conf.d/pirsch.conf" <<EOF
pirsch_access_key_file /etc/nginx/pirsch.key;
pirsch on;
pirsch_base_url $API;
EOF
check "nginx -t accepts the configuration" in_root nginx -t
if in_root nginx > "$LOG/nginx-start.log" 2>&1; then ok "nginx starts"; else bad "nginx starts"; cat "$LOG/nginx-start.log"; fi
PAGES=7
python3 - "$PORT" "$PAGES" > "$LOG/requests.log" 2>&1 <<'EOF' && ok "nginx serves $PAGES pages and a 404" || bad "nginx serves pages"
import sys, urllib.request, urllib.error
port, n = sys.argv[1], int(sys.argv[2])
ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
for i in range(n):
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/?page={i}", headers=ua))
    # nginx's default site serves index.html first: with apache2 installed beside it, Apache's page.
    assert r.status == 200 and b"<html" in r.read().lower(), "the default page"
for path in ("/missing.html",):
    try:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=ua)); raise SystemExit("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404
EOF
wait_hits "$PAGES" || true
[ -f "$M/run/nginx.pid" ] && kill -QUIT "$(cat "$M/run/nginx.pid")"
for _ in $(seq 100); do [ -f "$M/run/nginx.pid" ] || break; sleep 0.1; done
N=$(hits)
[ "$N" = "$PAGES" ] && ok "the stand-in received exactly $PAGES page views from nginx" \
    || { bad "the stand-in received $N page views from nginx, expected $PAGES"; tail -5 "$M/var/log/nginx/error.log"; }
check "nginx stopped cleanly, its error log has no [alert]/[emerg]" sh -c "[ ! -f '$M/run/nginx.pid' ] && ! grep -E '\[(alert|emerg|crit)\]' '$M/var/log/nginx/error.log'"

# --- Apache: the module the package enabled, plus two lines (and the stand-in's URL) ---
AMOD=/usr/lib/apache2/modules/mod_pirsch.so
check "mod_pirsch.so is in /usr/lib/apache2/modules, with no RUNPATH/RPATH, NEEDED libpirsch.so.0" \
    sh -c "readelf -d '$M$AMOD' > '$LOG/apache-module.dynamic' && ! grep -Eq 'RUNPATH|RPATH' '$LOG/apache-module.dynamic' && grep -q 'NEEDED.*libpirsch.so.0' '$LOG/apache-module.dynamic'"
check "mods-available/pirsch.load loads it; the package enabled it (mods-enabled/pirsch.load and .conf)" \
    sh -c "grep -qx 'LoadModule pirsch_module $AMOD' '$M/etc/apache2/mods-available/pirsch.load' && [ \"\$(readlink '$M/etc/apache2/mods-enabled/pirsch.load')\" = ../mods-available/pirsch.load ] && [ \"\$(readlink '$M/etc/apache2/mods-enabled/pirsch.conf')\" = ../mods-available/pirsch.conf ]"
check "libapache2-mod-pirsch depends on apache2-api-* and libpirsch0" \
    sh -c "chroot '$M' dpkg-query -W -f='\${Depends}\n' libapache2-mod-pirsch | tee /dev/stderr | grep -E '(^|, )apache2-api-[0-9]' | grep -q 'libpirsch0 '"
APORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Port 80 of the shared loopback is not ours: the test moves Apache to a free port.
sed -i "s/^Listen 80\$/Listen 127.0.0.1:$APORT/" "$M/etc/apache2/ports.conf"
sed -i "s/<VirtualHost \*:80>/<VirtualHost *:$APORT>/" "$M/etc/apache2/sites-available/000-default.conf"
check "apachectl configtest passes with the module enabled and not configured" in_root apache2ctl configtest
echo pa_standin_key > "$M/etc/apache2/pirsch.key"; chmod 600 "$M/etc/apache2/pirsch.key"
cat > "$M/etc/apache2/conf-available/pirsch.conf" <<EOF
PirschAccessKeyFile /etc/apache2/pirsch.key
Pirsch On
PirschBaseURL $API
EOF
check "a2enconf pirsch; apachectl configtest accepts the configuration" sh -c "chroot '$M' /usr/sbin/a2enconf -q pirsch && chroot '$M' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin apache2ctl configtest"
BEFORE=$(hits)
if in_root apache2ctl start > "$LOG/apache-start.log" 2>&1; then ok "apache2 starts"; else bad "apache2 starts"; cat "$LOG/apache-start.log"; fi
python3 - "$APORT" "$PAGES" > "$LOG/apache-requests.log" 2>&1 <<'EOF' && ok "apache2 serves $PAGES pages and a 404" || bad "apache2 serves pages"
import sys, time, urllib.request, urllib.error
port, n = sys.argv[1], int(sys.argv[2])
ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
for _ in range(100):  # apachectl start returns before the children listen
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/missing-warmup.html")
    except urllib.error.HTTPError:
        break
    except OSError:
        time.sleep(0.1)
for i in range(n):
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/?page={i}", headers=ua))
    assert r.status == 200 and b"Apache" in r.read(), "the default page"
try:
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/missing.html", headers=ua)); raise SystemExit("expected 404")
except urllib.error.HTTPError as e:
    assert e.code == 404
EOF
wait_hits $((BEFORE + PAGES)) || true
in_root apache2ctl graceful-stop > "$LOG/apache-stop.log" 2>&1 || true
for _ in $(seq 100); do [ -f "$M/run/apache2/apache2.pid" ] || break; sleep 0.1; done
N=$(( $(hits) - BEFORE ))
[ "$N" = "$PAGES" ] && ok "the stand-in received exactly $PAGES page views from apache2" \
    || { bad "the stand-in received $N page views from apache2, expected $PAGES"; tail -5 "$M/var/log/apache2/error.log"; }
check "apache2 stopped cleanly, its error log has no emerg/alert/crit, the children logged their counters" \
    sh -c "[ ! -f '$M/run/apache2/apache2.pid' ] && ! grep -E ':(emerg|alert|crit)\]' '$M/var/log/apache2/error.log' && grep -q 'pirsch: child .* exiting: enqueued=' '$M/var/log/apache2/error.log'"
PAGES=$((PAGES * 2))

# --- C through pkg-config and CMake ---
mkdir -p "$M/tmp/c"
cat > "$M/tmp/c/app.c" <<'EOF'
/* One page view, blocking, through the installed libpirsch. */
#include <pirsch.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "https://example.com/";
    pirsch_config *cfg = pirsch_config_new();
    if (pirsch_config_set(cfg, "base_url", getenv("PIRSCH_BASE_URL")) != PIRSCH_OK) { fprintf(stderr, "base_url: %s\n", pirsch_last_error()); return 1; }
    pirsch_client *c = pirsch_client_new("", getenv("PIRSCH_CLIENT_SECRET"), cfg);
    pirsch_config_free(cfg);
    if (!c) { fprintf(stderr, "pirsch_client_new: %s\n", pirsch_last_error()); return 1; }
    pirsch_hit_options hit = {0};
    hit.struct_size = sizeof hit;
    hit.url = url;
    hit.ip = "198.51.100.7";
    hit.user_agent = "Mozilla/5.0 (X11; Linux x86_64) libpirsch-package-test";
    pirsch_result rc = pirsch_hit(c, &hit);
    if (rc != PIRSCH_OK) { fprintf(stderr, "pirsch_hit: %s: %s\n", pirsch_strerror(rc), pirsch_last_error()); return 1; }
    pirsch_free(c);
    puts("sent");
    return 0;
}
EOF
cat > "$M/tmp/c/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(pirsch CONFIG REQUIRED)
add_executable(app app.c)
target_link_libraries(app pirsch::pirsch)
add_executable(app_static app.c)
target_link_libraries(app_static pirsch::pirsch_static)
EOF
run_app() { in_root env PIRSCH_BASE_URL="$API" PIRSCH_CLIENT_SECRET=pa_standin_key "$@"; }
check "gcc app.c \$(pkg-config --cflags --libs pirsch) builds" \
    in_root sh -c 'cd /tmp/c && gcc -Wall -Werror -o app-pc app.c $(pkg-config --cflags --libs pirsch)'
pc_app() { in_root ldd /tmp/c/app-pc | tee /dev/stderr | grep -E "libpirsch\.so\.0 => (/usr)?/lib/$MA/libpirsch\.so\.0 " && run_app /tmp/c/app-pc https://example.com/pkg-config; }
check "the pkg-config build runs against $LIBDIR/libpirsch.so.0 and sends a page view" pc_app
check "cmake: find_package(pirsch CONFIG REQUIRED) + pirsch::pirsch builds" \
    in_root sh -c 'cd /tmp/c && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build'
check "the CMake build runs and sends a page view" run_app /tmp/c/build/app https://example.com/cmake
static_app() { ! in_root ldd /tmp/c/build/app_static | grep pirsch && run_app /tmp/c/build/app_static https://example.com/static; }
check "pirsch::pirsch_static (libpirsch.a, stripped by dh_strip) links in and sends a page view" static_app
N=$(hits)
last_three() { [ "$N" = $((PAGES + 3)) ] && [ "$(received_urls | tail -n3 | tr '\n' ' ')" = 'https://example.com/pkg-config https://example.com/cmake https://example.com/static ' ]; }
check "the stand-in holds exactly $PAGES + 3 page views, the last three from the C programs" last_three
[ "$N" = $((PAGES + 3)) ] || echo "       (hits: $N)"

# --- remove --purge: every file of ours goes, nothing else changes ---
rm -f "$M/etc/nginx/conf.d/pirsch.conf" "$M/etc/nginx/pirsch.key"   # the user's own configuration
chroot "$M" /usr/sbin/a2disconf -q -p pirsch > /dev/null
rm -f "$M/etc/apache2/conf-available/pirsch.conf" "$M/etc/apache2/pirsch.key"
rm -rf "$M/tmp/c" "$M/tmp/debs"
OURS=$RUN/files.ours
in_root dpkg -L libpirsch0 libpirsch-dev libnginx-mod-http-pirsch libapache2-mod-pirsch | sort -u > "$RUN/dpkg-L"
# Files and links of ours (directories may be shared with other packages), plus what the
# maintainer scripts made.
while read -r f; do [ -d "$M$f" ] && [ ! -L "$M$f" ] || echo ".$f"; done < "$RUN/dpkg-L" > "$OURS"
echo ./etc/nginx/modules-enabled/50-mod-http-pirsch.conf >> "$OURS"
printf '%s\n' ./etc/apache2/mods-enabled/pirsch.load ./etc/apache2/mods-enabled/pirsch.conf \
    ./var/lib/apache2/module/enabled_by_maint/pirsch >> "$OURS"
sort -u -o "$OURS" "$OURS"
snapshot "$RUN/files.installed"
if in_root apt-get remove --purge -y -q libnginx-mod-http-pirsch libapache2-mod-pirsch libpirsch-dev libpirsch0 > "$LOG/apt-purge.log" 2>&1; then
    ok "apt-get remove --purge libnginx-mod-http-pirsch libapache2-mod-pirsch libpirsch-dev libpirsch0"
else
    bad "apt-get remove --purge"; tail -20 "$LOG/apt-purge.log"
fi
snapshot "$RUN/files.purged"
comm -12 "$OURS" "$RUN/files.purged" > "$RUN/left-behind"
check "no file of ours is left ($(wc -l < "$OURS") files and links were installed)" sh -c "[ ! -s '$RUN/left-behind' ] || { cat '$RUN/left-behind'; false; }"
# apache2-maintscript-helper's state folders (empty; apache2's own) may appear on a purge.
comm -13 "$RUN/files.installed" "$RUN/files.purged" \
    | while read -r f; do case $f in ./var/lib/apache2/*) [ -d "$M/$f" ] && continue ;; esac; echo "$f"; done > "$RUN/appeared"
check "the purge created nothing (no modules-enabled/*.removed link)" sh -c "[ ! -s '$RUN/appeared' ] || { cat '$RUN/appeared'; false; }"
comm -23 "$RUN/files.installed" "$RUN/files.purged" | comm -23 - "$OURS" > "$RUN/lost"
# Directories that only our packages used go too; anything else gone is a defect.
sed 's|^|.|' "$RUN/dpkg-L" | sort -u | comm -23 "$RUN/lost" - > "$RUN/lost-not-ours"
check "the purge removed only paths our packages listed (files and directories only they used)" \
    sh -c "[ ! -s '$RUN/lost-not-ours' ] || { cat '$RUN/lost-not-ours'; false; }"
check "no path named *pirsch* remains anywhere in the root" sh -c "! grep -i pirsch '$RUN/files.purged'"
check "nginx -t still passes without the module" in_root nginx -t
check "apachectl configtest still passes without the module" in_root apache2ctl configtest

# --- make install-nginx-module: the package's layout, no rpath ---
if [ -f target/release/libpirsch.so ] && [ -d /usr/share/nginx/src ]; then
    same_layout() {
        rm -rf "$RUN/destdir"
        ${MAKE:-make} -s --no-print-directory install-nginx-module DESTDIR="$RUN/destdir" || return 1
        (cd "$RUN/destdir" && find . ! -type d | sort) > "$RUN/layout.make"
        dpkg-deb -c "${DEBS[2]}" | awk '$1 !~ /^d/ {print $6}' | grep -v '^\./usr/share/doc/' | sort > "$RUN/layout.deb"
        diff "$RUN/layout.deb" "$RUN/layout.make" || return 1
        dpkg-deb --fsys-tarfile "${DEBS[2]}" | tar -xOf - ./usr/share/nginx/modules-available/mod-http-pirsch.conf \
            | cmp - "$RUN/destdir/usr/share/nginx/modules-available/mod-http-pirsch.conf" || return 1
        ! readelf -d "$RUN/destdir/usr/lib/nginx/modules/ngx_http_pirsch_module.so" | grep -E 'RUNPATH|RPATH'
    }
    check "make install-nginx-module DESTDIR=...: the package's files, the same .conf, no RUNPATH" same_layout
else
    echo "  skip make install-nginx-module (needs make build and nginx-dev)"
fi

# --- make install-apache-module: the package's layout, no rpath ---
if [ -f target/release/libpirsch.so ] && command -v apxs >/dev/null; then
    same_apache_layout() {
        rm -rf "$RUN/destdir-apache"
        ${MAKE:-make} -s --no-print-directory install-apache-module DESTDIR="$RUN/destdir-apache" APACHE_MODULES_DIR=/usr/lib/apache2/modules || return 1
        (cd "$RUN/destdir-apache" && find . ! -type d | sort) > "$RUN/layout-apache.make"
        dpkg-deb -c "${DEBS[3]}" | awk '$1 !~ /^d/ {print $6}' | grep -v '^\./usr/share/doc/' | sort > "$RUN/layout-apache.deb"
        diff "$RUN/layout-apache.deb" "$RUN/layout-apache.make" || return 1
        for f in pirsch.load pirsch.conf; do
            dpkg-deb --fsys-tarfile "${DEBS[3]}" | tar -xOf - ./etc/apache2/mods-available/$f \
                | cmp - "$RUN/destdir-apache/etc/apache2/mods-available/$f" || return 1
        done
        ! readelf -d "$RUN/destdir-apache/usr/lib/apache2/modules/mod_pirsch.so" | grep -E 'RUNPATH|RPATH'
    }
    check "make install-apache-module DESTDIR=...: the package's files, the same .load and .conf, no RUNPATH" same_apache_layout
else
    echo "  skip make install-apache-module (needs make build and apache2-dev)"
fi

echo "test-packages: $PASSED passed, $FAILED failed ($(( $(date +%s) - T0 )) s: root $((T_ROOT - T0)) s, tests $(( $(date +%s) - T_ROOT )) s)"
[ "$FAILED" = 0 ]

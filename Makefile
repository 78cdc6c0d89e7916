# libpirsch. The two commands: `make demo` and `make test`.
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
REL     := target/release
NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

.PHONY: all build header docs deps test test-layers test-rust test-overflow test-standin test-php nginx-module test-nginx bench-nginx apache-module test-apache install-apache-module uninstall-apache-module bench-apache test-c test-cpp test-examples test-install demo install uninstall bench bench-instructions clean

all: build

build:
	$(CARGO) build --release --workspace
	@# Programs linked against the build tree look for the soname, as they would when installed.
	@ln -sf libpirsch.so $(REL)/libpirsch.so.$(MAJOR)

# Regenerate include/pirsch.h from src/ffi/ and src/config/keys.rs (a test fails while it is
# stale), and the README's table of config keys (a unit test fails while it is stale).
header:
	PIRSCH_BLESS=1 $(CARGO) test --release --test header
	PIRSCH_BLESS=1 $(CARGO) test --release --lib config::tests

deps:
	@scripts/install-deps.sh

# Each mk/*.mk adds its own targets, and its suites to TEST_TARGETS (run last, in name order).
TEST_TARGETS :=
include $(sort $(wildcard mk/*.mk))

test: deps build test-layers docs test-rust test-overflow test-standin test-c test-cpp test-examples test-install test-php test-nginx test-apache $(TEST_TARGETS)
	@echo "make test: all suites passed"

# The layers of src/ import only downwards (scripts/check-layers.py prints the graph).
test-layers:
	python3 scripts/check-layers.py --graph

test-rust: build
	$(CARGO) test --release --workspace

# The Rust suites again, built with overflow checks (profile overflow in Cargo.toml).
test-overflow: build
	$(CARGO) test --profile overflow --workspace

test-standin: build
	python3 standin/tests/smoke.py $(REL)/pirsch-standin

test-c: build
	scripts/c-tests.sh

# The C++ face (include/pirsch.hpp): the compile matrix, the README's C snippets as C and C++,
# the C++ tests under ASan+UBSan, a cpp-httplib server counting page views (scripts/test-cpp.sh).
test-cpp: build
	PIRSCH_LIB_DIR=$(REL) PIRSCH_INCLUDE_DIR=include PIRSCH_STANDIN=$(REL)/pirsch-standin scripts/test-cpp.sh

# The examples (C, Python, PHP) against the stand-in, and the repository check (tests/python).
# The Python package's own tests are in bindings/python/tests (mk/python.mk: make test-python).
test-examples: build
	python3 -m pytest -q tests/python

# The public header rendered to HTML (target/docs/html); any doxygen warning fails it.
docs: build
	@command -v doxygen >/dev/null || { echo "make docs: doxygen is missing: apt-get install doxygen" >&2; exit 2; }
	rm -rf target/docs
	doxygen docs/Doxyfile
	@echo "make docs: target/docs/html/index.html (no warnings)"

test-php: build
	scripts/test-php.sh

test-install: build
	scripts/install-test.sh

# The demo needs only php-cli beyond the build (it skips PHP, saying so, where it cannot be had).
demo: build
	@scripts/install-deps.sh demo
	python3 scripts/demo.py

bench: build
	@scripts/install-deps.sh
	$(REL)/pirsch-bench

# Instructions per page view on the request path (valgrind): steady where timings are not.
bench-instructions: build
	scripts/bench-instructions.sh

# make install never builds: `make build` first (as yourself), then `sudo make install`.
# PREFIX, LIBDIR (multiarch on Debian: /usr/local/lib/x86_64-linux-gnu), INCLUDEDIR and DESTDIR
# as usual. The shared library is stripped, its debug info kept beside it in
# LIBDIR/.debug/ (gdb finds it by debuglink); the archive loses its debug info. STRIP=no
# installs both as built, for packagers whose tools strip (dh_strip).
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR     ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
INCLUDEDIR ?= $(PREFIX)/include
STRIP      ?= strip
OBJCOPY    ?= objcopy
SO_FILE    := libpirsch.so.$(VERSION)
INSTALLED  := $(LIBDIR)/$(SO_FILE) $(LIBDIR)/libpirsch.so.$(MAJOR) $(LIBDIR)/libpirsch.so \
	$(LIBDIR)/.debug/$(SO_FILE).debug $(LIBDIR)/libpirsch.a $(INCLUDEDIR)/pirsch.h $(INCLUDEDIR)/pirsch.hpp \
	$(LIBDIR)/pkgconfig/pirsch.pc $(LIBDIR)/cmake/pirsch/pirsch-config.cmake \
	$(LIBDIR)/cmake/pirsch/pirsch-config-version.cmake
SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@SO_FILE@|$(SO_FILE)|g' \
	-e 's|@NATIVE_LIBS@|$(NATIVE_LIBS)|g'

install:
	@for f in $(REL)/libpirsch.so $(REL)/libpirsch.a; do \
		[ -f $$f ] || { echo "make install: $$f is not built: run \`make build\` first (as the user who has cargo), then \`make install\`" >&2; exit 1; }; \
	done
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/pirsch $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(REL)/libpirsch.so $(DESTDIR)$(LIBDIR)/$(SO_FILE)
	install -m 644 $(REL)/libpirsch.a $(DESTDIR)$(LIBDIR)/libpirsch.a
ifneq ($(STRIP),no)
	install -d $(DESTDIR)$(LIBDIR)/.debug
	$(OBJCOPY) --only-keep-debug --compress-debug-sections $(DESTDIR)$(LIBDIR)/$(SO_FILE) $(DESTDIR)$(LIBDIR)/.debug/$(SO_FILE).debug
	chmod 644 $(DESTDIR)$(LIBDIR)/.debug/$(SO_FILE).debug
	$(STRIP) --strip-unneeded --remove-section=.comment --remove-section=.note $(DESTDIR)$(LIBDIR)/$(SO_FILE)
	cd $(DESTDIR)$(LIBDIR) && $(OBJCOPY) --add-gnu-debuglink=.debug/$(SO_FILE).debug $(SO_FILE)
	$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/libpirsch.a
endif
	ln -sf $(SO_FILE) $(DESTDIR)$(LIBDIR)/libpirsch.so.$(MAJOR)
	ln -sf libpirsch.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libpirsch.so
	install -m 644 include/pirsch.h $(DESTDIR)$(INCLUDEDIR)/pirsch.h
	install -m 644 include/pirsch.hpp $(DESTDIR)$(INCLUDEDIR)/pirsch.hpp
	$(SUBST) pirsch.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pirsch.pc
	$(SUBST) cmake/pirsch-config.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/pirsch/pirsch-config.cmake
	$(SUBST) cmake/pirsch-config-version.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/pirsch/pirsch-config-version.cmake
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi
	@echo "make install: libpirsch $(VERSION) in $(DESTDIR)$(LIBDIR), pirsch.h in $(DESTDIR)$(INCLUDEDIR)"

# Removes exactly what `make install` put there (same PREFIX, LIBDIR, INCLUDEDIR, DESTDIR).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(LIBDIR)/cmake/pirsch $(DESTDIR)$(LIBDIR)/.debug 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

clean:
	$(CARGO) clean

# The nginx dynamic module, built against the installed nginx (Debian's nginx-dev) and
# linked to target/release/libpirsch.so by rpath: target/nginx/ngx_http_pirsch_module.so
NGINX_SRC ?= /usr/share/nginx/src
nginx-module: build
	@[ -d $(NGINX_SRC) ] || scripts/install-deps.sh
	scripts/build-nginx-module.sh $(NGINX_SRC)

test-nginx: nginx-module
	python3 -m pytest -q bindings/nginx/tests

bench-nginx: nginx-module
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
	python3 bindings/nginx/bench.py

# The Apache httpd module (bindings/apache), built with apxs (Debian's apache2-dev) and linked
# to target/release/libpirsch.so by rpath (PIRSCH_RPATH= for none): target/apache/mod_pirsch.so
apache-module: build
	@command -v apxs >/dev/null || scripts/install-deps.sh
	scripts/build-apache-module.sh

# A real Apache (prefork, worker and event in turn) in front of the stand-in.
test-apache: apache-module
	python3 -m pytest -q bindings/apache/tests

# The Apache module for an installed libpirsch (`make install`): no rpath, the library is
# found in the system's libdir. Same layout as libapache2-mod-pirsch: the module in
# /usr/lib/apache2/modules, pirsch.load and pirsch.conf in /etc/apache2/mods-available;
# enable it with `a2enmod pirsch`. Like `make install`, it never runs cargo.
APACHE_MODULES_DIR   ?= $(shell apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
APACHE_AVAILABLE_DIR ?= /etc/apache2/mods-available
install-apache-module:
	@[ -f $(REL)/libpirsch.so ] || { echo "make install-apache-module: run \`make build\` first" >&2; exit 1; }
	PIRSCH_RPATH= PIRSCH_APACHE_OUT=target/apache-install scripts/build-apache-module.sh
	install -d $(DESTDIR)$(APACHE_MODULES_DIR) $(DESTDIR)$(APACHE_AVAILABLE_DIR)
	install -m 644 target/apache-install/mod_pirsch.so $(DESTDIR)$(APACHE_MODULES_DIR)/mod_pirsch.so
	sed 's|/usr/lib/apache2/modules|$(APACHE_MODULES_DIR)|' bindings/apache/pirsch.load > $(DESTDIR)$(APACHE_AVAILABLE_DIR)/pirsch.load
	@[ -f $(DESTDIR)$(APACHE_AVAILABLE_DIR)/pirsch.conf ] || install -m 644 bindings/apache/pirsch.conf $(DESTDIR)$(APACHE_AVAILABLE_DIR)/pirsch.conf
	@echo "make install-apache-module: now \`sudo a2enmod pirsch\`, the two lines in $(APACHE_AVAILABLE_DIR)/pirsch.conf, and reload apache2"

uninstall-apache-module:
	rm -f $(DESTDIR)$(APACHE_MODULES_DIR)/mod_pirsch.so $(DESTDIR)$(APACHE_AVAILABLE_DIR)/pirsch.load
	@echo "make uninstall-apache-module: $(APACHE_AVAILABLE_DIR)/pirsch.conf (your configuration) is kept"

# What mod_pirsch costs Apache per counted request next to a CustomLog line (bindings/apache/bench.py).
bench-apache: apache-module
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
	python3 bindings/apache/bench.py

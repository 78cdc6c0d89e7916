# libpirsch. The two commands: `make demo` and `make test`.
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
REL     := target/release
NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

.PHONY: all build header deps test test-rust test-standin test-php nginx-module test-nginx bench-nginx test-c test-examples test-install demo install bench bench-instructions clean

all: build

build:
	$(CARGO) build --release --workspace
	@# Programs linked against the build tree look for the soname, as they would when installed.
	@ln -sf libpirsch.so $(REL)/libpirsch.so.$(MAJOR)

# Regenerate include/pirsch.h from src/ffi.rs (a test fails while it is stale).
header:
	PIRSCH_BLESS=1 $(CARGO) test --release --test header

deps:
	@scripts/install-deps.sh

# Each mk/*.mk adds its own targets, and its suites to TEST_TARGETS (run last, in name order).
TEST_TARGETS :=
include $(sort $(wildcard mk/*.mk))

test: deps build test-rust test-standin test-c test-examples test-install test-php test-nginx $(TEST_TARGETS)
	@echo "make test: all suites passed"

test-rust: build
	$(CARGO) test --release --workspace

test-standin: build
	python3 standin/tests/smoke.py $(REL)/pirsch-standin

test-c: build
	scripts/c-tests.sh

test-examples: build
	python3 -m pytest -q tests/python

test-php: build
	scripts/test-php.sh

test-install: build
	scripts/install-test.sh

demo: deps build
	python3 scripts/demo.py

bench: build
	@scripts/install-deps.sh
	$(REL)/pirsch-bench

# Instructions per page view on the request path (valgrind): steady where timings are not.
bench-instructions: build
	scripts/bench-instructions.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(REL)/libpirsch.so $(DESTDIR)$(PREFIX)/lib/libpirsch.so.$(VERSION)
	ln -sf libpirsch.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libpirsch.so.$(MAJOR)
	ln -sf libpirsch.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libpirsch.so
	install -m 644 $(REL)/libpirsch.a $(DESTDIR)$(PREFIX)/lib/libpirsch.a
	install -m 644 include/pirsch.h $(DESTDIR)$(PREFIX)/include/pirsch.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@NATIVE_LIBS@|$(NATIVE_LIBS)|' \
		pirsch.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pirsch.pc
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

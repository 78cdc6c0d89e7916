"""The Python package's tests, two kinds:

- test_py_*.py: the package from the source tree. `import pirsch` comes from
  bindings/python/src and loads target/release's library (PIRSCH_LIBRARY, set here), so
  these need `make build` and no pip install (`make test-python`).
- test_packaging.py: the package as users install it, into fresh venvs (python3 -m venv)
  under target/python/, one per install path, shared by the tests of one run
  (`make test-python-packaging`):
  - "source": `pip install ./bindings/python` with cargo on PATH (setuptools-rust builds
    libpirsch into the package);
  - "wheel": the wheel of `make wheel` (target/wheels/), installed with a PATH that has no
    cargo and no rustc.
  The servers there run the venv's own python with the installed package and find the
  library inside it: clean_env() drops the PIRSCH_LIBRARY and PYTHONPATH set for the others.

The stand-in (standin.py) is shared with the examples' and the nginx module's tests, in
tests/python.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from standin import LIBRARY, Standin  # noqa: E402

# The package from the source tree, for test_py_*.py (test_packaging.py's venvs never see it).
PIRSCH_PY_SRC = os.path.join(ROOT, "bindings", "python", "src")
os.environ["PIRSCH_LIBRARY"] = LIBRARY
if PIRSCH_PY_SRC not in sys.path:
    sys.path.insert(0, PIRSCH_PY_SRC)

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


class Venv:
    def __init__(self, name, path, site, python, env, install_log):
        self.name, self.path, self.site, self.python, self.env = name, path, site, python, env
        self.install_log = install_log

    def run(self, args, **kw):
        return subprocess.run([self.python, *args], env=kw.pop("env", self.env), capture_output=True, text=True,
                              timeout=kw.pop("timeout", 60), **kw)


def make_venv(name):
    path = os.path.join(BUILD, f"venv-{name}")
    shutil.rmtree(path, ignore_errors=True)
    if name == "source":
        env = clean_env()
        what = [os.path.join(ROOT, "bindings", "python")]
    else:
        env = clean_env(path=path_without_rust())
        what = [the_wheel()]
    subprocess.run([sys.executable, "-m", "venv", path], check=True, env=env)
    python = os.path.join(path, "bin", "python")
    # -v: the source build's output (cargo's command line) is kept for the test that checks it.
    r = subprocess.run([python, "-m", "pip", "install", "-v", *what, *FRAMEWORKS], env=env, capture_output=True,
                       text=True, timeout=900, cwd=BUILD)
    assert r.returncode == 0, f"pip install into venv-{name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()
    return Venv(name, path, site, python, env, r.stdout + r.stderr)


_venvs = {}


@pytest.fixture(scope="session", params=["source", "wheel"])
def venv(request):
    if request.param not in _venvs:
        os.makedirs(BUILD, exist_ok=True)
        _venvs[request.param] = make_venv(request.param)
    return _venvs[request.param]


@pytest.fixture
def standin():
    s = Standin()
    yield s
    s.stop()


@pytest.fixture
def make_client(standin):
    """make_client(**options): a pirsch.Client for the stand-in (its OAuth client unless
    access_key/client_secret are given), closed after the test."""
    import pirsch

    made = []

    def make(**options):
        if "access_key" not in options and "client_secret" not in options:
            options.update(client_id="standin-client", client_secret="standin-secret")
        options.setdefault("base_url", standin.url)
        c = pirsch.Client(**options)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


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

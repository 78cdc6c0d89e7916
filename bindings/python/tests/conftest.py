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

The fixtures are here; the paths and helpers the test modules import are in python_env.py.
The stand-in (standin.py) is shared with the examples' and the nginx module's tests, in
tests/python.
"""
import os
import shutil
import subprocess
import sys

import pytest

from python_env import BUILD, FRAMEWORKS, PIRSCH_PY_SRC, ROOT, clean_env, path_without_rust, the_wheel

sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from standin import LIBRARY, Standin  # noqa: E402

# test_py_*.py import the package from the source tree, with target/release's library;
# test_packaging.py's venvs never see either (clean_env() drops them).
os.environ["PIRSCH_LIBRARY"] = LIBRARY
if PIRSCH_PY_SRC not in sys.path:
    sys.path.insert(0, PIRSCH_PY_SRC)


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

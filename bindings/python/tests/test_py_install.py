"""`pip install ./bindings/python` builds libpirsch from source (setuptools-rust runs cargo)
into the package: a working, typed package outside the source tree that finds its library
inside itself, with no PIRSCH_LIBRARY. (test_packaging.py installs into fresh venvs, the
wheel too, and serves real apps.)"""
import os
import subprocess
import sys

from standin import ROOT

BUILD = os.path.join(ROOT, "target", "python")


def test_py_pip_install_builds_the_library_into_the_package(standin, tmp_path):
    target = tmp_path / "site"
    # The pip cache that `make wheel` and test_packaging.py use; cargo builds in setup.py's
    # default folder, target/python/cargo, shared with them.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "CARGO_TARGET_DIR") and not k.startswith("PIRSCH_")}
    env.update(PIP_CACHE_DIR=os.path.join(BUILD, "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--no-compile", "--target", str(target),
         os.path.join(ROOT, "bindings", "python")],
        env=env, capture_output=True, text=True, timeout=900, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "cargo rustc --lib" in r.stdout + r.stderr
    assert os.path.join(BUILD, "cargo", "release", "libpirsch.so") in r.stdout + r.stderr
    pkg = target / "pirsch"
    for name in ["__init__.py", "client.py", "errors.py", "wsgi.py", "asgi.py", "django.py", "py.typed",
                 "_lib/libpirsch.so.0"]:
        assert (pkg / name).exists(), name
    assert not list(pkg.glob("_lib/*cpython*")), "the library keeps its soname"
    code = (
        "import pirsch, pirsch.wsgi, pirsch.asgi\n"
        "print(pirsch.__file__)\n"
        "print(pirsch.library_path())\n"
        "with pirsch.Client.from_env() as c:\n"
        "    c.hit(url='https://example.com/installed', ip='192.0.2.1')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PIRSCH_")}
    env.update(PYTHONPATH=str(target), PIRSCH_BASE_URL=standin.url, PIRSCH_CLIENT_SECRET="pa_standin_key")
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(pkg / "__init__.py"), str(pkg / "_lib" / "libpirsch.so.0")]
    assert [i["body"]["url"] for i in standin.items("hit")] == ["https://example.com/installed"]

"""`pip install ./bindings/python` gives a working, typed package without the source tree,
with the libpirsch a build placed in pirsch/_lib/ bundled."""
import os
import shutil
import subprocess
import sys

from standin import LIBRARY, ROOT


def test_py_pip_install_target(standin, tmp_path):
    # From a copy: setuptools leaves build/ and *.egg-info behind in the directory it builds.
    src = tmp_path / "python"
    shutil.copytree(os.path.join(ROOT, "bindings", "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "_lib"))
    (src / "src" / "pirsch" / "_lib").mkdir()
    shutil.copy(LIBRARY, src / "src" / "pirsch" / "_lib" / "libpirsch.so")
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--disable-pip-version-check",
         "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    pkg = target / "pirsch"
    for name in ["__init__.py", "client.py", "errors.py", "wsgi.py", "asgi.py", "py.typed", "_lib/libpirsch.so"]:
        assert (pkg / name).exists(), name
    code = (
        "import pirsch, pirsch.wsgi, pirsch.asgi\n"
        "print(pirsch.__file__)\n"
        "print(pirsch.library_path())\n"
        "with pirsch.Client.from_env() as c:\n"
        "    c.hit(url='https://example.com/installed', ip='192.0.2.1')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PIRSCH_")}
    env.update(PYTHONPATH=str(target), PIRSCH_BASE_URL=standin.url,
               PIRSCH_CLIENT_SECRET="pa_standin_key")
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(pkg / "__init__.py"), str(pkg / "_lib" / "libpirsch.so")]
    assert [i["body"]["url"] for i in standin.items("hit")] == ["https://example.com/installed"]

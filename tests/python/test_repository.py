"""The repository holds sources only: a build output in git is what broke fresh clones once
(a committed examples/c/pageview with a RUNPATH into its author's checkout)."""
import os
import subprocess

import pytest

from standin import ROOT

BUILT_SUFFIXES = (".so", ".a", ".o", ".whl", ".deb", ".ddeb", ".dylib", ".dll", ".exe", ".pyc")


def tracked_files():
    try:
        r = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, timeout=30)
    except OSError:
        pytest.skip("git is not installed")
    if r.returncode != 0:
        pytest.skip("not a git checkout")
    return [p for p in r.stdout.decode().split("\0") if p]


def is_build_output(path, root=ROOT):
    name = os.path.basename(path)
    if path.startswith(("target/", "build/")) or "/target/" in path or "/__pycache__/" in path:
        return "a build folder"
    if name.endswith(BUILT_SUFFIXES) or ".so." in name:
        return "a built library or package"
    full = os.path.join(root, path)
    if os.path.isfile(full) and not os.path.islink(full):
        with open(full, "rb") as f:
            if f.read(4) == b"\x7fELF":
                return "an ELF binary"
    return None


def test_no_build_output_is_tracked():
    files = tracked_files()
    assert len(files) > 50, "git ls-files listed almost nothing"
    found = {p: why for p in files if (why := is_build_output(p))}
    assert not found, f"build outputs are tracked by git (git rm --cached them, add them to .gitignore): {found}"


def test_the_check_sees_build_outputs(tmp_path):
    # The check itself must be able to fail: an ELF file under any name is caught.
    (tmp_path / "examples").mkdir()
    with open("/bin/true", "rb") as src, open(tmp_path / "examples" / "pageview", "wb") as dst:
        dst.write(src.read())
    (tmp_path / "examples" / "pageview.c").write_text("int main(void) { return 0; }\n")
    assert is_build_output("examples/pageview", root=str(tmp_path)) == "an ELF binary"
    assert is_build_output("examples/pageview.c", root=str(tmp_path)) is None
    assert is_build_output("target/release/x") == "a build folder"
    assert is_build_output("bindings/python/src/pirsch/_lib/libpirsch.so.0") == "a built library or package"
    assert is_build_output("dist/pirsch-0.1.0-py3-none-any.whl") == "a built library or package"

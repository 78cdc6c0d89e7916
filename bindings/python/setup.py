"""Builds libpirsch from the Rust crate two folders up (../../Cargo.toml) into pirsch/_lib/.

setuptools-rust runs cargo (`cargo rustc --lib --release --crate-type cdylib`), copies the
library into the package and strips it. libpirsch is a bare C-ABI library that the package
loads with ctypes (Binding.NoBinding): the wheel works with any Python 3 on its platform, so
it is tagged py3-none-<platform>, and the file keeps the library's soname (libpirsch.so.0)
instead of a CPython extension suffix.

cargo builds in CARGO_TARGET_DIR, by default target/python/cargo in the checkout (shared with
`make wheel` and the tests): not target/release, where `make build` compiles all three crate
types and each build would undo the other's.
"""
import os
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension, Strip
from setuptools_rust.build import build_rust as _build_rust

from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.join(HERE, "..", "..", "Cargo.toml")
LIB_NAME = "libpirsch.dylib" if sys.platform == "darwin" else "libpirsch.so.0"

if not os.path.exists(CRATE):
    sys.exit(
        f"pirsch: the libpirsch crate is not at {os.path.normpath(CRATE)}: build this package "
        "from a libpirsch checkout (pip install ./bindings/python), or install a pirsch wheel"
    )


os.environ.setdefault("CARGO_TARGET_DIR", os.path.normpath(os.path.join(HERE, "..", "..", "target", "python", "cargo")))


class build_rust(_build_rust):
    def get_dylib_ext_path(self, ext, target_fname):
        # pirsch/_lib/libpirsch.so.0, not pirsch/_lib/libpirsch.cpython-311-x86_64-linux-gnu.so
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), LIB_NAME)


class bdist_wheel(_bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    rust_extensions=[
        RustExtension(
            "pirsch._lib.libpirsch",
            path=os.path.relpath(CRATE),
            binding=Binding.NoBinding,
            strip=Strip.All,
        )
    ],
    cmdclass={"build_rust": build_rust, "bdist_wheel": bdist_wheel},
)

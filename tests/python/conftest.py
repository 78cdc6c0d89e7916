import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from standin import Standin  # noqa: E402


@pytest.fixture
def standin():
    s = Standin()
    yield s
    s.stop()


# --- The Python package (tests/python/test_py_*.py) ---------------------------------------
# `import pirsch` comes from bindings/python/src and loads target/release's library, so the
# tests need no pip install.
from standin import LIBRARY, ROOT  # noqa: E402

PIRSCH_PY_SRC = os.path.join(ROOT, "bindings", "python", "src")
os.environ["PIRSCH_LIBRARY"] = LIBRARY
if PIRSCH_PY_SRC not in sys.path:
    sys.path.insert(0, PIRSCH_PY_SRC)


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

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


"""Server-side web analytics for Pirsch (https://pirsch.io), through libpirsch.

    import pirsch

    client = pirsch.Client(access_key="pa_...")
    client.hit(url="https://example.com/pricing", ip=peer, headers=request_headers)
    client.hit(url=..., ip=..., wait=False)   # queued: returns at once

WSGI and ASGI middleware that queue a page view for every HTML page served:
``pirsch.wsgi.PirschMiddleware``, ``pirsch.asgi.PirschMiddleware``.

Statistics (an OAuth client): ``client.total_visitors(pirsch.Filter(domain_id=..., from_=day,
to=day))`` and the other methods named as in Pirsch's SDKs, returning the dataclasses of
``pirsch.statistics``.
"""
import logging as _logging

from . import _native
from . import statistics
from .client import Client, Headers, LogTarget, Stats, TimeLike, close_all
from .errors import (
    AuthError,
    Closed,
    HTTPError,
    InternalError,
    InvalidArgument,
    LibraryError,
    NetworkError,
    PirschError,
    QueueFull,
    TimeoutError,
)
from .statistics import Filter, Statistic, statistics_path

__version__ = "0.1.0"

# A library prints nothing unless the application configures logging.
_logging.getLogger("pirsch").addHandler(_logging.NullHandler())

__all__ = [
    "Client", "Stats", "Headers", "LogTarget", "TimeLike", "close_all", "library_version", "library_path",
    "Filter", "Statistic", "statistics", "statistics_path",
    "PirschError", "LibraryError", "InvalidArgument", "AuthError", "HTTPError", "NetworkError",
    "TimeoutError", "QueueFull", "Closed", "InternalError",
]


def library_version() -> str:
    """The loaded libpirsch's version (pirsch_version()); loads the library if needed."""
    return str(_native.load().pirsch_version().decode("ascii", "replace"))


def library_path() -> str:
    """Where the loaded libpirsch came from; loads the library if needed."""
    _native.load()
    return _native.path() or ""

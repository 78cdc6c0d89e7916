"""What the WSGI and ASGI middleware share: which responses count, and queueing them."""
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Collection, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from .client import Client

__all__ = ["PageRequest", "Predicate", "TagsArg", "DEFAULT_CONTENT_TYPES"]

DEFAULT_CONTENT_TYPES = ("text/html", "application/xhtml+xml")

_log = logging.getLogger("pirsch")

# Characters left as they are in a rebuilt URL: the path (already decoded by the server, so
# "%" is escaped again) and the query (raw, so "%" stays).
_PATH_SAFE = "/:@!$&'()*+,;=~"
_QUERY_SAFE = "/?:@!$&'()*+,;=~%[]"


@dataclass(frozen=True)
class PageRequest:
    """A request and the start of its response, as the middleware saw them; given to
    ``predicate`` and to a ``tags`` callable."""

    method: str
    url: str
    path: str
    status: int
    #: The response's media type, lower case, without parameters ("" when none).
    content_type: str
    #: The address of the peer that connected ("" when unknown).
    peer: str
    #: The WSGI environ or the ASGI scope.
    raw: Mapping[str, Any]


Predicate = Callable[[PageRequest], bool]
TagsArg = Union[Mapping[str, str], Callable[[PageRequest], Optional[Mapping[str, str]]], None]


def quote_path(path_bytes: bytes) -> str:
    return quote(path_bytes, safe=_PATH_SAFE)


def quote_query(query_bytes: bytes) -> str:
    return quote(query_bytes, safe=_QUERY_SAFE)


def media_type(value: Union[str, bytes, None]) -> str:
    if not value:
        return ""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.split(";", 1)[0].strip().lower()


class _Counters:
    _all: "weakref.WeakSet[_Counters]" = weakref.WeakSet()

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = 0
        self.errors = 0
        self.last_log = 0.0
        self.unlogged = 0
        _Counters._all.add(self)

    @classmethod
    def _after_fork_in_child(cls) -> None:
        for c in list(cls._all):
            c.lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Counters._after_fork_in_child)


class Tracker:
    """Decides whether a response counts and queues its page view; never raises."""

    LOG_INTERVAL = 60.0

    def __init__(
        self,
        client: Client,
        methods: Optional[Collection[str]],
        statuses: Optional[Collection[int]],
        content_types: Optional[Collection[str]],
        predicate: Optional[Predicate],
        tags: TagsArg,
    ) -> None:
        if not isinstance(client, Client):
            raise TypeError(f"client must be a pirsch.Client, not {type(client).__name__}")
        self.client = client
        self.methods = frozenset(m.upper() for m in methods) if methods is not None else None
        self.statuses = statuses
        self.content_types = tuple(c.lower() for c in content_types) if content_types is not None else None
        self.predicate = predicate
        self.tags = tags
        self.counters = _Counters()

    def wants_method(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods

    def wants_response(self, status: int, content_type: str) -> bool:
        if self.statuses is not None and status not in self.statuses:
            return False
        if self.content_types is not None and not any(
                content_type == c or (c.endswith("/") and content_type.startswith(c)) for c in self.content_types):
            return False
        return True

    def queue(self, page: PageRequest, peer: bytes, headers: List[Tuple[bytes, bytes]]) -> None:
        try:
            if self.predicate is not None and not self.predicate(page):
                return
            tags = self.tags(page) if callable(self.tags) else self.tags
            self.client._queue_page_view(page.url.encode("utf-8"), peer, headers, tags)
        except Exception as e:  # never into the app
            self.error(e)
        else:
            with self.counters.lock:
                self.counters.queued += 1

    def error(self, e: BaseException) -> None:
        try:
            c = self.counters
            now = time.monotonic()
            with c.lock:
                c.errors += 1
                c.unlogged += 1
                if c.last_log and now - c.last_log < self.LOG_INTERVAL:
                    return
                c.last_log, n, c.unlogged = now, c.unlogged, 0
                total = c.errors
            _log.warning("pirsch middleware: page view not queued (%d since the last message, %d in all): %s: %s",
                         n, total, type(e).__name__, e)
        except Exception:
            pass

    @property
    def queued(self) -> int:
        return self.counters.queued

    @property
    def errors(self) -> int:
        return self.counters.errors


class MiddlewareCounters:
    """What the WSGI and ASGI middleware report about themselves."""

    _tracker: Tracker

    @property
    def queued(self) -> int:
        """Page views queued so far in this process."""
        return self._tracker.queued

    @property
    def errors(self) -> int:
        """Page views that could not be queued (logged to the "pirsch" logger)."""
        return self._tracker.errors

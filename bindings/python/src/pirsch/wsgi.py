"""WSGI middleware: a queued page view for every HTML page served.

    from pirsch.wsgi import PirschMiddleware
    app.wsgi_app = PirschMiddleware(app.wsgi_app, client)          # Flask
    application = PirschMiddleware(get_wsgi_application(), client)  # Django (wsgi.py)
"""
from typing import Any, Callable, Collection, Iterable, List, Optional, Tuple

from ._middleware import (DEFAULT_CONTENT_TYPES, MiddlewareCounters, PageRequest, Predicate, TagsArg, Tracker, media_type,
                          quote_path, quote_query)
from .client import Client

__all__ = ["PirschMiddleware", "PageRequest", "request_url"]

StartResponse = Callable[..., Any]


def request_url(environ: Any) -> str:
    """The request's full URL, rebuilt from the environ as PEP 3333 describes."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != ("443" if scheme == "https" else "80"):
            host += ":" + port
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    url = f"{scheme}://{host}{quote_path(path.encode('latin-1', 'replace')) or '/'}"
    query = environ.get("QUERY_STRING")
    if query:
        url += "?" + quote_query(query.encode("latin-1", "replace"))
    return url


def request_headers(environ: Any) -> List[Tuple[bytes, bytes]]:
    """Every request header of the environ as raw (name, value) bytes."""
    return [
        (key[5:].replace("_", "-").encode("latin-1"), value.encode("latin-1", "replace"))
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    ]


class PirschMiddleware(MiddlewareCounters):
    """Wraps a WSGI app and queues a page view (never blocking, never raising into the app)
    for every response that counts: by default a GET answered with a 2xx status and an
    HTML content type. ``methods``, ``statuses`` and ``content_types`` change that (None:
    any), ``predicate(page)`` can veto a page view (e.g. by path), and ``tags`` (a dict, or
    a callable returning one) adds tags. The URL, the peer address (REMOTE_ADDR) and every
    request header go to pirsch_hit_options_from_headers, so the visitor's address comes
    from proxy headers only when REMOTE_ADDR is one of the client's ``trusted_proxies``.

    The page view is queued when the app calls ``start_response``; the client's
    background thread delivers it. ``queued`` and ``errors`` count what happened.
    """

    def __init__(
        self,
        app: Callable[[Any, StartResponse], Iterable[bytes]],
        client: Client,
        *,
        methods: Optional[Collection[str]] = ("GET",),
        statuses: Optional[Collection[int]] = range(200, 300),
        content_types: Optional[Collection[str]] = DEFAULT_CONTENT_TYPES,
        predicate: Optional[Predicate] = None,
        tags: TagsArg = None,
    ) -> None:
        self.app = app
        self.client = client
        self._tracker = Tracker(client, methods, statuses, content_types, predicate, tags)

    def __call__(self, environ: Any, start_response: StartResponse) -> Iterable[bytes]:
        tracker = self._tracker
        try:
            method = environ.get("REQUEST_METHOD", "GET")
            if not tracker.wants_method(method):
                return self.app(environ, start_response)
        except Exception as e:
            tracker.error(e)
            return self.app(environ, start_response)
        done = False

        def pirsch_start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal done
            if not done and exc_info is None:
                done = True
                self._response_started(environ, method, status, headers)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, pirsch_start_response)

    def _response_started(self, environ: Any, method: str, status: str, headers: List[Tuple[str, str]]) -> None:
        tracker = self._tracker
        try:
            code = int(str(status)[:3])
            ctype = ""
            for name, value in headers:
                if name.lower() == "content-type":
                    ctype = media_type(value)
                    break
            if not tracker.wants_response(code, ctype):
                return
            peer = environ.get("REMOTE_ADDR") or ""
            page = PageRequest(method=method, url=request_url(environ), path=environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                               status=code, content_type=ctype, peer=peer, raw=environ)
            tracker.queue(page, peer.encode("latin-1", "replace"), request_headers(environ))
        except Exception as e:
            tracker.error(e)

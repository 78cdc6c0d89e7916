"""Django middleware: a queued page view for every HTML page served, from one line in
settings.py.

    MIDDLEWARE = [
        "pirsch.django.PirschMiddleware",   # first: it sees the response the visitor gets
        ...
    ]
    PIRSCH = {"access_key": "pa_..."}       # optional, see below

``settings.PIRSCH`` is a dict of ``pirsch.Client`` keyword arguments (``access_key``, or
``client_id`` and ``client_secret``, ``base_url``, ``trusted_proxies``, ...) and of the
middleware's own options (``methods``, ``statuses``, ``content_types``, ``predicate``,
``tags``; a predicate or a tags callable may be given as a dotted path). Credentials and
``base_url`` missing from it come from the environment: ``PIRSCH_CLIENT_SECRET`` (an access
key, or with ``PIRSCH_CLIENT_ID`` an OAuth client) and ``PIRSCH_BASE_URL``.

Without credentials, or with an invalid option, the middleware raises ImproperlyConfigured
when ``DEBUG`` is on; otherwise it logs the reason to the "pirsch" logger and takes itself
out (MiddlewareNotUsed): analytics never take the site down. Works under WSGI and ASGI.
"""
import logging
import os
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.utils.module_loading import import_string

try:  # Django >= 5.0 / asgiref >= 3.6
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
except ImportError:  # pragma: no cover
    from asyncio import iscoroutinefunction  # type: ignore[assignment]

    def markcoroutinefunction(func: Any) -> Any:  # type: ignore[misc]
        import asyncio.coroutines

        func._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
        return func

from ._middleware import DEFAULT_CONTENT_TYPES, MiddlewareCounters, PageRequest, Tracker, media_type
from .client import Client
from .errors import PirschError
from .wsgi import request_headers

__all__ = ["PirschMiddleware", "client"]

_log = logging.getLogger("pirsch")

#: Keys of settings.PIRSCH that configure the middleware, not the client.
MIDDLEWARE_OPTIONS = ("methods", "statuses", "content_types", "predicate", "tags")

_client: Optional[Client] = None
_client_lock = threading.Lock()


def _settings() -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(client options, middleware options) from settings.PIRSCH."""
    conf = getattr(settings, "PIRSCH", None) or {}
    if not isinstance(conf, dict):
        raise ImproperlyConfigured(f"settings.PIRSCH must be a dict, not {type(conf).__name__}")
    client_opts = {k: v for k, v in conf.items() if k not in MIDDLEWARE_OPTIONS}
    mw_opts: Dict[str, Any] = {
        "methods": ("GET",), "statuses": range(200, 300), "content_types": DEFAULT_CONTENT_TYPES,
        "predicate": None, "tags": None,
    }
    for key in MIDDLEWARE_OPTIONS:
        if key in conf:
            value = conf[key]
            if key in ("predicate", "tags") and isinstance(value, str):
                value = import_string(value)
            mw_opts[key] = value
    return client_opts, mw_opts


def client() -> Client:
    """The process's client, made from settings.PIRSCH and the environment on first use (the
    middleware's client: use it for events in views)."""
    global _client
    with _client_lock:
        if _client is None or _client.closed:
            opts, _ = _settings()
            if opts.get("access_key") or opts.get("client_secret"):
                if not opts.get("base_url") and os.environ.get("PIRSCH_BASE_URL"):
                    opts["base_url"] = os.environ["PIRSCH_BASE_URL"]
                _client = Client(**opts)
            else:
                _client = Client.from_env(**opts)
        return _client


class PirschMiddleware(MiddlewareCounters):
    """Queues a page view (never blocking, never raising into the view) for every response
    that counts: by default a GET answered with a 2xx status and an HTML content type. The
    URL is ``request.build_absolute_uri()`` (so ALLOWED_HOSTS, USE_X_FORWARDED_HOST and
    SECURE_PROXY_SSL_HEADER apply), the peer is REMOTE_ADDR, and the request headers go to
    pirsch_hit_options_from_headers (proxy headers count only from the client's
    ``trusted_proxies``). ``queued`` and ``errors`` count what happened."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        try:
            _, mw_opts = _settings()
            self.client = client()
            self._tracker = Tracker(self.client, **mw_opts)
        except (PirschError, ImproperlyConfigured, ImportError, TypeError, ValueError) as e:
            if settings.DEBUG:
                raise ImproperlyConfigured(f"pirsch.django.PirschMiddleware: {e}") from e
            _log.error("pirsch.django.PirschMiddleware is not used (no page views are sent): %s: %s",
                       type(e).__name__, e)
            raise MiddlewareNotUsed(str(e)) from e

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        response = self.get_response(request)
        self._track(request, response)
        return response

    async def __acall__(self, request: Any) -> Any:
        response = await self.get_response(request)
        self._track(request, response)
        return response

    def _track(self, request: Any, response: Any) -> None:
        tracker = self._tracker
        try:
            method = request.method or "GET"
            if not tracker.wants_method(method):
                return
            status = int(response.status_code)
            ctype = media_type(response.get("Content-Type"))
            if not tracker.wants_response(status, ctype):
                return
            meta = request.META
            peer = meta.get("REMOTE_ADDR") or ""
            page = PageRequest(method=method, url=request.build_absolute_uri(), path=request.path, status=status,
                               content_type=ctype, peer=peer, raw=meta)
            tracker.queue(page, peer.encode("latin-1", "replace"), request_headers(meta))
        except Exception as e:  # never into the view
            tracker.error(e)

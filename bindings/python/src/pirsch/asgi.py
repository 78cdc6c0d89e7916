"""ASGI middleware: a queued page view for every HTML page served.

    from pirsch.asgi import PirschMiddleware
    app = PirschMiddleware(app, client)
    app.add_middleware(PirschMiddleware, client=client)   # Starlette, FastAPI
"""
import asyncio
import logging
from typing import Any, Awaitable, Callable, Collection, List, MutableMapping, Optional, Tuple

from ._middleware import (DEFAULT_CONTENT_TYPES, MiddlewareCounters, PageRequest, Predicate, TagsArg, Tracker, media_type,
                          quote_path, quote_query)
from .client import Client
from .errors import PirschError

__all__ = ["PirschMiddleware", "PageRequest", "request_url"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_url(scope: Scope) -> str:
    """The request's full URL, rebuilt from an HTTP scope."""
    scheme = scope.get("scheme") or "http"
    host = ""
    for name, value in scope.get("headers") or ():
        if name.lower() == b"host":
            host = value.decode("latin-1")
            break
    if not host:
        server = scope.get("server")
        if server:
            h, port = server[0], server[1]
            if ":" in h:
                h = f"[{h}]"
            default = 443 if scheme in ("https", "wss") else 80
            host = h if port in (None, default) else f"{h}:{port}"
        else:
            host = "localhost"
    root, path = scope.get("root_path") or "", scope.get("path") or "/"
    if root and not path.startswith(root):
        path = root + path
    url = f"{scheme}://{host}{quote_path(path.encode('utf-8', 'surrogateescape'))}"
    query = scope.get("query_string")
    if query:
        url += "?" + quote_query(query)
    return url


class PirschMiddleware(MiddlewareCounters):
    """Wraps an ASGI app and queues a page view (never blocking, never raising into the
    app) for every HTTP response that counts: by default a GET answered with a 2xx status
    and an HTML content type. Options as for :class:`pirsch.wsgi.PirschMiddleware`. The
    URL, the peer address (``scope["client"]``) and every request header go to
    pirsch_hit_options_from_headers. The page view is queued when the app sends
    ``http.response.start``; the client's background thread delivers it.

    At lifespan shutdown the client is flushed (for up to ``flush_timeout`` seconds, off
    the event loop) before the server is told the app is done: uvicorn ends with the
    signal that stopped it, so atexit handlers do not run. Apps that do not speak the
    lifespan protocol (Django) get it spoken for them.

    Behind a proxy, run uvicorn with ``--no-proxy-headers`` and list the proxy in the
    client's ``trusted_proxies`` (or let uvicorn rewrite ``scope["client"]`` with
    ``--forwarded-allow-ips``: either way the visitor's address is what is sent).
    """

    def __init__(
        self,
        app: ASGIApp,
        client: Client,
        *,
        methods: Optional[Collection[str]] = ("GET",),
        statuses: Optional[Collection[int]] = range(200, 300),
        content_types: Optional[Collection[str]] = DEFAULT_CONTENT_TYPES,
        predicate: Optional[Predicate] = None,
        tags: TagsArg = None,
        flush_timeout: float = 2.0,
    ) -> None:
        self.app = app
        self.client = client
        self.flush_timeout = flush_timeout
        self._tracker = Tracker(client, methods, statuses, content_types, predicate, tags)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracker = self._tracker
        if scope.get("type") == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        try:
            wanted = scope.get("type") == "http" and tracker.wants_method(scope.get("method", "GET"))
        except Exception as e:
            tracker.error(e)
            wanted = False
        if not wanted:
            await self.app(scope, receive, send)
            return
        done = False

        async def pirsch_send(message: Message) -> None:
            nonlocal done
            if not done and message.get("type") == "http.response.start":
                done = True
                self._response_started(scope, message)
            await send(message)

        await self.app(scope, receive, pirsch_send)

    def _response_started(self, scope: Scope, message: Message) -> None:
        tracker = self._tracker
        try:
            code = int(message.get("status", 200))
            ctype = ""
            for name, value in message.get("headers") or ():
                if name.lower() == b"content-type":
                    ctype = media_type(value)
                    break
            if not tracker.wants_response(code, ctype):
                return
            client = scope.get("client")
            peer = str(client[0]) if client else ""
            headers: List[Tuple[bytes, bytes]] = list(scope.get("headers") or ())
            page = PageRequest(method=scope.get("method", "GET"), url=request_url(scope),
                               path=scope.get("path", ""), status=code, content_type=ctype, peer=peer, raw=scope)
            tracker.queue(page, peer.encode("utf-8", "replace"), headers)
        except Exception as e:
            tracker.error(e)

    async def _flush(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.client.flush, self.flush_timeout)
        except PirschError as e:
            logging.getLogger("pirsch").warning("pirsch middleware: flush at shutdown: %s: %s", type(e).__name__, e)
        except Exception as e:  # never into the server
            self._tracker.error(e)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        pending: List[Message] = []
        sent = False

        async def lifespan_receive() -> Message:
            message = await receive()
            pending[:] = [message]
            return message

        async def lifespan_send(message: Message) -> None:
            nonlocal sent
            sent = True
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self._flush()
            await send(message)

        try:
            await self.app(scope, lifespan_receive, lifespan_send)
            if sent:
                return
        except Exception as e:
            if sent:
                raise
            logging.getLogger("pirsch").debug(
                "pirsch middleware: the app does not speak lifespan (%s: %s); answering for it", type(e).__name__, e)
        # The app does not speak lifespan (it raised or returned without a word): speak it
        # for the app, so that the queue is still flushed at shutdown.
        while True:
            message = pending.pop() if pending else await receive()
            if message.get("type") == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                await self._flush()
                await send({"type": "lifespan.shutdown.complete"})
                return

"""pirsch.wsgi and pirsch.asgi: a real WSGI server (wsgiref, in a thread) and a real ASGI
server (uvicorn, in a subprocess) answering real HTTP requests while the middleware queues
page views to the stand-in."""
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import pirsch
import pirsch.asgi
import pirsch.wsgi
from python_env import PIRSCH_PY_SRC
from standin import LIBRARY

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def demo_wsgi_app(environ, start_response):
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path.endswith(".png"):
        start_response("200 OK", [("Content-Type", "image/png")])
        return [b"\x89PNG"]
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<h1>not found</h1>"]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [f"<h1>{method} {path}</h1>".encode()]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def wsgi_server(app):
    srv = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=_QuietHandler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()


def fetch(url, method="GET", headers=None, data=None):
    """(status, seconds) of one request."""
    req = urllib.request.Request(url, method=method, data=data, headers={"User-Agent": UA, **(headers or {})})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, time.monotonic() - start


def fake_environ(path="/", method="GET", query="", **extra):
    env = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "internal", "SERVER_PORT": "8080", "wsgi.url_scheme": "http", "REMOTE_ADDR": "203.0.113.9",
        "HTTP_USER_AGENT": UA,
    }
    env.update(extra)
    return env


def call_wsgi(mw, environ):
    seen = []
    body = b"".join(mw(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], body


# --- the rules, without a server -------------------------------------------------------

def test_py_wsgi_url_rebuilt_from_environ():
    url = pirsch.wsgi.request_url
    assert url(fake_environ("/a b/é".encode().decode("latin-1"), query="q=1&r=%2F")) == \
        "http://internal:8080/a%20b/%C3%A9?q=1&r=%2F"
    assert url(fake_environ("/x", HTTP_HOST="example.com", SCRIPT_NAME="/app", **{"wsgi.url_scheme": "https"})) == \
        "https://example.com/app/x"
    assert url(fake_environ("", SERVER_PORT="443", **{"wsgi.url_scheme": "https"})) == "https://internal/"
    asgi = pirsch.asgi.request_url
    scope = {"type": "http", "scheme": "https", "path": "/café/x", "root_path": "", "query_string": b"a=1",
             "headers": [(b"host", b"example.com")], "server": ("10.0.0.1", 8000)}
    assert asgi(scope) == "https://example.com/caf%C3%A9/x?a=1"
    assert asgi(dict(scope, headers=[], root_path="/app")) == "https://10.0.0.1:8000/app/caf%C3%A9/x?a=1"


def test_py_middleware_rules_tags_and_errors(standin, make_client):
    client = make_client(flush_interval_ms=10)
    seen = []
    mw = pirsch.wsgi.PirschMiddleware(
        demo_wsgi_app, client,
        predicate=lambda page: seen.append(page) or not page.path.startswith("/admin"),
        tags=lambda page: {"section": page.path.split("/")[1] or "home"},
    )
    for path, method in [("/", "GET"), ("/blog/x", "GET"), ("/admin/y", "GET"), ("/p.png", "GET"),
                         ("/missing", "GET"), ("/", "POST"), ("/", "HEAD")]:
        call_wsgi(mw, fake_environ(path, method))
    client.flush(5)
    hits = [i["body"] for i in standin.items("hit")]
    assert [(h["url"], h["tags"]) for h in hits] == [
        ("http://internal:8080/", {"section": "home"}), ("http://internal:8080/blog/x", {"section": "blog"})]
    assert hits[0]["ip"] == "203.0.113.9" and hits[0]["user_agent"] == UA
    assert mw.queued == 2 and mw.errors == 0
    assert seen[0].status == 200 and seen[0].content_type == "text/html" and seen[0].method == "GET"

    # Other rules: any method, any content type, only 404s.
    mw404 = pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client, methods=None, statuses={404}, content_types=None)
    for path, method in [("/", "GET"), ("/missing", "POST"), ("/missing", "GET")]:
        call_wsgi(mw404, fake_environ(path, method))
    assert mw404.queued == 2

    # Errors never reach the app: they are counted (and logged).
    def broken(page):
        raise RuntimeError("predicate bug")

    for mw_err in [pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client, predicate=broken),
                   pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client, tags={"": "empty key"})]:
        status, body = call_wsgi(mw_err, fake_environ("/"))
        assert status == "200 OK" and body.startswith(b"<h1>")
        assert mw_err.errors == 1 and mw_err.queued == 0
    no_peer = pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client)
    assert call_wsgi(no_peer, fake_environ("/", REMOTE_ADDR=""))[0] == "200 OK" and no_peer.errors == 1

    client.close()  # a closed client: counted, the app still answers
    assert call_wsgi(mw, fake_environ("/"))[0] == "200 OK" and mw.errors == 1


def test_py_asgi_middleware_without_server(standin, make_client):
    client = make_client(flush_interval_ms=10)

    async def app(scope, receive, send):
        ctype = b"image/png" if scope["path"].endswith(".png") else b"text/html"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", ctype)]})
        await send({"type": "http.response.body", "body": b"x"})

    mw = pirsch.asgi.PirschMiddleware(app, client, tags={"via": "asgi"})

    async def run(path, method="GET", kind="http"):
        sent = []

        async def receive():
            return {"type": "http.request"}

        async def send(m):
            sent.append(m)

        scope = {"type": kind, "method": method, "scheme": "http", "path": path, "query_string": b"",
                 "headers": [(b"host", b"example.com"), (b"user-agent", UA.encode())], "client": ("198.51.100.4", 5000)}
        await mw(scope, receive, send)
        return sent

    async def main():
        for path, method in [("/a", "GET"), ("/b.png", "GET"), ("/a", "POST")]:
            sent = await run(path, method)
            assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]

    asyncio.run(main())
    client.flush(5)
    (hit,) = [i["body"] for i in standin.items("hit")]
    assert hit.pop("time")  # queued items carry their time
    assert hit == {"url": "http://example.com/a", "ip": "198.51.100.4", "user_agent": UA, "tags": {"via": "asgi"}}


# --- a real WSGI server --------------------------------------------------------------

def test_py_wsgi_server_counts_html_gets(standin, make_client):
    client = make_client(flush_interval_ms=10)
    mw = pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client)
    with wsgi_server(mw) as base:
        headers = {"Accept-Language": "de-DE", "Referer": "https://news.example/", "Cookie": "id=never-sent",
                   "Sec-CH-UA-Platform": '"Linux"'}
        assert fetch(base + "/page?x=1", headers=headers)[0] == 200
        assert fetch(base + "/caf%C3%A9/a%20b")[0] == 200
        assert fetch(base + "/logo.png")[0] == 200
        assert fetch(base + "/missing")[0] == 404
        assert fetch(base + "/form", method="POST", data=b"a=1")[0] == 200
        client.flush(5)
    hits = [i["body"] for i in standin.items("hit")]
    assert [h["url"] for h in hits] == [base + "/page?x=1", base + "/caf%C3%A9/a%20b"]
    assert hits[0].pop("time")
    assert hits[0] == {"url": base + "/page?x=1", "ip": "127.0.0.1", "user_agent": UA, "accept_language": "de-DE",
                       "sec_ch_ua_platform": '"Linux"', "referrer": "https://news.example/"}
    assert mw.queued == 2 and mw.errors == 0


@pytest.mark.parametrize("trusted,expected_ip", [("127.0.0.1", "198.51.100.7"), ("10.0.0.0/8", "127.0.0.1")],
                         ids=["trusted-peer", "untrusted-peer"])
def test_py_wsgi_behind_proxy(standin, make_client, trusted, expected_ip):
    client = make_client(trusted_proxies=trusted, flush_interval_ms=10)
    with wsgi_server(pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client)) as base:
        assert fetch(base + "/proxied", headers={"X-Forwarded-For": "198.51.100.7"})[0] == 200
        client.flush(5)
    (hit,) = [i["body"] for i in standin.items("hit")]
    assert hit["ip"] == expected_ip and "x_forwarded_for" not in hit


@pytest.mark.parametrize("fault", [{"status": 503, "include_token": True}, {"delay_ms": 5000, "include_token": True}],
                         ids=["api-503", "api-stalled-5s"])
def test_py_failing_api_never_breaks_or_slows_the_app(standin, make_client, fault):
    standin.post("/_standin/faults", fault)
    client = make_client(flush_interval_ms=10, shutdown_timeout_ms=100, timeout_ms=1000)
    mw = pirsch.wsgi.PirschMiddleware(demo_wsgi_app, client)
    with wsgi_server(mw) as base:
        results = [fetch(f"{base}/p{i}") for i in range(30)]
    assert all(status == 200 for status, _ in results)
    slowest = max(t for _, t in results)
    assert slowest < 1.0, f"a response took {slowest:.3f}s (the API is failing)"
    assert mw.queued == 30 and mw.errors == 0
    st = client.stats()
    assert st.enqueued == 30 and st.sent == 0
    start = time.monotonic()
    client.close()  # bounded by shutdown_timeout_ms
    assert time.monotonic() - start < 2


# --- a real ASGI server ----------------------------------------------------------------

ASGI_APP = '''
import os
import pirsch
from pirsch.asgi import PirschMiddleware


async def app(scope, receive, send):
    if scope["type"] == "lifespan" and os.environ.get("APP_LIFESPAN") == "none":
        raise ValueError("only http here, as Django says")
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    path = scope["path"]
    status, ctype = (404, b"text/html") if path == "/missing" else (200, b"image/png" if path.endswith(".png") else b"text/html; charset=utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", ctype)]})
    await send({"type": "http.response.body", "body": b"<h1>hello</h1>"})


# Nothing leaves before shutdown unless flushed: the lifespan flush is what delivers.
client = pirsch.Client.from_env(trusted_proxies="127.0.0.1", flush_interval_ms=60000)
application = PirschMiddleware(app, client, tags={"via": "uvicorn"})
'''


def bound_socket():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s, f"http://127.0.0.1:{s.getsockname()[1]}"


def wait_until_up(base, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()}")
        try:
            fetch(base + "/ready.png")
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not come up")


def server_env(standin):
    return dict(os.environ, PYTHONPATH=PIRSCH_PY_SRC, PIRSCH_LIBRARY=LIBRARY, PIRSCH_BASE_URL=standin.url,
                PIRSCH_CLIENT_ID="standin-client", PIRSCH_CLIENT_SECRET="standin-secret")


@pytest.mark.parametrize("lifespan", ["app", "none"], ids=["app-speaks-lifespan", "app-without-lifespan"])
def test_py_asgi_uvicorn(standin, tmp_path, lifespan):
    pytest.importorskip("uvicorn")
    (tmp_path / "asgi_app.py").write_text(ASGI_APP)
    sock, base = bound_socket()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgi_app:application", "--fd", str(sock.fileno()),
         "--no-proxy-headers", "--log-level", "warning", "--no-access-log"],
        cwd=str(tmp_path), env=dict(server_env(standin), APP_LIFESPAN=lifespan), pass_fds=[sock.fileno()],
        stderr=subprocess.PIPE, text=True)
    sock.close()
    try:
        wait_until_up(base, proc)
        results = [
            fetch(base + "/page?q=1", headers={"X-Forwarded-For": "198.51.100.8", "Accept-Language": "nl"}),
            fetch(base + "/other"),
            fetch(base + "/logo.png"),
            fetch(base + "/missing"),
            fetch(base + "/page", method="POST", data=b"x"),
        ]
        assert [s for s, _ in results] == [200, 200, 200, 404, 200]
        assert max(t for _, t in results) < 1.0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    # uvicorn ends by raising the signal again (no atexit): the middleware flushed the queue
    # at lifespan shutdown.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err, err
    hits = [i["body"] for i in standin.items("hit")]
    assert [h["url"] for h in hits] == [base + "/page?q=1", base + "/other"]
    assert hits[0]["ip"] == "198.51.100.8" and hits[1]["ip"] == "127.0.0.1"
    assert hits[0]["accept_language"] == "nl" and hits[0]["user_agent"] == UA and hits[0]["tags"] == {"via": "uvicorn"}

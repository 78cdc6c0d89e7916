"""gunicorn --preload with 2 workers: the client is created in the master before fork(), each
worker sends through its own queue, and every page view arrives exactly once after a stop."""
import concurrent.futures
import json
import signal
import subprocess
import sys
import urllib.request

import pytest

from test_py_middleware import bound_socket, fetch, server_env, wait_until_up

WSGI_APP = '''
import json
import os
import time

import pirsch
from pirsch.wsgi import PirschMiddleware

# Created once in the master (--preload), inherited by every worker. Nothing is sent before
# the workers exit unless the exit delivers it.
client = pirsch.Client.from_env(flush_interval_ms=60000, batch_size=1000)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/_stats":
        st = client.stats()
        body = json.dumps({"pid": os.getpid(), "forks_detected": st.forks_detected, "enqueued": st.enqueued}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if environ["PATH_INFO"].endswith(".png"):
        start_response("200 OK", [("Content-Type", "image/png")])
        return [b"png"]
    time.sleep(0.02)  # busy for a moment: concurrent requests reach both workers
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<h1>hello</h1>"]


application = PirschMiddleware(app, client, tags=lambda page: {"worker": str(os.getpid())})
'''


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGQUIT], ids=["SIGTERM", "SIGQUIT"])
def test_py_gunicorn_preload_every_page_view_once(standin, tmp_path, stop):
    pytest.importorskip("gunicorn")
    (tmp_path / "wsgi_app.py").write_text(WSGI_APP)
    sock, base = bound_socket()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--bind", f"fd://{sock.fileno()}",
         "--log-level", "warning", "--graceful-timeout", "10", "wsgi_app:application"],
        cwd=str(tmp_path), env=server_env(standin), pass_fds=[sock.fileno()], stderr=subprocess.PIPE, text=True)
    sock.close()
    try:
        wait_until_up(base, proc)
        urls = [f"{base}/page/{i}?n={i}" for i in range(40)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert [status for status, _ in pool.map(fetch, urls)] == [200] * 40
        with urllib.request.urlopen(base + "/_stats", timeout=10) as r:
            stats = json.load(r)
        assert stats["forks_detected"] == 1 and stats["pid"] != proc.pid
    finally:
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    got = sorted(i["body"]["url"] for i in standin.items("hit"))
    assert got == sorted(urls), "each page view exactly once"
    workers = {i["body"]["tags"]["worker"] for i in standin.items("hit")}
    assert len(workers) == 2 and str(proc.pid) not in workers, "both workers served and delivered"

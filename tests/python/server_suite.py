"""What the nginx and the Apache module's suites share (bindings/nginx/tests,
bindings/apache/tests): a browser's request headers, the stand-in as a fixture, waiting, and
the second half of the spool test (the API comes back and the server delivers the spool)."""
import time
import urllib.request

import pytest

from standin import Standin

BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Accept-Language": "de-DE,de;q=0.9",
    "Referer": "https://search.example/?q=pirsch",
    "Sec-CH-UA": '"Chromium";v="131", "Not_A Brand";v="24"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"Linux"',
    "Cookie": "session=must-never-be-sent",
}


@pytest.fixture
def api():
    s = Standin()
    yield s
    s.stop()


def hits(api):
    return [i["body"] for i in api.items("hit")]


def wait_for(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def spool_delivered_after_outage(api, spool, n, error_log, start_again, pokes):
    """The server that took page views ?n=0..n-1 during an outage has stopped, with
    `error_log` its log: each exiting process spooled what it could not send, nothing
    arrived. The API comes back, `start_again()` starts the server once more, and `pokes`
    page views start its processes' senders: exactly the n arrive, once each, with the times
    they were counted at, and the spool is empty. Returns the second server (stopped)."""
    counted_before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    assert "spooled=" in error_log and list(spool.glob("*.spool")), error_log[-2000:]
    assert hits(api) == []
    time.sleep(1.1)
    urllib.request.urlopen(urllib.request.Request(api.url + "/_standin/faults", method="DELETE")).read()
    server = start_again()
    try:
        # A process delivers the spool once its sender runs (after its first page view).
        for i in range(pokes):
            server.request(f"/page.html?after={i}")
        assert wait_for(lambda: len([h for h in hits(api) if "n=" in h["url"]]) >= n, 20)
        time.sleep(0.5)
    finally:
        server.stop()
    got = [h for h in hits(api) if "n=" in h["url"]]
    ns = [int(h["url"].rsplit("n=", 1)[1]) for h in got]
    assert sorted(ns) == list(range(n)), f"{len(ns)} arrived, {len(set(ns))} distinct"
    assert all(h["time"][:19] <= counted_before for h in got), "original times"
    assert not list(spool.glob("*.spool"))
    return server

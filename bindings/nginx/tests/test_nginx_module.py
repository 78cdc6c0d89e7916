"""ngx_http_pirsch_module in a real nginx (2 workers) in front of the stand-in."""
import os
import shutil
import signal
import time

import pytest

from nginx_env import MODULE, NGINX, Nginx
from server_suite import BROWSER, api, hits, spool_delivered_after_outage, wait_for  # noqa: F401 (api: a fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(MODULE) or not shutil.which(NGINX),
                                reason="run `make nginx-module` (needs nginx and nginx-dev)")

def assert_clean_log(ng):
    log = ng.error_log()
    assert "[alert]" not in log and "[emerg]" not in log and "[crit]" not in log, log[-3000:]


def test_counts_exactly_the_page_views_with_every_field(api):
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 50; pirsch_trusted_proxies 127.0.0.2;"
               " pirsch_tag site static-tag; pirsch_tag path $uri; pirsch_tag empty $http_x_none;").start()
    try:
        assert ng.request("/page.html?utm_source=news&x=1", headers=BROWSER)[0] == 200
        assert ng.request("/", headers=BROWSER)[0] == 200               # index.html
        assert ng.request("/img.png", headers=BROWSER)[0] == 200        # not HTML
        assert ng.request("/app.js", headers=BROWSER)[0] == 200         # not HTML
        assert ng.request("/missing.html", headers=BROWSER)[0] == 404   # not 2xx
        assert ng.request("/form", method="POST", body="a=1", headers=BROWSER)[0] == 200  # not GET
        assert ng.request("/page.html", method="HEAD", headers=BROWSER)[0] == 200         # not GET
        # Behind a trusted proxy (127.0.0.2): X-Forwarded-For is believed...
        assert ng.request("/page.html?via=proxy", headers={**BROWSER, "X-Forwarded-For": "198.51.100.7, 127.0.0.2"}, source="127.0.0.2")[0] == 200
        # ... from anyone else it is forged, and ignored.
        assert ng.request("/page.html?via=forged", headers={**BROWSER, "X-Forwarded-For": "198.51.100.66"})[0] == 200
        assert wait_for(lambda: len(hits(api)) >= 4)
        time.sleep(0.3)
        got = {h["url"]: h for h in hits(api)}
        assert sorted(got) == sorted([
            "http://example.test/page.html?utm_source=news&x=1",
            "http://example.test/",
            "http://example.test/page.html?via=proxy",
            "http://example.test/page.html?via=forged",
        ])
        h = got["http://example.test/page.html?utm_source=news&x=1"]
        assert h["ip"] == "127.0.0.1"
        assert h["user_agent"] == BROWSER["User-Agent"]
        assert h["accept_language"] == "de-DE,de;q=0.9"
        assert h["referrer"] == "https://search.example/?q=pirsch"
        assert h["sec_ch_ua"] == BROWSER["Sec-CH-UA"] and h["sec_ch_ua_mobile"] == "?0" and h["sec_ch_ua_platform"] == '"Linux"'
        assert h["tags"] == {"site": "static-tag", "path": "/page.html"}, "an empty variable leaves its tag out"
        assert "time" in h and "must-never-be-sent" not in str(got)
        assert got["http://example.test/page.html?via=proxy"]["ip"] == "198.51.100.7"
        assert got["http://example.test/page.html?via=forged"]["ip"] == "127.0.0.1"
        assert all(i["batch"] for i in api.items("hit")), "queued path: batch endpoint"
    finally:
        ng.stop()
    assert_clean_log(ng)
    assert "pirsch: worker" in ng.error_log() and "exiting: enqueued=" in ng.error_log()


def test_what_counts_is_configurable(api):
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 50;", server_extra="""
        location = /anything { pirsch_methods GET POST; pirsch_status 2xx 404; pirsch_content_types *; default_type text/plain; return 200 "x"; }
        location = /gone { pirsch_status 404; default_type text/html; return 404 "<p>gone</p>"; }
        location = /quiet { pirsch off; default_type text/html; return 200 "<p>quiet</p>"; }
    """).start()
    try:
        ng.request("/anything", method="POST", body="x")
        ng.request("/gone")
        ng.request("/quiet")
        assert wait_for(lambda: len(hits(api)) >= 2)
        time.sleep(0.3)
        assert sorted(h["url"] for h in hits(api)) == ["http://example.test/anything", "http://example.test/gone"]
    finally:
        ng.stop()
    assert_clean_log(ng)


@pytest.mark.parametrize("extra, batches", [("", 1), ("pirsch_batch_size 100;", 5)])
def test_a_busy_server_sends_batches_of_500_unless_told_otherwise(api, extra, batches):
    # A long flush interval: only full batches go before the exit.
    ng = Nginx(api.url, workers=1, http_extra="pirsch_flush_interval_ms 60000; " + extra).start()
    try:
        for i in range(500):
            assert ng.request(f"/page.html?n={i}")[0] == 200
        assert wait_for(lambda: len(hits(api)) == 500), f"{len(hits(api))} of 500 arrived"
        assert api.counters()["by_path"].get("/api/v1/hit/batch") == batches, api.counters()
    finally:
        ng.stop()
    assert_clean_log(ng)


@pytest.mark.parametrize("how", ["reload-then-quit", "term"])
def test_reload_and_stop_lose_nothing(api, how):
    # A long flush interval: what arrives was delivered by the workers' exit path.
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 60000;").start()
    try:
        for i in range(40):
            assert ng.request(f"/page.html?n={i}")[0] == 200
        if how == "reload-then-quit":
            old = ng.workers()
            ng.send(signal.SIGHUP)
            assert wait_for(lambda: set(ng.workers()).isdisjoint(old) and len(ng.workers()) == 2, 10)
            for i in range(40, 80):
                assert ng.request(f"/page.html?n={i}")[0] == 200
            ng.stop(signal.SIGQUIT)
            expected = 80
        else:
            ng.stop(signal.SIGTERM)
            expected = 40
    finally:
        ng.stop()
    urls = [h["url"] for h in hits(api)]
    assert len(urls) == expected and len(set(urls)) == expected, f"{len(urls)} arrived, {len(set(urls))} distinct"
    assert_clean_log(ng)


def test_with_a_spool_reloads_and_restarts_during_an_outage_lose_nothing(api, tmp_path):
    """The API is down: nginx (2 workers) takes 500 page views, reloads, takes 500 more and
    stops; each old worker writes what it could not send to the spool. The API comes back,
    nginx starts again, and the new workers deliver exactly the 1,000, once each, in order
    per worker, with the times they were counted at."""
    spool = tmp_path / "spool"
    spool.mkdir()
    spool.chmod(0o777)
    api.post("/_standin/faults", {"path_prefix": "/api/v1/hit/batch", "status": 503})
    extra = (f"pirsch_spool_dir {spool}; pirsch_spool_sync interval; "
             "pirsch_flush_interval_ms 100; pirsch_shutdown_timeout_ms 200;")
    ng = Nginx(api.url, http_extra=extra).start()
    try:
        for i in range(500):
            assert ng.request(f"/page.html?n={i}")[0] == 200
        old = ng.workers()
        ng.send(signal.SIGHUP)
        assert wait_for(lambda: set(ng.workers()).isdisjoint(old) and len(ng.workers()) == 2, 10)
        for i in range(500, 1000):
            assert ng.request(f"/page.html?n={i}")[0] == 200
        ng.stop(signal.SIGQUIT)
    finally:
        ng.stop()
    second = spool_delivered_after_outage(api, spool, 1000, ng.error_log(),
                                          lambda: Nginx(api.url, http_extra=extra).start(), pokes=4)
    assert_clean_log(second)


@pytest.mark.parametrize("fault", [{"delay_ms": 5000}, {"status": 503}])
def test_a_stalled_or_failing_api_never_slows_a_response(api, fault):
    api.post("/_standin/faults", {"path_prefix": "/api/v1/", **fault})
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 10;").start()
    try:
        times = sorted(ng.request(f"/page.html?n={i}", headers=BROWSER)[1] for i in range(300))
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
        # A response that waited on the API would take its timeout (1 s and more); 0.5 s
        # leaves room for a loaded machine.
        assert p99 < 0.5, f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    finally:
        t = time.time()
        ng.stop(signal.SIGTERM)
        took = time.time() - t
    # The default shutdown budget (700 ms) fits before nginx's master SIGKILLs a lingering
    # worker (about 1.55 s): no "signal 9" below. The time has slack for a loaded machine.
    assert took < 2.5, f"stop took {took:.2f} s"
    assert "exited on signal 9" not in ng.error_log()
    assert "undelivered=" in ng.error_log()
    assert_clean_log(ng)


@pytest.mark.parametrize("http_extra, needle", [
    ("", None),
    ("pirsch_access_key_file /nonexistent/key;", "is duplicate"),  # the default config has one
    ("pirsch_base_url http://127.0.0.1:1;", "is duplicate"),
    ("pirsch_flush_interval_ms 50; pirsch_flush_interval_ms 60;", "is duplicate"),
    ("pirsch_tag a b; pirsch_tag a c;", "is duplicate"),
    ("pirsch_batch_size 0;", "batch_size"),
    ("pirsch_base_url http://analytics.example.com;", "plain http"),  # replaces the stand-in's (see below)
    ("pirsch_trusted_proxies 10.0.0.0/40;", "trusted_proxies"),
    ("pirsch_client_ip_header x-client-ip;", "client_ip_header"),
    ("pirsch_log_level loud;", "log_level"),
    ("pirsch_status 700;", "not a status"),
    ("pirsch_methods get;", "not an HTTP method"),
])
def test_misconfiguration_is_refused_at_nginx_t(api, http_extra, needle):
    base_url = None
    if http_extra.startswith("pirsch_base_url http://analytics"):
        base_url, http_extra = http_extra.split()[1].rstrip(";"), ""
    ng = Nginx(api.url, http_extra=http_extra, base_url=base_url)
    r = ng.test_config()
    if needle is None:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode != 0 and needle in r.stderr, r.stderr


def test_pirsch_on_without_credentials_is_refused(api):
    ng = Nginx(api.url, credentials="")
    r = ng.test_config()
    assert r.returncode != 0 and "needs credentials" in r.stderr, r.stderr
    r = Nginx(api.url, credentials="pirsch_access_key_file /nonexistent/key;").test_config()
    assert r.returncode != 0 and "cannot open the secret file" in r.stderr, r.stderr
    r = Nginx(api.url, credentials="pirsch_client_id standin-client; pirsch_client_secret standin-secret;").test_config()
    assert r.returncode == 0, r.stderr


def test_only_the_header_the_trusted_proxy_writes_is_read(api):
    # The common nginx proxy setup: it sets X-Real-IP; a visitor's own X-Forwarded-For,
    # Forwarded or CF-Connecting-IP must not win.
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 50; pirsch_trusted_proxies 127.0.0.2;"
               " pirsch_client_ip_header x-real-ip;").start()
    forged = {"X-Forwarded-For": "6.6.6.6", "Forwarded": "for=6.6.6.7", "CF-Connecting-IP": "6.6.6.8"}
    try:
        ng.request("/page.html?via=proxy", headers={**forged, "X-Real-IP": "198.51.100.10"}, source="127.0.0.2")
        ng.request("/page.html?via=proxy-no-header", headers=forged, source="127.0.0.2")
        ng.request("/page.html?via=visitor", headers={**forged, "X-Real-IP": "6.6.6.9"})
        assert wait_for(lambda: len(hits(api)) >= 3)
        time.sleep(0.2)
        got = {h["url"]: h["ip"] for h in hits(api)}
        assert got == {"http://example.test/page.html?via=proxy": "198.51.100.10",
                       "http://example.test/page.html?via=proxy-no-header": "127.0.0.2",
                       "http://example.test/page.html?via=visitor": "127.0.0.1"}
    finally:
        ng.stop()
    assert_clean_log(ng)


def test_the_address_the_realip_module_decided_is_used(api):
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 50; set_real_ip_from 127.0.0.2; real_ip_header X-Forwarded-For;").start()
    try:
        ng.request("/page.html?realip=trusted", headers={"X-Forwarded-For": "198.51.100.9"}, source="127.0.0.2")
        ng.request("/page.html?realip=forged", headers={"X-Forwarded-For": "198.51.100.9"})
        assert wait_for(lambda: len(hits(api)) >= 2)
        got = {h["url"]: h["ip"] for h in hits(api)}
        assert got == {"http://example.test/page.html?realip=trusted": "198.51.100.9",
                       "http://example.test/page.html?realip=forged": "127.0.0.1"}
    finally:
        ng.stop()
    assert_clean_log(ng)


def test_the_shared_page_view_table(api):
    """tests/python/pageview_table.py: the same requests counted as by the Apache module."""
    import pageview_table
    ng = Nginx(api.url, http_extra="pirsch_flush_interval_ms 50;").start()
    try:
        expected, got = pageview_table.run(ng, lambda: [h["url"] for h in hits(api)], wait_for)
    finally:
        ng.stop()
    assert got == expected
    assert_clean_log(ng)

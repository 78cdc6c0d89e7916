#!/usr/bin/env python3
"""examples/cpp/server (cpp-httplib + pirsch.hpp) end to end: real HTTP requests in, page
views out at the stand-in, with the URL, address and headers each visitor sent.

  server_test.py SERVER_BINARY STANDIN_URL

Starts the server (as built: scripts/test-cpp.sh builds it with AddressSanitizer), trusting
127.0.0.1 as a proxy; sends page views (one with every header the library reads, one behind
the proxy with a cookie, a favicon that must not count, and 40 at once from 8 threads); stops
it with SIGTERM; then asserts its exit status, that it printed nothing to stderr (no
sanitizer report, no pirsch error), its counters, and every page view the stand-in received.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def fail(msg):
    sys.exit(f"server_test: FAIL: {msg}")


def get(port, target, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", target, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200 or b"Hello from C++" not in body:
        fail(f"GET {target}: {resp.status} {body[:200]!r}")


def main():
    server_bin, standin = sys.argv[1], sys.argv[2].rstrip("/")
    urllib.request.urlopen(urllib.request.Request(standin + "/_standin/reset", method="POST"), timeout=10).read()

    env = dict(os.environ, PIRSCH_BASE_URL=standin, PIRSCH_CLIENT_SECRET="pa_standin_key",
               PIRSCH_TRUSTED_PROXIES="127.0.0.1")
    env.pop("PIRSCH_CLIENT_ID", None)
    proc = subprocess.Popen([server_bin], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr_lines = []
    threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True).start()
    line = proc.stdout.readline()
    if not line.startswith("listening on http://127.0.0.1:"):
        proc.kill()
        fail(f"the server did not start: {line!r} {''.join(stderr_lines)}")
    port = int(line.rsplit(":", 1)[1])

    expected = {}  # url -> fields the page view must carry
    ua_all = "Mozilla/5.0 (X11; Linux x86_64) server-test"
    get(port, "/pricing?plan=pro", {
        "Host": "shop.example", "User-Agent": ua_all, "Accept-Language": "de-DE,de;q=0.9",
        "Referer": "https://ref.example/", "Sec-CH-UA": '"Chromium";v="130"', "Sec-CH-UA-Mobile": "?0",
        "Sec-CH-UA-Platform": '"Linux"'})
    expected["http://shop.example/pricing?plan=pro"] = {
        "ip": "127.0.0.1", "user_agent": ua_all, "accept_language": "de-DE,de;q=0.9",
        "referrer": "https://ref.example/", "sec_ch_ua": '"Chromium";v="130"', "sec_ch_ua_mobile": "?0",
        "sec_ch_ua_platform": '"Linux"'}
    # Behind the (trusted) proxy: the visitor's address from X-Forwarded-For; the referrer
    # from ?utm_source=; the cookie never leaves the server.
    get(port, "/blog/post?utm_source=newsletter", {
        "Host": "blog.example", "User-Agent": "behind-proxy", "X-Forwarded-For": "203.0.113.9",
        "Cookie": "session=do-not-send"})
    expected["http://blog.example/blog/post?utm_source=newsletter"] = {
        "ip": "203.0.113.9", "user_agent": "behind-proxy", "referrer": "newsletter"}
    get(port, "/favicon.ico", {"Host": "shop.example", "User-Agent": ua_all})  # not counted

    def one(i):
        get(port, f"/c/{i}?n={i}", {"Host": "load.example", "User-Agent": f"load-{i}"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(40)))
    for i in range(40):
        expected[f"http://load.example/c/{i}?n={i}"] = {"ip": "127.0.0.1", "user_agent": f"load-{i}"}

    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the server did not stop within 60 s of SIGTERM")
    time.sleep(0.1)
    err = "".join(stderr_lines)
    if proc.returncode != 0:
        fail(f"the server exited with {proc.returncode}: {err}")
    if err.strip():
        fail(f"the server wrote to stderr (a sanitizer report or a pirsch error):\n{err}")
    want_line = f"stopped: enqueued={len(expected)} sent={len(expected)} dropped=0"
    if want_line not in out:
        fail(f"expected {want_line!r} from the server, got {out!r}")

    with urllib.request.urlopen(standin + "/_standin/received?kind=hit", timeout=10) as r:
        items = json.load(r)["items"]
    got = {}
    for it in items:
        body = it["body"]
        if body["url"] in got:
            fail(f"{body['url']} arrived twice")
        got[body["url"]] = it
    if set(got) != set(expected):
        fail(f"page views: missing {sorted(set(expected) - set(got))}, unexpected {sorted(set(got) - set(expected))}")
    for url, fields in expected.items():
        it = got[url]
        if not it["batch"] or it["auth"] != "access_key" or "time" not in it["body"]:
            fail(f"{url} did not come through the queue: {it}")
        for k, v in fields.items():
            if it["body"].get(k) != v:
                fail(f"{url}: {k} is {it['body'].get(k)!r}, want {v!r}")
        if "do-not-send" in json.dumps(it["body"]) or "favicon" in url:
            fail(f"{url}: {it['body']}")
    print(f"server_test: {len(expected)} GET page views counted from the cpp-httplib handler arrived once each, "
          f"through the queue, with their url, ip and user agent (every header the library reads on one, "
          f"X-Forwarded-For behind a trusted proxy, a referrer from ?utm_source=, no cookie, no favicon); "
          f"{want_line.split(': ', 1)[1]}; exit 0, nothing on stderr")


if __name__ == "__main__":
    main()

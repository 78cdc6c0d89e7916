#!/usr/bin/env python3
"""Smoke test of pirsch-standin: starts the binary, exercises the API and the
control API, stops it. Usage: smoke.py [path/to/pirsch-standin]. Exits non-zero
on the first failure; prints 'N passed, 0 failed' at the end."""
import datetime, http.client, json, os, socket, subprocess, sys, tempfile, time, urllib.parse

BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "target", "release", "pirsch-standin")
passed = 0


def check(cond, what):
    global passed
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    passed += 1


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def req(self, method, path, body=None, token=None, raw=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        text = r.read()
        js = json.loads(text) if text else None
        return r.status, js, r


def main():
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "port")
    p = subprocess.Popen([BIN, "--port-file", pf, "--quiet", "--client", "c2:s2", "--access-key", "k2"],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    check(line.startswith("pirsch-standin listening on http://127.0.0.1:"), "listening line: " + line)
    port = int(line.rsplit(":", 1)[1])
    for _ in range(100):
        if os.path.exists(pf):
            break
        time.sleep(0.01)
    check(open(pf).read() == f"{port}\n", "port file")
    c = Client(port)
    try:
        run(c, port)
        check(p.wait(timeout=5) == 0, "exit 0 after shutdown")
    finally:
        if p.poll() is None:
            p.kill()
    print(f"{passed} passed, 0 failed")


def token(c, cid="standin-client", sec="standin-secret"):
    s, js, _ = c.req("POST", "/api/v1/token", {"client_id": cid, "client_secret": sec})
    check(s == 200, f"token status {s} {js}")
    return js


HIT = {"url": "https://example.com/a?x=1", "ip": "10.0.0.1", "user_agent": "UA1"}


def run(c, port):
    # token flow
    s, js, _ = c.req("POST", "/api/v1/token", {"client_id": "standin-client", "client_secret": "nope"})
    check(s == 401 and js == {"error": ["client ID or secret is invalid"]}, f"bad secret {s} {js}")
    s, js, _ = c.req("POST", "/api/v1/token", {})
    check(s == 401, "missing credentials")
    t = token(c)
    tok = t["access_token"]
    exp = datetime.datetime.strptime(t["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    check(3590 < (exp - now).total_seconds() <= 3601, "expires_at ~ now+3600")
    check(token(c, "c2", "s2")["access_token"] != tok, "second client")

    # auth
    s, js, _ = c.req("POST", "/api/v1/hit", HIT)
    check(s == 401 and js == {"error": ["unauthorized"]}, "no auth")
    s, js, _ = c.req("POST", "/api/v1/hit", HIT, token="bogus")
    check(s == 401, "unknown token")
    s, js, r = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 200 and js is None and r.getheader("Content-Length") == "0", "hit ok")
    s, js, _ = c.req("POST", "/api/v1/hit", HIT, token="pa_standin_key")
    check(s == 200, "hit with access key")
    s, js, _ = c.req("POST", "/api/v1/hit", HIT, token="k2")
    check(s == 200, "hit with extra access key")
    s, js, _ = c.req("GET", "/api/v1/domain", token="pa_standin_key")
    check(s == 403 and js == {"error": ["access keys can only be used to send data"]}, "access key on domain")
    s, js, _ = c.req("GET", "/api/v1/domain", token=tok)
    check(s == 200 and js[0]["id"] == "standin-domain-1" and js[0]["public"] is False, "domain")

    # hit validation
    def bad(path, body, key, tokn=tok):
        s, js, _ = c.req("POST", path, body, token=tokn)
        check(s == 400 and key in (js or {}).get("validation", {}), f"{path} {body} -> {s} {js}, want {key}")
        return js["validation"][key]
    check(bad("/api/v1/hit", {"ip": "1.2.3.4"}, "url") == "url is required", "url required")
    bad("/api/v1/hit", {"url": "", "ip": "1.2.3.4"}, "url")
    bad("/api/v1/hit", {"url": "ftp://x", "ip": "1.2.3.4"}, "url")
    bad("/api/v1/hit", {"url": "https://x"}, "ip")
    check(bad("/api/v1/hit", dict(HIT, foo=1), "foo") == "unknown field", "unknown field")
    bad("/api/v1/hit", dict(HIT, screen_width="1"), "screen_width")
    bad("/api/v1/hit", dict(HIT, screen_width=1.5), "screen_width")
    bad("/api/v1/hit", dict(HIT, title=3), "title")
    bad("/api/v1/hit", dict(HIT, disable_bot_filter="yes"), "disable_bot_filter")
    bad("/api/v1/hit", dict(HIT, tags={"a": 1}), "tags")
    bad("/api/v1/hit", dict(HIT, time="2026-11-26T14:15:32Z"), "time")
    full = dict(HIT, accept_language="de", sec_ch_ua="x", sec_ch_ua_mobile="?0", sec_ch_ua_platform="L",
                sec_ch_ua_platform_version="1", sec_ch_width="1", sec_ch_viewport_width="1", title="T",
                referrer="R", cf_connecting_ip="1", x_forwarded_for="2", forwarded="3", x_real_ip="4",
                screen_width=1920, screen_height=1080, disable_bot_filter=True, tags={"a": "b"})
    s, _, _ = c.req("POST", "/api/v1/hit", full, token=tok)
    check(s == 200, "full hit")
    s, js, _ = c.req("POST", "/api/v1/hit", raw=b"{not json", token=tok)
    check(s == 400 and "error" in js, "invalid json")
    s, js, _ = c.req("POST", "/api/v1/hit", [HIT], token=tok)
    check(s == 400, "array to single")

    # events & sessions
    ev = dict(HIT, event_name="signup", event_duration=3, event_meta={"plan": "pro"}, non_interactive=True)
    s, _, _ = c.req("POST", "/api/v1/event", ev, token=tok)
    check(s == 200, "event")
    bad("/api/v1/event", dict(ev, event_name=""), "event_name")
    bad("/api/v1/event", dict(ev, event_duration=-1), "event_duration")
    bad("/api/v1/event", dict(ev, event_meta={"a": ["b"]}), "event_meta")
    bad("/api/v1/event", dict(ev, non_interactive=1), "non_interactive")
    sess = {"ip": "1.2.3.4", "user_agent": "UA", "sec_ch_ua": "x", "disable_bot_filter": False, "url": "https://e.com/"}
    s, _, _ = c.req("POST", "/api/v1/session", sess, token=tok)
    check(s == 200, "session")
    bad("/api/v1/session", {"user_agent": "x"}, "ip")
    bad("/api/v1/session", dict(sess, title="x"), "title")

    # batches
    now = datetime.datetime.now(datetime.timezone.utc)
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.123Z")
    batch = [dict(HIT, time=ts) for _ in range(5)]
    s, _, _ = c.req("POST", "/api/v1/hit/batch", batch, token=tok)
    check(s == 200, "hit batch")
    b2 = [dict(b) for b in batch]
    del b2[3]["url"]
    check(bad("/api/v1/hit/batch", b2, "3.url") == "url is required", "batch item url")
    b3 = [dict(b) for b in batch]
    b3[2]["time"] = "2026-13-01T00:00:00Z"
    bad("/api/v1/hit/batch", b3, "2.time")
    b3[2]["time"] = "2026-11-26T14:15:32"
    bad("/api/v1/hit/batch", b3, "2.time")
    del b3[2]["time"]
    bad("/api/v1/hit/batch", b3, "2.time")
    b3[2] = "x"
    bad("/api/v1/hit/batch", b3, "2")
    b4 = [dict(b, time="2026-11-26T14:15:32+01:00") for b in batch]
    s, _, _ = c.req("POST", "/api/v1/hit/batch", b4, token=tok)
    check(s == 200, "offset time")
    s, js, _ = c.req("POST", "/api/v1/hit/batch", [], token=tok)
    check(s == 400 and "error" in js, "empty batch")
    s, js, _ = c.req("POST", "/api/v1/hit/batch", HIT, token=tok)
    check(s == 400, "object to batch")
    s, _, _ = c.req("POST", "/api/v1/event/batch", [dict(ev, time=ts)], token=tok)
    check(s == 200, "event batch")
    s, _, _ = c.req("POST", "/api/v1/session/batch", [dict(sess, time=ts)], token="pa_standin_key")
    check(s == 200, "session batch with access key")
    big = [dict(HIT, time=ts, title="x" * 1000) for _ in range(1100)]
    s, js, _ = c.req("POST", "/api/v1/hit/batch", big, token=tok)
    check(s == 413, f"too large {s}")
    s, _, _ = c.req("GET", "/_standin/health")
    check(s == 200, "connection still usable after 413")

    # routing
    s, js, _ = c.req("GET", "/api/v1/nothing", token=tok)
    check(s == 404 and js == {"error": ["not found"]}, "404")
    s, js, r = c.req("GET", "/api/v1/hit", token=tok)
    check(s == 405 and r.getheader("Allow") == "POST", "405")

    # received
    s, js, _ = c.req("GET", "/_standin/received")
    items = js["items"]
    kinds = [(i["kind"], i["batch"], i["auth"]) for i in items]
    check(kinds[:3] == [("hit", False, "token"), ("hit", False, "access_key"), ("hit", False, "access_key")], str(kinds[:3]))
    check(items[0]["body"] == HIT, "body kept as received")
    check(len([k for k in kinds if k[0] == "hit"]) == 4 + 10, "hit count")
    check(items[6]["batch"] and items[6]["body"]["time"] == ts, "time kept")
    s, js, _ = c.req("GET", "/_standin/received?kind=session")
    check([(i["batch"], i["auth"]) for i in js["items"]] == [(False, "token"), (True, "access_key")], "kind filter")

    # counters
    s, js, _ = c.req("GET", "/_standin/counters")
    check(js["items"] == {"hit": 14, "event": 2, "session": 2}, f"items {js['items']}")
    check(js["token_requests"] == 4 and js["by_status"]["401"] >= 4 and js["by_status"]["413"] == 1, f"counters {js}")
    check(js["by_path"]["/api/v1/hit/batch"] >= 8 and js["connections"] >= 1, "by_path")

    # statistics
    today = now.strftime("%Y-%m-%d")
    q = f"?id=standin-domain-1&from={today}&to={today}"
    s, js, _ = c.req("GET", "/api/v1/statistics/total" + q, token=tok)
    views = 9 + (5 if today == "2026-11-26" else 0)
    # (On 2026-11-26 the batch sent with that date may be a session of its own.)
    sessions = 1 if today != "2026-11-26" else js.get("sessions")
    check(s == 200 and js == {"visitors": 1, "views": views, "sessions": sessions, "bounces": 0, "bounce_rate": 0,
                              "cr": 0, "custom_metric_avg": 0, "custom_metric_total": 0}, f"total {js}")
    s, js, _ = c.req("GET", "/api/v1/statistics/visitor?id=x&from=2026-11-25&to=2026-11-27", token=tok)
    check(s == 200 and [d["day"] for d in js] == ["2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"], f"visitor {js}")
    check(js[1]["views"] >= 5, "offset batch counted on 2026-11-26 UTC")
    s, js, _ = c.req("GET", "/api/v1/statistics/page" + q, token=tok)
    check(s == 200 and js[0]["path"] == "/a", f"page {js}")
    s, js, _ = c.req("GET", "/api/v1/statistics/visitor?from=x", token=tok)
    check(s == 400 and set(js["validation"]) == {"id", "from", "to"}, f"stat validation {js}")
    s, js, _ = c.req("GET", "/api/v1/statistics/visitor?id=x&from=2020-01-01&to=2026-01-01", token=tok)
    check(s == 200 and len(js) == 366, "cap 366")
    s, js, _ = c.req("GET", "/api/v1/statistics/total" + q, token="pa_standin_key")
    check(s == 403, "access key on stats")

    statistics(c, tok)

    # reset, config, tokens
    s, js, _ = c.req("POST", "/_standin/reset")
    check(s == 200, "reset")
    s, js, _ = c.req("GET", "/_standin/received")
    check(js == {"items": []}, "reset clears")
    s, js, _ = c.req("GET", "/_standin/counters")
    check(js["requests"] == 0 and js["items"]["hit"] == 0, "reset counters")
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 200, "token survives reset")
    s, js, _ = c.req("POST", "/_standin/expire_tokens")
    check(s == 200, "expire")
    s, js, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 401 and js == {"error": ["unauthorized"]}, "expired token")
    s, js, _ = c.req("POST", "/_standin/config", {"token_ttl_s": 1})
    check(s == 200 and js["token_ttl_s"] == 1, "config ttl")
    t = token(c)
    exp = datetime.datetime.strptime(t["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    check((exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() <= 1.01, "ttl 1 expires_at")
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=t["access_token"])
    check(s == 200, "fresh short token")
    time.sleep(1.1)
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=t["access_token"])
    check(s == 401, "short token expired")
    c.req("POST", "/_standin/config", {"token_ttl_s": 3600})
    tok = token(c)["access_token"]
    s, js, _ = c.req("POST", "/_standin/config", {"record": False})
    check(js == {"token_ttl_s": 3600, "record": False}, "record off")
    c.req("POST", "/_standin/reset")
    c.req("POST", "/api/v1/hit", HIT, token=tok)
    s, js, _ = c.req("GET", "/_standin/received")
    s2, js2, _ = c.req("GET", "/_standin/counters")
    check(js["items"] == [] and js2["items"]["hit"] == 1, "record off keeps nothing but counts")
    c.req("POST", "/_standin/config", {"record": True})
    s, js, _ = c.req("POST", "/_standin/config", {"bogus": 1})
    check(s == 400, "config unknown")

    # faults: status + count + retry_after
    c.req("POST", "/_standin/reset")
    s, js, _ = c.req("POST", "/_standin/faults", {"path_prefix": "/api/v1/hit", "status": 503, "retry_after": "1", "count": 2})
    check(s == 200 and js["rules"] == 1, "add fault")
    for i in range(2):
        s, js, r = c.req("POST", "/api/v1/hit", HIT, token=tok)
        check(s == 503 and r.getheader("Retry-After") == "1" and "error" in js, f"fault {i}")
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 200, "fault count exhausted")
    s, js, _ = c.req("GET", "/_standin/faults")
    check(js == {"rules": []}, "rule removed")
    s, js, _ = c.req("GET", "/_standin/counters")
    check(js["by_status"] == {"503": 2, "200": 1} and js["items"]["hit"] == 1 and js["rejected_requests"] == 2, f"fault counters {js}")
    # token endpoint is not faulted by default, is with include_token
    c.req("POST", "/_standin/faults", {"status": 500})
    s, _, _ = c.req("POST", "/api/v1/token", {"client_id": "standin-client", "client_secret": "standin-secret"})
    check(s == 200, "token not faulted by default")
    s, _, _ = c.req("POST", "/api/v1/event", ev, token=tok)
    check(s == 500, "default prefix faults event")
    s, js, _ = c.req("GET", "/_standin/faults")
    check([r["fired"] for r in js["rules"]] == [1], f"fired counts the requests a rule applied to {js}")
    c.req("DELETE", "/_standin/faults")
    c.req("POST", "/_standin/faults", {"status": 500, "include_token": True, "count": 1, "body": {"error": ["custom"]}})
    s, js, _ = c.req("POST", "/api/v1/token", {"client_id": "standin-client", "client_secret": "standin-secret"})
    check(s == 500 and js == {"error": ["custom"]}, "token faulted with include_token, custom body")
    # delay
    c.req("POST", "/_standin/faults", {"delay_ms": 300, "count": 1})
    t0 = time.time()
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 200 and time.time() - t0 >= 0.29, "delay then normal")
    c.req("POST", "/_standin/faults", {"delay_ms": 200, "status": 502, "count": 1})
    t0 = time.time()
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 502 and time.time() - t0 >= 0.19, "delay then status")
    # close
    c.req("POST", "/_standin/faults", {"close": True, "count": 1})
    try:
        c.req("POST", "/api/v1/hit", HIT, token=tok)
        check(False, "close should fail")
    except (http.client.HTTPException, ConnectionError) as e:
        check(True, "closed")
    c = Client(port)
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 200, "after close")
    s, js, _ = c.req("GET", "/_standin/counters")
    check(js["closed_by_fault"] == 1, "closed counted")
    # probability: deterministic
    def prob_run():
        c.req("DELETE", "/_standin/faults")
        c.req("POST", "/_standin/faults", {"status": 503, "probability": 0.3, "seed": 7})
        return [c.req("POST", "/api/v1/hit", HIT, token=tok)[0] for _ in range(100)]
    a, b = prob_run(), prob_run()
    check(a == b and 15 <= a.count(503) <= 45, f"probability {a.count(503)}")
    c.req("DELETE", "/_standin/faults")
    # duration
    c.req("POST", "/_standin/faults", {"status": 503, "duration_ms": 300})
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 503, "duration active")
    time.sleep(0.35)
    s, _, _ = c.req("POST", "/api/v1/hit", HIT, token=tok)
    check(s == 200, "duration expired")
    # reject_url_contains
    c.req("POST", "/_standin/reset")
    s, js, _ = c.req("POST", "/_standin/faults", [{"reject_url_contains": "/bad"}])
    check(s == 200, "add reject")
    bb = [dict(HIT, time=ts) for _ in range(5)]
    bb[3]["url"] = "https://example.com/bad/x"
    s, js, _ = c.req("POST", "/api/v1/hit/batch", bb, token=tok)
    check(s == 400 and js == {"validation": {"3.url": "url refused by stand-in fault"}}, f"reject batch {js}")
    s, js, _ = c.req("POST", "/api/v1/hit", dict(HIT, url="https://example.com/bad"), token=tok)
    check(s == 400 and js == {"validation": {"url": "url refused by stand-in fault"}}, f"reject single {js}")
    s, _, _ = c.req("POST", "/api/v1/hit/batch", bb[:3], token=tok)
    check(s == 200, "clean batch ok")
    s, js, _ = c.req("GET", "/_standin/received")
    check(len(js["items"]) == 3, "nothing of refused batch kept")
    # drain=true returns what is kept and forgets it (by kind with kind=)
    c.req("POST", "/api/v1/session", {"ip": "1.2.3.4"}, token=tok)
    s, js, _ = c.req("GET", "/_standin/received?kind=hit&drain=true")
    check(s == 200 and len(js["items"]) == 3, "drain hits")
    s, js, _ = c.req("GET", "/_standin/received")
    check([i["kind"] for i in js["items"]] == ["session"], f"drain kept the others {js}")
    s, js, _ = c.req("GET", "/_standin/received?drain=1")
    check(len(js["items"]) == 1, "drain all")
    s, js, _ = c.req("GET", "/_standin/received")
    check(js["items"] == [], "nothing left after drain")
    s, js, _ = c.req("POST", "/_standin/faults", {"status": 503, "reject_url_contains": "x"})
    check(s == 400, "reject+status refused")
    s, js, _ = c.req("POST", "/_standin/faults", {"stauts": 503})
    check(s == 400 and "stauts" in js["validation"], "fault typo")
    c.req("DELETE", "/_standin/faults")

    # chunked request body, HTTP/1.0, Connection: close
    sk = socket.create_connection(("127.0.0.1", port))
    body = json.dumps(HIT).encode()
    req = (b"POST /api/v1/hit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() +
           b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
           b"%x\r\n" % 10 + body[:10] + b"\r\n" + b"%x;ext=1\r\n" % (len(body) - 10) + body[10:] + b"\r\n0\r\n\r\n")
    sk.sendall(req)
    resp = b""
    while True:
        d = sk.recv(65536)
        if not d:
            break
        resp += d
    check(resp.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in resp, f"chunked {resp!r}")
    sk = socket.create_connection(("127.0.0.1", port))
    sk.sendall(b"GET /_standin/health HTTP/1.0\r\n\r\n")
    resp = b""
    while True:
        d = sk.recv(65536)
        if not d:
            break
        resp += d
    check(resp.endswith(b'{"ok":true}'), "http/1.0")
    # pipelining
    sk = socket.create_connection(("127.0.0.1", port))
    sk.sendall(b"GET /_standin/health HTTP/1.1\r\n\r\nGET /_standin/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    resp = b""
    while True:
        d = sk.recv(65536)
        if not d:
            break
        resp += d
    check(resp.count(b"200 OK") == 2, "pipelining")
    sk = socket.create_connection(("127.0.0.1", port))
    sk.sendall(b"garbage\r\n\r\n")
    check(sk.recv(65536).startswith(b"HTTP/1.1 400"), "malformed")

    # shutdown
    s, js, _ = c.req("POST", "/_standin/shutdown")
    check(s == 200, "shutdown")
    return


CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
DAY = "2026-03-10"


def statistics(c, tok):
    """Figures computed from page views and events sent over HTTP (after a reset)."""
    s, _, _ = c.req("POST", "/_standin/reset")
    check(s == 200, "reset before statistics")

    def get(ep, expect=200, **params):
        q = {"id": "standin-domain-1", "from": DAY, "to": DAY}
        q.update(params)
        s, js, _ = c.req("GET", f"/api/v1/statistics/{ep}?" + urllib.parse.urlencode(q, doseq=True), token=tok)
        check(s == expect, f"{ep} {params}: status {s} {js}")
        return js

    def at(hms):
        return f"{DAY}T{hms}Z"
    # Two visitors view /a; the first (Chrome) also /b a minute later, from a Google search
    # with utm_source=x and a tag; the second (Firefox) views only /a: a bounce.
    hits = [
        {"url": "https://example.com/a", "ip": "10.1.0.1", "user_agent": CHROME, "time": at("10:00:00"),
         "accept_language": "de-DE,de;q=0.9", "screen_width": 1920, "title": "A"},
        {"url": "https://example.com/a", "ip": "10.1.0.2", "user_agent": FIREFOX, "time": at("10:00:05")},
        {"url": "https://example.com/b?utm_source=x", "ip": "10.1.0.1", "user_agent": CHROME,
         "time": at("10:01:00"), "referrer": "https://www.google.com/", "tags": {"author": "Ann"}},
    ]
    s, _, _ = c.req("POST", "/api/v1/hit/batch", hits, token=tok)
    check(s == 200, "statistics hits")
    events = [
        {"url": "https://example.com/a", "ip": "10.1.0.1", "user_agent": CHROME, "time": at("10:00:30"),
         "event_name": "signup", "event_duration": 5, "event_meta": {"plan": "pro"}},
        {"url": "https://example.com/a", "ip": "10.1.0.2", "user_agent": FIREFOX, "time": at("10:00:40"),
         "event_name": "download"},
    ]
    s, _, _ = c.req("POST", "/api/v1/event/batch", events, token=tok)
    check(s == 200, "statistics events")

    js = get("total")
    check(js["visitors"] == 2 and js["views"] == 3, f"total visitors 2 views 3: {js}")
    check(js["sessions"] == 2 and js["bounces"] == 1 and js["bounce_rate"] == 0.5, f"total sessions, bounces: {js}")
    js = get("page")
    check([(r["path"], r["views"], r["visitors"]) for r in js] == [("/a", 2, 2), ("/b", 1, 1)], f"pages {js}")
    check(js[0]["title"] == "A" and js[0]["relative_views"] == 0.6667, f"page title, relative views {js}")
    check(get("total", path="/b")["views"] == 1, "path=/b: one view")
    check(get("total", path=["/a", "/b"])["views"] == 3, "path=/a&path=/b: either")
    s, js, _ = c.req("GET", f"/api/v1/statistics/total?id=x&from={DAY}&to={DAY}&path=%2Fb&utm_source=x", token=tok)
    check(s == 200 and js["views"] == 1, f"percent-encoded filter {js}")
    check(get("total", pattern="/*")["views"] == 3 and get("total", pattern="/b*")["views"] == 1, "pattern as a glob")
    # The query the Go SDK sends when nothing optional is set.
    go = ("&scale=&tz=&platform=&custom_metric_key=&custom_metric_type=&offset=0&limit=0&sort=&direction="
          "&search=&include_avg_time_on_page=false")
    s, js, _ = c.req("GET", f"/api/v1/statistics/page?id=x&from={DAY}&to={DAY}" + go, token=tok)
    check(s == 200 and len(js) == 2, f"empty SDK parameters are ignored {js}")
    check([r["path"] for r in get("page", limit=1)] == ["/a"], "limit")
    check([r["path"] for r in get("page", sort="path", direction="desc")] == ["/b", "/a"], "sort, direction")
    check([r["path"] for r in get("page", search="B")] == ["/b"], "search")
    js = get("page", sort="nope", expect=400)
    check("sort" in js["validation"], f"unknown sort field {js}")

    js = get("visitor", scale="week")
    check(len(js) == 1 and js[0]["week"] == "2026-03-09T00:00:00Z" and js[0]["day"] is None and js[0]["visitors"] == 2,
          f"visitor by week {js}")
    js = get("visitor", scale="hour", expect=400)
    check(list(js["validation"]) == ["scale"], f"scale refused {js}")
    js = get("hours")
    check(len(js) == 24 and js[10]["visitors"] == 2 and js[10]["views"] == 3 and js[9]["views"] == 0, f"hours {js[9:11]}")
    js = get("page/entry")
    check([(r["path"], r["entries"]) for r in js] == [("/a", 2)] and js[0]["entry_rate"] == 1, f"entry pages {js}")
    js = get("page/exit")
    check(sorted((r["path"], r["exits"]) for r in js) == [("/a", 1), ("/b", 1)], f"exit pages {js}")
    check(get("total", entry_path="/a", exit_path="/b")["visitors"] == 1, "entry_path, exit_path")
    js = get("duration/session")
    check(js[0]["average_time_spent_seconds"] == (60 + 35) // 2, f"session duration (events count) {js}")
    js = get("page", include_avg_time_on_page="true")
    check(js[0]["average_time_spent_seconds"] == 60, f"time on page {js}")

    js = get("utm/source")
    check(js == [{"visitors": 1, "relative_visitors": 0.5, "utm_source": "x"}], f"utm_source {js}")
    check(get("total", utm_source="x")["visitors"] == 1, "utm_source filter")
    js = get("referrer")
    check([(r["referrer"], r["referrer_name"], r["visitors"]) for r in js] == [("https://www.google.com/", "www.google.com", 1)],
          f"referrer {js}")
    check(get("language") == [{"visitors": 1, "relative_visitors": 0.5, "language": "de"}], "language")
    js = get("browser")
    check([(r["browser"], r["visitors"]) for r in js] == [("Chrome", 1), ("Firefox", 1)], f"browser {js}")
    js = get("browser/version", browser="chrome")
    check([(r["browser"], r["browser_version"]) for r in js] == [("Chrome", "120")], f"browser version {js}")
    js = get("os/version")
    check([(r["os"], r["os_version"]) for r in js] == [("Linux", ""), ("Windows", "10")], f"os version {js}")
    js = get("platform")
    check(js["platform_desktop"] == 2 and js["platform_mobile"] == 0 and js["relative_platform_desktop"] == 1, f"platform {js}")
    check(get("screen") == [{"visitors": 1, "relative_visitors": 0.5, "screen_class": "XL"}], "screen")

    js = get("events")
    check([(r["name"], r["count"], r["visitors"]) for r in js] == [("download", 1, 1), ("signup", 1, 1)], f"events {js}")
    check(js[1]["meta_keys"] == ["plan"] and js[1]["average_duration_seconds"] == 5 and js[1]["cr"] == 0.5,
          f"event details {js[1]}")
    check([r["name"] for r in get("events", event="signup")] == ["signup"], "events by name")
    js = get("event/meta", event="signup", event_meta_key="plan")
    check([(r["meta_value"], r["count"]) for r in js] == [("pro", 1)], f"event meta {js}")
    js = get("event/list", meta_plan="pro")
    check(js == [{"name": "signup", "meta": {"plan": "pro"}, "visitors": 1, "count": 1}], f"event list {js}")
    js = get("event/page", event="download")
    check([(r["path"], r["views"]) for r in js] == [("/a", 1)], f"event pages {js}")
    js = get("total", event="signup")
    check(js["visitors"] == 1 and js["views"] == 2 and js["cr"] == 0.5, f"total of the sessions with signup {js}")

    check(get("tags") == [{"key": "author", "value": "", "visitors": 1, "views": 1, "relative_visitors": 0.5,
                           "relative_views": 0.3333}], "tag keys")
    js = get("tag/details", tag="author")
    check([(r["key"], r["value"], r["views"]) for r in js] == [("author", "Ann", 1)], f"tag details {js}")
    check(get("total", tag_author="Ann")["views"] == 1 and get("total", tag_author="Bob")["views"] == 0, "tag_ filter")

    js = get("growth")
    check(js["visitors_growth"] == 1 and js["views_growth"] == 1 and js["cr_growth"] == 0, f"growth from nothing {js}")
    for ep in ["goals", "keywords", "country", "region", "city"]:
        check(get(ep) == [], f"{ep} is empty")
    check(get("total", country="de")["visitors"] == 0, "nothing is located")
    js = get("funnel", expect=400)
    check(list(js["validation"]) == ["funnel_id"], f"funnel needs funnel_id {js}")
    js = get("funnel", expect=404, funnel_id="f1")
    check(js == {"error": ["funnel not found"]}, f"no funnels {js}")
    s, js, _ = c.req("GET", "/api/v1/funnel?id=standin-domain-1", token=tok)
    check(s == 200 and js == [], f"funnel list {js}")
    s, js, _ = c.req("GET", f"/api/v1/statistics/events?id=x&from={DAY}&to={DAY}", token="pa_standin_key")
    check(s == 403, "access key on events")
    s, js, _ = c.req("POST", "/api/v1/statistics/events", token=tok)
    check(s == 405, "statistics are GET")

    # Active visitors: items that arrive now (no time of their own).
    s, _, _ = c.req("POST", "/api/v1/hit", {"url": "https://example.com/live", "ip": "10.1.0.3", "title": "Live"}, token=tok)
    check(s == 200, "live hit")
    s, js, _ = c.req("GET", "/api/v1/statistics/active?id=standin-domain-1&start=600", token=tok)
    check(s == 200 and js == {"stats": [{"path": "/live", "title": "Live", "visitors": 1}], "countries": [], "visitors": 1},
          f"active {js}")
    s, js, _ = c.req("GET", "/api/v1/statistics/active?id=x&start=ten", token=tok)
    check(s == 400 and "start" in js["validation"], f"active start {js}")

    # drain=true with kind=event forgets the events, not the page views.
    c.req("GET", "/_standin/received?kind=event&drain=true")
    check(get("events") == [] and get("total")["views"] == 3, "drained events")
    s, _, _ = c.req("POST", "/_standin/reset")
    check(get("total")["views"] == 0, "reset forgets the statistics")


if __name__ == "__main__":
    main()

"""Sends a page view, an event and a session keep-alive with libpirsch through ctypes.

    PIRSCH_CLIENT_SECRET=pa_... python3 pageview.py
    PIRSCH_CLIENT_ID=... PIRSCH_CLIENT_SECRET=... PIRSCH_BASE_URL=http://127.0.0.1:PORT python3 pageview.py

The library is found through PIRSCH_LIBRARY (a path to libpirsch.so), else the system's.
"""
import ctypes
import ctypes.util
import os
import sys

c_str = ctypes.c_char_p


class KV(ctypes.Structure):
    _fields_ = [("key", c_str), ("value", c_str)]


class HitOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t)] + [
        (name, c_str)
        for name in (
            "url ip user_agent accept_language sec_ch_ua sec_ch_ua_mobile sec_ch_ua_platform "
            "sec_ch_ua_platform_version sec_ch_width sec_ch_viewport_width title referrer "
            "cf_connecting_ip x_forwarded_for forwarded x_real_ip"
        ).split()
    ] + [
        ("screen_width", ctypes.c_int32),
        ("screen_height", ctypes.c_int32),
        ("disable_bot_filter", ctypes.c_bool),
        ("tags", ctypes.POINTER(KV)),
        ("tags_len", ctypes.c_size_t),
    ]


class EventOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", c_str),
        ("duration_seconds", ctypes.c_uint32),
        ("meta", ctypes.POINTER(KV)),
        ("meta_len", ctypes.c_size_t),
        ("non_interactive", ctypes.c_bool),
    ]


def load():
    path = os.environ.get("PIRSCH_LIBRARY") or ctypes.util.find_library("pirsch")
    if not path:
        sys.exit("libpirsch not found: set PIRSCH_LIBRARY=/path/to/libpirsch.so or install it (make install)")
    lib = ctypes.CDLL(path)
    lib.pirsch_version.restype = c_str
    lib.pirsch_strerror.restype = c_str
    lib.pirsch_last_error.restype = c_str
    lib.pirsch_config_new.restype = ctypes.c_void_p
    lib.pirsch_config_set.argtypes = [ctypes.c_void_p, c_str, c_str]
    lib.pirsch_config_free.argtypes = [ctypes.c_void_p]
    lib.pirsch_client_new.restype = ctypes.c_void_p
    lib.pirsch_client_new.argtypes = [c_str, c_str, ctypes.c_void_p]
    lib.pirsch_free.argtypes = [ctypes.c_void_p]
    lib.pirsch_hit.argtypes = [ctypes.c_void_p, ctypes.POINTER(HitOptions)]
    lib.pirsch_event.argtypes = [ctypes.c_void_p, ctypes.POINTER(EventOptions), ctypes.POINTER(HitOptions)]
    lib.pirsch_session.argtypes = [ctypes.c_void_p, ctypes.POINTER(HitOptions)]
    lib.pirsch_hit_options_from_headers.argtypes = [ctypes.POINTER(HitOptions), c_str, c_str, ctypes.POINTER(KV), ctypes.c_size_t]
    lib.pirsch_request.argtypes = [ctypes.c_void_p, c_str, c_str, c_str, ctypes.POINTER(ctypes.c_void_p)]
    lib.pirsch_string_free.argtypes = [ctypes.c_void_p]
    return lib


def request(lib, client, path):
    """GET an API path; returns the body as text, or raises with the library's message."""
    out = ctypes.c_void_p()
    rc = lib.pirsch_request(client, b"GET", path.encode(), None, ctypes.byref(out))
    if rc != 0:
        raise RuntimeError(f"{path}: {lib.pirsch_strerror(rc).decode()}: {lib.pirsch_last_error().decode()}")
    try:
        return ctypes.string_at(out.value).decode()
    finally:
        lib.pirsch_string_free(out)


def kv_array(d):
    arr = (KV * len(d))(*[KV(k.encode(), v.encode()) for k, v in d.items()])
    return arr, len(d)


def main():
    lib = load()
    secret = os.environ.get("PIRSCH_CLIENT_SECRET")
    if not secret:
        sys.exit("set PIRSCH_CLIENT_SECRET (an access key pa_..., or a client secret with PIRSCH_CLIENT_ID)")
    print("libpirsch", lib.pirsch_version().decode())

    cfg = lib.pirsch_config_new()
    # Our reverse proxies: their X-Forwarded-For is believed, anyone else's ignored.
    lib.pirsch_config_set(cfg, b"trusted_proxies", b"10.0.0.0/8, 127.0.0.1")
    if os.environ.get("PIRSCH_BASE_URL"):
        if lib.pirsch_config_set(cfg, b"base_url", os.environ["PIRSCH_BASE_URL"].encode()) != 0:
            sys.exit("base_url: " + lib.pirsch_last_error().decode())
    client = lib.pirsch_client_new(os.environ.get("PIRSCH_CLIENT_ID", "").encode(), secret.encode(), cfg)
    lib.pirsch_config_free(cfg)
    if not client:
        sys.exit("pirsch_client_new: " + lib.pirsch_last_error().decode())

    tags, tags_len = kv_array({"author": "bob", "lang": "python"})
    hit = HitOptions(
        struct_size=ctypes.sizeof(HitOptions),
        url=os.environ.get("PIRSCH_EXAMPLE_URL", "https://example.com/from-python").encode(),
        ip=b"203.0.113.20",
        user_agent=b"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
        accept_language=b"de-DE,de;q=0.9",
        sec_ch_ua=b'"Chromium";v="131"',
        sec_ch_ua_mobile=b"?0",
        sec_ch_ua_platform=b'"macOS"',
        sec_ch_ua_platform_version=b'"14.0.0"',
        sec_ch_width=b"2560",
        sec_ch_viewport_width=b"1440",
        title=b"Hello from Python",
        referrer=b"https://news.example/",
        screen_width=2560,
        screen_height=1440,
        tags=tags,
        tags_len=tags_len,
    )
    failed = False

    def check(what, rc):
        nonlocal failed
        if rc != 0:
            failed = True
            print(f"{what} failed: {lib.pirsch_strerror(rc).decode()}: {lib.pirsch_last_error().decode()}", file=sys.stderr)
        else:
            print(f"{what}: ok")

    check("page view", lib.pirsch_hit(client, ctypes.byref(hit)))
    meta, meta_len = kv_array({"plan": "team"})
    ev = EventOptions(struct_size=ctypes.sizeof(EventOptions), name=b"download", duration_seconds=7, meta=meta, meta_len=meta_len)
    check("event", lib.pirsch_event(client, ctypes.byref(ev), ctypes.byref(hit)))
    check("session keep-alive", lib.pirsch_session(client, ctypes.byref(hit)))

    # Behind a reverse proxy: the options come straight from the request's raw headers.
    headers, n = kv_array({
        "User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36",
        "Accept-Language": "es-ES",
        "X-Forwarded-For": "198.51.100.23, 10.0.0.2",
        "Cookie": "session=never-sent",
    })
    proxied = HitOptions(struct_size=ctypes.sizeof(HitOptions))
    proxied_url = os.environ.get("PIRSCH_EXAMPLE_PROXIED_URL", "https://example.com/behind-proxy?ref=newsletter").encode()
    check("options from headers", lib.pirsch_hit_options_from_headers(ctypes.byref(proxied), proxied_url, b"10.0.0.2", headers, n))
    check("page view behind a proxy", lib.pirsch_hit(client, ctypes.byref(proxied)))

    # Reading statistics needs an OAuth client (access keys can only write).
    if os.environ.get("PIRSCH_CLIENT_ID"):
        import datetime
        import json

        try:
            domains = json.loads(request(lib, client, "/api/v1/domain"))
            today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
            visitors = request(lib, client, f"/api/v1/statistics/visitor?id={domains[0]['id']}&from={today}&to={today}")
            print(f"domain {domains[0]['hostname']}: visitors today {visitors}")
        except RuntimeError as e:
            failed = True
            print(e, file=sys.stderr)

    lib.pirsch_free(client)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

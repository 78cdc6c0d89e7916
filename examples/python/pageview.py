"""Sends a page view, an event and a session keep-alive with the pirsch package.

    PIRSCH_CLIENT_SECRET=pa_... python3 pageview.py
    PIRSCH_CLIENT_ID=... PIRSCH_CLIENT_SECRET=... PIRSCH_BASE_URL=http://127.0.0.1:PORT python3 pageview.py

The package: `pip install ./bindings/python` (else it is taken from this repository). The
library is found through PIRSCH_LIBRARY (a path to libpirsch.so), else the system's.
"""
import datetime
import json
import os
import sys

try:
    import pirsch
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python", "src"))
    import pirsch


def main():
    if not os.environ.get("PIRSCH_CLIENT_SECRET"):
        sys.exit("set PIRSCH_CLIENT_SECRET (an access key pa_..., or a client secret with PIRSCH_CLIENT_ID)")
    try:
        print("libpirsch", pirsch.library_version())
    except pirsch.LibraryError as e:
        sys.exit(str(e))
    # Our reverse proxies: their X-Forwarded-For is believed, anyone else's ignored.
    client = pirsch.Client.from_env(trusted_proxies=["10.0.0.0/8", "127.0.0.1"])
    failed = False

    def check(what, send, *args, **kwargs):
        nonlocal failed
        try:
            send(*args, **kwargs)
            print(f"{what}: ok")
        except pirsch.PirschError as e:
            failed = True
            print(f"{what} failed: {type(e).__name__}: {e}", file=sys.stderr)

    visitor = dict(
        url=os.environ.get("PIRSCH_EXAMPLE_URL", "https://example.com/from-python"),
        ip="203.0.113.20",
        user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
        accept_language="de-DE,de;q=0.9",
        sec_ch_ua='"Chromium";v="131"',
        sec_ch_ua_mobile="?0",
        sec_ch_ua_platform='"macOS"',
        sec_ch_ua_platform_version='"14.0.0"',
        sec_ch_width="2560",
        sec_ch_viewport_width="1440",
        title="Hello from Python",
        referrer="https://news.example/",
        screen_width=2560,
        screen_height=1440,
    )
    with client:
        check("page view", client.hit, **visitor, tags={"author": "bob", "lang": "python"})
        check("event", client.event, "download", duration_seconds=7, meta={"plan": "team"}, **visitor)
        check("session keep-alive", client.session, **visitor)

        # Behind a reverse proxy: the fields come straight from the request's raw headers.
        check(
            "page view behind a proxy",
            client.hit,
            url=os.environ.get("PIRSCH_EXAMPLE_PROXIED_URL", "https://example.com/behind-proxy?ref=newsletter"),
            ip="10.0.0.2",
            headers={
                "User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36",
                "Accept-Language": "es-ES",
                "X-Forwarded-For": "198.51.100.23, 10.0.0.2",
                "Cookie": "session=never-sent",
            },
        )

        # Reading statistics needs an OAuth client (access keys can only write).
        if os.environ.get("PIRSCH_CLIENT_ID"):
            try:
                domain = client.request("/api/v1/domain")[0]
                today = datetime.datetime.now(datetime.timezone.utc).date()
                visitors = client.request("/api/v1/statistics/visitor", id=domain["id"], from_=today, to=today)
                print(f"domain {domain['hostname']}: visitors today {json.dumps(visitors)}")
            except pirsch.PirschError as e:
                failed = True
                print(f"statistics failed: {type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

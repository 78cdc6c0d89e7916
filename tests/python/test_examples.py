"""The three examples (C, Python ctypes, PHP FFI) send every field they set, and it arrives."""
import os
import shutil
import subprocess

import pytest

from standin import LIBRARY, ROOT

EXAMPLES = os.path.join(ROOT, "examples")


def env_for(standin, **extra):
    env = dict(os.environ)
    env.update(
        PIRSCH_BASE_URL=standin.url,
        PIRSCH_CLIENT_ID="standin-client",
        PIRSCH_CLIENT_SECRET="standin-secret",
        PIRSCH_LIBRARY=LIBRARY,
        PIRSCH_HEADER=os.path.join(ROOT, "include", "pirsch.h"),
    )
    env.update(extra)
    return env


def c_example():
    subprocess.run(["make", "-s", "-C", os.path.join(EXAMPLES, "c"), "PIRSCH_ROOT=../..", "pageview"], check=True)
    return [os.path.join(EXAMPLES, "c", "pageview")]


def commands():
    return {
        "c": c_example,
        "python": lambda: ["python3", os.path.join(EXAMPLES, "python", "pageview.py")],
        "php": lambda: ["php", os.path.join(EXAMPLES, "php", "pageview.php")],
    }


HIT_STRINGS = [
    "url", "ip", "user_agent", "accept_language", "sec_ch_ua", "sec_ch_ua_mobile", "sec_ch_ua_platform",
    "sec_ch_ua_platform_version", "sec_ch_width", "sec_ch_viewport_width", "title", "referrer",
]


@pytest.mark.parametrize("lang", ["c", "python", "php"])
def test_example_sends_page_view_event_and_session(standin, lang):
    if lang == "php" and not shutil.which("php"):
        pytest.fail("php is not installed: run `make deps`")
    cmd = commands()[lang]()
    url = f"https://example.com/example-{lang}"
    out = subprocess.run(cmd, env=env_for(standin, PIRSCH_EXAMPLE_URL=url), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "page view: ok" in out.stdout

    hits = [i["body"] for i in standin.items("hit")]
    assert len(hits) == 2
    hit = hits[0]
    for field in HIT_STRINGS:
        assert isinstance(hit.get(field), str) and hit[field], f"{lang}: {field} missing in {hit}"
    assert hit["url"] == url
    assert isinstance(hit["screen_width"], int) and hit["screen_width"] > 0
    assert isinstance(hit["screen_height"], int) and hit["screen_height"] > 0
    assert hit["tags"]["lang"] == lang
    assert "time" not in hit, "blocking calls go to the single endpoints"

    events = [i["body"] for i in standin.items("event")]
    assert len(events) == 1 and events[0]["event_name"] and events[0]["event_duration"] > 0
    assert events[0]["url"] == url and len(events[0]["event_meta"]) == 1
    sessions = [i["body"] for i in standin.items("session")]
    assert len(sessions) == 1 and sessions[0]["ip"] == hit["ip"] and "url" not in sessions[0]
    assert standin.counters()["token_requests"] == 1

    # The page view behind a trusted proxy: the visitor's address from X-Forwarded-For, the
    # referrer from ?ref=, the headers as sent, and never the cookie.
    proxied = hits[1]
    assert proxied["url"] == "https://example.com/behind-proxy?ref=newsletter"
    assert proxied["ip"] == "198.51.100.23"
    assert proxied["referrer"] == "newsletter"
    assert proxied["user_agent"].startswith("Mozilla/5.0") and proxied["accept_language"]
    assert "never-sent" not in str(proxied)
    # An OAuth client also read the domain list and today's visitors.
    assert "visitors today" in out.stdout and '"views":2' in out.stdout.replace(" ", ""), out.stdout

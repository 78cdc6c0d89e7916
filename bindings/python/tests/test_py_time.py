"""The time of page views, events and sessions (pirsch_hit_options.time), against the real
library and the stand-in."""
import datetime
import time

import pytest

import pirsch
from pirsch import Filter, errors

UTC = datetime.timezone.utc


# --- time -----------------------------------------------------------------------------------

def _z(dt):
    """How libpirsch sends a time: UTC, milliseconds, Z."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def test_py_time_arrives_as_given(standin, make_client):
    client = make_client(flush_interval_ms=10)
    now = datetime.datetime.now(UTC).replace(microsecond=123000)
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    aware = (now - datetime.timedelta(minutes=10)).astimezone(plus2)
    naive = (now - datetime.timedelta(minutes=20)).replace(tzinfo=None)  # taken as UTC
    ms = now - datetime.timedelta(minutes=30)
    text = now - datetime.timedelta(minutes=40)
    visitor = dict(ip="198.51.100.7", user_agent="Mozilla/5.0 time")
    client.hit(url="https://example.com/aware", time=aware, wait=False, **visitor)
    client.hit(url="https://example.com/naive", time=naive, wait=False, **visitor)
    client.event("ms", url="https://example.com/ms", time=int(ms.timestamp() * 1000), wait=False, **visitor)
    client.session(time=text.isoformat(), wait=False, **visitor)
    client.hit(url="https://example.com/now", wait=False, **visitor)
    client.flush(5)
    # Blocking with a time: the batch endpoint, a batch of one.
    client.hit(url="https://example.com/blocking", time=aware, **visitor)

    items = standin.items()
    times = {(i["body"].get("url") or i["kind"]): i["body"].get("time") for i in items}
    assert times["https://example.com/aware"] == _z(aware)
    assert times["https://example.com/naive"] == _z(naive.replace(tzinfo=UTC))
    assert times["https://example.com/ms"] == _z(ms)
    assert times["session"] == _z(text)
    now_sent = datetime.datetime.fromisoformat(times["https://example.com/now"].replace("Z", "+00:00"))
    assert abs((now_sent - datetime.datetime.now(UTC)).total_seconds()) < 60
    blocking = [i for i in items if i["body"].get("url") == "https://example.com/blocking"]
    assert blocking[0]["batch"] is True and blocking[0]["body"]["time"] == _z(aware)

    # A page view counts on the day of its time.
    past = datetime.datetime.now(UTC) - datetime.timedelta(days=3)
    old = make_client(max_item_age_ms=7 * 86400 * 1000)
    old.hit(url="https://example.com/imported", ip="198.51.100.8", time=past)
    f = Filter(domain_id="standin-domain-1", from_=past.date(), to=past.date())
    assert [p.path for p in old.pages(f)] == ["/imported"]


def test_py_refused_time_raises_invalid_argument(standin, make_client):
    client = make_client()
    future = datetime.datetime.now(UTC) + datetime.timedelta(minutes=5)
    with pytest.raises(pirsch.InvalidArgument, match="in the future") as e:
        client.hit(url="https://example.com/f", ip="198.51.100.9", time=future, wait=False)
    assert e.value.code == errors.ERR_INVALID_ARGUMENT
    with pytest.raises(pirsch.InvalidArgument, match="older than max_item_age_ms"):
        client.event("old", url="https://example.com/o", ip="198.51.100.9", time=int((time.time() - 7200) * 1000))
    with pytest.raises(pirsch.InvalidArgument, match="neither RFC 3339"):
        client.session(ip="198.51.100.9", time="yesterday")
    with pytest.raises(TypeError):
        client.hit(url="https://example.com/t", ip="198.51.100.9", time=datetime.date.today())
    with pytest.raises(TypeError):
        client.hit(url="https://example.com/t", ip="198.51.100.9", time=1.5)
    assert standin.items() == []

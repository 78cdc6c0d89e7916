"""Statistics (pirsch.Filter, the typed methods, statistics()) and domains, against the real
library and the stand-in."""
import dataclasses
import datetime
import json
import time
import urllib.parse
import warnings

import pytest

import pirsch
from pirsch import Filter, Statistic, errors, statistics as st

UTC = datetime.timezone.utc


def _today():
    return datetime.datetime.now(UTC).date()


def _clear_of_midnight():
    """Figures are by UTC day: wait when midnight is under 30 s away, so that the page views
    and the question about "today" happen on the same day."""
    left = 86400 - time.time() % 86400
    if left < 30:
        time.sleep(left + 1)


def _q(value):
    """RFC 3986 percent-encoding: unreserved characters kept, the rest %XX (space %20)."""
    return urllib.parse.quote(value, safe="-._~")


# --- the filter's encoding ----------------------------------------------------------------

EVERY_FIELD = Filter(
    domain_id="dom/1 ä",
    from_=datetime.date(2026, 11, 1),
    to="2026-11-30",
    tz="Europe/Berlin",
    scale="week",
    start=600,
    path=["/a b", "/c&d=e"],
    pattern="^/blog/.*$",  # one string: a list of one
    entry_path=("/in",),
    exit_path=["/out"],
    event=["sign up"],
    event_meta_key=["plan"],
    language=["de", "en"],
    country=["de"],
    region=["Bayern"],
    city=["München"],
    referrer=["https://news.example/?q=1#x"],
    referrer_name=["Hacker News"],
    os=["Linux"],
    browser=["Firefox"],
    screen_class=["XL"],
    utm_source=["news letter"],
    utm_medium=["email"],
    utm_campaign=["black+friday"],
    utm_content=["a/b"],
    utm_term=["100%"],
    tag=["author"],
    platform="desktop",
    event_meta={"plan": "pro & more", "ü": "ß"},
    tags={"author": "alice bob", "k=v": "x?y"},
    custom_metric_key="price",
    custom_metric_type="float",
    include_avg_time_on_page=True,
    offset=20,
    limit=10,
    sort="visitors",
    direction="desc",
    search="50% off",
    funnel_id="funnel #1",
)


def _expected_query(f):
    """The query the library documents: the filter's fields in order, each value
    percent-encoded, lists repeated, meta_<key> and tag_<key> for the mappings."""
    params = [("id", f.domain_id), ("from", str(f.from_)), ("to", f.to), ("tz", f.tz), ("scale", f.scale),
              ("start", str(f.start))]
    for name in pirsch._native.FILTER_LIST_FIELDS:
        value = getattr(f, name)
        for v in [value] if isinstance(value, str) else value:
            params.append((name, v))
    params.append(("platform", f.platform))
    params += [("meta_" + k, v) for k, v in f.event_meta.items()]
    params += [("tag_" + k, v) for k, v in f.tags.items()]
    params += [("custom_metric_key", f.custom_metric_key), ("custom_metric_type", f.custom_metric_type),
               ("include_avg_time_on_page", "true"), ("offset", str(f.offset)), ("limit", str(f.limit)),
               ("sort", f.sort), ("direction", f.direction), ("search", f.search), ("funnel_id", f.funnel_id)]
    return "&".join(f"{_q(k)}={_q(v)}" for k, v in params)


def test_py_filter_encoding_matches_statistics_path():
    # Every field of pirsch.Filter reaches its C field: the library's query (which names the
    # parameters after the C fields) is the one built here from the Python values.
    path = pirsch.statistics_path(Statistic.FUNNEL, EVERY_FIELD)
    assert path == "/api/v1/statistics/funnel?" + _expected_query(EVERY_FIELD)
    assert "path=%2Fa%20b&path=%2Fc%26d%3De" in path and "tag_k%3Dv=x%3Fy" in path
    assert "meta_%C3%BC=%C3%9F" in path and "search=50%25%20off" in path

    # Only what is set is sent; a datetime gives its calendar day.
    small = Filter(domain_id="d", from_=datetime.datetime(2026, 1, 2, 23, 59), to=datetime.date(2026, 1, 3),
                   tags={"a": "1"})
    assert pirsch.statistics_path(Statistic.VISITORS, small) == \
        "/api/v1/statistics/visitor?id=d&from=2026-01-02&to=2026-01-03&tag_a=1"
    assert pirsch.statistics_path(Statistic.ACTIVE_VISITORS, Filter(domain_id="d", start=300)) == \
        "/api/v1/statistics/active?id=d&start=300"
    assert pirsch.statistics_path(Statistic.TAGS, small).startswith("/api/v1/statistics/tag/details?")


def test_py_filter_is_checked():
    with pytest.raises(pirsch.InvalidArgument, match="from") as e:
        pirsch.statistics_path(Statistic.PAGES, Filter(domain_id="d"))
    assert e.value.code == errors.ERR_INVALID_ARGUMENT
    day = Filter(domain_id="d", from_="2026-01-02", to="2026-01-01")
    with pytest.raises(pirsch.InvalidArgument, match="to"):
        pirsch.statistics_path(Statistic.PAGES, day)
    day = dataclasses.replace(day, to="2026-01-02")
    with pytest.raises(pirsch.InvalidArgument, match="scale"):
        pirsch.statistics_path(Statistic.VISITORS, dataclasses.replace(day, scale="hour"))
    with pytest.raises(pirsch.InvalidArgument, match="event"):
        pirsch.statistics_path(Statistic.EVENT_PAGES, day)
    with pytest.raises(pirsch.InvalidArgument, match="funnel_id"):
        pirsch.statistics_path(Statistic.FUNNEL, day)
    with pytest.raises(pirsch.InvalidArgument, match="35"):
        pirsch.statistics_path(35, day)
    with pytest.raises(pirsch.InvalidArgument, match="NUL"):
        pirsch.statistics_path(Statistic.PAGES, dataclasses.replace(day, path=["a\0b"]))
    with pytest.raises(pirsch.InvalidArgument, match="limit"):
        pirsch.statistics_path(Statistic.PAGES, dataclasses.replace(day, limit=-1))
    with pytest.raises(TypeError):
        pirsch.statistics_path(Statistic.PAGES, dataclasses.replace(day, from_=20260102))
    with pytest.raises(TypeError):
        pirsch.statistics_path(Statistic.PAGES, {"domain_id": "d"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        day.limit = 5  # type: ignore[misc]


# --- real figures ---------------------------------------------------------------------------

def _send_three_page_views(make_client):
    key = make_client(access_key="pa_standin_key")
    key.hit(url="https://example.com/a", ip="198.51.100.1", user_agent="Mozilla/5.0 one")
    key.hit(url="https://example.com/a", ip="198.51.100.2", user_agent="Mozilla/5.0 two")
    key.hit(url="https://example.com/b", ip="198.51.100.1", user_agent="Mozilla/5.0 one")


def test_py_statistics_figures(standin, make_client):
    _clear_of_midnight()
    _send_three_page_views(make_client)
    client = make_client()  # OAuth: reads
    (domain,) = client.domains()
    assert isinstance(domain, st.Domain) and domain.id == "standin-domain-1" and domain.hostname == "example.com"
    assert domain.def_time == datetime.datetime(2026, 1, 1, tzinfo=UTC)
    assert client.domain() == domain

    f = Filter(domain_id=domain.id, from_=_today(), to=_today())
    total = client.total_visitors(f)
    assert isinstance(total, st.TotalVisitorStats) and (total.visitors, total.views) == (2, 3)

    days = client.visitors(f)
    assert [type(d) for d in days] == [st.VisitorStats]
    assert (days[0].visitors, days[0].views) == (2, 3)
    assert days[0].day == datetime.datetime.combine(_today(), datetime.time(), UTC)

    pages = {p.path: p for p in client.pages(f)}
    assert all(isinstance(p, st.PageStats) for p in pages.values())
    assert (pages["/a"].views, pages["/a"].visitors) == (2, 2) and pages["/b"].views == 1

    # The generic call: the decoded JSON of the same answers.
    assert client.statistics(Statistic.TOTAL, f)["views"] == 3
    assert {p["path"]: p["views"] for p in client.statistics(Statistic.PAGES, f)} == {"/a": 2, "/b": 1}

    # Access keys only write.
    with pytest.raises(pirsch.HTTPError) as e:
        make_client(access_key="pa_standin_key").total_visitors(f)
    assert e.value.status == 403


# Every typed method but the three above: (method, statistic, extra filter fields, result type,
# whether the API answers with a list).
OTHERS = [
    ("entry_pages", Statistic.ENTRY_PAGES, {}, st.EntryStats, True),
    ("exit_pages", Statistic.EXIT_PAGES, {}, st.ExitStats, True),
    ("session_duration", Statistic.SESSION_DURATION, {}, st.TimeSpentStats, True),
    ("time_on_page", Statistic.TIME_ON_PAGE, {}, st.TimeSpentStats, True),
    ("utm_source", Statistic.UTM_SOURCE, {}, st.UTMSourceStats, True),
    ("utm_medium", Statistic.UTM_MEDIUM, {}, st.UTMMediumStats, True),
    ("utm_campaign", Statistic.UTM_CAMPAIGN, {}, st.UTMCampaignStats, True),
    ("utm_content", Statistic.UTM_CONTENT, {}, st.UTMContentStats, True),
    ("utm_term", Statistic.UTM_TERM, {}, st.UTMTermStats, True),
    ("conversion_goals", Statistic.CONVERSION_GOALS, {}, st.ConversionGoal, True),
    ("events", Statistic.EVENTS, {}, st.EventStats, True),
    ("event_metadata", Statistic.EVENT_METADATA, {"event": ["signup"], "event_meta_key": ["plan"]}, st.EventStats, True),
    ("list_events", Statistic.LIST_EVENTS, {}, st.EventListStats, True),
    ("event_pages", Statistic.EVENT_PAGES, {"event": ["signup"]}, st.PageStats, True),
    ("funnel", Statistic.FUNNEL, {"funnel_id": "f1"}, st.FunnelData, False),
    ("growth", Statistic.GROWTH, {}, st.Growth, False),
    ("active_visitors", Statistic.ACTIVE_VISITORS, {"start": 600}, st.ActiveVisitorsData, False),
    ("time_of_day", Statistic.TIME_OF_DAY, {}, st.VisitorHourStats, True),
    ("languages", Statistic.LANGUAGES, {}, st.LanguageStats, True),
    ("referrer", Statistic.REFERRER, {}, st.ReferrerStats, True),
    ("keywords", Statistic.KEYWORDS, {}, st.Keyword, True),
    ("os", Statistic.OS, {}, st.OSStats, True),
    ("os_versions", Statistic.OS_VERSIONS, {}, st.OSVersionStats, True),
    ("browser", Statistic.BROWSER, {}, st.BrowserStats, True),
    ("browser_versions", Statistic.BROWSER_VERSIONS, {}, st.BrowserVersionStats, True),
    ("platform", Statistic.PLATFORM, {}, st.PlatformStats, False),
    ("screen", Statistic.SCREEN, {}, st.ScreenClassStats, True),
    ("country", Statistic.COUNTRY, {}, st.CountryStats, True),
    ("region", Statistic.REGION, {}, st.RegionStats, True),
    ("city", Statistic.CITY, {}, st.CityStats, True),
    ("tag_keys", Statistic.TAG_KEYS, {}, st.TagStats, True),
    ("tags", Statistic.TAGS, {"tag": ["author"]}, st.TagStats, True),
]


def test_py_every_statistic_has_a_method():
    covered = {s for _, s, *_ in OTHERS} | {Statistic.VISITORS, Statistic.TOTAL, Statistic.PAGES}
    assert covered == set(Statistic)


def _check_type(result, cls, is_list):
    if is_list:
        assert isinstance(result, list) and all(type(r) is cls for r in result), result
    else:
        assert type(result) is cls, result


def test_py_every_other_statistic_from_the_standin(standin, make_client):
    """Each method against the stand-in's own answer. The stand-in learns these endpoints
    one by one: one it does not serve yet (404) is reported, not failed; the canned answers
    below check every method's parsing regardless."""
    _send_three_page_views(make_client)
    client = make_client()
    base = Filter(domain_id="standin-domain-1", from_=_today(), to=_today())
    missing = []
    for method, _, extra, cls, is_list in OTHERS:
        try:
            result = getattr(client, method)(dataclasses.replace(base, **extra))
        except pirsch.HTTPError as e:
            assert e.status == 404, f"{method}: {e}"
            missing.append(method)
            continue
        _check_type(result, cls, is_list)
    if missing:
        warnings.warn(f"the stand-in does not serve yet ({len(missing)} of {len(OTHERS)}): {', '.join(missing)}")


# Canned answers in the API's shape (field names of the official Go SDK's types), each with a
# field the package does not know (ignored) and each leaving some out (defaulted).
ROW = {"visitors": 7, "relative_visitors": 0.5, "future_field": {"x": 1}}
CANNED = {
    "entry_pages": [{"path": "/in", "title": "In", "visitors": 3, "sessions": 4, "entries": 5, "entry_rate": 0.25,
                     "average_time_spent_seconds": 61, "new": 1}],
    "exit_pages": [{"path": "/out", "exits": 2, "exit_rate": 0.5}],
    "session_duration": [{"day": "2026-11-30T00:00:00Z", "average_time_spent_seconds": 42}],
    "time_on_page": [{"day": "2026-11-30", "path": "/a", "title": "A", "average_time_spent_seconds": 9}],
    "utm_source": [dict(ROW, utm_source="news")],
    "utm_medium": [dict(ROW, utm_medium="email")],
    "utm_campaign": [dict(ROW, utm_campaign="bf")],
    "utm_content": [dict(ROW, utm_content="c")],
    "utm_term": [dict(ROW, utm_term="t")],
    "conversion_goals": [{"id": "g1", "def_time": "2026-11-01T10:00:00.5+02:00",
                          "page_goal": {"domain_id": "d", "name": "Goal", "path_pattern": "/thanks", "visitor_goal": None,
                                        "cr_goal": 0.1, "email_reached": True},
                          "stats": {"visitors": 3, "views": 4, "cr": 0.75}}],
    "events": [{"name": "signup", "visitors": 2, "count": 3, "cr": 0.5, "meta_keys": ["plan", "price"]}],
    "event_metadata": [{"name": "signup", "count": 3, "meta_value": "pro"}],
    "list_events": [{"name": "signup", "meta": {"plan": "pro", "n": 3}, "visitors": 1, "count": 2}],
    "event_pages": [{"path": "/pricing", "visitors": 2, "views": 5}],
    "funnel": {"definition": {"id": "f1", "domain_id": "d", "name": "Buy",
                              "steps": [{"id": "s1", "funnel_id": "f1", "name": "Visit", "step": 1,
                                         "filter": {"path": ["/"]}}]},
               "data": [{"step": 1, "visitors": 10, "relative_visitors": 1, "dropped": 4, "drop_off": 0.4}]},
    "growth": {"visitors_growth": 0.5, "views_growth": -0.25, "cr_growth": 0, "other_growth": 9},
    "active_visitors": {"stats": [{"path": "/", "title": "Home", "visitors": 2}], "visitors": 2},
    "time_of_day": [{"hour": 13, "visitors": 4, "views": 6, "bounce_rate": 0.5}],
    "languages": [dict(ROW, language="de")],
    "referrer": [{"referrer": "https://news.example/", "referrer_name": "News", "visitors": 3, "bounces": 1}],
    "keywords": [{"keys": ["pirsch", "analytics"], "clicks": 5, "impressions": 50, "ctr": 0.1, "position": 2.5}],
    "os": [dict(ROW, os="Linux")],
    "os_versions": [dict(ROW, os="Linux", os_version="6")],
    "browser": [dict(ROW, browser="Firefox")],
    "browser_versions": [dict(ROW, browser="Firefox", browser_version="133")],
    "platform": {"platform_desktop": 3, "platform_mobile": 1, "relative_platform_desktop": 0.75},
    "screen": [dict(ROW, screen_class="XL")],
    "country": [dict(ROW, country_code="de")],
    "region": [dict(ROW, country_code="de", region="Bayern")],
    "city": [dict(ROW, country_code="de", region="Bayern", city="München")],
    "tag_keys": [{"key": "author", "visitors": 2, "views": 3, "relative_views": 0.5}],
    "tags": [{"key": "author", "value": "alice", "visitors": 1}],
}


def test_py_every_statistic_parses_the_api_answer(standin, make_client):
    client = make_client(max_retries=0)
    base = Filter(domain_id="standin-domain-1", from_=_today(), to=_today())
    results = {}
    for method, which, extra, cls, is_list in OTHERS:
        f = dataclasses.replace(base, **extra)
        endpoint = pirsch.statistics_path(which, f).split("?")[0]
        standin.post("/_standin/faults", {"path_prefix": endpoint, "status": 200, "count": 1, "body": CANNED[method]})
        result = getattr(client, method)(f)
        _check_type(result, cls, is_list)
        results[method] = result

    assert results["entry_pages"] == [st.EntryStats(path="/in", title="In", visitors=3, sessions=4, entries=5,
                                                    entry_rate=0.25, average_time_spent_seconds=61)]
    assert results["exit_pages"][0] == st.ExitStats(path="/out", exits=2, exit_rate=0.5)
    assert results["session_duration"][0].day == datetime.datetime(2026, 11, 30, tzinfo=UTC)
    assert results["session_duration"][0].week is None and results["session_duration"][0].average_time_spent_seconds == 42
    assert results["time_on_page"][0].day == datetime.datetime(2026, 11, 30, tzinfo=UTC)
    for method, name in [("utm_source", "news"), ("utm_medium", "email"), ("utm_campaign", "bf"),
                         ("utm_content", "c"), ("utm_term", "t")]:
        (row,) = results[method]
        assert (row.visitors, row.relative_visitors, getattr(row, method)) == (7, 0.5, name)
    (goal,) = results["conversion_goals"]
    assert goal.id == "g1" and goal.def_time == datetime.datetime(2026, 11, 1, 8, 0, 0, 500000, tzinfo=UTC)
    assert goal.page_goal == st.PageGoal(domain_id="d", name="Goal", path_pattern="/thanks", cr_goal=0.1,
                                         email_reached=True)
    assert goal.stats == st.PageConversionsStats(visitors=3, views=4, cr=0.75)
    assert results["events"][0].meta_keys == ["plan", "price"] and results["events"][0].views == 0
    assert results["event_metadata"][0].meta_value == "pro"
    assert results["list_events"][0].meta == {"plan": "pro", "n": "3"}
    assert results["event_pages"] == [st.PageStats(path="/pricing", visitors=2, views=5)]
    funnel = results["funnel"]
    assert funnel.definition is not None and funnel.definition.name == "Buy"
    assert funnel.definition.steps[0].filter == {"path": ["/"]} and funnel.definition.steps[0].step == 1
    assert funnel.data == [st.FunnelStepData(step=1, visitors=10, relative_visitors=1.0, dropped=4, drop_off=0.4)]
    assert results["growth"] == st.Growth(visitors_growth=0.5, views_growth=-0.25)
    assert results["active_visitors"] == st.ActiveVisitorsData(
        stats=[st.ActiveVisitorStats(path="/", title="Home", visitors=2)], visitors=2)
    assert results["time_of_day"][0] == st.VisitorHourStats(hour=13, visitors=4, views=6, bounce_rate=0.5)
    assert results["languages"][0].language == "de"
    assert results["referrer"][0] == st.ReferrerStats(referrer="https://news.example/", referrer_name="News",
                                                      visitors=3, bounces=1)
    assert results["keywords"][0] == st.Keyword(keys=["pirsch", "analytics"], clicks=5, impressions=50, ctr=0.1,
                                                position=2.5)
    assert results["os_versions"][0].os_version == "6" and results["browser_versions"][0].browser_version == "133"
    assert results["platform"] == st.PlatformStats(platform_desktop=3, platform_mobile=1,
                                                   relative_platform_desktop=0.75)
    assert results["screen"][0].screen_class == "XL" and results["country"][0].country_code == "de"
    assert results["city"][0] == st.CityStats(visitors=7, relative_visitors=0.5, country_code="de",
                                              region="Bayern", city="München")
    assert results["tag_keys"][0].relative_views == 0.5
    assert results["tags"] == [st.TagStats(key="author", value="alice", visitors=1)]

    # The funnel list (GET /api/v1/funnel?id=...), by id or by a filter's domain.
    standin.post("/_standin/faults", {"path_prefix": "/api/v1/funnel", "status": 200, "count": 2,
                                      "body": [CANNED["funnel"]["definition"]]})
    assert [f.name for f in client.list_funnel("standin-domain-1")] == ["Buy"]
    (funnel_def,) = client.list_funnel(base)
    assert isinstance(funnel_def, st.Funnel) and isinstance(funnel_def.steps[0], st.FunnelStep)
    # funnel_id as an argument, as the Go SDK's Funnel(id, filter).
    standin.post("/_standin/faults", {"path_prefix": "/api/v1/statistics/funnel", "status": 200, "count": 1,
                                      "body": CANNED["funnel"]})
    assert client.funnel(base, funnel_id="f1").data[0].visitors == 10

    # Wrong types and nulls: defaults, never an exception.
    standin.post("/_standin/faults", {"path_prefix": "/api/v1/statistics/total", "status": 200, "count": 1,
                                      "body": {"visitors": "many", "views": None, "bounce_rate": 1, "cr": True}})
    assert client.total_visitors(base) == st.TotalVisitorStats(bounce_rate=1.0)

    # Results are frozen.
    with pytest.raises(dataclasses.FrozenInstanceError):
        results["growth"].views_growth = 1.0  # type: ignore[misc]


def test_py_domain_needs_exactly_one(standin, make_client):
    client = make_client()
    two = json.loads(json.dumps(client.request("/api/v1/domain") * 2))
    two[1]["id"] = "second"
    standin.post("/_standin/faults", {"path_prefix": "/api/v1/domain", "status": 200, "count": 2, "body": two})
    assert [d.id for d in client.domains()] == ["standin-domain-1", "second"]
    with pytest.raises(pirsch.PirschError, match="2 domains"):
        client.domain()

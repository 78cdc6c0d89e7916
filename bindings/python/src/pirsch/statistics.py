"""Reading statistics: :class:`Filter`, :class:`Statistic` and the result dataclasses.

The client's methods (``client.visitors(f)``, ``client.pages(f)``, ...) ask libpirsch
(``pirsch_statistics``) and parse its JSON into the dataclasses here, named as in Pirsch's
official Go SDK (``VisitorStats``, ``PageStats``, ...). Fields the API adds later are
ignored; fields it leaves out get their defaults (0, 0.0, "", False, None, empty).
Timestamps (``day``, ``def_time``, ...) become aware ``datetime`` objects.
"""
import ctypes
import dataclasses
import datetime
import enum
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from . import _native
from .errors import ERR_INVALID_ARGUMENT, InvalidArgument

__all__ = [
    "Statistic", "Filter", "DateLike",
    "SCALE_DAY", "SCALE_WEEK", "SCALE_MONTH", "SCALE_YEAR",
    "CUSTOM_METRIC_TYPE_INTEGER", "CUSTOM_METRIC_TYPE_FLOAT",
    "Domain", "VisitorStats", "TotalVisitorStats", "PageStats", "EntryStats", "ExitStats", "TimeSpentStats",
    "UTMSourceStats", "UTMMediumStats", "UTMCampaignStats", "UTMContentStats", "UTMTermStats",
    "PageGoal", "PageConversionsStats", "ConversionGoal", "EventStats", "EventListStats", "Growth",
    "ActiveVisitorStats", "ActiveVisitorsData", "VisitorHourStats", "LanguageStats", "ReferrerStats",
    "Keyword", "OSStats", "OSVersionStats", "BrowserStats", "BrowserVersionStats", "PlatformStats",
    "ScreenClassStats", "CountryStats", "RegionStats", "CityStats", "TagStats", "Funnel", "FunnelStep",
    "FunnelStepData", "FunnelData",
]

# frozen everywhere; slots where the dataclass module has them (Python 3.10+).
_DC: Dict[str, Any] = {"frozen": True}
if sys.version_info >= (3, 10):
    _DC["slots"] = True

SCALE_DAY, SCALE_WEEK, SCALE_MONTH, SCALE_YEAR = "day", "week", "month", "year"
CUSTOM_METRIC_TYPE_INTEGER, CUSTOM_METRIC_TYPE_FLOAT = "integer", "float"

_U32 = 2**32 - 1


class Statistic(enum.IntEnum):
    """Which statistic: the PIRSCH_STATISTIC_* values of pirsch.h, for
    :meth:`pirsch.Client.statistics` and :func:`statistics_path`."""

    VISITORS = 0
    TOTAL = 1
    PAGES = 2
    ENTRY_PAGES = 3
    EXIT_PAGES = 4
    SESSION_DURATION = 5
    TIME_ON_PAGE = 6
    UTM_SOURCE = 7
    UTM_MEDIUM = 8
    UTM_CAMPAIGN = 9
    UTM_CONTENT = 10
    UTM_TERM = 11
    CONVERSION_GOALS = 12
    EVENTS = 13
    EVENT_METADATA = 14
    LIST_EVENTS = 15
    EVENT_PAGES = 16
    FUNNEL = 17
    GROWTH = 18
    ACTIVE_VISITORS = 19
    TIME_OF_DAY = 20
    LANGUAGES = 21
    REFERRER = 22
    KEYWORDS = 23
    OS = 24
    OS_VERSIONS = 25
    BROWSER = 26
    BROWSER_VERSIONS = 27
    PLATFORM = 28
    SCREEN = 29
    COUNTRY = 30
    REGION = 31
    CITY = 32
    TAG_KEYS = 33
    TAGS = 34


#: A day: a ``datetime.date`` (a ``datetime`` gives its own calendar day) or "YYYY-MM-DD".
DateLike = Union[datetime.date, str]
_Strs = Union[Sequence[str], str]


@dataclass(**_DC)
class Filter:
    """What to read: the domain, the days and the filters (struct pirsch_filter).

    ``domain_id`` (see :meth:`pirsch.Client.domains`), ``from_`` and ``to`` are required
    (except for ``active_visitors``, which uses ``start``, seconds back). Every list
    (``path``, ``country``, ...) matches any of its values; a single string is a list of one.
    ``event_meta`` and ``tags`` must match as given. ``None``, ``""``, ``0``, empty lists and
    ``False`` are not sent. libpirsch checks the filter before sending anything (a bad date,
    ``to`` before ``from_``, an unknown ``scale``, ...) and raises
    :class:`pirsch.InvalidArgument` with its reason.
    """

    domain_id: str = ""
    from_: Optional[DateLike] = None
    to: Optional[DateLike] = None
    tz: Optional[str] = None
    scale: Optional[str] = None
    start: int = 0
    path: _Strs = ()
    pattern: _Strs = ()
    entry_path: _Strs = ()
    exit_path: _Strs = ()
    event: _Strs = ()
    event_meta_key: _Strs = ()
    language: _Strs = ()
    country: _Strs = ()
    region: _Strs = ()
    city: _Strs = ()
    referrer: _Strs = ()
    referrer_name: _Strs = ()
    os: _Strs = ()
    browser: _Strs = ()
    screen_class: _Strs = ()
    utm_source: _Strs = ()
    utm_medium: _Strs = ()
    utm_campaign: _Strs = ()
    utm_content: _Strs = ()
    utm_term: _Strs = ()
    tag: _Strs = ()
    platform: Optional[str] = None
    event_meta: Optional[Mapping[str, str]] = None
    tags: Optional[Mapping[str, str]] = None
    custom_metric_key: Optional[str] = None
    custom_metric_type: Optional[str] = None
    include_avg_time_on_page: bool = False
    offset: int = 0
    limit: int = 0
    sort: Optional[str] = None
    direction: Optional[str] = None
    search: Optional[str] = None
    funnel_id: Optional[str] = None


# --- Filter -> struct pirsch_filter ------------------------------------------------------

_FILTER_STRINGS = ("domain_id", "tz", "scale", "platform", "custom_metric_key", "custom_metric_type", "sort",
                   "direction", "search", "funnel_id")


def _enc(name: str, value: Any) -> bytes:
    from .client import _enc as enc

    return enc(name, value)


def _u32(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Filter.{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= _U32:
        raise InvalidArgument(f"Filter.{name} must be between 0 and {_U32}, not {value}", ERR_INVALID_ARGUMENT)
    return value


def _day(name: str, value: Any) -> Optional[bytes]:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d").encode()
    if isinstance(value, (str, bytes)):
        return _enc(f"Filter.{name}", value)
    raise TypeError(f"Filter.{name} must be a datetime.date or a 'YYYY-MM-DD' string, not {type(value).__name__}")


def _pairs(name: str, value: Any) -> List[Tuple[bytes, bytes]]:
    if not value:
        return []
    if not isinstance(value, Mapping):
        raise TypeError(f"Filter.{name} must be a mapping of strings, not {type(value).__name__}")
    return [(_enc(f"Filter.{name} key", k), _enc(f"Filter.{name}[{k!r}]", v)) for k, v in value.items()]


class _CFilter:
    """A struct pirsch_filter and everything it points to (kept until the call returns)."""

    __slots__ = ("struct", "keep")

    def __init__(self, f: Filter) -> None:
        if not isinstance(f, Filter):
            raise TypeError(f"expected a pirsch.Filter, not {type(f).__name__}")
        c = _native.Filter()
        c.struct_size = ctypes.sizeof(_native.Filter)
        keep: List[Any] = []
        for name in _FILTER_STRINGS:
            value = getattr(f, name)
            if value is not None and value != "":
                setattr(c, name, _enc(f"Filter.{name}", value))
        setattr(c, "from", _day("from_", f.from_))
        c.to = _day("to", f.to)
        c.start = _u32("start", f.start)
        c.offset = _u32("offset", f.offset)
        c.limit = _u32("limit", f.limit)
        c.include_avg_time_on_page = bool(f.include_avg_time_on_page)
        for name in _native.FILTER_LIST_FIELDS:
            value = getattr(f, name)
            if value is None:
                continue
            items = [value] if isinstance(value, (str, bytes)) else list(value)
            if not items:
                continue
            arr = (ctypes.c_char_p * len(items))(*[_enc(f"Filter.{name}", v) for v in items])
            keep.append(arr)
            strings = getattr(c, name)
            strings.items = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
            strings.len = len(items)
        for name in ("event_meta", "tags"):
            pairs = _pairs(name, getattr(f, name))
            if pairs:
                arr = (_native.KV * len(pairs))(*pairs)  # type: ignore[arg-type]
                keep.append(arr)
                setattr(c, name, ctypes.cast(arr, ctypes.POINTER(_native.KV)))
                setattr(c, name + "_len", len(pairs))
        self.struct = c
        self.keep = keep


def _which(which: Union["Statistic", int]) -> int:
    if isinstance(which, bool) or not isinstance(which, int):
        raise TypeError(f"which must be a pirsch.Statistic, not {type(which).__name__}")
    return int(which)


def _take_string(lib: Any, out: ctypes.c_void_p) -> Optional[str]:
    if not out.value:
        return None
    try:
        return ctypes.string_at(out.value).decode("utf-8", "replace")
    finally:
        lib.pirsch_string_free(out)


def statistics_path(which: Union[Statistic, int], filter: Filter) -> str:
    """The request ``Client.statistics(which, filter)`` would send ("/api/v1/statistics/...?id=..."),
    without sending it (pirsch_statistics_path): the filter is checked as there."""
    from .errors import error_for

    lib = _native.load()
    cf = _CFilter(filter)
    out = ctypes.c_void_p()
    rc = lib.pirsch_statistics_path(_which(which), ctypes.byref(cf.struct), ctypes.byref(out))
    if rc != 0:
        raise error_for(rc, _native.last_error())
    return _take_string(lib, out) or ""


# --- JSON -> dataclasses -----------------------------------------------------------------

_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*([Zz]|[+-]\d\d:?\d\d)?$")


def _parse_time(value: Any) -> Optional[datetime.datetime]:
    """An RFC 3339 timestamp (any fraction, Z or an offset; a bare date is midnight UTC) as an
    aware datetime; None for null or anything else."""
    if not isinstance(value, str):
        return None
    m = _TIME.match(value.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, off = m.groups()
    if off is None or off in "Zz":
        tz = datetime.timezone.utc
    else:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                                 int((frac or "0")[:6].ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return None


def _is_optional(tp: Any) -> Tuple[bool, Any]:
    args = getattr(tp, "__args__", None)
    if getattr(tp, "__origin__", None) is Union and args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return True, rest[0] if len(rest) == 1 else Any
    return False, tp


def _convert(tp: Any, value: Any, default: Any) -> Any:
    optional, tp = _is_optional(tp)
    if value is None:
        return None if optional else default
    origin = getattr(tp, "__origin__", None)
    if tp is Any:
        return value
    if tp is bool:
        return value if isinstance(value, bool) else default
    if tp is int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return None if optional else default
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return None if optional else default
    if tp is str:
        return value if isinstance(value, str) else (None if optional else default)
    if tp is datetime.datetime:
        return _parse_time(value)
    if origin in (list, List):
        (item,) = tp.__args__
        if not isinstance(value, list):
            return None if optional else default
        return [_convert(item, v, _zero(item)) for v in value]
    if origin in (dict, Dict):
        _, vt = tp.__args__
        if not isinstance(value, dict):
            return None if optional else default
        if vt is str:
            return {str(k): v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in value.items()}
        return {str(k): v for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _from_json(tp, value) if isinstance(value, dict) else (None if optional else default)
    return value


def _zero(tp: Any) -> Any:
    optional, tp = _is_optional(tp)
    if optional:
        return None
    return {int: 0, float: 0.0, str: "", bool: False}.get(tp)


_HINTS: Dict[type, List[Tuple[str, Any, Any, Any]]] = {}

T = TypeVar("T")


def _from_json(cls: Type[T], obj: Any) -> T:
    """An instance of the dataclass ``cls`` from a JSON object: unknown keys ignored,
    missing ones defaulted, values of the wrong type defaulted."""
    fields = _HINTS.get(cls)
    if fields is None:
        import typing

        hints = typing.get_type_hints(cls)
        fields = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            factory = f.default_factory if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
            default = f.default if f.default is not dataclasses.MISSING else None
            fields.append((f.name, hints[f.name], default, factory))
        _HINTS[cls] = fields
    if not isinstance(obj, dict):
        obj = {}
    kwargs = {}
    for name, tp, default, factory in fields:
        kwargs[name] = _convert(tp, obj.get(name), factory() if factory is not None else default)
    return cls(**kwargs)


def _list_of(cls: Type[T], data: Any) -> List[T]:
    if not isinstance(data, list):
        return []
    return [_from_json(cls, item) for item in data]


# --- the result types (JSON field names; Go SDK type names) ------------------------------

@dataclass(**_DC)
class Domain:
    """A domain on the dashboard (GET /api/v1/domain)."""

    id: str = ""
    def_time: Optional[datetime.datetime] = None
    mod_time: Optional[datetime.datetime] = None
    user_id: str = ""
    organization_id: str = ""
    hostname: str = ""
    subdomain: str = ""
    identification_code: str = ""
    public: bool = False
    google_user_id: Optional[str] = None
    google_user_email: Optional[str] = None
    gsc_domain: Optional[str] = None
    new_owner: Optional[int] = None
    timezone: Optional[str] = None
    group_by_title: bool = False
    active_visitors_seconds: Optional[int] = None
    disable_scripts: bool = False
    statistics_start: Optional[datetime.datetime] = None
    imported_statistics: bool = False
    theme_id: str = ""
    theme: Dict[str, Any] = field(default_factory=dict)
    custom_domain: Optional[str] = None
    display_name: Optional[str] = None
    user_role: str = ""
    settings: Dict[str, Any] = field(default_factory=dict)
    theme_settings: Dict[str, Any] = field(default_factory=dict)
    pinned: bool = False
    subscription_active: bool = False


@dataclass(**_DC)
class VisitorStats:
    """Visitors per day (or week, month, year with ``Filter.scale``)."""

    day: Optional[datetime.datetime] = None
    week: Optional[datetime.datetime] = None
    month: Optional[datetime.datetime] = None
    year: Optional[datetime.datetime] = None
    visitors: int = 0
    views: int = 0
    sessions: int = 0
    bounces: int = 0
    bounce_rate: float = 0.0
    cr: float = 0.0
    custom_metric_avg: float = 0.0
    custom_metric_total: float = 0.0


@dataclass(**_DC)
class TotalVisitorStats:
    visitors: int = 0
    views: int = 0
    sessions: int = 0
    bounces: int = 0
    bounce_rate: float = 0.0
    cr: float = 0.0
    custom_metric_avg: float = 0.0
    custom_metric_total: float = 0.0


@dataclass(**_DC)
class PageStats:
    path: str = ""
    visitors: int = 0
    views: int = 0
    sessions: int = 0
    bounces: int = 0
    relative_visitors: float = 0.0
    relative_views: float = 0.0
    bounce_rate: float = 0.0
    average_time_spent_seconds: int = 0


@dataclass(**_DC)
class EntryStats:
    path: str = ""
    title: str = ""
    visitors: int = 0
    sessions: int = 0
    entries: int = 0
    entry_rate: float = 0.0
    average_time_spent_seconds: int = 0


@dataclass(**_DC)
class ExitStats:
    path: str = ""
    title: str = ""
    visitors: int = 0
    sessions: int = 0
    exits: int = 0
    exit_rate: float = 0.0


@dataclass(**_DC)
class TimeSpentStats:
    """Average session duration or time on page, per day (or scale)."""

    day: Optional[datetime.datetime] = None
    week: Optional[datetime.datetime] = None
    month: Optional[datetime.datetime] = None
    year: Optional[datetime.datetime] = None
    path: str = ""
    title: str = ""
    average_time_spent_seconds: int = 0


@dataclass(**_DC)
class UTMSourceStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    utm_source: str = ""


@dataclass(**_DC)
class UTMMediumStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    utm_medium: str = ""


@dataclass(**_DC)
class UTMCampaignStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    utm_campaign: str = ""


@dataclass(**_DC)
class UTMContentStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    utm_content: str = ""


@dataclass(**_DC)
class UTMTermStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    utm_term: str = ""


@dataclass(**_DC)
class PageGoal:
    """A conversion goal's definition (``ConversionGoal.page_goal``)."""

    domain_id: str = ""
    name: str = ""
    path_pattern: str = ""
    pattern: str = ""
    visitor_goal: Optional[int] = None
    cr_goal: Optional[float] = None
    delete_reached: bool = False
    email_reached: bool = False


@dataclass(**_DC)
class PageConversionsStats:
    visitors: int = 0
    views: int = 0
    cr: float = 0.0


@dataclass(**_DC)
class ConversionGoal:
    id: str = ""
    def_time: Optional[datetime.datetime] = None
    mod_time: Optional[datetime.datetime] = None
    page_goal: PageGoal = field(default_factory=PageGoal)
    stats: PageConversionsStats = field(default_factory=PageConversionsStats)


@dataclass(**_DC)
class EventStats:
    name: str = ""
    visitors: int = 0
    views: int = 0
    count: int = 0
    cr: float = 0.0
    average_duration_seconds: int = 0
    meta_keys: List[str] = field(default_factory=list)
    meta_value: str = ""


@dataclass(**_DC)
class EventListStats:
    name: str = ""
    meta: Dict[str, str] = field(default_factory=dict)
    visitors: int = 0
    count: int = 0


@dataclass(**_DC)
class Growth:
    visitors_growth: float = 0.0
    views_growth: float = 0.0
    sessions_growth: float = 0.0
    bounces_growth: float = 0.0
    time_spent_growth: float = 0.0
    cr_growth: float = 0.0
    custom_metric_avg_growth: float = 0.0
    custom_metric_total_growth: float = 0.0


@dataclass(**_DC)
class ActiveVisitorStats:
    path: str = ""
    title: str = ""
    visitors: int = 0


@dataclass(**_DC)
class ActiveVisitorsData:
    stats: List[ActiveVisitorStats] = field(default_factory=list)
    visitors: int = 0


@dataclass(**_DC)
class VisitorHourStats:
    hour: int = 0
    visitors: int = 0
    views: int = 0
    sessions: int = 0
    bounces: int = 0
    bounce_rate: float = 0.0
    cr: float = 0.0
    custom_metric_avg: float = 0.0
    custom_metric_total: float = 0.0


@dataclass(**_DC)
class LanguageStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    language: str = ""


@dataclass(**_DC)
class ReferrerStats:
    referrer: str = ""
    referrer_name: str = ""
    referrer_icon: str = ""
    visitors: int = 0
    sessions: int = 0
    relative_visitors: float = 0.0
    bounces: int = 0
    bounce_rate: float = 0.0


@dataclass(**_DC)
class Keyword:
    """A Google Search Console keyword."""

    keys: List[str] = field(default_factory=list)
    clicks: int = 0
    impressions: int = 0
    ctr: float = 0.0
    position: float = 0.0


@dataclass(**_DC)
class OSStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    os: str = ""


@dataclass(**_DC)
class OSVersionStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    os: str = ""
    os_version: str = ""


@dataclass(**_DC)
class BrowserStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    browser: str = ""


@dataclass(**_DC)
class BrowserVersionStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    browser: str = ""
    browser_version: str = ""


@dataclass(**_DC)
class PlatformStats:
    platform_desktop: int = 0
    platform_mobile: int = 0
    platform_unknown: int = 0
    relative_platform_desktop: float = 0.0
    relative_platform_mobile: float = 0.0
    relative_platform_unknown: float = 0.0


@dataclass(**_DC)
class ScreenClassStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    screen_class: str = ""


@dataclass(**_DC)
class CountryStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    country_code: str = ""


@dataclass(**_DC)
class RegionStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    country_code: str = ""
    region: str = ""


@dataclass(**_DC)
class CityStats:
    visitors: int = 0
    relative_visitors: float = 0.0
    country_code: str = ""
    region: str = ""
    city: str = ""


@dataclass(**_DC)
class TagStats:
    key: str = ""
    value: str = ""
    visitors: int = 0
    views: int = 0
    relative_visitors: float = 0.0
    relative_views: float = 0.0


@dataclass(**_DC)
class FunnelStep:
    """A step of a funnel; ``filter`` is the step's filter as the API returns it (JSON)."""

    id: str = ""
    def_time: Optional[datetime.datetime] = None
    mod_time: Optional[datetime.datetime] = None
    funnel_id: str = ""
    name: str = ""
    step: int = 0
    filter: Dict[str, Any] = field(default_factory=dict)


@dataclass(**_DC)
class Funnel:
    """A funnel's definition (``Client.list_funnel``)."""

    id: str = ""
    def_time: Optional[datetime.datetime] = None
    mod_time: Optional[datetime.datetime] = None
    domain_id: str = ""
    name: str = ""
    steps: List[FunnelStep] = field(default_factory=list)


@dataclass(**_DC)
class FunnelStepData:
    step: int = 0
    visitors: int = 0
    relative_visitors: float = 0.0
    previous_visitors: int = 0
    relative_previous_visitors: float = 0.0
    dropped: int = 0
    drop_off: float = 0.0


@dataclass(**_DC)
class FunnelData:
    definition: Optional[Funnel] = None
    data: List[FunnelStepData] = field(default_factory=list)

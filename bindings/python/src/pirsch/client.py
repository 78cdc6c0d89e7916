"""pirsch.Client: one libpirsch client (pirsch_client_new ... pirsch_free)."""
import atexit
import ctypes
import dataclasses
import datetime
import itertools
import json as _json
import logging
import os
import sys
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, cast
from urllib.parse import urlencode

from . import _native
from . import statistics as _st
from .errors import ERR_CLOSED, ERR_INVALID_ARGUMENT, Closed, InvalidArgument, PirschError, error_for
from .statistics import Filter, Statistic

__all__ = ["Client", "Stats", "Headers", "LogTarget", "TimeLike"]

#: Raw request headers: a mapping, or (name, value) pairs (repeated names allowed).
Headers = Union[Mapping[str, str], Iterable[Tuple[Union[str, bytes], Union[str, bytes]]]]
#: A logging.Logger, or a callable taking (logging level, message).
LogTarget = Union[logging.Logger, Callable[[int, str], Any]]

_LOG_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
_U32 = 2**32 - 1
_HIT_SIZE = ctypes.sizeof(_native.HitOptions)
_I32 = 2**31 - 1


@dataclass(frozen=True)
class Stats:
    """The background queue's counters (struct pirsch_stats) for this client in this process.

    Always: enqueued == sent + dropped_queue_full + dropped_rejected + dropped_expired +
    dropped_shutdown + spooled + queue_depth + in_flight. Blocking calls are not counted.
    The spool counters (spool_dir): spooled (written instead of dropped), unspooled
    (delivered from a spool file by this process), spool_dropped, spool_errors.
    """

    enqueued: int
    sent: int
    batches: int
    retries: int
    dropped_queue_full: int
    dropped_rejected: int
    dropped_expired: int
    dropped_shutdown: int
    queue_depth: int
    in_flight: int
    token_refreshes: int
    forks_detected: int
    spooled: int = 0
    unspooled: int = 0
    spool_dropped: int = 0
    spool_errors: int = 0

    @property
    def dropped(self) -> int:
        """Every item given up on, for whatever reason."""
        return (self.dropped_queue_full + self.dropped_rejected + self.dropped_expired
                + self.dropped_shutdown)


# ---------------------------------------------------------------------------------------
# Encoding Python values for the C structs. Every bytes object stays referenced by the
# struct (ctypes keeps what is assigned to a c_char_p field) or by a list the caller holds
# until the C call has returned.

def _enc(field: str, value: Union[str, bytes]) -> bytes:
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidArgument(f"{field}: not encodable as UTF-8 ({e.reason})", ERR_INVALID_ARGUMENT) from None
    elif isinstance(value, bytes):
        data = value
    else:
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    if b"\0" in data:
        raise InvalidArgument(f"{field} contains a NUL character", ERR_INVALID_ARGUMENT)
    return data


def _kv_array(field: str, pairs: Sequence[Tuple[bytes, bytes]]) -> "ctypes.Array[_native.KV]":
    arr = (_native.KV * len(pairs))()
    for i, (k, v) in enumerate(pairs):
        arr[i].key = k
        arr[i].value = v
    return arr


def _dict_pairs(field: str, d: Optional[Mapping[str, str]]) -> List[Tuple[bytes, bytes]]:
    if not d:
        return []
    if not isinstance(d, Mapping):
        raise TypeError(f"{field} must be a dict of strings, not {type(d).__name__}")
    return [(_enc(f"{field} key", k), _enc(f"{field}[{k!r}]", v)) for k, v in d.items()]


def _header_pairs(headers: Headers) -> List[Tuple[bytes, bytes]]:
    items = headers.items() if hasattr(headers, "items") else headers
    out = []
    for name, value in items:
        out.append((_enc("header name", name), _enc(f"header {name!r}", value)))
    return out


def _int(field: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidArgument(f"{field} must be between {lo} and {hi}, not {value}", ERR_INVALID_ARGUMENT)
    return value


class _Request:
    """A hit (and optionally an event) as C structs, with everything they point to."""

    __slots__ = ("hit", "event", "keep")

    def __init__(self) -> None:
        self.hit = _native.HitOptions()
        self.hit.struct_size = ctypes.sizeof(_native.HitOptions)
        self.event: Optional[_native.EventOptions] = None
        self.keep: List[Any] = []


def _build_hit(fields: Dict[str, Any]) -> _Request:
    """fields: the keyword arguments of Client.hit (url, ip, the other strings, screen_width,
    screen_height, disable_bot_filter, tags, headers)."""
    req = _Request()
    hit = req.hit
    headers = fields.get("headers")
    if headers is not None:
        url = _enc("url", fields.get("url") or b"")
        ip = _enc("ip", fields.get("ip") or b"")
        pairs = _header_pairs(headers)
        arr = _kv_array("headers", pairs)
        req.keep += [url, ip, pairs, arr]
        rc = _native.load().pirsch_hit_options_from_headers(ctypes.byref(hit), url, ip, arr, len(pairs))
        if rc != 0:
            raise error_for(rc, _native.last_error())
        # Explicit fields override what came from the headers.
        for name in _native.HIT_STRING_FIELDS:
            value = fields.get(name)
            if value is not None and name not in ("url", "ip"):
                setattr(hit, name, _enc(name, value))
    else:
        for name in _native.HIT_STRING_FIELDS:
            value = fields.get(name)
            if value is not None:
                setattr(hit, name, _enc(name, value))
    if fields.get("screen_width"):
        hit.screen_width = _int("screen_width", fields["screen_width"], 0, _I32)
    if fields.get("screen_height"):
        hit.screen_height = _int("screen_height", fields["screen_height"], 0, _I32)
    if fields.get("disable_bot_filter"):
        hit.disable_bot_filter = True
    tags = _dict_pairs("tags", fields.get("tags"))
    if tags:
        arr = _kv_array("tags", tags)
        req.keep += [tags, arr]
        hit.tags = ctypes.cast(arr, ctypes.POINTER(_native.KV))
        hit.tags_len = len(tags)
    when = _time_value(fields.get("time"))
    if when is not None:
        hit.time = when
    return req


#: When a page view, event or session happened: an aware ``datetime`` (a naive one is taken
#: as UTC), Unix epoch milliseconds as an ``int``, or a string libpirsch reads (RFC 3339, or
#: epoch milliseconds as digits). ``None``: now.
TimeLike = Union[datetime.datetime, int, str]


def _time_value(value: Any) -> Optional[bytes]:
    """pirsch_hit_options.time for a TimeLike; None for "now". libpirsch checks the value
    (format, at most 60 s ahead, not older than max_item_age_ms)."""
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        utc = value.astimezone(datetime.timezone.utc)
        return (utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z").encode()
    if isinstance(value, bool) or isinstance(value, datetime.date):
        raise TypeError(f"time must be a datetime, an int (epoch milliseconds) or a str, not {type(value).__name__}")
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, (str, bytes)):
        return _enc("time", value)
    raise TypeError(f"time must be a datetime, an int (epoch milliseconds) or a str, not {type(value).__name__}")


def _add_event(req: _Request, name: str, duration_seconds: int, meta: Optional[Mapping[str, str]],
               non_interactive: bool) -> None:
    ev = _native.EventOptions()
    ev.struct_size = ctypes.sizeof(_native.EventOptions)
    ev.name = _enc("name", name)
    if duration_seconds:
        ev.duration_seconds = _int("duration_seconds", duration_seconds, 0, _U32)
    pairs = _dict_pairs("meta", meta)
    if pairs:
        arr = _kv_array("meta", pairs)
        req.keep += [pairs, arr]
        ev.meta = ctypes.cast(arr, ctypes.POINTER(_native.KV))
        ev.meta_len = len(pairs)
    ev.non_interactive = bool(non_interactive)
    req.event = ev


def _config_value(key: str, value: Any) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if key == "trusted_proxies" and not isinstance(value, (str, bytes)):
        value = ", ".join(str(v) for v in value)
    if key == "log_level" and isinstance(value, int):
        value = ("debug" if value <= logging.DEBUG else "info" if value <= logging.INFO
                 else "warn" if value <= logging.WARNING else "error")
    if isinstance(value, (int, float)):
        value = str(value)
    return _enc(key, value)


def _level_of(logger: logging.Logger) -> str:
    level = logger.getEffectiveLevel()
    return ("debug" if level <= logging.DEBUG else "info" if level <= logging.INFO
            else "warn" if level <= logging.WARNING else "error")


# One C callback for every client, alive as long as the module: the library may call it
# from its sender thread after pirsch_free has returned (a sender it had to leave behind at
# shutdown), so no callback it was given may ever be freed. ``userdata`` is a token that
# picks the client's target; a message for a closed client goes to the "pirsch" logger.
_log_targets: Dict[int, Callable[[int, str], Any]] = {}
_log_tokens = itertools.count(1)


def _dispatch_log(userdata: Optional[int], level: int, message: Optional[bytes]) -> None:
    # Called from any thread, the background sender included: never raise into C.
    try:
        emit = _log_targets.get(userdata or 0) or logging.getLogger("pirsch").log
        emit(_LOG_LEVELS.get(level, logging.WARNING), message.decode("utf-8", "replace") if message else "")
    except Exception:
        pass


_LOG_TRAMPOLINE = _native.LOG_CALLBACK(_dispatch_log)


# ---------------------------------------------------------------------------------------

_open_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


class Client:
    """A Pirsch client: create one per process and share it between threads.

    Credentials: an access key (``Client(access_key="pa_...")``, write-only) or an OAuth
    client (``Client(client_id=..., client_secret=...)``, needed to read statistics).
    The other keyword arguments are libpirsch's configuration keys (see the README);
    ``None`` keeps the library's default. Log messages go to the ``logging`` logger
    "pirsch" (or ``logger``: a Logger, or a callable taking (level, message)); with
    ``log_level`` unset the library logs at that logger's effective level.

    Creating a client does no network I/O. Close it with :meth:`close` (or a ``with``
    block); clients still open when the interpreter exits are closed then, which delivers
    what is queued within ``shutdown_timeout_ms``.
    """

    def __init__(
        self,
        access_key: Optional[str] = None,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        max_retries: Optional[int] = None,
        queue_capacity: Optional[int] = None,
        queue_max_bytes: Optional[int] = None,
        batch_size: Optional[int] = None,
        flush_interval_ms: Optional[int] = None,
        shutdown_timeout_ms: Optional[int] = None,
        max_item_age_ms: Optional[int] = None,
        trusted_proxies: Union[str, Iterable[Any], None] = None,
        client_ip_header: Optional[str] = None,
        proxy: Optional[str] = None,
        tls_roots: Optional[str] = None,
        ca_file: Optional[str] = None,
        forward_proxy_headers: Optional[bool] = None,
        allow_insecure_http: Optional[bool] = None,
        log_level: Union[str, int, None] = None,
        logger: Optional[LogTarget] = None,
        spool_dir: Optional[str] = None,
        spool_sync: Optional[str] = None,
        spool_max_bytes: Optional[int] = None,
    ) -> None:
        self._handle: Optional[int] = None
        self._closing = False
        self._busy = 0
        self._cond = threading.Condition(threading.Lock())
        self._log_token = 0

        if access_key is not None and (client_id or client_secret is not None):
            raise InvalidArgument("give either access_key or client_id and client_secret, not both", ERR_INVALID_ARGUMENT)
        if access_key is None:
            if client_secret is None:
                raise InvalidArgument(
                    "no credentials: give access_key='pa_...' or client_id=... and client_secret=... "
                    "(both from the Pirsch dashboard)", ERR_INVALID_ARGUMENT)
            cid, secret = client_id or "", client_secret
        else:
            cid, secret = "", access_key

        options = {
            "base_url": base_url, "timeout_ms": timeout_ms, "max_retries": max_retries,
            "queue_capacity": queue_capacity, "batch_size": batch_size,
            "flush_interval_ms": flush_interval_ms, "shutdown_timeout_ms": shutdown_timeout_ms,
            "max_item_age_ms": max_item_age_ms, "trusted_proxies": trusted_proxies,
            "client_ip_header": client_ip_header, "queue_max_bytes": queue_max_bytes,
            "proxy": proxy, "tls_roots": tls_roots, "ca_file": ca_file,
            "forward_proxy_headers": forward_proxy_headers, "allow_insecure_http": allow_insecure_http,
            "log_level": log_level, "spool_dir": spool_dir, "spool_sync": spool_sync,
            "spool_max_bytes": spool_max_bytes,
        }
        target: LogTarget = logger if logger is not None else logging.getLogger("pirsch")
        if log_level is None and isinstance(target, logging.Logger):
            options["log_level"] = _level_of(target)

        lib = _native.load()
        cfg = lib.pirsch_config_new()
        if not cfg:
            raise MemoryError("pirsch_config_new")
        try:
            for key, value in options.items():
                if value is None:
                    continue
                data = _config_value(key, value)
                if lib.pirsch_config_set(cfg, key.encode(), data) != 0:
                    raise InvalidArgument(_native.last_error(), ERR_INVALID_ARGUMENT)
            token = next(_log_tokens)
            _log_targets[token] = target.log if isinstance(target, logging.Logger) else target
            lib.pirsch_config_set_logger(cfg, _LOG_TRAMPOLINE, token)
            handle = lib.pirsch_client_new(_enc("client_id", cid), _enc("client_secret", secret), cfg)
            if not handle:
                _log_targets.pop(token, None)
                raise InvalidArgument(_native.last_error(), ERR_INVALID_ARGUMENT)
        finally:
            lib.pirsch_config_free(cfg)
        self._log_token = token
        self._handle = handle
        self._lib = lib
        _open_clients.add(self)

    @classmethod
    def from_env(cls, **options: Any) -> "Client":
        """A client from PIRSCH_CLIENT_ID and PIRSCH_CLIENT_SECRET (an OAuth client), or
        PIRSCH_CLIENT_SECRET alone (an access key), and PIRSCH_BASE_URL, PIRSCH_TRUSTED_PROXIES and
        PIRSCH_CLIENT_IP_HEADER if set; keyword
        arguments are passed on (and win)."""
        env = os.environ
        if "PIRSCH_CLIENT_SECRET" not in env and "client_secret" not in options and "access_key" not in options:
            raise InvalidArgument("PIRSCH_CLIENT_SECRET is not set (an access key pa_..., or with "
                                  "PIRSCH_CLIENT_ID an OAuth client's secret)", ERR_INVALID_ARGUMENT)
        kwargs: Dict[str, Any] = {}
        if "access_key" not in options:
            kwargs["client_id"] = env.get("PIRSCH_CLIENT_ID") or None
            kwargs["client_secret"] = env.get("PIRSCH_CLIENT_SECRET")
        if env.get("PIRSCH_BASE_URL"):
            kwargs["base_url"] = env["PIRSCH_BASE_URL"]
        for key in ("trusted_proxies", "client_ip_header"):
            if env.get("PIRSCH_" + key.upper()):
                kwargs[key] = env["PIRSCH_" + key.upper()]
        kwargs.update(options)
        return cls(**kwargs)

    # -- lifetime ------------------------------------------------------------------------

    def _enter(self) -> int:
        with self._cond:
            if self._handle is None or self._closing:
                raise Closed("the client is closed", ERR_CLOSED)
            self._busy += 1
            return self._handle

    def _leave(self) -> None:
        with self._cond:
            self._busy -= 1
            if self._closing and self._busy == 0:
                self._cond.notify_all()

    def _call(self, fn: Any, *args: Any) -> None:
        handle = self._enter()
        try:
            rc = fn(handle, *args)
            if rc != 0:
                message = _native.last_error()  # this thread's, right after the call
        finally:
            self._leave()
        if rc != 0:
            raise error_for(rc, message)

    @property
    def closed(self) -> bool:
        return self._handle is None or self._closing

    def close(self) -> None:
        """Stops accepting, delivers what is queued within ``shutdown_timeout_ms`` and frees
        the client (pirsch_free). Waits for calls in progress in other threads first.
        Idempotent."""
        with self._cond:
            if self._handle is None or self._closing:
                return
            self._closing = True
            while self._busy:
                self._cond.wait()
            handle, self._handle = self._handle, None
        _open_clients.discard(self)
        self._lib.pirsch_free(handle)
        _log_targets.pop(self._log_token, None)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # Not while the interpreter is finalizing: the sender thread may then be unable to
        # call the logger, and pirsch_free would wait for it.
        if getattr(self, "_handle", None) is not None and not sys.is_finalizing():
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<pirsch.Client {'closed' if self.closed else 'open'}>"

    def _after_fork_in_child(self) -> None:
        # Another thread of the parent may have held the lock or been inside a call: neither
        # exists here. The library itself carries the client through the fork.
        self._cond = threading.Condition(threading.Lock())
        self._busy = 0

    # -- sending -------------------------------------------------------------------------

    def _submit(self, kind: str, req: _Request, wait: bool) -> None:
        lib = self._lib
        hit = ctypes.byref(req.hit)
        if kind == "hit":
            self._call(lib.pirsch_hit if wait else lib.pirsch_hit_enqueue, hit)
        elif kind == "event":
            assert req.event is not None
            self._call(lib.pirsch_event if wait else lib.pirsch_event_enqueue, ctypes.byref(req.event), hit)
        else:
            self._call(lib.pirsch_session if wait else lib.pirsch_session_enqueue, hit)

    def hit(
        self,
        *,
        url: Optional[str] = None,
        ip: Optional[str] = None,
        user_agent: Optional[str] = None,
        accept_language: Optional[str] = None,
        sec_ch_ua: Optional[str] = None,
        sec_ch_ua_mobile: Optional[str] = None,
        sec_ch_ua_platform: Optional[str] = None,
        sec_ch_ua_platform_version: Optional[str] = None,
        sec_ch_width: Optional[str] = None,
        sec_ch_viewport_width: Optional[str] = None,
        title: Optional[str] = None,
        referrer: Optional[str] = None,
        cf_connecting_ip: Optional[str] = None,
        x_forwarded_for: Optional[str] = None,
        forwarded: Optional[str] = None,
        x_real_ip: Optional[str] = None,
        screen_width: int = 0,
        screen_height: int = 0,
        disable_bot_filter: bool = False,
        tags: Optional[Mapping[str, str]] = None,
        headers: Optional[Headers] = None,
        time: Optional[TimeLike] = None,
        wait: bool = True,
    ) -> None:
        """Sends a page view. ``url`` (the full URL) and ``ip`` (the peer that connected to
        your server) are required; None and "" fields are not sent.

        ``headers``: the request's raw headers (a mapping or (name, value) pairs); the
        user agent, client hints, referrer and proxy fields are taken from them
        (pirsch_hit_options_from_headers), and explicit fields override them.

        ``time``: when it happened, for importing logs: an aware ``datetime`` (naive = UTC),
        epoch milliseconds (``int``) or an RFC 3339 string; ``None`` = now. More than 60 s
        ahead, or older than ``max_item_age_ms`` (1 hour by default; raise it, up to 30 days,
        to import older logs), raises InvalidArgument with the library's reason.

        ``wait=True`` (default) blocks until the API accepted it (pirsch_hit);
        ``wait=False`` queues it for the background sender and returns at once
        (pirsch_hit_enqueue; may raise QueueFull or Closed, never a network error).
        """
        fields = dict(locals())
        self._submit("hit", _build_hit(fields), wait)

    def event(
        self,
        name: str,
        *,
        duration_seconds: int = 0,
        meta: Optional[Mapping[str, str]] = None,
        non_interactive: bool = False,
        url: Optional[str] = None,
        ip: Optional[str] = None,
        user_agent: Optional[str] = None,
        accept_language: Optional[str] = None,
        sec_ch_ua: Optional[str] = None,
        sec_ch_ua_mobile: Optional[str] = None,
        sec_ch_ua_platform: Optional[str] = None,
        sec_ch_ua_platform_version: Optional[str] = None,
        sec_ch_width: Optional[str] = None,
        sec_ch_viewport_width: Optional[str] = None,
        title: Optional[str] = None,
        referrer: Optional[str] = None,
        cf_connecting_ip: Optional[str] = None,
        x_forwarded_for: Optional[str] = None,
        forwarded: Optional[str] = None,
        x_real_ip: Optional[str] = None,
        screen_width: int = 0,
        screen_height: int = 0,
        disable_bot_filter: bool = False,
        tags: Optional[Mapping[str, str]] = None,
        headers: Optional[Headers] = None,
        time: Optional[TimeLike] = None,
        wait: bool = True,
    ) -> None:
        """Sends an event ``name`` (e.g. "signup") on the page view the other fields describe
        (as in :meth:`hit`). ``duration_seconds`` (0: not sent), ``meta``: up to 20 string
        entries. ``time`` as in :meth:`hit`. Blocking, or queued with ``wait=False``."""
        fields = dict(locals())
        req = _build_hit(fields)
        _add_event(req, name, duration_seconds, meta, non_interactive)
        self._submit("event", req, wait)

    def session(
        self,
        *,
        ip: Optional[str] = None,
        user_agent: Optional[str] = None,
        url: Optional[str] = None,
        accept_language: Optional[str] = None,
        sec_ch_ua: Optional[str] = None,
        sec_ch_ua_mobile: Optional[str] = None,
        sec_ch_ua_platform: Optional[str] = None,
        sec_ch_ua_platform_version: Optional[str] = None,
        sec_ch_width: Optional[str] = None,
        sec_ch_viewport_width: Optional[str] = None,
        title: Optional[str] = None,
        referrer: Optional[str] = None,
        cf_connecting_ip: Optional[str] = None,
        x_forwarded_for: Optional[str] = None,
        forwarded: Optional[str] = None,
        x_real_ip: Optional[str] = None,
        screen_width: int = 0,
        screen_height: int = 0,
        disable_bot_filter: bool = False,
        tags: Optional[Mapping[str, str]] = None,
        headers: Optional[Headers] = None,
        time: Optional[TimeLike] = None,
        wait: bool = True,
    ) -> None:
        """Keeps the visitor's session alive without a page view. Uses ``ip``,
        ``user_agent``, the sec_ch_* fields and ``disable_bot_filter`` (send the same values
        as with the visitor's page views); the other fields are accepted and ignored, so the
        arguments of :meth:`hit` can be passed as they are. ``time`` as in :meth:`hit`.
        Blocking, or queued with ``wait=False``."""
        fields = dict(locals())
        self._submit("session", _build_hit(fields), wait)

    def _queue_page_view(self, url: bytes, peer: bytes, headers: List[Tuple[bytes, bytes]],
                         tags: Optional[Mapping[str, str]]) -> None:
        """The middleware's path: a page view from a request's raw data, queued. ``url``,
        ``peer`` and the header pairs are bytes already; the array keeps them alive."""
        lib = self._lib
        hit = _native.HitOptions()
        hit.struct_size = _HIT_SIZE
        arr = (_native.KV * len(headers))(*cast(Any, headers))  # tuples become KV structs
        rc = lib.pirsch_hit_options_from_headers(ctypes.byref(hit), url, peer, arr, len(headers))
        if rc != 0:
            raise error_for(rc, _native.last_error())
        if tags:
            pairs = _dict_pairs("tags", tags)
            tag_arr = (_native.KV * len(pairs))(*cast(Any, pairs))
            hit.tags = ctypes.cast(tag_arr, ctypes.POINTER(_native.KV))
            hit.tags_len = len(pairs)
        self._call(lib.pirsch_hit_enqueue, ctypes.byref(hit))

    # -- the queue -----------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> None:
        """Waits up to ``timeout`` seconds until everything queued so far is sent or dropped
        for a counted reason. Raises :class:`pirsch.TimeoutError` when time ran out (the
        items stay queued and are still delivered later)."""
        ms = max(0, min(int(timeout * 1000), _U32))
        self._call(self._lib.pirsch_flush, ms)

    def stats(self) -> Stats:
        """The background queue's counters (see :class:`Stats`)."""
        st = _native.Stats()
        st.struct_size = ctypes.sizeof(_native.Stats)
        self._call(self._lib.pirsch_client_stats, ctypes.byref(st))
        return Stats(**{name: getattr(st, name) for name in _native.STATS_FIELDS})

    # -- statistics ----------------------------------------------------------------------
    # Each blocks like hit(wait=True) and needs an OAuth client (an access key gets
    # HTTPError 403). The names are those of Pirsch's official SDKs, in snake_case.

    def _json_call(self, fn: Any, *args: Any) -> Any:
        out = ctypes.c_void_p()
        self._call(fn, *args, ctypes.byref(out))
        text = _st._take_string(self._lib, out)
        if text is None or not text.strip():
            return None
        try:
            return _json.loads(text)
        except ValueError:
            return text

    def statistics(self, which: Union[Statistic, int], filter: Filter) -> Any:
        """Statistic ``which`` (a :class:`pirsch.Statistic`) for ``filter``, as the API's
        decoded JSON (a list or a dict): pirsch_statistics. The typed methods below parse the
        same answers into dataclasses."""
        cf = _st._CFilter(filter)
        return self._json_call(self._lib.pirsch_statistics, _st._which(which), ctypes.byref(cf.struct))

    def domains(self) -> List[_st.Domain]:
        """The domains this client may read (pirsch_domains)."""
        return _st._list_of(_st.Domain, self._json_call(self._lib.pirsch_domains))

    def domain(self) -> _st.Domain:
        """The client's one domain, as the official SDKs' ``Domain()``; raises PirschError when
        the client can read none or several (use :meth:`domains` then)."""
        domains = self.domains()
        if len(domains) != 1:
            raise PirschError(f"the client can read {len(domains)} domains, not one: use domains()")
        return domains[0]

    def list_funnel(self, domain: Union[str, Filter]) -> List[_st.Funnel]:
        """The funnels of a domain (its id, or a Filter's ``domain_id``) with their steps
        (pirsch_funnels)."""
        domain_id = domain.domain_id if isinstance(domain, Filter) else domain
        return _st._list_of(_st.Funnel, self._json_call(self._lib.pirsch_funnels, _enc("domain_id", domain_id)))

    def funnel(self, filter: Filter, funnel_id: Optional[str] = None) -> _st.FunnelData:
        """A funnel's definition and step figures; ``funnel_id`` (or ``filter.funnel_id``)
        names it (:meth:`list_funnel` lists them)."""
        if funnel_id is not None:
            filter = dataclasses.replace(filter, funnel_id=funnel_id)
        return _st._from_json(_st.FunnelData, self.statistics(Statistic.FUNNEL, filter))

    def visitors(self, filter: Filter) -> List[_st.VisitorStats]:
        """Visitors, views, sessions and bounces per day (or ``filter.scale``)."""
        return _st._list_of(_st.VisitorStats, self.statistics(Statistic.VISITORS, filter))

    def total_visitors(self, filter: Filter) -> _st.TotalVisitorStats:
        """The totals for the days of the filter."""
        return _st._from_json(_st.TotalVisitorStats, self.statistics(Statistic.TOTAL, filter))

    def pages(self, filter: Filter) -> List[_st.PageStats]:
        return _st._list_of(_st.PageStats, self.statistics(Statistic.PAGES, filter))

    def entry_pages(self, filter: Filter) -> List[_st.EntryStats]:
        return _st._list_of(_st.EntryStats, self.statistics(Statistic.ENTRY_PAGES, filter))

    def exit_pages(self, filter: Filter) -> List[_st.ExitStats]:
        return _st._list_of(_st.ExitStats, self.statistics(Statistic.EXIT_PAGES, filter))

    def session_duration(self, filter: Filter) -> List[_st.TimeSpentStats]:
        return _st._list_of(_st.TimeSpentStats, self.statistics(Statistic.SESSION_DURATION, filter))

    def time_on_page(self, filter: Filter) -> List[_st.TimeSpentStats]:
        return _st._list_of(_st.TimeSpentStats, self.statistics(Statistic.TIME_ON_PAGE, filter))

    def utm_source(self, filter: Filter) -> List[_st.UTMSourceStats]:
        return _st._list_of(_st.UTMSourceStats, self.statistics(Statistic.UTM_SOURCE, filter))

    def utm_medium(self, filter: Filter) -> List[_st.UTMMediumStats]:
        return _st._list_of(_st.UTMMediumStats, self.statistics(Statistic.UTM_MEDIUM, filter))

    def utm_campaign(self, filter: Filter) -> List[_st.UTMCampaignStats]:
        return _st._list_of(_st.UTMCampaignStats, self.statistics(Statistic.UTM_CAMPAIGN, filter))

    def utm_content(self, filter: Filter) -> List[_st.UTMContentStats]:
        return _st._list_of(_st.UTMContentStats, self.statistics(Statistic.UTM_CONTENT, filter))

    def utm_term(self, filter: Filter) -> List[_st.UTMTermStats]:
        return _st._list_of(_st.UTMTermStats, self.statistics(Statistic.UTM_TERM, filter))

    def conversion_goals(self, filter: Filter) -> List[_st.ConversionGoal]:
        return _st._list_of(_st.ConversionGoal, self.statistics(Statistic.CONVERSION_GOALS, filter))

    def events(self, filter: Filter) -> List[_st.EventStats]:
        return _st._list_of(_st.EventStats, self.statistics(Statistic.EVENTS, filter))

    def event_metadata(self, filter: Filter) -> List[_st.EventStats]:
        """The values of one event's metadata key: needs ``filter.event`` and
        ``filter.event_meta_key``."""
        return _st._list_of(_st.EventStats, self.statistics(Statistic.EVENT_METADATA, filter))

    def list_events(self, filter: Filter) -> List[_st.EventListStats]:
        return _st._list_of(_st.EventListStats, self.statistics(Statistic.LIST_EVENTS, filter))

    def event_pages(self, filter: Filter) -> List[_st.PageStats]:
        """The pages an event happened on: needs ``filter.event``."""
        return _st._list_of(_st.PageStats, self.statistics(Statistic.EVENT_PAGES, filter))

    def growth(self, filter: Filter) -> _st.Growth:
        return _st._from_json(_st.Growth, self.statistics(Statistic.GROWTH, filter))

    def active_visitors(self, filter: Filter) -> _st.ActiveVisitorsData:
        """Visitors of the last ``filter.start`` seconds (no dates needed)."""
        return _st._from_json(_st.ActiveVisitorsData, self.statistics(Statistic.ACTIVE_VISITORS, filter))

    def time_of_day(self, filter: Filter) -> List[_st.VisitorHourStats]:
        return _st._list_of(_st.VisitorHourStats, self.statistics(Statistic.TIME_OF_DAY, filter))

    def languages(self, filter: Filter) -> List[_st.LanguageStats]:
        return _st._list_of(_st.LanguageStats, self.statistics(Statistic.LANGUAGES, filter))

    def referrer(self, filter: Filter) -> List[_st.ReferrerStats]:
        return _st._list_of(_st.ReferrerStats, self.statistics(Statistic.REFERRER, filter))

    def keywords(self, filter: Filter) -> List[_st.Keyword]:
        """Google Search Console keywords (for a domain connected to it)."""
        return _st._list_of(_st.Keyword, self.statistics(Statistic.KEYWORDS, filter))

    def os(self, filter: Filter) -> List[_st.OSStats]:
        return _st._list_of(_st.OSStats, self.statistics(Statistic.OS, filter))

    def os_versions(self, filter: Filter) -> List[_st.OSVersionStats]:
        return _st._list_of(_st.OSVersionStats, self.statistics(Statistic.OS_VERSIONS, filter))

    def browser(self, filter: Filter) -> List[_st.BrowserStats]:
        return _st._list_of(_st.BrowserStats, self.statistics(Statistic.BROWSER, filter))

    def browser_versions(self, filter: Filter) -> List[_st.BrowserVersionStats]:
        return _st._list_of(_st.BrowserVersionStats, self.statistics(Statistic.BROWSER_VERSIONS, filter))

    def platform(self, filter: Filter) -> _st.PlatformStats:
        return _st._from_json(_st.PlatformStats, self.statistics(Statistic.PLATFORM, filter))

    def screen(self, filter: Filter) -> List[_st.ScreenClassStats]:
        return _st._list_of(_st.ScreenClassStats, self.statistics(Statistic.SCREEN, filter))

    def country(self, filter: Filter) -> List[_st.CountryStats]:
        return _st._list_of(_st.CountryStats, self.statistics(Statistic.COUNTRY, filter))

    def region(self, filter: Filter) -> List[_st.RegionStats]:
        return _st._list_of(_st.RegionStats, self.statistics(Statistic.REGION, filter))

    def city(self, filter: Filter) -> List[_st.CityStats]:
        return _st._list_of(_st.CityStats, self.statistics(Statistic.CITY, filter))

    def tag_keys(self, filter: Filter) -> List[_st.TagStats]:
        return _st._list_of(_st.TagStats, self.statistics(Statistic.TAG_KEYS, filter))

    def tags(self, filter: Filter) -> List[_st.TagStats]:
        """The values of the tag keys in ``filter.tag``."""
        return _st._list_of(_st.TagStats, self.statistics(Statistic.TAGS, filter))

    # -- any API call --------------------------------------------------------------------

    def request(self, path: str, *, method: str = "GET", json: Any = None, **query: Any) -> Any:
        """Calls the API and returns the decoded JSON answer (None for an empty body; the
        text if it is not JSON). ``path`` like "/api/v1/domain" (or "domain": a path without
        a leading slash is taken relative to /api/v1/); keyword arguments are added as query
        parameters (dates as YYYY-MM-DD, lists repeated; a trailing underscore is dropped,
        for ``from_=``). ``json`` is sent as the body.
        Blocks, with the same token handling and retries as :meth:`hit`. Reading statistics
        needs an OAuth client; an access key gets HTTPError with status 403."""
        if not path.startswith("/"):
            path = "/api/v1/" + path
        if query:
            params = {(k[:-1] if k.endswith("_") else k): _query_value(v) for k, v in query.items() if v is not None}
            path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
        body = _enc("json", _json.dumps(json)) if json is not None else None
        m, p = _enc("method", method.upper()), _enc("path", path)
        out = ctypes.c_void_p()
        self._call(self._lib.pirsch_request, m, p, body, ctypes.byref(out))
        if not out.value:
            return None
        try:
            text = ctypes.string_at(out.value).decode("utf-8", "replace")
        finally:
            self._lib.pirsch_string_free(out)
        if not text.strip():
            return None
        try:
            return _json.loads(text)
        except ValueError:
            return text


def _query_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_query_value(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------
# Process lifetime: close what is open at exit (this delivers the queue), and after fork()
# reset the Python-side lock of every client.

def close_all() -> None:
    """Closes every open client of this process (delivering what is queued). Runs at
    interpreter exit, and at the end of a multiprocessing child; call it yourself from
    hooks such as gunicorn's ``worker_exit`` if you like."""
    for client in list(_open_clients):
        try:
            client.close()
        except Exception:
            pass


atexit.register(close_all)


class _MPToken:
    """A weakref-able object for multiprocessing.util.register_after_fork."""


_mp_token = _MPToken()


def _mp_after_fork(_token: Any) -> None:
    # In a multiprocessing child, which ends with os._exit() and so never runs atexit:
    # close the clients in its exit function instead.
    import multiprocessing.util as mp_util

    mp_util.Finalize(None, close_all, exitpriority=10)


def _after_fork_in_child() -> None:
    for client in list(_open_clients):
        client._after_fork_in_child()
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None and _open_clients:
        # Runs later in this child if multiprocessing made it (Process._bootstrap), after it
        # cleared the finalizers inherited from the parent.
        mp_util.register_after_fork(_mp_token, _mp_after_fork)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

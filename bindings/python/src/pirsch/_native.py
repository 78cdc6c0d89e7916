"""ctypes declarations of include/pirsch.h, and finding and loading libpirsch.

The library is looked for, in this order, through:

1. ``PIRSCH_LIBRARY`` (a path to libpirsch.so);
2. the copy inside this package (``pirsch/_lib/libpirsch.so.0``: ``pip install`` builds it
   there from source with setuptools-rust, and a wheel ships it);
3. the system: the dynamic loader (``libpirsch.so.0``: LD_LIBRARY_PATH, ld.so.cache),
   ``ctypes.util.find_library("pirsch")`` and ``pkg-config --variable=libdir pirsch``.

It is loaded on first use (``import pirsch`` works without it) and must have the major
version this package was written for.
"""
import ctypes
import ctypes.util
import os
import subprocess
import sys
import threading
from typing import Any, Callable, List, Optional, Tuple

from .errors import LibraryError

#: The libpirsch version this package was written for (pirsch.h's PIRSCH_VERSION).
HEADER_VERSION = "0.1.0"
MAJOR = int(HEADER_VERSION.split(".")[0])

c_str = ctypes.c_char_p
c_client = ctypes.c_void_p  # struct pirsch_client *
c_config = ctypes.c_void_p  # struct pirsch_config *


class KV(ctypes.Structure):
    """struct pirsch_kv"""

    _fields_ = [("key", c_str), ("value", c_str)]


HIT_STRING_FIELDS = (
    "url", "ip", "user_agent", "accept_language", "sec_ch_ua", "sec_ch_ua_mobile",
    "sec_ch_ua_platform", "sec_ch_ua_platform_version", "sec_ch_width", "sec_ch_viewport_width",
    "title", "referrer", "cf_connecting_ip", "x_forwarded_for", "forwarded", "x_real_ip",
)


_HIT_FIELDS: Any = (
    [("struct_size", ctypes.c_size_t)]
    + [(name, c_str) for name in HIT_STRING_FIELDS]
    + [
        ("screen_width", ctypes.c_int32),
        ("screen_height", ctypes.c_int32),
        ("disable_bot_filter", ctypes.c_bool),
        ("tags", ctypes.POINTER(KV)),
        ("tags_len", ctypes.c_size_t),
        ("time", c_str),
    ]
)


class HitOptions(ctypes.Structure):
    """struct pirsch_hit_options"""

    _fields_ = _HIT_FIELDS


class EventOptions(ctypes.Structure):
    """struct pirsch_event_options"""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", c_str),
        ("duration_seconds", ctypes.c_uint32),
        ("meta", ctypes.POINTER(KV)),
        ("meta_len", ctypes.c_size_t),
        ("non_interactive", ctypes.c_bool),
    ]


STATS_FIELDS = (
    "enqueued", "sent", "batches", "retries", "dropped_queue_full", "dropped_rejected",
    "dropped_expired", "dropped_shutdown", "queue_depth", "in_flight", "token_refreshes",
    "forks_detected", "spooled", "unspooled", "spool_dropped", "spool_errors",
)


_STATS_FIELDS: Any = [("struct_size", ctypes.c_size_t)] + [(name, ctypes.c_uint64) for name in STATS_FIELDS]


class Stats(ctypes.Structure):
    """struct pirsch_stats"""

    _fields_ = _STATS_FIELDS


class Strings(ctypes.Structure):
    """struct pirsch_strings"""

    _fields_ = [("items", ctypes.POINTER(c_str)), ("len", ctypes.c_size_t)]


#: The list fields of struct pirsch_filter, in order (each a struct pirsch_strings).
FILTER_LIST_FIELDS = (
    "path", "pattern", "entry_path", "exit_path", "event", "event_meta_key", "language", "country",
    "region", "city", "referrer", "referrer_name", "os", "browser", "screen_class", "utm_source",
    "utm_medium", "utm_campaign", "utm_content", "utm_term", "tag",
)

_FILTER_FIELDS: Any = (
    [
        ("struct_size", ctypes.c_size_t),
        ("domain_id", c_str),
        ("from", c_str),
        ("to", c_str),
        ("tz", c_str),
        ("scale", c_str),
        ("start", ctypes.c_uint32),
    ]
    + [(name, Strings) for name in FILTER_LIST_FIELDS]
    + [
        ("platform", c_str),
        ("event_meta", ctypes.POINTER(KV)),
        ("event_meta_len", ctypes.c_size_t),
        ("tags", ctypes.POINTER(KV)),
        ("tags_len", ctypes.c_size_t),
        ("custom_metric_key", c_str),
        ("custom_metric_type", c_str),
        ("include_avg_time_on_page", ctypes.c_bool),
        ("offset", ctypes.c_uint32),
        ("limit", ctypes.c_uint32),
        ("sort", c_str),
        ("direction", c_str),
        ("search", c_str),
        ("funnel_id", c_str),
    ]
)


class Filter(ctypes.Structure):
    """struct pirsch_filter"""

    _fields_ = _FILTER_FIELDS


#: void (*log)(void *userdata, int level, const char *message)
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, c_str)

P_HIT = ctypes.POINTER(HitOptions)
P_EVENT = ctypes.POINTER(EventOptions)
P_KV = ctypes.POINTER(KV)
P_FILTER = ctypes.POINTER(Filter)
P_STATS = ctypes.POINTER(Stats)
P_OUT = ctypes.POINTER(ctypes.c_void_p)  # char **: freed with pirsch_string_free
result = ctypes.c_int32  # pirsch_result
statistic = ctypes.c_int32  # pirsch_statistic

#: Every function of pirsch.h: name -> (restype, argtypes).
FUNCTIONS = {
    "pirsch_version": (c_str, []),
    "pirsch_strerror": (c_str, [result]),
    "pirsch_last_error": (c_str, []),
    "pirsch_last_error_code": (result, []),
    "pirsch_config_new": (c_config, []),
    "pirsch_config_set": (result, [c_config, c_str, c_str]),
    "pirsch_config_set_logger": (result, [c_config, LOG_CALLBACK, ctypes.c_void_p]),
    "pirsch_config_free": (None, [c_config]),
    "pirsch_client_new": (c_client, [c_str, c_str, c_config]),
    "pirsch_client_shared": (c_client, [c_str, c_str, c_str, c_config]),
    "pirsch_free": (None, [c_client]),
    "pirsch_hit": (result, [c_client, P_HIT]),
    "pirsch_event": (result, [c_client, P_EVENT, P_HIT]),
    "pirsch_session": (result, [c_client, P_HIT]),
    # char **response_out: a void pointer we free with pirsch_string_free (a c_char_p result
    # would be copied to bytes and lose the pointer).
    "pirsch_request": (result, [c_client, c_str, c_str, c_str, P_OUT]),
    "pirsch_string_free": (None, [ctypes.c_void_p]),
    "pirsch_hit_options_from_headers": (result, [P_HIT, c_str, c_str, P_KV, ctypes.c_size_t]),
    "pirsch_hit_enqueue": (result, [c_client, P_HIT]),
    "pirsch_event_enqueue": (result, [c_client, P_EVENT, P_HIT]),
    "pirsch_session_enqueue": (result, [c_client, P_HIT]),
    "pirsch_flush": (result, [c_client, ctypes.c_uint32]),
    "pirsch_stats": (result, [c_client, P_STATS]),
    "pirsch_client_stats": (result, [c_client, P_STATS]),
    "pirsch_statistics": (result, [c_client, statistic, P_FILTER, P_OUT]),
    "pirsch_statistics_path": (result, [statistic, P_FILTER, P_OUT]),
    "pirsch_domains": (result, [c_client, P_OUT]),
    "pirsch_funnels": (result, [c_client, c_str, P_OUT]),
}

_PACKAGE_LIB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")
_FILE_NAMES = (f"libpirsch.so.{MAJOR}", "libpirsch.so", "libpirsch.dylib")

_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None
_load_lock = threading.Lock()


def _declare(lib: ctypes.CDLL, path: str) -> ctypes.CDLL:
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise LibraryError(
                f"{path} has no {name}: it is older than the libpirsch {HEADER_VERSION} this package "
                f"needs; install a newer libpirsch or point PIRSCH_LIBRARY at one"
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def _check_version(lib: ctypes.CDLL, path: str) -> None:
    version = lib.pirsch_version().decode("ascii", "replace")
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = -1
    if major != MAJOR:
        raise LibraryError(
            f"{path} is libpirsch {version}, but this package (pirsch {HEADER_VERSION}) needs "
            f"libpirsch {MAJOR}.x: install a matching libpirsch, or point PIRSCH_LIBRARY at one, "
            f"or install the pirsch package that matches your library"
        )


def _pkg_config_libdir() -> Tuple[Optional[str], str]:
    """(libdir, "") or (None, why not)."""
    try:
        out = subprocess.run(
            ["pkg-config", "--variable=libdir", "pirsch"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"not usable ({e.__class__.__name__})"
    libdir = out.stdout.strip()
    if out.returncode != 0 or not libdir:
        return None, "no pirsch.pc on PKG_CONFIG_PATH"
    return libdir, ""


def _candidates() -> List[Tuple[str, Callable[[], Tuple[List[str], str]]]]:
    """(where, look) in search order; look() gives (paths found, why none)."""

    def package_copy() -> Tuple[List[str], str]:
        found = [os.path.join(_PACKAGE_LIB_DIR, f) for f in _FILE_NAMES]
        return [p for p in found if os.path.exists(p)], f"nothing in {_PACKAGE_LIB_DIR}"

    def dynamic_loader() -> Tuple[List[str], str]:
        return [f"libpirsch.so.{MAJOR}" if sys.platform != "darwin" else "libpirsch.dylib"], ""

    def find_library() -> Tuple[List[str], str]:
        name = ctypes.util.find_library("pirsch")
        return ([name] if name else []), "nothing"

    def pkg_config() -> Tuple[List[str], str]:
        libdir, why = _pkg_config_libdir()
        if libdir is None:
            return [], why
        found = [p for p in (os.path.join(libdir, f) for f in _FILE_NAMES) if os.path.exists(p)]
        return found, f"no libpirsch in {libdir}"

    return [
        ("package copy", package_copy),
        ("dynamic loader", dynamic_loader),
        ("ctypes.util.find_library", find_library),
        ("pkg-config", pkg_config),
    ]


def _open(path: str) -> ctypes.CDLL:
    lib = _declare(ctypes.CDLL(path), path)
    _check_version(lib, path)
    return lib


def load() -> ctypes.CDLL:
    """The loaded library (loading it on the first call). Raises LibraryError."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _load_lock:
        if _lib is not None:
            return _lib
        env = os.environ.get("PIRSCH_LIBRARY")
        if env:
            try:
                lib = _open(env)
            except OSError as e:
                raise LibraryError(
                    f"PIRSCH_LIBRARY={env} could not be loaded ({e}): point it at libpirsch.so, "
                    f"or unset it to use the copy in the package or the system's"
                ) from None
            _lib_path, _lib = env, lib
            return lib
        tried = ["PIRSCH_LIBRARY: not set"]
        for where, look in _candidates():
            found, why = look()
            if not found:
                tried.append(f"{where}: {why}")
            for path in found:
                try:
                    lib = _open(path)
                except OSError as e:
                    tried.append(f"{where}: {path}: {e}")
                    continue
                except LibraryError as e:
                    tried.append(f"{where}: {e}")
                    continue
                _lib_path, _lib = path, lib
                return lib
        raise LibraryError(
            "libpirsch not found (looked at " + "; ".join(tried) + "). Fix: set "
            "PIRSCH_LIBRARY=/path/to/libpirsch.so, or install libpirsch system-wide "
            "(`make install PREFIX=/usr/local`, then `ldconfig`), or reinstall this package from a wheel "
            "or from source with cargo on PATH (`pip install ./bindings/python` builds the library into it)"
        )


def path() -> Optional[str]:
    """Where the loaded library came from (None before it is loaded)."""
    return _lib_path


def last_error() -> str:
    """This thread's pirsch_last_error(), decoded."""
    msg = load().pirsch_last_error()
    return msg.decode("utf-8", "replace") if msg else ""


def strerror(code: int) -> str:
    return str(load().pirsch_strerror(code).decode("utf-8", "replace"))


def _reinit_lock_after_fork() -> None:
    global _load_lock
    _load_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_lock_after_fork)

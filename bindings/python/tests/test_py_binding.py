"""The pirsch package's Client against the stand-in, and its ctypes declarations against
include/pirsch.h."""
import ctypes
import gc
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time

import pytest

import pirsch
from pirsch import _native, errors
from standin import LIBRARY, ROOT

HEADER = os.path.join(ROOT, "include", "pirsch.h")

VISITOR = dict(
    url="https://example.com/every-field?x=1",
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    accept_language="fr-FR,fr;q=0.8",
    sec_ch_ua='"Chromium";v="131"',
    sec_ch_ua_mobile="?0",
    sec_ch_ua_platform='"Linux"',
    sec_ch_ua_platform_version='"6.1.0"',
    sec_ch_width="1920",
    sec_ch_viewport_width="1280",
    title="Every field",
    referrer="https://search.example/?q=pirsch",
    cf_connecting_ip="198.51.100.1",
    x_forwarded_for="198.51.100.2",
    forwarded="for=198.51.100.3",
    x_real_ip="198.51.100.4",
    screen_width=1920,
    screen_height=1080,
    disable_bot_filter=True,
)
STRINGS = [k for k, v in VISITOR.items() if isinstance(v, str)]
TAGS = {"author": "alice", "lang": "python", "empty": ""}


# --- the binding matches the header ----------------------------------------------------

def _header_text():
    with open(HEADER) as f:
        text = f.read()
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


C_TYPES = {
    "size_t": ctypes.c_size_t,
    "const char *": ctypes.c_char_p,
    "int32_t": ctypes.c_int32,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "int": ctypes.c_int,
    "bool": ctypes.c_bool,
    "pirsch_result": ctypes.c_int32,
    "void *": ctypes.c_void_p,
    "const struct pirsch_kv *": ctypes.POINTER(_native.KV),
    "const struct pirsch_hit_options *": ctypes.POINTER(_native.HitOptions),
    "struct pirsch_hit_options *": ctypes.POINTER(_native.HitOptions),
    "const struct pirsch_event_options *": ctypes.POINTER(_native.EventOptions),
    "struct pirsch_stats *": ctypes.POINTER(_native.Stats),
    "pirsch_queue_stats *": ctypes.POINTER(_native.Stats),
    "pirsch_statistic": ctypes.c_int32,
    "const struct pirsch_filter *": ctypes.POINTER(_native.Filter),
    "struct pirsch_strings": _native.Strings,
    "const char *const *": ctypes.POINTER(ctypes.c_char_p),
    # Opaque handles are plain pointers.
    "struct pirsch_client *": ctypes.c_void_p,
    "const struct pirsch_client *": ctypes.c_void_p,
    "struct pirsch_config *": ctypes.c_void_p,
    "const struct pirsch_config *": ctypes.c_void_p,
    # Strings the library returns for us to free stay raw pointers (c_char_p would copy them).
    "char **": ctypes.POINTER(ctypes.c_void_p),
    "char *": ctypes.c_void_p,
    "void": None,
}


def _split_decl(decl):
    """'const char *url' -> ('const char *', 'url')"""
    decl = " ".join(decl.split())
    m = re.fullmatch(r"(.*?[\s*])(\w+)", decl)
    ctype = re.sub(r"\s*\*", " *", m.group(1).strip()).replace("* *", "**")
    return ctype, m.group(2)


def _split_params(params):
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur)
    return [p.strip() for p in out if p.strip() and p.strip() != "void"]


@pytest.mark.parametrize("cname,struct", [
    ("pirsch_kv", _native.KV),
    ("pirsch_hit_options", _native.HitOptions),
    ("pirsch_event_options", _native.EventOptions),
    ("pirsch_stats", _native.Stats),
    ("pirsch_strings", _native.Strings),
    ("pirsch_filter", _native.Filter),
])
def test_py_structs_match_the_header(cname, struct):
    m = re.search(r"struct " + cname + r" \{(.*?)\}", _header_text(), re.S)
    assert m, f"struct {cname} not found in pirsch.h"
    fields = [_split_decl(d) for d in m.group(1).split(";") if d.strip()]
    assert [name for _, name in fields] == [name for name, _ in struct._fields_], f"{cname}: field names or order differ"
    for (ctype, name), (_, pytype) in zip(fields, struct._fields_):
        assert C_TYPES[ctype] == pytype, f"{cname}.{name}: {ctype} declared as {pytype}"
    if cname == "pirsch_stats":
        assert tuple(pirsch.Stats.__dataclass_fields__) == tuple(name for _, name in fields[1:])
    if cname == "pirsch_filter":
        # pirsch.Filter has every field but struct_size (from_ for from; each pointer with
        # its length as one mapping).
        c_names = [name for _, name in fields[1:] if not name.endswith("_len")]
        assert [n.rstrip("_") for n in pirsch.Filter.__dataclass_fields__] == c_names


def test_py_every_function_is_declared_as_in_the_header():
    protos = re.findall(r"^([\w ]+?[\s*]+)(pirsch_\w+)\((.*?)\);", _header_text(), re.S | re.M)
    assert len(protos) >= 20
    assert {name for _, name, _ in protos} == set(_native.FUNCTIONS), "functions added to or removed from pirsch.h"
    lib = _native.load()
    for ret, name, params in protos:
        restype, argtypes = _native.FUNCTIONS[name]
        ret = re.sub(r"\s*\*", " *", " ".join(ret.split()))
        assert C_TYPES[ret] == restype, f"{name}: returns {ret}, declared {restype}"
        params = _split_params(params)
        assert len(params) == len(argtypes), f"{name}: {len(params)} parameters, {len(argtypes)} declared"
        for p, t in zip(params, argtypes):
            fp = re.fullmatch(r"void \(\*\w+\)\((.*)\)", " ".join(p.split()))
            if fp:  # the logger callback
                assert t is _native.LOG_CALLBACK
                cb = [C_TYPES[_split_decl(a)[0]] for a in _split_params(fp.group(1))]
                assert cb == list(t._argtypes_) and t._restype_ is None
            else:
                assert C_TYPES[_split_decl(p)[0]] == t, f"{name}: parameter {p} declared as {t}"
        fn = getattr(lib, name)
        assert fn.restype == restype and fn.argtypes == argtypes


def test_py_constants_match_the_header():
    text = _header_text()
    defines = dict(re.findall(r"#define (PIRSCH_\w+) (\S+)", text))
    assert defines["PIRSCH_VERSION"].strip('"') == _native.HEADER_VERSION
    assert int(defines["PIRSCH_VERSION_MAJOR"]) == _native.MAJOR
    for name, value in defines.items():
        if name.startswith("PIRSCH_ERR_"):
            assert getattr(errors, name[len("PIRSCH_"):]) == int(value), name
            cls = errors._BY_CODE[int(value)]
            assert issubclass(cls, pirsch.PirschError)
    assert pirsch.library_version() == _native.HEADER_VERSION
    statistics = {name[len("PIRSCH_STATISTIC_"):]: int(v) for name, v in defines.items()
                  if name.startswith("PIRSCH_STATISTIC_")}
    assert statistics.pop("COUNT") == len(pirsch.Statistic)
    assert statistics == {s.name: s.value for s in pirsch.Statistic}


# --- finding the library ---------------------------------------------------------------

def _run_py(code, tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if k != "PIRSCH_LIBRARY"}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=30)


def test_py_library_search_order_and_errors(tmp_path):
    import shutil

    # A copy of the package with the library inside it: found without PIRSCH_LIBRARY.
    pkg = tmp_path / "pkg"
    shutil.copytree(os.path.join(ROOT, "bindings", "python", "src", "pirsch"), pkg / "pirsch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "pirsch" / "_lib").mkdir(exist_ok=True)
    shutil.copy(LIBRARY, pkg / "pirsch" / "_lib" / "libpirsch.so")
    r = _run_py("import pirsch; print(pirsch.library_path()); print(pirsch.library_version())", tmp_path,
                PYTHONPATH=str(pkg))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(pkg / "pirsch" / "_lib" / "libpirsch.so"), _native.HEADER_VERSION]

    # PIRSCH_LIBRARY wins over the package copy; a wrong one is an error that says so.
    r = _run_py("import pirsch; print(pirsch.library_path())", tmp_path, PYTHONPATH=str(pkg), PIRSCH_LIBRARY=LIBRARY)
    assert r.stdout.strip() == LIBRARY, r.stderr
    code = "import pirsch\ntry:\n    pirsch.Client('pa_x')\nexcept pirsch.LibraryError as e:\n    print(e)\n"
    r = _run_py(code, tmp_path, PYTHONPATH=os.path.join(ROOT, "bindings", "python", "src"),
                PIRSCH_LIBRARY=str(tmp_path / "nope.so"))
    assert "PIRSCH_LIBRARY=" in r.stdout and "nope.so" in r.stdout, r.stdout + r.stderr

    # Nothing anywhere: the error lists where it looked and how to fix it. (A copy of the
    # sources without _lib/: `pip install -e` builds the library into the source tree's.)
    if not _system_has_libpirsch():
        bare = tmp_path / "bare"
        shutil.copytree(os.path.join(ROOT, "bindings", "python", "src", "pirsch"), bare / "pirsch",
                        ignore=shutil.ignore_patterns("__pycache__", "_lib"))
        r = _run_py(code, tmp_path, PYTHONPATH=str(bare), LD_LIBRARY_PATH="", PKG_CONFIG_PATH=str(tmp_path))
        out = r.stdout
        assert "libpirsch not found" in out and "PIRSCH_LIBRARY" in out and "_lib" in out, out + r.stderr
        assert "pkg-config" in out and "find_library" in out and "make install" in out


def _system_has_libpirsch():
    import ctypes.util

    return bool(ctypes.util.find_library("pirsch"))


def test_py_version_mismatch_is_refused(monkeypatch):
    monkeypatch.setattr(_native, "MAJOR", _native.MAJOR + 1)
    with pytest.raises(pirsch.LibraryError, match=rf"is libpirsch {_native.HEADER_VERSION}.*needs libpirsch {_native.MAJOR}\.x"):
        _native._check_version(_native.load(), "the library")


# --- sending ---------------------------------------------------------------------------

def _check_every_field(body, url):
    for field in STRINGS:
        expected = url if field == "url" else VISITOR[field]
        assert body.get(field) == expected, f"{field}: {body.get(field)!r}"
    assert body["screen_width"] == 1920 and body["screen_height"] == 1080
    assert body["disable_bot_filter"] is True


@pytest.mark.parametrize("wait", [True, False], ids=["blocking", "queued"])
def test_py_hit_event_session_every_field(standin, make_client, wait):
    client = make_client(forward_proxy_headers=True, flush_interval_ms=20)
    url = f"https://example.com/every-field-{wait}"
    visitor = dict(VISITOR, url=url)
    client.hit(**visitor, tags=TAGS, wait=wait)
    client.event("purchase", duration_seconds=42, meta={"product": "t-shirt", "size": "L"}, non_interactive=True,
                 **visitor, wait=wait)
    client.session(**visitor, wait=wait)
    if not wait:
        client.flush(5)

    (hit,) = [i for i in standin.items("hit")]
    assert hit["batch"] is not wait and ("time" in hit["body"]) is not wait
    _check_every_field(hit["body"], url)
    assert hit["body"]["tags"] == TAGS

    (event,) = [i["body"] for i in standin.items("event")]
    _check_every_field(event, url)
    assert event["event_name"] == "purchase" and event["event_duration"] == 42
    assert event["event_meta"] == {"product": "t-shirt", "size": "L"} and event["non_interactive"] is True

    (session,) = [i["body"] for i in standin.items("session")]
    assert session["ip"] == VISITOR["ip"] and session["user_agent"] == VISITOR["user_agent"]
    assert "url" not in session

    st = client.stats()
    assert st.enqueued == (0 if wait else 3) and st.sent == st.enqueued


def test_py_hit_from_raw_headers(standin, make_client):
    client = make_client(trusted_proxies=["10.0.0.0/8", "127.0.0.1"])
    headers = [
        ("User-Agent", "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"),
        ("accept-language", "es-ES"),
        ("X-Forwarded-For", "198.51.100.23"),
        ("X-Forwarded-For", "10.0.0.2"),
        ("Cookie", "session=never-sent"),
        ("Authorization", "Bearer never-sent"),
    ]
    client.hit(url="https://example.com/proxied?utm_source=newsletter", ip="10.0.0.2", headers=headers)
    # Explicit fields override the headers; a mapping works as well.
    client.hit(url="https://example.com/override", ip="10.0.0.9", headers={"User-Agent": "from-header"},
               user_agent="explicit", title="T")
    # Not behind a trusted proxy: the header is ignored.
    client.hit(url="https://example.com/direct", ip="203.0.113.50", headers={"X-Forwarded-For": "198.51.100.99"})
    a, b, c = [i["body"] for i in standin.items("hit")]
    assert a["ip"] == "198.51.100.23" and a["referrer"] == "newsletter" and a["accept_language"] == "es-ES"
    assert a["user_agent"].startswith("Mozilla/5.0") and "never-sent" not in str(a)
    assert b["user_agent"] == "explicit" and b["title"] == "T"
    assert c["ip"] == "203.0.113.50"


# --- errors ----------------------------------------------------------------------------

def test_py_errors_mirror_result_codes(standin, make_client):
    with pytest.raises(pirsch.AuthError, match="client id and secret") as e:
        make_client(client_id="standin-client", client_secret="wrong").hit(url="https://example.com/", ip="1.2.3.4")
    assert e.value.code == errors.ERR_AUTH and isinstance(e.value, pirsch.PirschError)

    client = make_client()
    with pytest.raises(pirsch.InvalidArgument, match="not an absolute http") as e:
        client.hit(url="example.com/no-scheme", ip="1.2.3.4")
    assert isinstance(e.value, ValueError) and e.value.code == errors.ERR_INVALID_ARGUMENT
    with pytest.raises(pirsch.InvalidArgument, match="ip"):
        client.hit(url="https://example.com/", ip="not-an-ip", wait=False)
    with pytest.raises(pirsch.InvalidArgument, match="tags"):
        client.hit(url="https://example.com/", ip="1.2.3.4", tags={"": "empty key"})
    with pytest.raises(pirsch.InvalidArgument, match="NUL"):
        client.hit(url="https://example.com/", ip="1.2.3.4", title="a\0b")
    with pytest.raises(TypeError):
        client.hit(url="https://example.com/", ip="1.2.3.4", tags={"n": 1})
    with pytest.raises(pirsch.InvalidArgument, match="name"):
        client.event("", url="https://example.com/", ip="1.2.3.4")

    key = make_client(access_key="pa_standin_key")
    key.hit(url="https://example.com/with-key", ip="1.2.3.4")  # access keys write
    with pytest.raises(pirsch.HTTPError) as e:
        key.request("/api/v1/domain")
    assert e.value.status == 403 and "access key" in str(e.value)

    standin.post("/_standin/faults", {"status": 503})
    with pytest.raises(pirsch.HTTPError, match="503") as e:
        make_client(max_retries=0).hit(url="https://example.com/", ip="1.2.3.4")
    assert e.value.status == 503
    standin.reset()

    with pytest.raises(pirsch.NetworkError) as e:
        make_client(base_url="http://127.0.0.1:1", max_retries=0).hit(url="https://example.com/", ip="1.2.3.4")
    assert isinstance(e.value, ConnectionError)

    standin.post("/_standin/faults", {"delay_ms": 2000, "path_prefix": "/api/v1/hit"})
    slow = make_client(timeout_ms=200, max_retries=0, shutdown_timeout_ms=50)
    with pytest.raises(pirsch.TimeoutError) as e:
        slow.hit(url="https://example.com/", ip="1.2.3.4")
    assert isinstance(e.value, TimeoutError)
    slow.hit(url="https://example.com/slow", ip="1.2.3.4", wait=False)
    with pytest.raises(pirsch.TimeoutError):
        slow.flush(0.1)

    full = make_client(queue_capacity=1, batch_size=1, shutdown_timeout_ms=50, timeout_ms=2000)
    with pytest.raises(pirsch.QueueFull):
        for i in range(10):
            full.hit(url=f"https://example.com/full{i}", ip="1.2.3.4", wait=False)
    assert full.stats().dropped_queue_full == 1

    full.close()
    with pytest.raises(pirsch.Closed):
        full.hit(url="https://example.com/", ip="1.2.3.4", wait=False)


def test_py_bad_configuration_and_credentials(standin):
    with pytest.raises(pirsch.InvalidArgument, match="timeout_ms"):
        pirsch.Client("pa_x", timeout_ms=0)
    with pytest.raises(pirsch.InvalidArgument, match="plain http"):
        pirsch.Client("pa_x", base_url="http://example.com")
    with pytest.raises(pirsch.InvalidArgument, match="pa_"):
        pirsch.Client("not-an-access-key")
    with pytest.raises(pirsch.InvalidArgument, match="no credentials"):
        pirsch.Client()
    with pytest.raises(pirsch.InvalidArgument, match="either"):
        pirsch.Client("pa_x", client_id="a", client_secret="b")
    with pirsch.Client("pa_x", base_url="http://example.com", allow_insecure_http=True, trusted_proxies="10.0.0.0/8",
                       timeout_ms=1000, max_retries=0, queue_capacity=10, batch_size=5, flush_interval_ms=10,
                       shutdown_timeout_ms=0, max_item_age_ms=1000, forward_proxy_headers=False,
                       log_level="error") as c:
        assert not c.closed
    assert c.closed


# --- stats, request, logging, lifetime -------------------------------------------------

def test_py_stats_dataclass(standin, make_client):
    client = make_client(flush_interval_ms=10)
    for i in range(25):
        client.hit(url=f"https://example.com/s{i}", ip="1.2.3.4", wait=False)
    client.flush(5)
    st = client.stats()
    assert isinstance(st, pirsch.Stats)
    assert st.enqueued == 25 and st.sent == 25 and st.dropped == 0 and st.queue_depth == 0 and st.in_flight == 0
    assert st.batches >= 1 and st.token_refreshes == 1 and st.forks_detected == 0
    with pytest.raises(Exception):
        st.sent = 0  # frozen
    assert st.enqueued == st.sent + st.dropped + st.queue_depth + st.in_flight


def test_py_spool_hands_over_to_the_next_client(standin, make_client, tmp_path):
    import time

    standin.post("/_standin/faults", {"status": 503, "path_prefix": "/api/v1/hit/batch"})
    first = make_client(spool_dir=str(tmp_path), spool_sync="shutdown", shutdown_timeout_ms=200,
                        flush_interval_ms=20)
    for i in range(12):
        first.hit(url=f"https://example.com/spooled/{i}", ip="1.2.3.4", wait=False)
    first.close()
    assert len(list(tmp_path.glob("*.spool"))) == 1
    import urllib.request
    req = urllib.request.Request(standin.url + "/_standin/faults", method="DELETE")
    urllib.request.urlopen(req).read()
    second = make_client(spool_dir=str(tmp_path), flush_interval_ms=20)
    second.hit(url="https://example.com/after", ip="1.2.3.4", wait=False)
    deadline = time.time() + 10
    while second.stats().unspooled < 12 and time.time() < deadline:
        time.sleep(0.05)
    st = second.stats()
    assert (st.unspooled, st.spool_dropped, st.spool_errors) == (12, 0, 0), st
    # The delivered file is gone; the second client's own file (spool_sync=interval) goes
    # when it closes with nothing left in it.
    second.close()
    assert not list(tmp_path.glob("*.spool"))


def test_py_request(standin, make_client):
    client = make_client()
    client.hit(url="https://example.com/r", ip="1.2.3.4")
    domains = client.request("/api/v1/domain")
    assert domains[0]["id"] == "standin-domain-1"
    import datetime

    today = datetime.datetime.now(datetime.timezone.utc).date()
    visitors = client.request("statistics/visitor", id=domains[0]["id"], from_=today, to=today)
    assert visitors[0]["views"] == 1
    body = {"url": "https://example.com/posted", "ip": "1.2.3.5"}
    assert client.request("/api/v1/hit", method="POST", json=body) is None
    assert standin.items("hit")[-1]["body"] == body
    with pytest.raises(pirsch.HTTPError) as e:
        client.request("/api/v1/nowhere")
    assert e.value.status == 404


def test_py_logging(standin, make_client, caplog):
    standin.post("/_standin/faults", {"status": 503, "count": 1})
    with caplog.at_level(logging.DEBUG, logger="pirsch"):
        client = make_client(flush_interval_ms=10)  # log_level from the logger: debug
        client.hit(url="https://example.com/l", ip="1.2.3.4", wait=False)
        client.flush(5)
    assert any(r.name == "pirsch" and "503" in r.getMessage() for r in caplog.records), caplog.text

    got = []
    standin.post("/_standin/faults", {"status": 503, "count": 1})
    client = make_client(logger=lambda level, msg: got.append((level, msg)), log_level="debug", flush_interval_ms=10)
    gc.collect()  # nothing the library may call is collectable
    client.hit(url="https://example.com/l2", ip="1.2.3.4", wait=False)
    client.flush(5)
    assert any("503" in m for _, m in got) and all(lvl in (10, 20, 30, 40) for lvl, _ in got)


def test_py_close_is_idempotent_and_safe(standin, make_client):
    client = make_client()
    with client as c:
        c.hit(url="https://example.com/c", ip="1.2.3.4", wait=False)
    client.close()
    client.close()
    assert standin.items("hit"), "close delivers what is queued"

    # Closing while other threads send: each call succeeds or raises Closed, none crashes.
    client = make_client(flush_interval_ms=5)
    outcomes = []

    def spam(n):
        for i in range(300):
            try:
                client.hit(url=f"https://example.com/t{n}-{i}", ip="1.2.3.4", wait=False)
                outcomes.append("ok")
            except pirsch.Closed:
                outcomes.append("closed")

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.005)
    client.close()
    for t in threads:
        t.join()
    assert set(outcomes) <= {"ok", "closed"} and len(outcomes) == 1200

    # Garbage collection frees an unreferenced client.
    c = pirsch.Client(client_id="standin-client", client_secret="standin-secret", base_url=standin.url)
    c.hit(url="https://example.com/gc", ip="1.2.3.4", wait=False)
    del c
    gc.collect()
    assert any(i["body"]["url"] == "https://example.com/gc" for i in standin.items("hit"))


# --- fork ------------------------------------------------------------------------------

def _child_sends(client, n):
    for i in range(20):
        client.hit(url=f"https://example.com/mp/{n}/{i}", ip="1.2.3.4", wait=False)
    # No flush: the child's exit delivers what it queued.


def test_py_multiprocessing_fork(standin, make_client):
    # Nothing leaves a child before it ends: its exit delivers what it queued.
    client = make_client(flush_interval_ms=60000)
    client.hit(url="https://example.com/mp/parent/before", ip="1.2.3.4", wait=False)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child_sends, args=(client, n)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(20)
        assert p.exitcode == 0
    client.hit(url="https://example.com/mp/parent/after", ip="1.2.3.4", wait=False)
    client.flush(5)

    # A bare os.fork(): blocking calls work in the child as well.
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            client.hit(url="https://example.com/mp/forked/blocking", ip="1.2.3.4")
            client.hit(url="https://example.com/mp/forked/queued", ip="1.2.3.4", wait=False)
            client.flush(5)
            code = 0 if client.stats().forks_detected == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    urls = [i["body"]["url"] for i in standin.items("hit")]
    expected = {f"https://example.com/mp/{n}/{i}" for n in range(3) for i in range(20)}
    expected |= {f"https://example.com/mp/{w}" for w in ("parent/before", "parent/after", "forked/blocking", "forked/queued")}
    assert sorted(urls) == sorted(expected), "each page view exactly once"
    assert client.stats().forks_detected == 0


def test_py_client_ip_header_names_the_one_header_believed(standin, make_client):
    # The proxy (10.0.0.2) sets X-Real-IP; a visitor's own X-Forwarded-For must not win.
    forged = {"X-Forwarded-For": "6.6.6.6", "CF-Connecting-IP": "6.6.6.7", "Forwarded": "for=6.6.6.8"}
    real_ip = make_client(trusted_proxies="10.0.0.0/8", client_ip_header="x-real-ip")
    real_ip.hit(url="https://example.com/real", ip="10.0.0.2", headers={**forged, "X-Real-IP": "198.51.100.30"})
    default = make_client(trusted_proxies="10.0.0.0/8")
    default.hit(url="https://example.com/default", ip="10.0.0.2", headers={**forged, "X-Real-IP": "198.51.100.30"})
    got = {i["body"]["url"]: i["body"]["ip"] for i in standin.items("hit")}
    assert got == {"https://example.com/real": "198.51.100.30", "https://example.com/default": "6.6.6.6"}
    with pytest.raises(pirsch.InvalidArgument, match="client_ip_header"):
        make_client(client_ip_header="x-client-ip")


def test_py_new_settings_reach_the_library(standin, make_client):
    client = make_client(queue_max_bytes=70000, proxy="none", tls_roots="both")
    client.hit(url="https://example.com/settings", ip="192.0.2.9")
    assert [i["body"]["url"] for i in standin.items("hit")] == ["https://example.com/settings"]
    for bad, key in [({"tls_roots": "none"}, "tls_roots"), ({"queue_max_bytes": 10}, "queue_max_bytes"),
                     ({"proxy": "socks5://h:1"}, "proxy"), ({"ca_file": "/nonexistent.pem"}, "ca_file")]:
        with pytest.raises(pirsch.InvalidArgument, match=key):
            make_client(**bad)

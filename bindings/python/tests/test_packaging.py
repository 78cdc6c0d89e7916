"""`pip install` is the whole install, on both paths (conftest.py: "source" builds libpirsch
with cargo, "wheel" installs target/wheels' wheel without Rust), each in a fresh venv:
the library is found inside the package with no environment variable, and Flask under
gunicorn, FastAPI under uvicorn and Django (WSGI under gunicorn, ASGI under uvicorn) answer
real requests while the stand-in receives exactly the page views that count."""
import os
import signal
import subprocess
import sys
import zipfile

import pytest

from python_env import ROOT, UA, bound_socket, clean_env, fetch, path_without_rust, the_wheel, wait_for, wait_until_up

ACCESS_KEY = "pa_standin_key"

# What every app serves; only the GETs answered with a 2xx HTML page are page views.
REQUESTS = [
    ("GET", "/", 200, "text/html"),
    ("GET", "/about?ref=news", 200, "text/html"),
    ("GET", "/logo.png", 200, "image/png"),
    ("GET", "/api", 200, "application/json"),
    ("POST", "/form", 200, "text/html"),
    ("GET", "/missing", 404, None),
    ("GET", "/about", 200, "text/html"),
]
PAGE_VIEWS = ["/", "/about", "/about?ref=news"]


def send_requests(base):
    for method, path, status, ctype in REQUESTS:
        got_status, got_ctype = fetch(base + path, method, data=b"x=1" if method == "POST" else None)
        assert got_status == status, (method, path)
        if ctype:
            assert got_ctype.startswith(ctype), (method, path, got_ctype)


def assert_page_views(standin, base, expected=PAGE_VIEWS):
    hits = [i["body"] for i in standin.items("hit")]
    assert sorted(h["url"] for h in hits) == sorted(base + p for p in expected)
    assert all(h["ip"] == "127.0.0.1" and h["user_agent"] == UA for h in hits)
    assert standin.items("event") == [] and standin.items("session") == []


def serve(venv, cwd, args, env=None):
    """(process, base URL) of a server of the venv bound to a fresh loopback socket."""
    sock, base = bound_socket()
    fd = sock.fileno()
    if args[0] == "gunicorn":
        cmd = ["-m", "gunicorn", "--workers", "2", "--bind", f"fd://{fd}", "--log-level", "warning",
               "--graceful-timeout", "10", *args[1:]]
    else:
        cmd = ["-m", "uvicorn", "--fd", str(fd), "--log-level", "warning", "--no-access-log", *args[1:]]
    proc = subprocess.Popen([venv.python, *cmd], cwd=str(cwd), env=env or venv.env, pass_fds=[fd],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sock.close()
    try:
        wait_until_up(base, proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, base


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    return out, err


# --- install ------------------------------------------------------------------------------

def test_installed_package_finds_its_own_library_and_sends(venv, standin, tmp_path):
    """No PIRSCH_* variable: base URL and key in code, the library from inside the package."""
    code = (
        "import pirsch, pirsch.wsgi, pirsch.asgi, pirsch.django\n"
        "print(pirsch.__file__)\n"
        "print(pirsch.library_path())\n"
        f"with pirsch.Client(access_key={ACCESS_KEY!r}, base_url={standin.url!r}) as client:\n"
        "    client.hit(url='https://example.com/installed', ip='192.0.2.1')\n"
    )
    assert not any(k.startswith("PIRSCH_") for k in venv.env)
    r = venv.run(["-c", code], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # the library prints nothing unless asked
    pkg = os.path.join(venv.site, "pirsch")
    assert r.stdout.splitlines() == [os.path.join(pkg, "__init__.py"), os.path.join(pkg, "_lib", "libpirsch.so.0")]
    assert [i["body"]["url"] for i in standin.items("hit")] == ["https://example.com/installed"]
    # Stripped: a few MB, not the 20 MB of target/release with its debug info.
    assert os.path.getsize(os.path.join(pkg, "_lib", "libpirsch.so.0")) < 8_000_000
    if venv.name == "source":
        assert "cargo rustc --lib" in venv.install_log, "pip install ./bindings/python ran cargo"
    else:
        assert "cargo" not in venv.env["PATH"]


def test_wheel_is_platform_tagged_and_holds_the_library():
    wheel = the_wheel()
    name = os.path.basename(wheel)
    assert name.startswith("pirsch-0.1.0-py3-none-"), name
    assert "manylinux_" in name and name.endswith("_x86_64.whl"), name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read("pirsch-0.1.0.dist-info/WHEEL").decode()
    assert "pirsch/_lib/libpirsch.so.0" in names and "pirsch/django.py" in names
    assert "Root-Is-Purelib: false" in meta and "Tag: py3-none-manylinux_" in meta


def test_source_build_without_cargo_says_what_to_do(tmp_path):
    """On a machine without Rust the source install fails with a message, not a broken
    package (the wheel is the way there)."""
    env = clean_env(path=path_without_rust(), CARGO_TARGET_DIR=str(tmp_path / "cargo"))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(tmp_path / "site"),
                        os.path.join(ROOT, "bindings", "python")], env=env, capture_output=True, text=True,
                       timeout=300, cwd=str(tmp_path))
    assert r.returncode != 0
    assert "can't find Rust compiler" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not (tmp_path / "site" / "pirsch").exists()


# --- Flask under gunicorn -----------------------------------------------------------------

FLASK_APP = '''
import pirsch
from flask import Flask, Response, jsonify
from pirsch.wsgi import PirschMiddleware

client = pirsch.Client(access_key=ACCESS_KEY, base_url=BASE_URL)
app = Flask(__name__)


@app.get("/")
def home():
    return "<h1>home</h1>"


@app.get("/about")
def about():
    return "<h1>about</h1>"


@app.get("/logo.png")
def logo():
    return Response(b"png", mimetype="image/png")


@app.get("/api")
def api():
    return jsonify(ok=True)


@app.post("/form")
def form():
    return "<h1>posted</h1>"


app.wsgi_app = PirschMiddleware(app.wsgi_app, client)
'''


def test_flask_under_gunicorn(venv, standin, tmp_path):
    (tmp_path / "flask_app.py").write_text(
        f"ACCESS_KEY = {ACCESS_KEY!r}\nBASE_URL = {standin.url!r}\n" + FLASK_APP)
    proc, base = serve(venv, tmp_path, ["gunicorn", "flask_app:app"])
    try:
        send_requests(base)
    finally:
        stop(proc)
    assert proc.returncode == 0
    assert_page_views(standin, base)  # delivered by the workers at exit


# --- FastAPI under uvicorn ----------------------------------------------------------------

FASTAPI_APP = '''
import pirsch
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from pirsch.asgi import PirschMiddleware

client = pirsch.Client(access_key=ACCESS_KEY, base_url=BASE_URL)
app = FastAPI()


@app.get("/", response_class=HTMLResponse)
def home():
    return "<h1>home</h1>"


@app.get("/about", response_class=HTMLResponse)
def about(ref: str = ""):
    return "<h1>about</h1>"


@app.get("/logo.png")
def logo():
    return Response(b"png", media_type="image/png")


@app.get("/api")
def api():
    return {"ok": True}


@app.post("/form", response_class=HTMLResponse)
def form():
    return "<h1>posted</h1>"


app.add_middleware(PirschMiddleware, client=client)
'''


def test_fastapi_under_uvicorn(venv, standin, tmp_path):
    (tmp_path / "fastapi_app.py").write_text(
        f"ACCESS_KEY = {ACCESS_KEY!r}\nBASE_URL = {standin.url!r}\n" + FASTAPI_APP)
    proc, base = serve(venv, tmp_path, ["uvicorn", "fastapi_app:app"])
    try:
        send_requests(base)
    finally:
        stop(proc)
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn ends by re-raising SIGTERM
    assert_page_views(standin, base)  # flushed at lifespan shutdown


# --- Django -------------------------------------------------------------------------------

DJANGO_SETTINGS = '''
SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = []
DATABASES = {}
USE_TZ = True
MIDDLEWARE = ["pirsch.django.PirschMiddleware"]
LOGGING = {
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"pirsch": {"handlers": ["stderr"], "level": "WARNING"}},
}
'''

DJANGO_URLS = '''
from django.http import HttpResponse, JsonResponse
from django.urls import path


def home(request):
    return HttpResponse("<h1>home</h1>")


def about(request):
    return HttpResponse("<h1>about</h1>")


def logo(request):
    return HttpResponse(b"png", content_type="image/png")


def api(request):
    return JsonResponse({"ok": True})


def form(request):
    return HttpResponse("<h1>posted</h1>")


urlpatterns = [path("", home), path("about", about), path("logo.png", logo), path("api", api),
               path("form", form)]
'''

DJANGO_ENTRY = '''
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.{kind} import get_{kind}_application  # noqa: E402

application = get_{kind}_application()
'''


def django_project(tmp_path, pirsch_setting):
    (tmp_path / "settings.py").write_text(DJANGO_SETTINGS + pirsch_setting)
    (tmp_path / "urls.py").write_text(DJANGO_URLS)
    for kind in ("wsgi", "asgi"):
        (tmp_path / f"{kind}_app.py").write_text(DJANGO_ENTRY.replace("{kind}", kind))


def test_django_under_gunicorn_configured_from_settings(venv, standin, tmp_path):
    django_project(tmp_path, f"PIRSCH = {{'access_key': {ACCESS_KEY!r}, 'base_url': {standin.url!r}}}\n")
    proc, base = serve(venv, tmp_path, ["gunicorn", "wsgi_app:application"])
    try:
        send_requests(base)
    finally:
        stop(proc)
    assert proc.returncode == 0
    assert_page_views(standin, base)


def test_django_asgi_under_uvicorn_configured_from_the_environment(venv, standin, tmp_path):
    """No PIRSCH setting: the credentials and base URL come from PIRSCH_* variables; the
    middleware runs async. Tags and a predicate from settings, one by dotted path."""
    django_project(tmp_path, "PIRSCH = {'flush_interval_ms': 50, 'tags': {'app': 'django'}, "
                             "'predicate': 'urls.counts'}\n")
    with open(tmp_path / "urls.py", "a") as f:
        f.write("\n\ndef counts(page):\n    return page.path != '/about' or 'ref=' not in page.url\n")
    env = dict(venv.env, PIRSCH_CLIENT_ID="standin-client", PIRSCH_CLIENT_SECRET="standin-secret",
               PIRSCH_BASE_URL=standin.url)
    proc, base = serve(venv, tmp_path, ["uvicorn", "asgi_app:application"], env=env)
    try:
        send_requests(base)
        # Django's ASGI handler has no lifespan: what is queued is sent within flush_interval_ms.
        assert wait_for(lambda: len(standin.items("hit")) >= 2)
    finally:
        stop(proc)
    assert_page_views(standin, base, ["/", "/about"])
    assert [i["body"]["tags"] for i in standin.items("hit")] == [{"app": "django"}] * 2
    assert {i["auth"] for i in standin.items("hit")} == {"token"}  # the OAuth client of the environment


def test_django_without_credentials_serves_the_site_and_says_why(venv, standin, tmp_path):
    django_project(tmp_path, "")
    proc, base = serve(venv, tmp_path, ["gunicorn", "wsgi_app:application"])
    try:
        send_requests(base)
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0
    assert "pirsch.django.PirschMiddleware is not used" in err and "PIRSCH_CLIENT_SECRET is not set" in err, err
    assert standin.counters()["requests"] == 0

    # With DEBUG on, the same setup is an error at start.
    with open(tmp_path / "settings.py", "a") as f:
        f.write("DEBUG = True\n")
    r = venv.run(["-c", "import wsgi_app"], cwd=str(tmp_path))
    assert r.returncode != 0 and "ImproperlyConfigured" in r.stderr, r.stderr

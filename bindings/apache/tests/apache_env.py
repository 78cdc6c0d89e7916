"""A real Apache httpd (foreground, temporary ServerRoot, one MPM, mod_pirsch loaded) in front of
the stand-in API, for the module's tests."""
import http.client
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time

from ports import free_port  # tests/python, on the path through conftest.py or bench.py

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODULE = os.path.join(ROOT, "target", "apache", "mod_pirsch.so")
APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
MPMS = ["prefork", "worker", "event"]

HTML = "<!doctype html><title>t</title><p>hello</p>\n"
CGI = """#!/bin/sh
[ -n "$CONTENT_LENGTH" ] && head -c "$CONTENT_LENGTH" > /dev/null
printf 'Content-Type: %s\\r\\nStatus: %s\\r\\n\\r\\n<p>form</p>\\n' "${CT:-text/html}" "${CODE:-200}"
"""


class Apache:
    """`server_extra` goes into the server config after `Pirsch On` (directives, <Location>s);
    `credentials` replaces the default PirschAccessKeyFile line; `pirsch=False` loads nothing of
    the module."""

    def __init__(self, api_url, mpm="event", server_extra="", credentials=None, pirsch=True,
                 main_extra="", load_module=True, base_url=None):
        self.dir = tempfile.mkdtemp(prefix="pirsch-apache-")
        os.chmod(self.dir, 0o755)
        self.mpm = mpm
        self.port = free_port()
        html = os.path.join(self.dir, "html")
        os.makedirs(html)
        for name, body in [("index.html", HTML), ("page.html", HTML), ("quiet.html", HTML),
                           ("img.png", "PNG"), ("app.js", "x")]:
            with open(os.path.join(html, name), "w") as f:
                f.write(body)
        cgi = os.path.join(self.dir, "cgi")
        os.makedirs(cgi)
        with open(os.path.join(cgi, "form"), "w") as f:
            f.write(CGI)
        os.chmod(os.path.join(cgi, "form"), 0o755)
        key_file = os.path.join(self.dir, "pirsch.key")
        with open(key_file, "w") as f:
            f.write("pa_standin_key\n")
        if credentials is None:
            credentials = f"PirschAccessKeyFile {key_file}"
        user = ""
        if os.geteuid() == 0:
            # Apache will not serve as root: the children run as www-data (or nobody).
            name = "www-data"
            try:
                pwd.getpwnam(name)
            except KeyError:
                name = "nobody"
            user = f"User {name}\nGroup {'www-data' if name == 'www-data' else 'nogroup'}"
        module = f'LoadModule pirsch_module "{MODULE}"' if load_module else ""
        block = f"""
{credentials}
PirschBaseURL {base_url or api_url}
Pirsch On
""" if pirsch and load_module else ""
        self.conf = os.path.join(self.dir, "apache2.conf")
        with open(self.conf, "w") as f:
            f.write(f"""ServerRoot "{self.dir}"
DefaultRuntimeDir "{self.dir}"
PidFile "{self.dir}/apache2.pid"
LoadModule mpm_{mpm}_module {MODULES}/mod_mpm_{mpm}.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule mime_module {MODULES}/mod_mime.so
LoadModule dir_module {MODULES}/mod_dir.so
LoadModule alias_module {MODULES}/mod_alias.so
LoadModule cgi_module {MODULES}/mod_cgi.so
LoadModule env_module {MODULES}/mod_env.so
LoadModule remoteip_module {MODULES}/mod_remoteip.so
{module}
{user}
Listen 127.0.0.1:{self.port}
Listen 127.0.0.2:{self.port}
ServerName example.test
ErrorLog "{self.dir}/error.log"
LogLevel info
StartServers 2
GracefulShutdownTimeout 10
TypesConfig /etc/mime.types
DocumentRoot "{html}"
DirectoryIndex index.html
<Directory "{html}">
    Require all granted
</Directory>
<Directory "{cgi}">
    Require all granted
    Options +ExecCGI
    SetHandler cgi-script
</Directory>
ScriptAlias /form "{cgi}/form"
{main_extra}
{block}
{server_extra}
""")
        self.proc = None

    def test_config(self):
        return subprocess.run([APACHE, "-t", "-d", self.dir, "-f", self.conf], capture_output=True, text=True)

    def start(self):
        # A session of its own: on stop Apache's parent signals its whole process group,
        # which would otherwise be the test's.
        self.proc = subprocess.Popen([APACHE, "-DFOREGROUND", "-d", self.dir, "-f", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                if self.children():
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("apache2 exited: " + self.proc.stderr.read().decode() + self.error_log())
            time.sleep(0.05)
        raise RuntimeError("apache2 did not start: " + self.error_log())

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise

    def children(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def request(self, path, method="GET", headers=None, source="127.0.0.1", body=None, host="example.test"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(source, 0))
        hdrs = {"Host": host}
        hdrs.update(headers or {})
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        resp.read()
        took = time.perf_counter() - start
        conn.close()
        return resp.status, took


PHP_FPM = "/usr/sbin/php-fpm8.2"

PHP_FILES = {
    "index.php": "<?php /* no Pirsch code */ ?><!doctype html><title>app</title><p>Hello <?= htmlspecialchars($_SERVER['REQUEST_URI']) ?></p>\n",
    "api.php": "<?php header('Content-Type: application/json'); echo json_encode(['ok' => true]);\n",
    "go.php": "<?php header('Location: /app/', true, 302);\n",
    "nope.php": "<?php http_response_code(404); ?><p>not here</p>\n",
}


class PhpFpm:
    """A PHP-FPM pool (foreground, temporary folder) on a unix socket, with an app in
    `html/app` of `apache` (index.php as a front controller, FallbackResource), served
    through mod_proxy_fcgi."""

    def __init__(self, apache):
        self.dir = os.path.join(apache.dir, "php")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "php-fpm.sock")
        user = "user = www-data\ngroup = www-data\n" if os.geteuid() == 0 else ""
        self.conf = os.path.join(self.dir, "php-fpm.conf")
        with open(self.conf, "w") as f:
            f.write(f"""[global]
pid = {self.dir}/php-fpm.pid
error_log = {self.dir}/php-fpm.log
daemonize = no
[app]
{user}listen = {self.sock}
listen.mode = 0666
pm = static
pm.max_children = 2
""")
        with open(apache.conf, "a") as f:
            f.write(f"""
LoadModule proxy_module {MODULES}/mod_proxy.so
LoadModule proxy_fcgi_module {MODULES}/mod_proxy_fcgi.so
""")
        add_php_app(apache, f"proxy:unix:{self.sock}|fcgi://localhost")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([PHP_FPM, "-y", self.conf, "-F"] + (["-R"] if os.geteuid() == 0 else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.sock):
            if self.proc.poll() is not None:
                raise RuntimeError("php-fpm exited: " + self.proc.stderr.read().decode())
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


MOD_PHP = os.path.join(MODULES, "libphp8.2.so")


def add_php_app(apache, handler):
    """The app of PHP_FILES in `html/app` (index.php as a front controller behind
    FallbackResource), its .php files handled by `handler` (a SetHandler value)."""
    app = os.path.join(apache.dir, "html", "app")
    os.makedirs(app)
    for name, body in PHP_FILES.items():
        with open(os.path.join(app, name), "w") as f:
            f.write(body)
    with open(apache.conf, "a") as f:
        f.write(f"""
<Directory "{app}">
    DirectoryIndex index.php
    FallbackResource /app/index.php
</Directory>
<FilesMatch "\\.php$">
    SetHandler "{handler}"
</FilesMatch>
""")


def add_mod_php(apache):
    """PHP inside the Apache children (mod_php; prefork only)."""
    with open(apache.conf, "a") as f:
        f.write(f"LoadModule php_module {MOD_PHP}\n")
    add_php_app(apache, "application/x-httpd-php")

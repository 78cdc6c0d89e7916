"""A real nginx (foreground, temporary prefix, 2 workers, the module loaded) in front of the
stand-in API, for the module's tests and benchmark."""
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time

from ports import free_port  # tests/python, on the path through conftest.py or bench.py

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODULE = os.path.join(ROOT, "target", "nginx", "ngx_http_pirsch_module.so")
NGINX = "/usr/sbin/nginx"


HTML = "<!doctype html><title>t</title><p>hello</p>\n"


class Nginx:
    """`http_extra` goes into the http block before the server; `server_extra` into it."""

    def __init__(self, api_url, http_extra="", server_extra="", load_module=True, credentials=None, workers=2, main_extra="", base_url=None):
        self.dir = tempfile.mkdtemp(prefix="pirsch-nginx-")
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "html"))
        for name, body in [("index.html", HTML), ("page.html", HTML), ("img.png", "PNG"), ("app.js", "x")]:
            with open(os.path.join(self.dir, "html", name), "w") as f:
                f.write(body)
        key_file = os.path.join(self.dir, "pirsch.key")
        with open(key_file, "w") as f:
            f.write("pa_standin_key\n")
        if credentials is None:
            credentials = f"pirsch_access_key_file {key_file};"
        user = "user root;" if os.geteuid() == 0 else ""
        module = f"load_module \"{MODULE}\";" if load_module else ""
        pirsch = f"""
    {credentials}
    pirsch_base_url {base_url or api_url};
    pirsch on;
""" if load_module else ""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(f"""{module}
{user}
worker_processes {workers};
{main_extra}
error_log {self.dir}/error.log info;
pid {self.dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.dir};
    types {{ text/html html; image/png png; application/javascript js; }}
    default_type application/octet-stream;
    {pirsch}
    {http_extra}
    server {{
        listen 127.0.0.1:{self.port};
        listen 127.0.0.2:{self.port};
        server_name example.test;
        root {self.dir}/html;
        location / {{ }}
        location = /form {{ default_type text/html; return 200 "<p>form</p>"; }}
        {server_extra}
    }}
}}
""")
        self.proc = None

    def test_config(self):
        return subprocess.run([NGINX, "-t", "-p", self.dir, "-c", self.conf], capture_output=True, text=True)

    def start(self):
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode() + self.error_log())
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGQUIT, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise

    def workers(self):
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

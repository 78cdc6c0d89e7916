"""Starts the stand-in API on a free loopback port and talks to its control API."""
import json
import os
import subprocess
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RELEASE = os.path.join(ROOT, "target", "release")
LIBRARY = os.path.join(RELEASE, "libpirsch.so")


class Standin:
    def __init__(self, *args):
        binary = os.environ.get("PIRSCH_STANDIN") or os.path.join(RELEASE, "pirsch-standin")
        if not os.path.exists(binary):
            raise RuntimeError(f"{binary} is missing: run `make build` first")
        self.proc = subprocess.Popen([binary, "--port", "0", "--quiet", *args], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.url = line.strip().rsplit(" ", 1)[-1]
        if not self.url.startswith("http://"):
            raise RuntimeError(f"unexpected first line from the stand-in: {line!r}")

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
        return json.loads(text) if text else None

    def get(self, path):
        return self._call("GET", path)

    def post(self, path, body=None):
        return self._call("POST", path, body if body is not None else {})

    def items(self, kind=None):
        items = self.get("/_standin/received")["items"]
        return [i for i in items if kind is None or i["kind"] == kind]

    def counters(self):
        return self.get("/_standin/counters")

    def reset(self):
        self.post("/_standin/reset")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

"""make bench-nginx: what the module costs nginx, serving a static HTML page on loopback.

Three nginx, 1 worker each, in rotating wrk runs in one sitting: nothing recorded (access_log
off), nginx's own access log (combined, buffer=64k), and the module (access log off). Three
sittings: a static page with the API answering; a proxied page (nginx -> a local upstream
nginx serving the same HTML) with the API answering; a static page with the API stalled
(every request hangs). ONLY=static, proxied or stalled runs one. The figure that matters:
the module's added worker CPU per counted request divided by the access log's (goal <= 1.0).

On a 2-core machine wrk, nginx and the API would otherwise fight over the same cores, so by
default (PIN=1) the nginx worker runs on CPU 1 and wrk and the API sink on CPU 0. The
library's sender thread is started by the worker and inherits its CPU: everything the module
costs, on the request path or in the background, is paid by the nginx core. PIN=0 leaves
placement to the scheduler.

With the API answering, the sink is a second nginx answering `return 200` (the real API is
remote; a local one that validates JSON would charge its own CPU to the measurement). With
the API stalled, it is the stand-in with a 600 s delay on every API request.

Printed: requests/s and p99 latency (medians over the rounds), the median of the per-pair
on/off ratios, and the nginx worker's CPU time per request (all its threads, exact, from the
scheduler), which is the least noisy figure of the module's cost; and of the module's, the
share of its sender thread.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "python"))
from nginx_env import Nginx  # noqa: E402
from standin import Standin  # noqa: E402
from benchkit import DURATION, PIN, median, pin, wrk as wrk_run  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "7"))
# More directives for the module-on nginx, e.g. EXTRA="pirsch_batch_size 100;".
EXTRA = os.environ.get("EXTRA", "")


def start(api_url, load_module, access_log=False, upstream=None):
    extra = "pirsch_flush_interval_ms 200; pirsch_queue_capacity 100000; " + EXTRA if load_module else ""
    affinity = "worker_cpu_affinity 10;" if PIN else ""
    server = "access_log {dir}/access.log combined buffer=64k;" if access_log else ""
    if upstream:
        # The proxied page: /app/ goes to the upstream over kept-alive connections.
        extra += f" upstream app {{ server 127.0.0.1:{upstream}; keepalive 16; }}"
        server += (" location /app/ { proxy_pass http://app/; proxy_http_version 1.1;"
                   " proxy_set_header Connection \"\"; proxy_set_header Host example.test; }")
    ng = Nginx(api_url, http_extra=extra, load_module=load_module, workers=1, main_extra=affinity,
               server_extra=server)
    if access_log:
        with open(ng.conf) as f:
            conf = f.read().replace("{dir}", ng.dir)
        with open(ng.conf, "w") as f:
            f.write(conf)
    return ng.start()


def sitting(api_url, label, upstream=None):
    """Three nginx side by side: nothing recorded, its own access log, the module (no access
    log), in alternating wrk runs. With `upstream`, the page is proxied to it."""
    path = "/app/page.html" if upstream else "/page.html"
    ngs = {"off": start(api_url, False, upstream=upstream),
           "log": start(api_url, False, access_log=True, upstream=upstream),
           "on": start(api_url, True, upstream=upstream)}
    res = {name: [] for name in ngs}
    try:
        for ng in ngs.values():
            wrk_warm = subprocess.run(["wrk", "-t1", "-c8", "-d1s", f"http://127.0.0.1:{ng.port}{path}", "-H", "Host: example.test"],
                                      capture_output=True)
            assert wrk_warm.returncode == 0
        names = list(ngs)
        for i in range(ROUNDS):
            # Rotate which goes first, so that none always follows another.
            for name in names[i % 3:] + names[:i % 3]:
                ng = ngs[name]
                res[name].append(wrk_run(ng.workers()[0], f"http://127.0.0.1:{ng.port}{path}"))
    finally:
        for ng in ngs.values():
            ng.stop()
    med = lambda name, k: median([r[k] for r in res[name]])  # noqa: E731
    ratio = lambda a, b, k: median([x[k] / y[k] for x, y in zip(res[a], res[b])])  # noqa: E731
    print(f"{label}{' with ' + EXTRA if EXTRA else ''} ({ROUNDS} rotating rounds of {DURATION}, wrk -t1 -c8, 1 worker, {'pinned: nginx CPU 1, wrk and API CPU 0' if PIN else 'unpinned'}):")
    rows = {"off": "nothing recorded (access_log off)", "log": "access_log combined buffer=64k",
            "on": "pirsch on (access_log off)"}
    for name in ("off", "log", "on"):
        print(f"  {rows[name]:<36} {med(name, 0):>8.0f} req/s  p99 {med(name, 1):.3f} ms  worker CPU {med(name, 2):5.2f} us/request"
              f"   throughput vs off {ratio(name, 'off', 0):.3f}")
    added_log = med("log", 2) - med("off", 2)
    added_on = med("on", 2) - med("off", 2)
    print(f"  added worker CPU per request: access log {added_log:+.2f} us, pirsch {added_on:+.2f} us"
          f" (of which the sender thread {med('on', 3):.2f} us): "
          f"pirsch / access log = {added_on / added_log if added_log > 0 else float('nan'):.2f} (goal <= 1.0)")
    goal = "goal >= 0.97, p99 within 5%" if upstream else "goal >= 0.93"
    print(f"  pirsch on/off: throughput {ratio('on', 'off', 0):.3f} ({goal}), p99 {ratio('on', 'off', 1):.3f}")
    log = ngs["on"].error_log()
    counters = re.findall(r"exiting: (enqueued=\d+ sent=\d+ .*)", log)
    print(f"  module's counters at exit: {counters}")
    bad = [line for line in log.splitlines() if "[alert]" in line or "[emerg]" in line]
    if bad:
        print("  error.log has alerts:", bad[:3])


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    # The answering API: nginx taking every batch and answering 200 at once.
    sink = Nginx("", load_module=False, workers=1,
                 http_extra="client_max_body_size 10m; client_body_buffer_size 1m; keepalive_requests 1000000;",
                 server_extra="location /api/ { return 200; }").start()
    for w in sink.workers():
        pin(w, 0)
    try:
        if os.environ.get("ONLY", "all") in ("static", "all"):
            sitting(f"http://127.0.0.1:{sink.port}", "static HTML page, API answering")
        if os.environ.get("ONLY", "all") in ("proxied", "all"):
            # The upstream: a second nginx serving the same page, on the wrk and API core.
            app = Nginx("", load_module=False, workers=1, http_extra="keepalive_requests 1000000;").start()
            for w in app.workers():
                pin(w, 0)
            try:
                sitting(f"http://127.0.0.1:{sink.port}", "proxied HTML page (nginx -> local upstream), API answering",
                        upstream=app.port)
            finally:
                app.stop()
    finally:
        sink.stop()
    if os.environ.get("ONLY", "all") in ("stalled", "all"):
        api = Standin()
        pin(api.proc.pid, 0)
        try:
            api.post("/_standin/config", {"record": False})
            api.post("/_standin/faults", {"path_prefix": "/api/v1/", "delay_ms": 600000})
            sitting(api.url, "static HTML page, API stalled")
        finally:
            api.stop()


if __name__ == "__main__":
    main()

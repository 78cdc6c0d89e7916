"""make bench-apache: what mod_pirsch costs Apache per counted request, next to what Apache's
own CustomLog line costs, serving a static HTML page on loopback, in one sitting.

Three Apaches (event MPM, one child of 16 threads), measured in alternating wrk runs:
  bare       neither an access log nor the module,
  customlog  `CustomLog access.log combined` (what every Debian site has),
  pirsch     the module on (every request counted), no access log.
The figure is the child's CPU time per request (all its threads: the library's sender thread
is started by the child and charged to it), the least noisy measure; requests/s and p99 are
printed too. The API is an nginx answering `return 200` to every batch (a local API that parsed
the JSON would charge its own CPU to the machine).

On a 2-core machine, by default (PIN=1) the Apache child runs on CPU 1 and wrk and the API on
CPU 0; PIN=0 leaves placement to the scheduler. ROUNDS (default 5), DURATION (default 4s),
EXTRA (more directives for the pirsch Apache, e.g. "PirschConfig batch_size 500").
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "nginx", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "python"))
from apache_env import Apache  # noqa: E402
from nginx_env import Nginx  # noqa: E402
from benchkit import DURATION, PIN, median, pin, wrk as wrk_run  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "5"))
EXTRA = os.environ.get("EXTRA", "")

ONE_CHILD = """
StartServers 1
ServerLimit 1
ThreadsPerChild 16
ThreadLimit 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
"""


def start(api_url, kind):
    main = ONE_CHILD
    if kind == "customlog":
        main += """LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
"""
    ap = Apache(api_url, mpm="event", main_extra=main, pirsch=(kind == "pirsch"), load_module=(kind == "pirsch"),
                server_extra=("PirschConfig flush_interval_ms 200\nPirschConfig queue_capacity 100000\n" + EXTRA)
                if kind == "pirsch" else "")
    if kind == "customlog":
        with open(ap.conf, "a") as f:
            f.write(f'CustomLog "{ap.dir}/access.log" combined\n')
    ap.start()
    pin(ap.proc.pid, 1)
    for child in ap.children():
        pin(child, 1)
    return ap


def wrk(ap):
    child = ap.children()[0]
    pin(child, 1)  # threads the child started since (the library's sender)
    return wrk_run(child, f"http://127.0.0.1:{ap.port}/page.html")[:3]


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    sink = Nginx("", load_module=False, workers=1,
                 http_extra="client_max_body_size 10m; client_body_buffer_size 1m; keepalive_requests 1000000;",
                 server_extra="location /api/ { return 200; }").start()
    for w in sink.workers():
        pin(w, 0)
    kinds = ("bare", "customlog", "pirsch")
    servers = {}
    try:
        for k in kinds:
            servers[k] = start(f"http://127.0.0.1:{sink.port}", k)
        for k in kinds:
            subprocess.run(["wrk", "-t1", "-c8", "-d1s", "-H", "Host: example.test", f"http://127.0.0.1:{servers[k].port}/page.html"],
                           capture_output=True, check=True)
        res = {k: [] for k in kinds}
        for i in range(ROUNDS):
            order = kinds if i % 2 == 0 else tuple(reversed(kinds))
            for k in order:
                res[k].append(wrk(servers[k]))
    finally:
        for ap in servers.values():
            ap.stop()
        sink.stop()
    med = lambda k, j: median([r[j] for r in res[k]])  # noqa: E731
    version = subprocess.run(["/usr/sbin/apache2", "-v"], capture_output=True, text=True).stdout.split()[2]
    print(f"{version}, event MPM, one child, "
          f"static HTML page ({ROUNDS} alternating rounds of {DURATION}, wrk -t1 -c8, "
          f"{'pinned: Apache CPU 1, wrk and API CPU 0' if PIN else 'unpinned'}){' with ' + EXTRA if EXTRA else ''}:")
    for k in kinds:
        print(f"  {k:<9}  {med(k, 0):>8.0f} req/s  p99 {med(k, 1):.3f} ms  child CPU {med(k, 2):5.2f} us/request"
              f"   rounds {[round(r[2], 2) for r in res[k]]}")
    logged = sum(1 for _ in open(os.path.join(servers["customlog"].dir, "access.log")))
    print(f"  (the CustomLog Apache wrote {logged} lines)")
    base = med("bare", 2)
    print(f"  added CPU per request: CustomLog +{med('customlog', 2) - base:.2f} us, mod_pirsch +{med('pirsch', 2) - base:.2f} us "
          f"(mod_pirsch / CustomLog = {(med('pirsch', 2) - base) / max(med('customlog', 2) - base, 0.01):.2f})")
    log = servers["pirsch"].error_log()
    counters = re.findall(r"exiting: (enqueued=\d+ sent=\d+ [^\n]*)", log)
    print(f"  mod_pirsch counters at exit: {counters}")
    bad = [line for line in log.splitlines() if re.search(r":(emerg|alert|crit)\]", line)]
    if bad:
        print("  error.log:", bad[:3])


if __name__ == "__main__":
    main()

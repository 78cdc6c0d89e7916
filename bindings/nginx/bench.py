"""make bench-nginx: requests/s and p99 latency of a static HTML page with the module on and
off (not loaded), in alternating wrk runs in one sitting; then the same with the API stalled."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "python"))
from nginx_env import Nginx  # noqa: E402
from standin import Standin  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = os.environ.get("DURATION", "5s")


def wrk(port):
    out = subprocess.run(
        ["wrk", "-t1", "-c8", "-d" + DURATION, "--latency", "-H", "Host: example.test",
         "-H", "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", "-H", "Accept-Language: en",
         f"http://127.0.0.1:{port}/page.html"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    return rps, p99


def median(v):
    return sorted(v)[len(v) // 2]


def sitting(api, label):
    on = Nginx(api.url, http_extra="pirsch_flush_interval_ms 200; pirsch_queue_capacity 100000;", workers=1).start()
    off = Nginx(api.url, load_module=False, workers=1).start()
    res = {"on": [], "off": []}
    try:
        for _ in range(ROUNDS):
            for name, ng in (("off", off), ("on", on)):
                res[name].append(wrk(ng.port))
    finally:
        on.stop()
        off.stop()
    rps_on, rps_off = median([r for r, _ in res["on"]]), median([r for r, _ in res["off"]])
    p99_on, p99_off = median([p for _, p in res["on"]]), median([p for _, p in res["off"]])
    print(f"{label} ({ROUNDS} alternating rounds of {DURATION}, wrk -t1 -c8, 1 worker):")
    print(f"  module off  {rps_off:>9.0f} req/s  p99 {p99_off:.3f} ms   rounds {[round(r) for r, _ in res['off']]}")
    print(f"  module on   {rps_on:>9.0f} req/s  p99 {p99_on:.3f} ms   rounds {[round(r) for r, _ in res['on']]}")
    print(f"  ratio on/off: throughput {rps_on / rps_off:.3f} (goal >= 0.97), p99 {p99_on / p99_off:.3f} (goal <= 1.05)")
    log = on.error_log()
    m = re.findall(r"exiting: (enqueued=\d+ sent=\d+).*?(undelivered=\d+)", log)
    print(f"  module's counters at exit: {m}")


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    api = Standin()
    try:
        api.post("/_standin/config", {"record": False})
        sitting(api, "static HTML page, API answering")
        api.post("/_standin/faults", {"path_prefix": "/api/v1/", "delay_ms": 600000})
        sitting(api, "static HTML page, API stalled")
    finally:
        api.stop()


if __name__ == "__main__":
    main()

"""What make bench-nginx and make bench-apache share: a server process's CPU time (exact, all
its threads, and the library's sender thread's share), pinning to a core, wrk runs, medians."""
import os
import re
import subprocess

PIN = os.environ.get("PIN", "1") == "1" and (os.cpu_count() or 1) >= 2
DURATION = os.environ.get("DURATION", "4s")
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def cpu_seconds(pid):
    """CPU time of every thread of a process, exact (the scheduler's nanoseconds from
    /proc/PID/task/TID/schedstat, not clock ticks sampled 250 times a second, which miss
    most of a thread that runs in short bursts), and the share the library's sender took."""
    total = sender = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        total += ns
        if name == "pirsch-sender":
            sender += ns
    return total / 1e9, sender / 1e9


def pin(pid, cpu):
    """Every thread of `pid` onto `cpu` (when PIN)."""
    if PIN:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                os.sched_setaffinity(int(tid), {cpu})
            except OSError:
                pass


def wrk(pid, url):
    """One wrk run (-t1 -c8, a browser's headers) against `url`; returns requests/s, p99 in ms,
    and the CPU time of process `pid` per request in us: all of it, and the sender's."""
    before = cpu_seconds(pid)
    cmd = ["wrk", "-t1", "-c8", "-d" + DURATION, "--latency", "-H", "Host: example.test", "-H", "User-Agent: " + UA,
           "-H", "Accept-Language: en-US,en;q=0.9", "-H", "Referer: https://news.example.com/", url]
    if PIN:
        cmd = ["taskset", "-c", "0"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = cpu_seconds(pid)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    return rps, p99, (after[0] - before[0]) * 1e6 / requests, (after[1] - before[1]) * 1e6 / requests


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

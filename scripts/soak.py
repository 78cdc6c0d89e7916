#!/usr/bin/env python3
"""make soak: libpirsch's queue under a steady load and a failing API, for minutes.

Two processes, so that the memory measured is the library's and not the checker's:

- the *load* process (this script with --load) loads libpirsch through its C ABI with ctypes,
  and SOAK_THREADS threads queue page views with pirsch_hit_enqueue at SOAK_RATE items/s in
  all, each with a unique URL (https://soak.example/p/<id>). Every SOAK_INTERVAL seconds it
  reports its pirsch_stats and its own VmRSS, VmHWM and Threads (/proc/self/status); at the
  end it calls pirsch_flush, reports the final figures, then pirsch_free.
  Why ctypes rather than a C program: nothing to compile or keep in the build, the same file
  drives and checks; ctypes releases the GIL for the call, so the threads do enter the library
  concurrently, and a call costs a few microseconds of Python (2,000/s is a few % of a core).
  What the load process keeps per page view is nothing: refused ids go to a file, so its RSS
  is the interpreter's (a constant) plus the library's.
- the *checker* (this script) starts pirsch-standin, injects SOAK_FAULT_PERCENT % of failures
  into the API requests (fault rules: 503 with Retry-After, 500, connection closed without an
  answer, slow answers, and answers so slow that the library has given up before the
  stand-in accepts the batch: the one way to make a duplicate), drains the items the stand-in
  received every 2 s (GET /_standin/received?drain=true, so the stand-in keeps nothing
  between polls) and counts each URL id in a bytearray (one byte per item: 1.2 MB for 10
  minutes, exact, no sampling). `fired` in GET /_standin/faults says how often each rule
  applied.

At the end it prints the totals and exits 1 when:
- the stats invariant breaks (enqueued == sent + dropped_* + queue_depth + in_flight), or
  the flush does not finish;
- an item is lost: queued (enqueue returned OK) but neither received by the stand-in nor
  counted in dropped_rejected/_expired/_shutdown; or the library counted more sent than
  the stand-in received; or the stand-in received an id that was never queued;
- RSS grows: the load process's RSS after the flush exceeds its RSS at the end of the
  warm-up (the first minute, or a quarter of a shorter run) by more than SOAK_RSS_GROWTH_MB
  (default 16 MB, see RSS_BOUND_WHY).

Duplicates (ids received more than once) are reported, never hidden, and are not a failure:
the delivery guarantee is at-least-once, and a duplicate can only come from a batch the
stand-in accepted after the library stopped waiting for its answer (the "late" rule). They
are checked against that: more duplicates than items in late answers is a failure.

The library runs with its defaults except timeout_ms=2000 (so that a late answer, 2.6 s,
costs the sender 2 s and not 5), and logs in with the OAuth client while the stand-in's
tokens live 120 s (renewals, and 401s, during the run). The fault mix, in % of API requests
at SOAK_FAULT_PERCENT=10: 503 with Retry-After: 1 3%, 500 3%, closed 2%, slow (400 ms) 1.5%,
late (2600 ms) 0.5%.

Environment: SOAK_SECONDS (600), SOAK_RATE (2000 items/s), SOAK_THREADS (4), SOAK_INTERVAL
(print every N s; 10), SOAK_FAULT_PERCENT (10), SOAK_BATCH_SIZE (100, the library's
default; at 2,000/s and 10% failures one sender cannot keep up with 100 (14% refused), and
250 can: see the throughput line), SOAK_RSS_GROWTH_MB (16), SOAK_WARMUP
(seconds; default min(60, SOAK_SECONDS/4)), SOAK_LIBRARY and SOAK_STANDIN (default
target/release/...). Both binaries are copied to a temporary folder first, so that a
rebuild during the run does not change what is measured.
"""
import ctypes
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BATCH = int(os.environ.get("SOAK_BATCH_SIZE") or 100)  # batch_size (the library's default)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RSS_BOUND_WHY = (
    "after the warm-up, the largest legitimate growth is the queue reaching queue_capacity "
    "(10,000 page views at ~410 bytes, ~4 MB, plus batch buffers) and malloc keeping that "
    "memory after the flush (measured: +3.4 MB from the one-minute mark to the peak); 16 MB is "
    "four times that, and a leak of 15 bytes per page view (1.1M after the warm-up of a "
    "10-minute run) exceeds it. A 20-second run is too short to see a leak that small"
)


def env_num(name, default, kind=float):
    v = os.environ.get(name, "")
    return kind(v) if v.strip() else default


# --------------------------------------------------------------------------------------
# The load process: libpirsch through ctypes.

STATS_FIELDS = ("enqueued", "sent", "batches", "retries", "dropped_queue_full",
                "dropped_rejected", "dropped_expired", "dropped_shutdown", "queue_depth",
                "in_flight", "token_refreshes", "forks_detected")
HIT_STRINGS = ("url", "ip", "user_agent", "accept_language", "sec_ch_ua", "sec_ch_ua_mobile",
               "sec_ch_ua_platform", "sec_ch_ua_platform_version", "sec_ch_width",
               "sec_ch_viewport_width", "title", "referrer", "cf_connecting_ip",
               "x_forwarded_for", "forwarded", "x_real_ip")


class KV(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class HitOptions(ctypes.Structure):
    _fields_ = ([("struct_size", ctypes.c_size_t)]
                + [(n, ctypes.c_char_p) for n in HIT_STRINGS]
                + [("screen_width", ctypes.c_int32), ("screen_height", ctypes.c_int32),
                   ("disable_bot_filter", ctypes.c_bool), ("tags", ctypes.POINTER(KV)),
                   ("tags_len", ctypes.c_size_t)])


class Stats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t)] + [(n, ctypes.c_uint64) for n in STATS_FIELDS]


LOGGER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
PIRSCH_OK, PIRSCH_ERR_QUEUE_FULL = 0, 8


def proc_status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def load_main():
    lib_path, base_url = sys.argv[2], sys.argv[3]
    seconds = env_num("SOAK_SECONDS", 600.0)
    rate = env_num("SOAK_RATE", 2000.0)
    nthreads = env_num("SOAK_THREADS", 4, int)
    interval = env_num("SOAK_INTERVAL", 10.0)
    timeout_ms = sys.argv[4]
    refused_path = sys.argv[5]

    lib = ctypes.CDLL(lib_path)
    lib.pirsch_config_new.restype = ctypes.c_void_p
    lib.pirsch_config_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.pirsch_config_set_logger.argtypes = [ctypes.c_void_p, LOGGER, ctypes.c_void_p]
    lib.pirsch_config_free.argtypes = [ctypes.c_void_p]
    lib.pirsch_client_new.restype = ctypes.c_void_p
    lib.pirsch_client_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.pirsch_hit_enqueue.argtypes = [ctypes.c_void_p, ctypes.POINTER(HitOptions)]
    lib.pirsch_flush.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.pirsch_stats.argtypes = [ctypes.c_void_p, ctypes.POINTER(Stats)]
    lib.pirsch_free.argtypes = [ctypes.c_void_p]
    lib.pirsch_last_error.restype = ctypes.c_char_p

    logs = {"count": {}, "first": [], "last": []}
    log_lock = threading.Lock()

    def on_log(_ud, level, msg):
        with log_lock:
            logs["count"][level] = logs["count"].get(level, 0) + 1
            m = msg.decode("utf-8", "replace")
            if len(logs["first"]) < 3:
                logs["first"].append(m)
            logs["last"] = (logs["last"] + [m])[-3:]

    logger = LOGGER(on_log)
    cfg = lib.pirsch_config_new()
    for k, v in (("base_url", base_url), ("timeout_ms", timeout_ms), ("log_level", "warn"),
                 ("batch_size", str(BATCH))):
        if lib.pirsch_config_set(cfg, k.encode(), v.encode()) != PIRSCH_OK:
            sys.exit(f"soak: config {k}={v}: {lib.pirsch_last_error().decode()}")
    lib.pirsch_config_set_logger(cfg, logger, None)
    client = lib.pirsch_client_new(b"standin-client", b"standin-secret", cfg)
    lib.pirsch_config_free(cfg)
    if not client:
        sys.exit(f"soak: pirsch_client_new: {lib.pirsch_last_error().decode()}")

    def stats():
        s = Stats()
        s.struct_size = ctypes.sizeof(Stats)
        lib.pirsch_stats(client, ctypes.byref(s))
        return {n: getattr(s, n) for n in STATS_FIELDS}

    def report(kind, t0, **extra):
        st = proc_status()
        line = {"kind": kind, "t": round(time.monotonic() - t0, 1), "rss_kb": st["VmRSS"],
                "hwm_kb": st["VmHWM"], "threads": st["Threads"], "stats": stats()}
        line.update(extra)
        print(json.dumps(line), flush=True)

    results = [{} for _ in range(nthreads)]
    generated = [0] * nthreads
    # Ids refused at enqueue go straight to a file (4 bytes each, buffered): a list in memory
    # would grow this process by ~36 bytes per refusal and pass for a leak of the library.
    refused = [open(f"{refused_path}.{t}", "wb") for t in range(nthreads)]
    stop = threading.Event()
    t0 = time.monotonic()
    end = t0 + seconds

    def producer(t):
        # Ids t, t+T, t+2T, ...: unique across threads, dense from 0.
        h = HitOptions()
        h.struct_size = ctypes.sizeof(HitOptions)
        h.user_agent = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
        h.accept_language = b"de-DE,de;q=0.9,en;q=0.8"
        h.referrer = b"https://www.example.org/"
        h.title = b"Soak test page"
        per_tick, tick = rate / nthreads * 0.01, 0.01  # items per 10 ms
        due, n, res = 0.0, 0, results[t]
        start = t0 + tick * t / nthreads  # the threads' ticks interleave
        while not stop.is_set():
            now = time.monotonic()
            if now >= end:
                break
            due = (now - start) / tick * per_tick
            while n < due:
                i = t + n * nthreads
                h.url = b"https://soak.example/p/%d" % i
                h.ip = b"10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
                r = lib.pirsch_hit_enqueue(client, ctypes.byref(h))
                res[r] = res.get(r, 0) + 1
                if r != PIRSCH_OK:
                    refused[t].write(i.to_bytes(4, "little"))
                n += 1
                generated[t] = n
            time.sleep(max(0.0, start + (int((now - start) / tick) + 1) * tick - time.monotonic()))

    threads = [threading.Thread(target=producer, args=(t,), daemon=True) for t in range(nthreads)]
    for th in threads:
        th.start()
    report("start", t0)
    next_report = t0 + interval
    while time.monotonic() < end:
        time.sleep(max(0.0, min(next_report, end) - time.monotonic()))
        if time.monotonic() >= next_report:
            report("tick", t0)
            next_report += interval
    for th in threads:
        th.join()
    produced_s = time.monotonic() - t0
    report("produced", t0)
    f0 = time.monotonic()
    rc = lib.pirsch_flush(client, 120_000)
    flush_s = time.monotonic() - f0
    codes = {}
    for r in results:
        for k, v in r.items():
            codes[str(k)] = codes.get(str(k), 0) + v
    for f in refused:
        f.close()
    with log_lock:
        log_copy = {"count": {str(k): v for k, v in logs["count"].items()},
                    "first": logs["first"], "last": logs["last"]}
    report("flushed", t0, flush_rc=rc, flush_s=round(flush_s, 2),
           flush_error=lib.pirsch_last_error().decode("utf-8", "replace") if rc else "",
           generated=generated, produced_s=produced_s, nthreads=nthreads, enqueue_results=codes, logs=log_copy)
    lib.pirsch_free(client)
    st = proc_status()  # no pirsch_stats: the client is gone
    print(json.dumps({"kind": "freed", "t": round(time.monotonic() - t0, 1),
                      "rss_kb": st["VmRSS"], "threads": st["Threads"]}), flush=True)


# --------------------------------------------------------------------------------------
# The checker.

class Standin:
    def __init__(self, binary, tmp):
        self.proc = subprocess.Popen([binary, "--quiet"], stdout=subprocess.PIPE, text=True,
                                     cwd=tmp)
        line = self.proc.stdout.readline().strip()
        if "listening on " not in line:
            sys.exit(f"soak: the stand-in did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def rss_kb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0


def fault_rules(percent, late_ms, slow_ms):
    """The mix, in shares of all API requests; each rule's probability is conditional on the
    rules before it not having fired (the first rule that applies wins)."""
    p = percent / 100.0
    mix = [  # share of the faults, rule
        (0.30, {"status": 503, "retry_after": "1"}),
        (0.30, {"status": 500}),
        (0.20, {"close": True}),
        (0.15, {"delay_ms": slow_ms}),  # slow, answered within timeout_ms
        (0.05, {"delay_ms": late_ms}),  # answered after the library gave up: a duplicate
    ]
    rules, left = [], 1.0
    for n, (share, rule) in enumerate(mix):
        prob = share * p / left
        left -= share * p
        rules.append(dict(rule, path_prefix="/api/v1/", probability=prob, seed=1000 + n))
    return rules, [(share * percent, rule) for share, rule in mix]


def main():
    seconds = env_num("SOAK_SECONDS", 600.0)
    rate = env_num("SOAK_RATE", 2000.0)
    interval = env_num("SOAK_INTERVAL", 10.0)
    percent = env_num("SOAK_FAULT_PERCENT", 10.0)
    bound_mb = env_num("SOAK_RSS_GROWTH_MB", 16.0)
    warmup = env_num("SOAK_WARMUP", min(60.0, seconds / 4))
    lib_src = os.environ.get("SOAK_LIBRARY") or os.path.join(ROOT, "target/release/libpirsch.so")
    standin_src = os.environ.get("SOAK_STANDIN") or os.path.join(ROOT, "target/release/pirsch-standin")
    timeout_ms, slow_ms, late_ms = 2000, 400, 2600
    for p in (lib_src, standin_src):
        if not os.path.exists(p):
            sys.exit(f"soak: {p} is missing: run `make build` first")
    tmp = tempfile.mkdtemp(prefix="pirsch-soak-")
    lib = shutil.copy(lib_src, os.path.join(tmp, "libpirsch.so.0"))
    standin_bin = shutil.copy(standin_src, os.path.join(tmp, "pirsch-standin"))
    sd = Standin(standin_bin, tmp)
    load = None
    try:
        sd.call("POST", "/_standin/config", {"record": True, "token_ttl_s": 120})
        rules, mix = fault_rules(percent, late_ms, slow_ms)
        sd.call("POST", "/_standin/faults", rules)
        if "fired" not in sd.call("GET", "/_standin/faults")["rules"][0]:
            sys.exit("soak: this pirsch-standin has no received?drain=true nor fault `fired` "
                     "counts (it predates scripts/soak.py): run `make build`")
        print(f"soak: {seconds:g} s at {rate:g} page views/s from {env_num('SOAK_THREADS', 4, int)} "
              f"threads (pirsch_hit_enqueue via ctypes), batch_size={BATCH}, timeout_ms={timeout_ms}, OAuth tokens "
              f"living 120 s; faults on {percent:g}% of API requests:", flush=True)
        for share, rule in mix:
            print(f"  {share:5.2f}%  {describe(rule, timeout_ms)}", flush=True)
        refused_path = os.path.join(tmp, "refused")
        load = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--load", lib,
                                 sd.url, str(timeout_ms), refused_path],
                                stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()

        def read_lines():
            for line in load.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read_lines, daemon=True).start()

        counts = bytearray(int(rate * seconds * 1.05) + 10000)
        tally = {"received": 0, "dups": 0, "beyond": 0, "max_copies": 1, "standin_peak_kb": 0}

        def drain():
            items = sd.call("GET", "/_standin/received?drain=true")["items"]
            tally["standin_peak_kb"] = max(tally["standin_peak_kb"], sd.rss_kb())
            for it in items:
                url = it["body"].get("url", "")
                try:
                    i = int(url.rsplit("/", 1)[1])
                except (IndexError, ValueError):
                    tally["beyond"] += 1
                    continue
                tally["received"] += 1
                if i >= len(counts):
                    counts.extend(bytes(i + 1 - len(counts) + 100000))
                c = counts[i]
                if c >= 1:
                    tally["dups"] += 1
                    tally["max_copies"] = max(tally["max_copies"], c + 1)
                counts[i] = min(c + 1, 255)

        samples, final, freed = [], None, None
        header = (f"{'time':>6} {'rss_MB':>7} {'thr':>4} {'enqueued':>9} {'sent':>9} {'retries':>7} "
                  f"{'drop q/r/e/s':>13} {'depth':>6} {'infl':>4} {'at_standin':>10} {'dup':>5} {'sd_MB':>6}")
        print(header, flush=True)
        next_drain = time.monotonic() + 2
        while True:
            try:
                line = lines.get(timeout=max(0.0, next_drain - time.monotonic()))
            except queue.Empty:
                drain()
                next_drain = time.monotonic() + 2
                continue
            if line is None:
                break
            msg = json.loads(line)
            if msg["kind"] in ("start", "tick", "produced", "flushed"):
                drain()
                next_drain = time.monotonic() + 2
                s = msg["stats"]
                samples.append((msg["t"], msg["rss_kb"], msg["hwm_kb"]))
                drops = f"{s['dropped_queue_full']}/{s['dropped_rejected']}/{s['dropped_expired']}/{s['dropped_shutdown']}"
                print(f"{msg['t']:>5.0f}s {msg['rss_kb'] / 1024:>7.1f} {msg['threads']:>4} "
                      f"{s['enqueued']:>9} {s['sent']:>9} {s['retries']:>7} {drops:>13} "
                      f"{s['queue_depth']:>6} {s['in_flight']:>4} {tally['received']:>10} "
                      f"{tally['dups']:>5} {sd.rss_kb() / 1024:>6.1f}"
                      + ("  (flushed)" if msg["kind"] == "flushed" else
                         "  (load over)" if msg["kind"] == "produced" else ""), flush=True)
            if msg["kind"] == "flushed":
                final = msg
            if msg["kind"] == "freed":
                freed = msg
        load_rc = load.wait()
        drain()
        counters = sd.call("GET", "/_standin/counters")
        fired = [r.get("fired", 0) for r in sd.call("GET", "/_standin/faults")["rules"]]
        return summarize(final, freed, load_rc, counts, tally, counters, samples, warmup,
                         bound_mb, refused_path, fired, mix)
    finally:
        if load and load.poll() is None:
            load.kill()
        try:
            sd.call("POST", "/_standin/shutdown")
            sd.proc.wait(timeout=5)
        except Exception:
            sd.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def describe(rule, timeout_ms=2000):
    if rule.get("status") == 503:
        return f"503 Retry-After: {rule['retry_after']}"
    if rule.get("status"):
        return str(rule["status"])
    if rule.get("close"):
        return "connection closed, no answer"
    if rule["delay_ms"] < timeout_ms:
        return f"slow answer ({rule['delay_ms']} ms, within timeout_ms)"
    return f"late answer ({rule['delay_ms']} ms: the library has given up, the stand-in accepts)"


def summarize(final, freed, load_rc, counts, tally, counters, samples, warmup, bound_mb,
              refused_path, fired, mix):
    failures = []
    if final is None:
        print(f"soak: FAIL: the load process ended (exit {load_rc}) before its final report")
        return 1
    s = final["stats"]
    nthreads, generated = final["nthreads"], final["generated"]
    refused = set()
    for t in range(nthreads):
        with open(f"{refused_path}.{t}", "rb") as f:
            data = f.read()
        refused.update(int.from_bytes(data[k:k + 4], "little") for k in range(0, len(data), 4))
    total_generated = sum(generated)

    def was_generated(i):  # thread i % T made ids i % T + n*T for n < generated[i % T]
        return i // nthreads < generated[i % nthreads]

    top = max((t + (g - 1) * nthreads for t, g in enumerate(generated) if g), default=-1)
    if top >= len(counts):
        counts.extend(bytes(top + 1 - len(counts)))
    missing = received_refused = never_queued = unique = dup_ids = 0
    for i, c in enumerate(counts):
        if c:
            unique += 1
            dup_ids += c > 1
            if not was_generated(i):
                never_queued += 1
            elif i in refused:
                received_refused += 1
        elif was_generated(i) and i not in refused:
            missing += 1  # queued (enqueue said OK), never received
    never_queued += tally["beyond"]
    dup_copies = tally["dups"]
    dropped_after = s["dropped_rejected"] + s["dropped_expired"] + s["dropped_shutdown"]
    dropped_all = s["dropped_queue_full"] + dropped_after
    lost = max(0, missing - dropped_after)
    inv_rhs = s["sent"] + dropped_all + s["queue_depth"] + s["in_flight"]
    ok_codes = final["enqueue_results"].get("0", 0)

    rss = [(t, r) for t, r, _ in samples]
    base = next((r for t, r in rss if t >= warmup), rss[0][1])
    base_t = next((t for t, r in rss if t >= warmup), rss[0][0])
    end_rss = final["rss_kb"]
    peak = max(final["hwm_kb"], max(r for _, r in rss))
    after = [(t, r) for t, r in rss if t >= base_t]
    slope = 0.0
    if len(after) >= 3:
        mt = sum(t for t, _ in after) / len(after)
        mr = sum(r for _, r in after) / len(after)
        var = sum((t - mt) ** 2 for t, _ in after)
        slope = sum((t - mt) * (r - mr) for t, r in after) / var * 60 if var else 0.0

    by_status = counters.get("by_status", {})
    late = fired[-1] if len(fired) == len(mix) else None
    print()
    print("== soak summary ==")
    print(f"load: {total_generated} page views generated in {final['produced_s']:.0f} s "
          f"(enqueue results: {final['enqueue_results']}); flush: rc={final['flush_rc']} in {final['flush_s']} s"
          + (f" ({final['flush_error']})" if final["flush_error"] else ""))
    ps = max(final["produced_s"], 1e-9)
    print(f"throughput: offered {total_generated / ps:.0f}/s, sent {s['sent'] / final['t']:.0f}/s "
          f"(flush included), refused as queue full {100.0 * s['dropped_queue_full'] / max(1, s['enqueued']):.1f}%"
          + ("; the queue was full at times: the one sender thread makes one request at a "
             "time, so the time it waits on slow and late answers, and the pauses the API asks "
             "for (Retry-After pauses all sending), cut what it can deliver (a larger "
             "SOAK_BATCH_SIZE means fewer requests, so fewer failures to wait out)"
             if s["dropped_queue_full"] else ""))
    print(f"stats after flush: " + ", ".join(f"{k}={v}" for k, v in s.items()))
    print(f"invariant: enqueued {s['enqueued']} == sent {s['sent']} + dropped {dropped_all} "
          f"(queue_full {s['dropped_queue_full']}, rejected {s['dropped_rejected']}, expired "
          f"{s['dropped_expired']}, shutdown {s['dropped_shutdown']}) + queue_depth {s['queue_depth']} "
          f"+ in_flight {s['in_flight']} = {inv_rhs}: {'holds' if inv_rhs == s['enqueued'] else 'BROKEN'}")
    print(f"stand-in: {counters['requests']} API requests ({counters['by_path']}), statuses {by_status}, "
          f"faults injected {counters['faults_injected']} ({100.0 * counters['faults_injected'] / max(1, counters['requests']):.1f}%), "
          f"closed by fault {counters['closed_by_fault']}, token requests {counters['token_requests']}, "
          f"connections {counters['connections']}")
    print("faults fired: " + ", ".join(f"{describe(rule)} {n}" for (_, rule), n in zip(mix, fired)))
    print(f"delivered: {tally['received']} items received by the stand-in (counter: {counters['items']['hit']}), "
          f"{unique} distinct; library sent {s['sent']}; "
          f"received - sent = {tally['received'] - s['sent']}")
    print(f"duplicates: {dup_ids} URLs received more than once ({dup_copies} extra copies, at most "
          f"{tally['max_copies']} copies of one URL); late answers (accepted after the library "
          f"gave up): {late}, so at most {late * BATCH if late is not None else '?'} duplicates can be explained")
    print(f"lost: {lost} (queued with OK but never received: {missing}; dropped after queueing: "
          f"{dropped_after}); refused at enqueue but received: {received_refused}; received but "
          f"never queued: {never_queued}")
    print(f"RSS of the load process: start {rss[0][1] / 1024:.1f} MB, after warm-up ({base_t:.0f} s) "
          f"{base / 1024:.1f} MB, peak {peak / 1024:.1f} MB, end (after flush) {end_rss / 1024:.1f} MB, "
          f"end - warm-up {(end_rss - base) / 1024:+.1f} MB (bound {bound_mb:g} MB), slope after "
          f"warm-up {slope:+.0f} KB/min; after pirsch_free {freed['rss_kb'] / 1024 if freed else float('nan'):.1f} MB; "
          f"threads {final['threads']} (after free {freed['threads'] if freed else '?'})")
    print(f"  the bound: {RSS_BOUND_WHY}")
    print(f"stand-in RSS peak {tally['standin_peak_kb'] / 1024:.1f} MB (drained every 2 s)")
    print(f"library log lines by level (1 error, 2 warn): {final['logs']['count']}; first: {final['logs']['first']}; last: {final['logs']['last']}")

    if final["flush_rc"] != 0 or s["queue_depth"] or s["in_flight"]:
        failures.append("the flush did not finish")
    if inv_rhs != s["enqueued"]:
        failures.append("the stats invariant is broken")
    if s["enqueued"] != total_generated - final["enqueue_results"].get("2", 0) - final["enqueue_results"].get("3", 0):
        failures.append(f"enqueued {s['enqueued']} is not the {total_generated} valid enqueue calls")
    if lost:
        failures.append(f"{lost} items lost")
    if unique < s["sent"]:
        failures.append(f"the library counted {s['sent']} sent, the stand-in has {unique}")
    if late is not None and dup_copies > late * BATCH:
        failures.append(f"{dup_copies} duplicates, more than the late answers explain")
    if received_refused or never_queued:
        failures.append("the stand-in received items that were never queued")
    if (end_rss - base) / 1024 > bound_mb:
        failures.append(f"RSS grew by {(end_rss - base) / 1024:.1f} MB after the warm-up")
    if load_rc != 0:
        failures.append(f"the load process exited {load_rc}")
    if failures:
        print("soak: FAIL: " + "; ".join(failures))
        return 1
    print("soak: PASS (no item lost, invariant holds, RSS bounded)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main()
    else:
        sys.exit(main())

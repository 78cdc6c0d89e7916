"""make demo: sends a page view, an event and a session keep-alive from C, Python and PHP.

Without credentials in the environment the three examples talk to the local stand-in of the
API, and this prints what arrived there. With PIRSCH_CLIENT_SECRET (an access key pa_..., or
with PIRSCH_CLIENT_ID an OAuth client) they send to the real Pirsch API instead.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from standin import LIBRARY, Standin  # noqa: E402

EX = os.path.join(ROOT, "examples")


def have_php():
    try:
        r = subprocess.run(["php", "-r", "exit(extension_loaded('ffi') ? 0 : 1);"], capture_output=True)
    except OSError:
        return False
    return r.returncode == 0


def run_examples(env):
    subprocess.run(["make", "-s", "-C", os.path.join(EX, "c"), "PIRSCH_ROOT=../..", "pageview"], check=True)
    ok = True
    examples = [
        ("C", [os.path.join(EX, "c", "pageview")]),
        ("Python", [sys.executable, os.path.join(EX, "python", "pageview.py")]),
    ]
    if have_php():
        examples.append(("PHP", ["php", os.path.join(EX, "php", "pageview.php")]))
    else:
        print("\n--- PHP example skipped: php-cli with FFI is not installed (apt-get install php-cli) ---")
    for lang, cmd in examples:
        print(f"\n--- {lang} example ---", flush=True)
        r = subprocess.run(cmd, env=env)
        ok &= r.returncode == 0
    return ok


def main():
    env = dict(os.environ, PIRSCH_LIBRARY=LIBRARY, PIRSCH_HEADER=os.path.join(ROOT, "include", "pirsch.h"))
    if os.environ.get("PIRSCH_CLIENT_SECRET"):
        print("Credentials found in the environment: sending to", os.environ.get("PIRSCH_BASE_URL", "https://api.pirsch.io"))
        ok = run_examples(env)
        print("\nDone. Look for /from-c, /from-python and /from-php in your Pirsch dashboard.")
        sys.exit(0 if ok else 1)

    standin = Standin()
    try:
        print(f"No PIRSCH_CLIENT_SECRET set: using the local stand-in of the Pirsch API at {standin.url}")
        env.update(PIRSCH_BASE_URL=standin.url, PIRSCH_CLIENT_ID="standin-client", PIRSCH_CLIENT_SECRET="standin-secret")
        ok = run_examples(env)
        items = standin.items()
        print(f"\n=== What arrived at the stand-in: {len(items)} items ===")
        for item in items:
            b = item["body"]
            what = b.get("event_name") and f"event {b['event_name']!r} on {b.get('url')}" or b.get("url") or "(keep-alive)"
            extra = b.get("tags") or b.get("event_meta") or {}
            print(f"  {item['kind']:<8} ip={b.get('ip', ''):<14} {what}  {json.dumps(extra) if extra else ''}")
            print(f"  {'':<8} {len(b)} fields: {', '.join(sorted(b))}")
        c = standin.counters()
        print(f"\ntoken requests: {c['token_requests']}, API requests: {c['requests']}, connections: {c['connections']}")
        languages = 3 if have_php() else 2
        expected = 4 * languages
        if len(items) != expected or not ok:
            print(f"demo FAILED: expected {expected} items ({languages} languages x 2 page views, an event, a session)")
            sys.exit(1)
        print("demo OK: every example's page views, event and session keep-alive arrived.")
    finally:
        standin.stop()


if __name__ == "__main__":
    main()

"""What counts as a page view, and under which URL: one table for the nginx and the Apache
module (bindings/nginx/tests, bindings/apache/tests), so that both count exactly alike.

Each server under test serves, for the Host example.test: /page.html and / (index.html) as
text/html, /img.png and /app.js as other types, no /missing.html, and /form answering a POST
with 200 text/html. `port` is the server's (non-default) port."""
import email.utils
import time

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def cases(port):
    """(name, request kwargs for the suite's request(), expected URL or None = not counted)."""
    now = email.utils.formatdate(time.time(), usegmt=True)
    return [
        ("page", dict(path="/page.html?t=page"), "http://example.test/page.html?t=page"),
        ("index", dict(path="/?t=index"), "http://example.test/?t=index"),
        ("image", dict(path="/img.png?t=image"), None),
        ("script", dict(path="/app.js?t=script"), None),
        ("404", dict(path="/missing.html?t=404"), None),
        ("post", dict(path="/form?t=post", method="POST", body="a=1"), None),
        ("head", dict(path="/page.html?t=head", method="HEAD"), None),
        ("304 revisit", dict(path="/page.html?t=304", headers={"If-Modified-Since": now}), "http://example.test/page.html?t=304"),
        ("non-default port kept", dict(path="/page.html?t=port", host=f"example.test:{port}"), f"http://example.test:{port}/page.html?t=port"),
        ("default port dropped", dict(path="/page.html?t=port80", host="example.test:80"), "http://example.test/page.html?t=port80"),
        ("host lowercased", dict(path="/page.html?t=case", host="Example.TEST"), "http://example.test/page.html?t=case"),
        ("path and query as sent", dict(path="/page.html?t=raw&q=a%20b&x=%2F"), "http://example.test/page.html?t=raw&q=a%20b&x=%2F"),
    ]


def run(server, received_urls, wait_for):
    """Sends every case to `server` (its request(path, method=, headers=, body=, host=)), waits
    for the page views and returns (expected sorted URLs, received sorted URLs)."""
    table = cases(server.port)
    for name, kw, _ in table:
        kw = dict(kw)
        headers = {"User-Agent": BROWSER_UA, **kw.pop("headers", {})}
        server.request(headers=headers, **kw)
    expected = sorted(url for _, _, url in table if url)
    wait_for(lambda: len(received_urls()) >= len(expected))
    time.sleep(0.3)
    return expected, sorted(received_urls())

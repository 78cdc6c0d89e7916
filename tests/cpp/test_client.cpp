// The C++ face (include/pirsch.hpp) through the real library against the stand-in:
// page views, events and sessions arrive with the right fields; bad input gives the right
// code and message, as an exception and as a std::error_code; move semantics; the queue's
// counters; from_headers and the lifetime of what it points to; allocations per enqueue.
//   PIRSCH_BASE_URL=http://127.0.0.1:PORT ./test_client      (scripts/test-cpp.sh runs it under ASan+UBSan)
#include <pirsch.hpp>

#include <atomic>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <thread>
#include <vector>

// ---- Counting C++ heap allocations (the library's own allocations are not C++ ones) ----
static std::atomic<long> g_allocs{0};
static std::atomic<bool> g_counting{false};

// g++ 12 at -O1 and above calls free() on what the replaced operator new returned
// "mismatched" once both are inlined; they are a pair here (malloc/free underneath).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void *operator new(std::size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return operator new(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    try {
        return operator new(n);
    } catch (...) {
        return nullptr;
    }
}
void *operator new[](std::size_t n, const std::nothrow_t &t) noexcept { return operator new(n, t); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

struct AllocCount {
    AllocCount() {
        g_allocs = 0;
        g_counting = true;
    }
    long stop() {
        g_counting = false;
        return g_allocs.load();
    }
};

// ---- A small harness ----
static int g_failures = 0;
static int g_checks = 0;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        ++g_checks;                                                                  \
        if (!(cond)) {                                                               \
            ++g_failures;                                                            \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                            \
    } while (0)
#define CHECK_ERROR(expr, want_code, want_text)                                                          \
    do {                                                                                                 \
        ++g_checks;                                                                                      \
        try {                                                                                            \
            expr;                                                                                        \
            ++g_failures;                                                                                \
            std::fprintf(stderr, "FAIL %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);           \
        } catch (const pirsch::Error &e_) {                                                              \
            if (e_.code() != (want_code) || std::string(e_.what()).find(want_text) == std::string::npos) { \
                ++g_failures;                                                                            \
                std::fprintf(stderr, "FAIL %s:%d: %s threw %d \"%s\", want %d with \"%s\"\n", __FILE__,  \
                             __LINE__, #expr, e_.code(), e_.what(), (want_code), (want_text));            \
            }                                                                                            \
        }                                                                                                \
    } while (0)

static std::string g_base;

static pirsch::Config config() {
    pirsch::Config cfg;
    cfg.set("base_url", g_base).set("allow_insecure_http", "true").set("flush_interval_ms", 20);
    return cfg;
}

/** The stand-in's control API, through the library's own pirsch_request. */
struct Standin {
    pirsch::Client c{"", "pa_standin_key", config()};
    void reset() { c.request("POST", "/_standin/reset"); }
    std::string received(const char *kind) { return c.request("GET", std::string("/_standin/received?kind=") + kind); }
    /** The items of a received list, one string each (the body's JSON). */
    std::vector<std::string> items(const char *kind) {
        std::string all = received(kind);
        std::vector<std::string> out;
        std::size_t at = 0;
        const std::string mark = "{\"kind\":";
        while ((at = all.find(mark, at)) != std::string::npos) {
            std::size_t next = all.find(mark, at + 1);
            // Up to the "," before the next item, or the "]}" that ends the list.
            std::size_t end = next == std::string::npos ? all.size() - 2 : next - 1;
            out.push_back(all.substr(at, end - at));
            at += mark.size();
        }
        return out;
    }
};

static bool has(const std::string &json, const std::string &fragment) {
    bool ok = json.find(fragment) != std::string::npos;
    if (!ok) std::fprintf(stderr, "  missing %s in %s\n", fragment.c_str(), json.c_str());
    return ok;
}

// ---------------------------------------------------------------------------------------

static void test_error_category() {
    const auto &cat = pirsch::category();
    CHECK(std::string(cat.name()) == "pirsch");
    for (pirsch_result code : {PIRSCH_ERR_NULL_ARGUMENT, PIRSCH_ERR_INVALID_ARGUMENT, PIRSCH_ERR_INVALID_UTF8,
                               PIRSCH_ERR_AUTH, PIRSCH_ERR_HTTP, PIRSCH_ERR_NETWORK, PIRSCH_ERR_TIMEOUT,
                               PIRSCH_ERR_QUEUE_FULL, PIRSCH_ERR_CLOSED, PIRSCH_ERR_PANIC}) {
        std::error_code ec = pirsch::make_error_code(code);
        CHECK(ec.value() == code);
        CHECK(&ec.category() == &cat);
        CHECK(ec.message() == pirsch_strerror(code));
        CHECK(ec.message() != "unknown result code");
        CHECK(ec == static_cast<pirsch::errc>(code));
    }
    CHECK(cat.message(12345) == "unknown result code");
    CHECK(!pirsch::make_error_code(PIRSCH_OK));
    std::error_code qf = pirsch::errc::queue_full;
    CHECK(qf == pirsch::errc::queue_full);
    CHECK(qf != pirsch::errc::closed);
    CHECK(qf == std::errc::resource_unavailable_try_again);
    CHECK(std::error_code(pirsch::errc::timeout) == std::errc::timed_out);
    CHECK(std::error_code(pirsch::errc::invalid_argument) == std::errc::invalid_argument);
    pirsch::Error e(PIRSCH_ERR_HTTP, "the API said 500");
    CHECK(std::string(e.what()) == std::string(pirsch_strerror(PIRSCH_ERR_HTTP)) + ": the API said 500");
    CHECK(e.detail() == "the API said 500");
    CHECK(e.error_code() == pirsch::errc::http);
    const std::runtime_error &base = e;  // catchable as a std::runtime_error
    CHECK(std::string(base.what()).find("500") != std::string::npos);
    std::puts("ok   error category, errc, Error");
}

static void test_config_errors() {
    pirsch::Config cfg;
    CHECK_ERROR(cfg.set("no_such_key", "1"), PIRSCH_ERR_INVALID_ARGUMENT, "unknown config key \"no_such_key\"");
    CHECK_ERROR(cfg.set("timeout_ms", "soon"), PIRSCH_ERR_INVALID_ARGUMENT, "timeout_ms");
    CHECK_ERROR(cfg.set("timeout_ms", std::string_view("10\0" "0", 4)), PIRSCH_ERR_INVALID_ARGUMENT, "NUL byte");
    std::error_code ec;
    cfg.set("no_such_key", "1", ec);  // no exception
    CHECK(ec == pirsch::errc::invalid_argument);
    CHECK(ec.category() == pirsch::category());
    CHECK(pirsch::last_error().find("no_such_key") != std::string_view::npos);
    cfg.set("timeout_ms", "3000", ec);
    CHECK(!ec);
    cfg.set("queue_capacity", 5);  // integers
    pirsch::Config moved = std::move(cfg);
    CHECK(cfg.get() == nullptr && moved.get() != nullptr);
    CHECK_ERROR(pirsch::Client("", "pa_standin_key", cfg), PIRSCH_ERR_NULL_ARGUMENT, "moved from");
    std::puts("ok   Config: errors thrown and as error_code, integers, move");
}

static void test_client_errors() {
    CHECK_ERROR(pirsch::Client("", ""), PIRSCH_ERR_AUTH, "no credentials");
    CHECK_ERROR(pirsch::Client("", "not_a_key"), PIRSCH_ERR_AUTH, "must be an access key");
    std::error_code ec;
    pirsch::Client c("", "not_a_key", ec);
    CHECK(ec == pirsch::errc::auth);
    CHECK(!c);
    pirsch::Client ok("", "pa_standin_key", config(), ec);
    CHECK(!ec && ok);
    std::puts("ok   Client: bad credentials thrown and as error_code");
}

static void test_page_view_arrives(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    pirsch::PageView pv;
    pv.url("https://example.com/cpp/all?x=1")
        .ip("198.51.100.7")
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) cpp-test")
        .accept_language("de-DE,de;q=0.9")
        .sec_ch_ua("\"Chromium\";v=\"130\"")
        .sec_ch_ua_mobile("?0")
        .sec_ch_ua_platform("\"Linux\"")
        .title("All fields")
        .referrer("https://ref.example/")
        .screen(1920, 1080)
        .tag("author", "alice")
        .tag("plan", "pro");
    client.send(pv);  // blocking
    auto items = s.items("hit");
    CHECK(items.size() == 1);
    if (items.size() == 1) {
        const std::string &h = items[0];
        CHECK(has(h, "\"batch\":false"));
        CHECK(has(h, "\"url\":\"https://example.com/cpp/all?x=1\""));
        CHECK(has(h, "\"ip\":\"198.51.100.7\""));
        CHECK(has(h, "\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) cpp-test\""));
        CHECK(has(h, "\"accept_language\":\"de-DE,de;q=0.9\""));
        CHECK(has(h, "\"sec_ch_ua\":\"\\\"Chromium\\\";v=\\\"130\\\"\""));
        CHECK(has(h, "\"sec_ch_ua_mobile\":\"?0\""));
        CHECK(has(h, "\"title\":\"All fields\""));
        CHECK(has(h, "\"referrer\":\"https://ref.example/\""));
        CHECK(has(h, "\"screen_width\":1920"));
        CHECK(has(h, "\"screen_height\":1080"));
        CHECK(has(h, "\"tags\":{\"author\":\"alice\",\"plan\":\"pro\"}"));
    }
    // Queued: the same page view, with a time stamp, through /hit/batch.
    client.enqueue(pv);
    client.flush(std::chrono::seconds(5));
    items = s.items("hit");
    CHECK(items.size() == 2);
    if (items.size() == 2) {
        CHECK(has(items[1], "\"batch\":true"));
        CHECK(has(items[1], "\"url\":\"https://example.com/cpp/all?x=1\""));
        CHECK(has(items[1], "\"time\":\""));
    }
    std::puts("ok   page view: every field arrives (send and enqueue)");
}

static void test_event_and_session(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    pirsch::Event ev("signup");
    ev.url("https://example.com/signup").ip("198.51.100.8").user_agent("cpp-test").duration(std::chrono::seconds(12))
        .meta("product", "t-shirt").meta("size", "L").non_interactive();
    client.send(ev);
    client.enqueue(ev);
    pirsch::Session ses;
    ses.ip("198.51.100.8").user_agent("cpp-test").sec_ch_ua_mobile("?1");
    client.send(ses);
    client.enqueue(ses);
    client.flush(std::chrono::seconds(5));
    auto events = s.items("event");
    CHECK(events.size() == 2);
    for (const auto &e : events) {
        CHECK(has(e, "\"event_name\":\"signup\""));
        CHECK(has(e, "\"event_duration\":12"));
        CHECK(has(e, "\"event_meta\":{\"product\":\"t-shirt\",\"size\":\"L\"}"));
        CHECK(has(e, "\"non_interactive\":true"));
        CHECK(has(e, "\"url\":\"https://example.com/signup\""));
    }
    auto sessions = s.items("session");
    CHECK(sessions.size() == 2);
    for (const auto &x : sessions) {
        CHECK(has(x, "\"ip\":\"198.51.100.8\""));
        CHECK(has(x, "\"user_agent\":\"cpp-test\""));
        CHECK(has(x, "\"sec_ch_ua_mobile\":\"?1\""));
    }
    std::puts("ok   event (name, duration, meta, non_interactive) and session arrive");
}

static void test_bad_input(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    pirsch::PageView no_url;
    no_url.ip("198.51.100.7");
    CHECK_ERROR(client.send(no_url), PIRSCH_ERR_INVALID_ARGUMENT, "url is required");
    CHECK_ERROR(client.enqueue(no_url), PIRSCH_ERR_INVALID_ARGUMENT, "url is required");
    try {
        client.enqueue(no_url);
    } catch (const pirsch::Error &e) {
        CHECK(e.detail().rfind("url is required", 0) == 0);  // the library's own words, first
        CHECK(e.error_code() == pirsch::errc::invalid_argument);
    }
    std::error_code ec;
    client.enqueue(no_url, ec);  // no exception
    CHECK(ec == pirsch::errc::invalid_argument);
    CHECK(pirsch::last_error().find("url is required") != std::string_view::npos);
    client.send(no_url, ec);
    CHECK(ec == pirsch::errc::invalid_argument);

    pirsch::PageView bad_ip;
    bad_ip.url("https://example.com/").ip("not an address");
    client.send(bad_ip, ec);
    CHECK(ec == pirsch::errc::invalid_argument);

    // A NUL byte inside a value: C would read it cut short, so nothing is sent.
    pirsch::PageView nul;
    nul.url(std::string_view("https://example.com/a\0/evil", 27)).ip("198.51.100.7");
    CHECK_ERROR(client.send(nul), PIRSCH_ERR_INVALID_ARGUMENT, "url holds a NUL byte");
    client.enqueue(nul, ec);
    CHECK(ec == pirsch::errc::invalid_argument);
    pirsch::Event tag_nul("e");
    tag_nul.url("https://example.com/").ip("198.51.100.7").tag(std::string_view("k\0", 2), "v");
    CHECK_ERROR(client.enqueue(tag_nul), PIRSCH_ERR_INVALID_ARGUMENT, "a tag holds a NUL byte");
    pirsch::Event no_name;
    no_name.url("https://example.com/").ip("198.51.100.7");
    CHECK_ERROR(client.send(no_name), PIRSCH_ERR_INVALID_ARGUMENT, "name");

    // 21 tags: the library's limit, in the library's words (the C++ side keeps the 21st).
    pirsch::PageView many;
    many.url("https://example.com/").ip("198.51.100.7");
    for (int i = 0; i < 21; ++i) many.tag("k" + std::to_string(i), "v");
    CHECK_ERROR(client.enqueue(many), PIRSCH_ERR_INVALID_ARGUMENT, "20");

    client.flush(std::chrono::seconds(2));
    CHECK(client.stats().enqueued == 0);  // refused before the queue
    CHECK(s.items("hit").empty());
    std::puts("ok   bad input: Error with code and message; error_code form does not throw; nothing sent");
}

static void test_move_semantics(Standin &s) {
    s.reset();
    pirsch::Client a("", "pa_standin_key", config());
    pirsch_client *raw = a.get();
    pirsch::Client b(std::move(a));
    CHECK(!a && a.get() == nullptr);
    CHECK(b && b.get() == raw);
    CHECK_ERROR(a.enqueue(pirsch::PageView().url("https://example.com/").ip("198.51.100.7")), PIRSCH_ERR_NULL_ARGUMENT, "");
    std::error_code ec;
    a.flush(std::chrono::milliseconds(10), ec);
    CHECK(ec == pirsch::errc::null_argument);
    CHECK_ERROR(a.stats(), PIRSCH_ERR_NULL_ARGUMENT, "");

    pirsch::Client c("", "pa_standin_key", config());
    c.enqueue(pirsch::PageView().url("https://example.com/moved-away").ip("198.51.100.9"));
    c = std::move(b);  // frees c's own client first: it delivers its queue
    CHECK(c.get() == raw && !b);
    CHECK(s.items("hit").size() == 1);
    c.send(pirsch::PageView().url("https://example.com/after-move").ip("198.51.100.9"));
    CHECK(s.items("hit").size() == 2);

    // Builders: copies are independent, moved-from builders are empty.
    std::string long_url = "https://example.com/" + std::string(3000, 'x');
    pirsch::PageView p1;
    p1.url(long_url).ip("198.51.100.10").tag("k", "v");
    CHECK(p1.spilled());
    pirsch::PageView p2 = p1;
    p1.url("https://example.com/changed");
    pirsch::PageView p3 = std::move(p2);
    c.send(p3);
    CHECK(has(s.received("hit"), long_url));
    CHECK_ERROR(c.send(p2), PIRSCH_ERR_INVALID_ARGUMENT, "url is required");  // moved from: empty
    pirsch::PageView small;
    small.url("https://example.com/small").ip("198.51.100.11");
    pirsch::PageView p4;
    p4 = std::move(small);
    pirsch::PageView &alias = p4;
    p4 = alias;  // self-assignment is harmless
    c.send(p4);
    CHECK(has(s.received("hit"), "https://example.com/small"));
    std::puts("ok   move semantics: Client (moved-from is empty, move-assign frees), builders (copy, move)");
}

static void test_stats_counters(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    pirsch::PageView pv;
    pv.url("https://example.com/counted").ip("198.51.100.12");
    for (int i = 0; i < 25; ++i) client.enqueue(pv);
    client.flush(std::chrono::seconds(5));
    pirsch::Stats st = client.stats();
    CHECK(st.enqueued == 25);
    CHECK(st.sent == 25);
    CHECK(st.dropped() == 0);
    CHECK(st.queue_depth == 0 && st.in_flight == 0);
    CHECK(st.batches >= 1);
    CHECK(s.items("hit").size() == 25);
    std::error_code ec;
    pirsch::Stats st2 = client.stats(ec);
    CHECK(!ec && st2.sent == 25);

    // A queue of one in front of an API that is down: refusals are PIRSCH_ERR_QUEUE_FULL,
    // each counted in dropped_queue_full, and the invariant holds.
    pirsch::Config cfg;
    cfg.set("base_url", "http://127.0.0.1:1").set("queue_capacity", 1).set("shutdown_timeout_ms", 0);
    pirsch::Client down("", "pa_standin_key", cfg);
    int full_thrown = 0, full_ec = 0;
    for (int i = 0; i < 5; ++i) {
        try {
            down.enqueue(pv);
        } catch (const pirsch::Error &e) {
            CHECK(e.code() == PIRSCH_ERR_QUEUE_FULL);
            ++full_thrown;
        }
        down.enqueue(pv, ec);
        if (ec == pirsch::errc::queue_full) ++full_ec;
    }
    pirsch::Stats d = down.stats();
    CHECK(full_thrown + full_ec >= 7);  // at most one queued and one in flight
    CHECK(d.dropped_queue_full == static_cast<std::uint64_t>(full_thrown + full_ec));
    CHECK(d.enqueued == 10);
    CHECK(d.enqueued == d.sent + d.dropped() + d.spooled + d.queue_depth + d.in_flight);
    CHECK_ERROR(down.flush(std::chrono::milliseconds(50)), PIRSCH_ERR_TIMEOUT, "");
    std::puts("ok   stats: counters after 25 queued, queue full counted, flush timeout");
}

static void test_from_headers(Standin &s) {
    s.reset();
    pirsch::Config cfg = config();
    cfg.set("trusted_proxies", "10.0.0.0/8, 127.0.0.1");
    pirsch::Client client("", "pa_standin_key", cfg);

    // A std::multimap<std::string, std::string> as cpp-httplib has it.
    std::multimap<std::string, std::string> headers{
        {"User-Agent", "Mozilla/5.0 from-headers"},
        {"accept-language", "fr"},
        {"Cookie", "session=secret"},
        {"X-Forwarded-For", "203.0.113.5"},
        {"x-forwarded-for", "10.1.2.3"},
        {"Sec-CH-UA-Platform", "\"Linux\""},
    };
    pirsch::PageView first;
    first.title("First").from_headers("https://example.com/one?ref=news%20letter", "127.0.0.1", headers);

    // A second request on this thread overwrites the library's per-thread buffer (the joined
    // X-Forwarded-For, the decoded referrer): `first` must have its own copies.
    std::vector<std::pair<std::string_view, std::string_view>> other{
        {"user-agent", "other"}, {"x-forwarded-for", "198.51.100.99"}, {"X-Forwarded-For", "10.9.9.9"}};
    pirsch::PageView second;
    second.from_headers("https://example.com/two?utm_source=elsewhere", "10.0.0.1", other);
    client.enqueue(first);
    client.enqueue(second);
    // Braced lists, and a builder whose strings came from a buffer that is gone.
    {
        std::string ua = "temporary agent";
        pirsch::Event ev("from-headers");
        ev.from_headers("https://example.com/three", "198.51.100.20", {{"User-Agent", ua}, {"Referer", "https://r.example/"}});
        ua.assign(ua.size(), '#');
        client.enqueue(ev);
    }
    client.flush(std::chrono::seconds(5));
    auto hits = s.items("hit");
    CHECK(hits.size() == 2);
    if (hits.size() == 2) {
        CHECK(has(hits[0], "\"url\":\"https://example.com/one?ref=news%20letter\""));
        CHECK(has(hits[0], "\"ip\":\"203.0.113.5\""));  // the joined list, walked past 10.1.2.3
        CHECK(has(hits[0], "\"user_agent\":\"Mozilla/5.0 from-headers\""));
        CHECK(has(hits[0], "\"accept_language\":\"fr\""));
        CHECK(has(hits[0], "\"referrer\":\"news letter\""));  // decoded from ?ref=
        CHECK(has(hits[0], "\"title\":\"First\""));
        CHECK(has(hits[0], "\"sec_ch_ua_platform\":\"\\\"Linux\\\"\""));
        CHECK(hits[0].find("secret") == std::string::npos);
        CHECK(has(hits[1], "\"ip\":\"198.51.100.99\""));
        CHECK(has(hits[1], "\"referrer\":\"elsewhere\""));
    }
    auto events = s.items("event");
    CHECK(events.size() == 1);
    if (events.size() == 1) {
        CHECK(has(events[0], "\"user_agent\":\"temporary agent\""));
        CHECK(has(events[0], "\"referrer\":\"https://r.example/\""));
    }

    // Failures: the builder is unchanged; thrown or as error_code.
    pirsch::PageView pv;
    pv.url("https://example.com/kept").ip("198.51.100.1");
    CHECK_ERROR(pv.from_headers("https://example.com/\xff", "198.51.100.2", headers), PIRSCH_ERR_INVALID_UTF8, "url");
    std::error_code ec;
    pv.from_headers(std::string_view("https://example.com/\0x", 22), "198.51.100.2", headers, ec);
    CHECK(ec == pirsch::errc::invalid_argument);
    pv.from_headers("https://example.com/ok", "198.51.100.3", headers, ec);
    CHECK(!ec);
    s.reset();
    client.send(pv);
    CHECK(has(s.received("hit"), "\"url\":\"https://example.com/ok\""));

    // The same request through the C function with every header, and through the C++ one
    // (which passes on only the headers the library reads): the same page view arrives.
    pirsch::Config fwd = config();
    fwd.set("forward_proxy_headers", "true").set("trusted_proxies", "10.0.0.0/8");
    pirsch::Client both("", "pa_standin_key", fwd);
    const char *names[] = {" User-Agent\t", "ACCEPT-LANGUAGE", "sec-ch-ua", "Sec-CH-UA-Mobile", "Sec-Ch-Ua-Platform",
                           "sec-ch-ua-platform-version", "Sec-CH-Width", "sec-ch-viewport-width", "Referer",
                           "CF-Connecting-IP", "X-Forwarded-For", "Forwarded", "X-Real-IP", "x-forwarded-for",
                           "forwarded", "Cookie", "Authorization", "Host", "user-agent", "X-Unknown"};
    std::vector<std::pair<std::string, std::string>> all;
    std::vector<pirsch_kv> kv;
    for (const char *n : names) all.emplace_back(n, std::string("v-") + n + "-" + std::to_string(all.size()));
    all[1].second = "de";
    all[9].second = "203.0.113.1";
    all[10].second = "203.0.113.2";
    all[12].second = "203.0.113.3";
    all[13].second = "10.0.0.9";
    for (const auto &h : all) kv.push_back(pirsch_kv{h.first.c_str(), h.second.c_str()});
    const char *url = "https://example.com/same?utm_source=x";
    pirsch_hit_options c_hit{};
    c_hit.struct_size = sizeof c_hit;
    CHECK(pirsch_hit_options_from_headers(&c_hit, url, "10.0.0.1", kv.data(), kv.size()) == PIRSCH_OK);
    s.reset();
    CHECK(pirsch_hit(both.get(), &c_hit) == PIRSCH_OK);
    both.send(pirsch::PageView().from_headers(url, "10.0.0.1", all));
    auto same = s.items("hit");
    CHECK(same.size() == 2);
    if (same.size() == 2) {
        CHECK(same[0] == same[1]);
        CHECK(has(same[0], "\"ip\":\"203.0.113.2\""));
        CHECK(has(same[0], "\"x_forwarded_for\":\"203.0.113.2, 10.0.0.9\""));
    }
    std::puts("ok   from_headers: fields, joined proxy lists and decoded referrers outlive the next call, failures, "
              "the same page view as the C function given every header");
}

static void test_shared(Standin &s) {
    s.reset();
    pirsch::Client a = pirsch::Client::shared("cpp-test", "", "pa_standin_key", config());
    pirsch::Client b = pirsch::Client::shared("cpp-test", "", "pa_standin_key", config());
    CHECK(a.get() == b.get());
    CHECK_ERROR(pirsch::Client::shared("cpp-test", "", "pa_other_key", config()), PIRSCH_ERR_INVALID_ARGUMENT, "");
    std::error_code ec;
    pirsch::Client c = pirsch::Client::shared("cpp-test", "", "pa_standin_key", config(), ec);
    CHECK(!ec && c.get() == a.get());
    b.enqueue(pirsch::PageView().url("https://example.com/shared").ip("198.51.100.13"));
    b = pirsch::Client(nullptr);  // gives back one reference; the others keep it alive
    a.flush(std::chrono::seconds(5));
    CHECK(s.items("hit").size() == 1);
    std::puts("ok   Client::shared: one client per name, references");
}

static void test_threads(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&client, t] {
            pirsch::PageView pv;  // one builder per thread, reused
            for (int i = 0; i < 50; ++i) {
                pv.clear().url("https://example.com/t" + std::to_string(t)).ip("198.51.100.14");
                client.enqueue(pv);
            }
        });
    }
    for (auto &th : threads) th.join();
    client.flush(std::chrono::seconds(5));
    CHECK(client.stats().sent == 200);
    CHECK(s.items("hit").size() == 200);
    std::puts("ok   one Client, 4 threads x 50 enqueues");
}

static void test_allocations(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    std::string url = "https://example.com/pricing?utm_source=newsletter";
    std::string ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
    client.enqueue(pirsch::PageView().url(url).ip("198.51.100.15"));  // the sender thread starts here

    long a1;
    {
        AllocCount count;
        pirsch::PageView pv;
        pv.url(url).ip("198.51.100.15").user_agent(ua).accept_language("en-US,en;q=0.9")
            .sec_ch_ua("\"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\"").sec_ch_ua_mobile("?0")
            .sec_ch_ua_platform("\"Linux\"").title("Pricing").referrer("https://news.example/")
            .tag("author", "alice").tag("plan", "pro");
        client.enqueue(pv);
        a1 = count.stop();
    }
    // A browser's request: 16 headers (a cookie of 600 bytes among them), through from_headers.
    std::vector<std::pair<std::string, std::string>> headers{
        {"Host", "example.com"}, {"Connection", "keep-alive"}, {"User-Agent", ua},
        {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
        {"Accept-Language", "en-US,en;q=0.9"}, {"Accept-Encoding", "gzip, deflate, br"},
        {"Sec-CH-UA", "\"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\""}, {"Sec-CH-UA-Mobile", "?0"},
        {"Sec-CH-UA-Platform", "\"Linux\""}, {"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Mode", "navigate"},
        {"Referer", "https://example.com/"}, {"Cookie", std::string(600, 'c')},
        {"Upgrade-Insecure-Requests", "1"}, {"X-Forwarded-For", "203.0.113.7"}, {"Cache-Control", "max-age=0"}};
    long a2;
    {
        AllocCount count;
        pirsch::PageView pv;
        pv.from_headers(url, "198.51.100.15", headers).tag("plan", "pro");
        client.enqueue(pv);
        a2 = count.stop();
    }
    // A page view larger than the inline 1 KiB: one heap block; reused after clear(): none.
    std::string big_url = "https://example.com/?" + std::string(2000, 'q');
    long a3, a4;
    pirsch::PageView reused;
    {
        AllocCount count;
        reused.url(big_url).ip("198.51.100.15").user_agent(ua);
        client.enqueue(reused);
        a3 = count.stop();
    }
    {
        AllocCount count;
        for (int i = 0; i < 100; ++i) {
            reused.clear().url(big_url).ip("198.51.100.15").user_agent(ua);
            client.enqueue(reused);
        }
        a4 = count.stop();
    }
    client.flush(std::chrono::seconds(5));
    std::printf("     C++ heap allocations: %ld per page view built with 12 setters + enqueue, %ld per from_headers "
                "(16 headers) + enqueue, %ld for a 2 KiB page view, %ld for 100 more with the builder reused\n",
                a1, a2, a3, a4);
    CHECK(a1 == 0);
    CHECK(a2 == 0);
    CHECK(a3 == 1);
    CHECK(a4 == 0);
    CHECK(client.stats().sent == 104);
    std::puts("ok   allocations: none per field in the common case, one block beyond 1 KiB");
}

#if defined(PIRSCH_STATISTIC_COUNT)
static std::string today_utc() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char d[16];
    std::strftime(d, sizeof d, "%Y-%m-%d", &tm);
    return d;
}

static void test_statistics(Standin &s) {
    s.reset();
    pirsch::Client writer("", "pa_standin_key", config());
    writer.send(pirsch::PageView().url("https://example.com/a").ip("198.51.100.21"));
    writer.enqueue(pirsch::PageView().url("https://example.com/a?x=1").ip("198.51.100.22"));
    writer.enqueue(pirsch::PageView().url("https://example.com/b").ip("198.51.100.22"));
    writer.flush(std::chrono::seconds(5));

    pirsch::Client reader("standin-client", "standin-secret", config());
    pirsch::Filter f;
    f.domain_id = "standin-domain-1";
    f.from = today_utc();
    f.to = std::string_view(f.from);
    std::string total = reader.total_visitors(f);
    CHECK(has(total, "\"visitors\":2"));  // two addresses, three page views
    CHECK(has(total, "\"views\":3"));
    CHECK(reader.statistics(pirsch::Statistic::total_visitors, f) == total);
    std::string days = reader.visitors(f);
    CHECK(has(days, "\"day\":\"" + f.from));
    CHECK(has(days, "\"visitors\":2"));
    std::string pages = reader.pages(f);
    CHECK(has(pages, "{\"path\":\"/a\","));
    CHECK(has(pages, "\"visitors\":2,\"views\":2,"));  // /a: two visitors, two views
    CHECK(has(pages, "\"visitors\":1,\"views\":1,"));  // /b: one of them, once
    std::error_code ec;
    CHECK(reader.pages(f, ec) == pages && !ec);
    CHECK(has(reader.domains(), "\"id\":\"standin-domain-1\""));
    // The stand-in has no funnels: an empty list; an unknown funnel is its 404, which shows
    // the request that was made.
    CHECK(reader.funnels("standin-domain-1", ec) == "[]" && !ec);
    pirsch::Filter with_funnel = f;
    with_funnel.funnel_id = "no-such-funnel";
    CHECK(reader.statistics(pirsch::Statistic::funnel, with_funnel, ec).empty());
    CHECK(ec == pirsch::errc::http);
    CHECK(has(std::string(pirsch::last_error()), "GET /api/v1/statistics/funnel: HTTP 404"));

    // The filter is checked before anything is sent; thrown or as error_code.
    pirsch::Filter none;
    CHECK_ERROR(reader.pages(none), PIRSCH_ERR_INVALID_ARGUMENT, "domain_id is required");
    std::string empty = reader.total_visitors(none, ec);
    CHECK(ec == pirsch::errc::invalid_argument && empty.empty());
    pirsch::Filter no_event = f;
    CHECK_ERROR(reader.event_metadata(no_event), PIRSCH_ERR_INVALID_ARGUMENT, "event");
    pirsch::Filter nul = f;
    nul.path = {std::string("/a\0b", 4)};
    CHECK_ERROR(reader.pages(nul), PIRSCH_ERR_INVALID_ARGUMENT, "NUL byte");
    // Access keys only write: the API's 403, in words.
    CHECK_ERROR(writer.total_visitors(f), PIRSCH_ERR_HTTP, "403");

    // The request, percent-encoded, lists repeated: no I/O.
    pirsch::Filter q = f;
    q.scale = "day";
    q.path = {"/a", "/b c"};
    q.tags = {{"author", "a&b"}};
    q.limit = 10;
    std::string path = pirsch::statistics_path(pirsch::Statistic::pages, q);
    CHECK(path.rfind("/api/v1/statistics/page?id=standin-domain-1&from=" + f.from + "&to=" + f.from, 0) == 0);
    CHECK(has(path, "&scale=day&path=%2Fa&path=%2Fb%20c"));
    CHECK(has(path, "&tag_author=a%26b"));
    CHECK(has(path, "&limit=10"));
    CHECK_ERROR(pirsch::statistics_path(pirsch::Statistic::funnel, q), PIRSCH_ERR_INVALID_ARGUMENT, "funnel_id");
    q.funnel_id = "f1";
    CHECK(has(pirsch::statistics_path(pirsch::Statistic::funnel, q), "funnel_id=f1"));
    std::puts("ok   statistics: two visitors on /a counted, filter errors before I/O, access keys refused, paths encoded");
}

/** PageView::time: when the visitor's request happened (importing logs), as epoch milliseconds. */
static void test_time(Standin &s) {
    s.reset();
    pirsch::Client client("", "pa_standin_key", config());
    using namespace std::chrono;
    auto then = time_point_cast<milliseconds>(system_clock::now() - minutes(2));
    std::time_t secs = system_clock::to_time_t(then);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char rfc[40];
    std::strftime(rfc, sizeof rfc, "%Y-%m-%dT%H:%M:%S", &tm);
    char want[64];
    std::snprintf(want, sizeof want, "\"time\":\"%s.%03dZ\"", rfc, static_cast<int>(then.time_since_epoch().count() % 1000));
    pirsch::PageView pv;
    pv.url("https://example.com/imported").ip("198.51.100.23").time(std::to_string(then.time_since_epoch().count()));
    client.send(pv);  // with a time: through the batch endpoint
    client.enqueue(pv);
    client.flush(seconds(5));
    auto items = s.items("hit");
    CHECK(items.size() == 2);
    for (const auto &it : items) CHECK(has(it, want));
    pv.time("yesterday");
    CHECK_ERROR(client.enqueue(pv), PIRSCH_ERR_INVALID_ARGUMENT, "time");
    std::puts("ok   time(): an imported page view keeps its time (send and enqueue); a bad time is refused");
}
#endif

int main() {
    const char *base = std::getenv("PIRSCH_BASE_URL");
    if (!base || !*base) {
        std::fprintf(stderr, "test_client: set PIRSCH_BASE_URL to the stand-in (http://127.0.0.1:PORT)\n");
        return 2;
    }
    g_base = base;
    std::printf("libpirsch %s (header %s), C++ %ld\n", pirsch::version(), PIRSCH_VERSION, static_cast<long>(__cplusplus));
    try {
        Standin s;
        test_error_category();
        test_config_errors();
        test_client_errors();
        test_page_view_arrives(s);
        test_event_and_session(s);
        test_bad_input(s);
        test_move_semantics(s);
        test_stats_counters(s);
        test_from_headers(s);
        test_shared(s);
        test_threads(s);
        test_allocations(s);
#if defined(PIRSCH_STATISTIC_COUNT)
        test_statistics(s);
        test_time(s);
#else
        std::puts("--   statistics and time(): this pirsch.h has neither (libpirsch 0.1): left out");
#endif
    } catch (const std::exception &e) {
        std::fprintf(stderr, "FAIL: unexpected exception: %s\n", e.what());
        return 1;
    }
    std::printf("%s: %d checks, %d failed\n", g_failures ? "FAILED" : "passed", g_checks, g_failures);
    return g_failures ? 1 : 0;
}

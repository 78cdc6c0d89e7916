// A web server (cpp-httplib) that counts every GET page view with libpirsch, queued from
// the request handler: the visitor never waits on the Pirsch API.
//   PIRSCH_CLIENT_SECRET=pa_... ./server [PORT]        (PIRSCH_BASE_URL, PIRSCH_CLIENT_ID,
//                                                        PIRSCH_TRUSTED_PROXIES as usual)
// It prints "listening on http://127.0.0.1:PORT", and on SIGTERM or SIGINT stops, delivers
// what is queued and prints the queue's counters.
// Build: c++ -std=c++17 server.cpp $(pkg-config --cflags --libs pirsch cpp-httplib) -pthread
#include <pirsch.hpp>

#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <string>
#include <thread>

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

int main(int argc, char **argv) try {
    // SIGTERM and SIGINT are taken by a thread of their own (sigwait), which stops the
    // server; every other thread, httplib's workers included, inherits the blocked mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    pirsch::Config cfg;
    if (!env("PIRSCH_BASE_URL").empty()) cfg.set("base_url", env("PIRSCH_BASE_URL"));
    if (!env("PIRSCH_TRUSTED_PROXIES").empty()) cfg.set("trusted_proxies", env("PIRSCH_TRUSTED_PROXIES"));
    pirsch::Client analytics(env("PIRSCH_CLIENT_ID"), env("PIRSCH_CLIENT_SECRET"), cfg);

    httplib::Server server;
    server.Get(".*", [&analytics](const httplib::Request &req, httplib::Response &res) {
        res.set_content("<!doctype html><title>Hello</title><p>Hello from C++</p>\n", "text/html");
        if (req.path == "/favicon.ico") return;
        // The URL as the visitor asked for it, the peer that connected, the raw headers.
        std::string url = "http://" + req.get_header_value("Host") + req.target;
        thread_local pirsch::PageView pv;  // one builder per worker thread, reused: no allocation
        std::error_code ec;                // no exceptions in the handler: count, log, go on
        pv.clear().from_headers(url, req.remote_addr, req.headers, ec);
        if (!ec) analytics.enqueue(pv, ec);
        if (ec) std::fprintf(stderr, "pirsch: %s: %s\n", ec.message().c_str(), pirsch::last_error().data());
    });

    int port = argc > 1 ? std::atoi(argv[1]) : 0;
    if (port == 0) port = server.bind_to_any_port("127.0.0.1");
    else if (!server.bind_to_port("127.0.0.1", port)) port = -1;
    if (port < 0) {
        std::fprintf(stderr, "server: cannot listen on 127.0.0.1\n");
        return 1;
    }
    std::thread stopper([&server, &stop_signals] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        server.stop();
    });
    std::printf("listening on http://127.0.0.1:%d\n", port);
    std::fflush(stdout);
    server.listen_after_bind();
    stopper.join();

    analytics.flush(std::chrono::seconds(5));
    pirsch::Stats st = analytics.stats();
    std::printf("stopped: enqueued=%llu sent=%llu dropped=%llu\n", static_cast<unsigned long long>(st.enqueued),
                static_cast<unsigned long long>(st.sent), static_cast<unsigned long long>(st.dropped()));
    return 0;
} catch (const pirsch::Error &e) {
    std::fprintf(stderr, "server: %s\n", e.what());
    return 1;
}

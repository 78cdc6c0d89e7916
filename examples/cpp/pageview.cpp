// A page view, an event and a session keep-alive with libpirsch's C++ face (pirsch.hpp).
//   PIRSCH_CLIENT_SECRET=pa_...  ./pageview                    (access key, real API)
//   PIRSCH_CLIENT_ID=... PIRSCH_CLIENT_SECRET=... ./pageview  (OAuth client)
//   PIRSCH_BASE_URL=http://127.0.0.1:PORT ...                  (another API, e.g. the stand-in)
// Build: c++ -std=c++17 pageview.cpp $(pkg-config --cflags --libs pirsch)
#include <pirsch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

int main() try {
    pirsch::Config cfg;
    if (!env("PIRSCH_BASE_URL").empty()) cfg.set("base_url", env("PIRSCH_BASE_URL"));
    pirsch::Client client(env("PIRSCH_CLIENT_ID"), env("PIRSCH_CLIENT_SECRET"), cfg);

    pirsch::PageView pv;
    pv.url("https://example.com/from-cpp").ip("198.51.100.7")
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) libpirsch-cpp-example")
        .title("From C++").tag("language", "c++");
    client.send(pv);  // blocks until the API accepted it; in a request handler use enqueue(pv)
    std::puts("page view: ok");

    pirsch::Event ev("cpp-example");
    ev.url("https://example.com/from-cpp").ip("198.51.100.7").meta("standard", std::to_string(__cplusplus));
    client.enqueue(ev);  // queued: never waits on the network
    client.flush(std::chrono::seconds(5));
    std::puts("event: ok");

    pirsch::Session ses;
    ses.ip("198.51.100.7").user_agent("Mozilla/5.0 (X11; Linux x86_64) libpirsch-cpp-example");
    std::error_code ec;  // the no-throw form
    client.send(ses, ec);
    if (ec) std::fprintf(stderr, "session: %s: %s\n", ec.message().c_str(), pirsch::last_error().data());
    else std::puts("session: ok");
    std::printf("libpirsch %s, C++ %ld\n", pirsch::version(), static_cast<long>(__cplusplus));
    return ec ? 1 : 0;
} catch (const pirsch::Error &e) {
    std::fprintf(stderr, "pirsch: %s\n", e.what());  // e.code(): PIRSCH_ERR_*; e.detail(): the library's words
    return 1;
}

// The C API from C++: one page view, blocking, with the client owned by a unique_ptr.
//   PIRSCH_CLIENT_SECRET=pa_... ./pageview-cpp   (PIRSCH_BASE_URL for another API, PIRSCH_CLIENT_ID for OAuth)
#include <pirsch.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {
struct ClientFree {
    void operator()(pirsch_client *c) const { pirsch_free(c); }
};
std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}
}  // namespace

int main() {
    std::unique_ptr<pirsch_config, void (*)(pirsch_config *)> cfg(pirsch_config_new(), pirsch_config_free);
    if (!env("PIRSCH_BASE_URL").empty() && pirsch_config_set(cfg.get(), "base_url", env("PIRSCH_BASE_URL").c_str()) != PIRSCH_OK) {
        std::fprintf(stderr, "base_url: %s\n", pirsch_last_error());
        return 1;
    }
    std::unique_ptr<pirsch_client, ClientFree> client(
        pirsch_client_new(env("PIRSCH_CLIENT_ID").c_str(), env("PIRSCH_CLIENT_SECRET").c_str(), cfg.get()));
    if (!client) {
        std::fprintf(stderr, "pirsch_client_new: %s\n", pirsch_last_error());
        return 1;
    }
    pirsch_hit_options hit{};
    hit.struct_size = sizeof hit;
    hit.url = "https://example.com/from-cpp";
    hit.ip = "198.51.100.7";
    hit.user_agent = "Mozilla/5.0 (X11; Linux x86_64) libpirsch-cpp-example";
    pirsch_result rc = pirsch_hit(client.get(), &hit);
    if (rc != PIRSCH_OK) {
        std::fprintf(stderr, "pirsch_hit: %s: %s\n", pirsch_strerror(rc), pirsch_last_error());
        return 1;
    }
    std::printf("page view from C++: ok (libpirsch %s)\n", pirsch_version());
    return 0;
}

/*
 * Sends a page view, an event and a session keep-alive with libpirsch, blocking.
 *
 *   PIRSCH_CLIENT_SECRET=pa_...  ./pageview                    (access key, real API)
 *   PIRSCH_CLIENT_ID=... PIRSCH_CLIENT_SECRET=... ./pageview  (OAuth client)
 *   PIRSCH_BASE_URL=http://127.0.0.1:PORT ...                  (another API, e.g. the stand-in)
 *
 * Build: cc -Wall -Wextra -Werror pageview.c $(pkg-config --cflags --libs pirsch)
 */
#include <pirsch.h>
#include <stdio.h>
#include <stdlib.h>

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

static int check(const char *what, pirsch_result rc) {
    if (rc != PIRSCH_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, pirsch_strerror(rc), pirsch_last_error());
        return 1;
    }
    printf("%s: sent\n", what);
    return 0;
}

int main(void) {
    const char *secret = getenv("PIRSCH_CLIENT_SECRET");
    if (!secret || !*secret) {
        fprintf(stderr, "set PIRSCH_CLIENT_SECRET (an access key pa_..., or a client secret with PIRSCH_CLIENT_ID)\n");
        return 2;
    }
    printf("libpirsch %s\n", pirsch_version());

    pirsch_config *cfg = pirsch_config_new();
    const char *base_url = getenv("PIRSCH_BASE_URL");
    if (base_url && *base_url && pirsch_config_set(cfg, "base_url", base_url) != PIRSCH_OK) {
        fprintf(stderr, "base_url: %s\n", pirsch_last_error());
        pirsch_config_free(cfg);
        return 2;
    }
    pirsch_config_set(cfg, "timeout_ms", "3000");
    pirsch_client *client = pirsch_client_new(getenv("PIRSCH_CLIENT_ID"), secret, cfg);
    pirsch_config_free(cfg); /* the client keeps a copy */
    if (!client) {
        fprintf(stderr, "pirsch_client_new: %s\n", pirsch_last_error());
        return 2;
    }

    /* What a request handler knows about the visitor's request. */
    pirsch_kv tags[] = {{"author", "alice"}, {"lang", "c"}};
    pirsch_hit_options hit = {0};
    hit.struct_size = sizeof hit;
    hit.url = env_or("PIRSCH_EXAMPLE_URL", "https://example.com/from-c?utm_source=example");
    hit.ip = "203.0.113.10";
    hit.user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
    hit.accept_language = "en-US,en;q=0.9";
    hit.sec_ch_ua = "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"";
    hit.sec_ch_ua_mobile = "?0";
    hit.sec_ch_ua_platform = "\"Linux\"";
    hit.sec_ch_ua_platform_version = "\"6.1.0\"";
    hit.sec_ch_width = "1920";
    hit.sec_ch_viewport_width = "1280";
    hit.title = "Hello from C";
    hit.referrer = "https://search.example/?q=pirsch";
    hit.screen_width = 1920;
    hit.screen_height = 1080;
    hit.tags = tags;
    hit.tags_len = sizeof tags / sizeof tags[0];

    int failed = check("page view", pirsch_hit(client, &hit));

    pirsch_kv meta[] = {{"plan", "pro"}};
    pirsch_event_options ev = {0};
    ev.struct_size = sizeof ev;
    ev.name = "signup";
    ev.duration_seconds = 42;
    ev.meta = meta;
    ev.meta_len = 1;
    failed |= check("event", pirsch_event(client, &ev, &hit));
    failed |= check("session keep-alive", pirsch_session(client, &hit));

    pirsch_free(client);
    return failed;
}

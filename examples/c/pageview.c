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
#include <string.h>
#include <time.h>

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

static int check(const char *what, pirsch_result rc) {
    if (rc != PIRSCH_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, pirsch_strerror(rc), pirsch_last_error());
        return 1;
    }
    printf("%s: ok\n", what);
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
    /* Our reverse proxies: their X-Forwarded-For is believed, anyone else's is ignored. */
    pirsch_config_set(cfg, "trusted_proxies", "10.0.0.0/8, 127.0.0.1");
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

    /* Behind a reverse proxy: fill the options straight from the raw request headers (no
       copies: the strings point into the request). The proxy at 10.0.0.2 is trusted, so the
       visitor's address is taken from X-Forwarded-For; the cookie is never read. */
    pirsch_kv headers[] = {
        {"Host", "example.com"},
        {"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"},
        {"Accept-Language", "nl-NL"},
        {"X-Forwarded-For", "198.51.100.23, 10.0.0.2"},
        {"Cookie", "session=never-sent"},
    };
    pirsch_hit_options proxied = {0};
    proxied.struct_size = sizeof proxied;
    const char *proxied_url = env_or("PIRSCH_EXAMPLE_PROXIED_URL", "https://example.com/behind-proxy?ref=newsletter");
    failed |= check("options from headers",
                    pirsch_hit_options_from_headers(&proxied, proxied_url, "10.0.0.2", headers,
                                                    sizeof headers / sizeof headers[0]));
    failed |= check("page view behind a proxy", pirsch_hit(client, &proxied));

    /* Reading statistics needs an OAuth client (access keys can only write). */
    if (getenv("PIRSCH_CLIENT_ID") && *getenv("PIRSCH_CLIENT_ID")) {
        char *domains = NULL;
        if (check("list domains", pirsch_request(client, "GET", "/api/v1/domain", NULL, &domains)) == 0) {
            printf("domains: %s\n", domains);
            /* The first domain's id, without a JSON library: "id":"...". */
            char id[128] = "";
            const char *p = strstr(domains, "\"id\":\"");
            if (p && sscanf(p + 6, "%127[^\"]", id) == 1) {
                char today[16], path[320];
                time_t now = time(NULL);
                strftime(today, sizeof today, "%Y-%m-%d", gmtime(&now));
                snprintf(path, sizeof path, "/api/v1/statistics/visitor?id=%s&from=%s&to=%s", id, today, today);
                char *visitors = NULL;
                if (check("today's visitors", pirsch_request(client, "GET", path, NULL, &visitors)) == 0)
                    printf("visitors today: %s\n", visitors);
                else
                    failed = 1;
                pirsch_string_free(visitors);
            }
        } else {
            failed = 1;
        }
        pirsch_string_free(domains);
    }

    pirsch_free(client);
    return failed;
}

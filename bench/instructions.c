/* make bench-instructions: CPU instructions per page view on the calling thread's path
 * (pirsch_hit_options_from_headers + pirsch_hit_enqueue, as the nginx module calls them),
 * counted by valgrind's cachegrind. Unlike timings on a shared machine, the count is the
 * same from run to run, so a change of a few percent shows.
 *
 * Run with N page views; the script runs N=0 and N=20000 and divides the difference.
 * The API is a closed loopback port: items stay queued (queue_capacity is large enough),
 * and the sender thread sleeps in its backoff, so what is counted is the request path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pirsch.h"

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0;
    pirsch_config *cfg = pirsch_config_new();
    if (pirsch_config_set(cfg, "base_url", "http://127.0.0.1:9") != PIRSCH_OK ||
        pirsch_config_set(cfg, "queue_capacity", "100000") != PIRSCH_OK) {
        fprintf(stderr, "config: %s\n", pirsch_last_error());
        return 1;
    }
    pirsch_client *c = pirsch_client_new(NULL, "pa_0123456789abcdef0123456789abcdef", cfg);
    pirsch_config_free(cfg);
    if (c == NULL) {
        fprintf(stderr, "client: %s\n", pirsch_last_error());
        return 1;
    }
    /* The request headers of a typical Chrome page view (as in pirsch-bench cost). */
    static const char *names[] = {"Host", "User-Agent", "Accept", "Accept-Language", "Accept-Encoding", "Referer",
                                  "Sec-CH-UA", "Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "Connection", "Cookie"};
    static const char *values[] = {
        "example.test",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "en-US,en;q=0.9",
        "gzip, deflate, br",
        "https://news.example.com/",
        "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
        "?0",
        "\"Linux\"",
        "keep-alive",
        "session=0123456789abcdef"};
    pirsch_kv kv[11];
    for (int i = 0; i < 11; i++) {
        kv[i].key = names[i];
        kv[i].value = values[i];
    }
    static char urls[1000][96];
    for (int i = 0; i < 1000; i++) {
        snprintf(urls[i], sizeof urls[i], "http://example.test/blog/2026/11/some-article-%d?utm_source=newsletter", i);
    }
    /* One page view in both runs: the sender thread and the buffers exist before counting. */
    for (int i = 0; i <= n; i++) {
        pirsch_hit_options o;
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        if (pirsch_hit_options_from_headers(&o, urls[i % 1000], "203.0.113.9", kv, 11) != PIRSCH_OK ||
            pirsch_hit_enqueue(c, &o) != PIRSCH_OK) {
            fprintf(stderr, "page view %d: %s\n", i, pirsch_last_error());
            return 1;
        }
    }
    /* No pirsch_free: the count is of the request path, not of shutdown. */
    return 0;
}

/* pirsch_free gives a full queue's memory back to the system, and keeps its time bound with a
 * batch request in progress to an API that never answers (a listening socket nobody
 * accepts from). A C program of its own: its resident set is what is measured, and the
 * queue is filled from the main thread, as a server's main loop does (glibc's main heap
 * keeps what is freed inside it unless told otherwise).
 * Exit status 0 when both hold; prints the figures. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pirsch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) v = atol(line + 6);
    }
    if (f) fclose(f);
    return v;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

int main(void) {
    /* The stalled API: connections are queued by the kernel, never accepted or answered. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof a) != 0 || listen(s, 16) != 0 ||
        getsockname(s, (struct sockaddr *) &a, &alen) != 0) {
        perror("listen");
        return 2;
    }
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", ntohs(a.sin_port));

    long before = rss_kib();
    pirsch_config *cfg = pirsch_config_new();
    if (pirsch_config_set(cfg, "base_url", base) != PIRSCH_OK ||
        pirsch_config_set(cfg, "queue_capacity", "100000") != PIRSCH_OK ||
        pirsch_config_set(cfg, "queue_max_bytes", "268435456") != PIRSCH_OK ||
        pirsch_config_set(cfg, "timeout_ms", "60000") != PIRSCH_OK ||
        pirsch_config_set(cfg, "shutdown_timeout_ms", "0") != PIRSCH_OK) {
        fprintf(stderr, "config: %s\n", pirsch_last_error());
        return 2;
    }
    pirsch_client *c = pirsch_client_new(NULL, "pa_0123456789abcdef0123456789abcdef", cfg);
    pirsch_config_free(cfg);
    if (c == NULL) {
        fprintf(stderr, "client: %s\n", pirsch_last_error());
        return 2;
    }
    char url[128];
    for (int i = 0; i < 100000; i++) {
        pirsch_hit_options h;
        memset(&h, 0, sizeof h);
        h.struct_size = sizeof h;
        snprintf(url, sizeof url, "https://example.com/blog/article-%d?utm_source=newsletter", i);
        h.url = url;
        h.ip = "198.51.100.1";
        h.user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        h.accept_language = "en-US,en;q=0.9";
        h.referrer = "https://news.example.com/";
        if (pirsch_hit_enqueue(c, &h) != PIRSCH_OK) {
            fprintf(stderr, "page view %d: %s\n", i, pirsch_last_error());
            return 1;
        }
    }
    /* Wait until the first batch request is on its way (and stuck). */
    pirsch_queue_stats st;
    for (int i = 0; i < 500; i++) {
        memset(&st, 0, sizeof st);
        st.struct_size = sizeof st;
        pirsch_client_stats(c, &st);
        if (st.in_flight > 0) break;
        usleep(10000);
    }
    if (st.in_flight == 0) {
        fprintf(stderr, "no batch request started\n");
        return 1;
    }
    long queued = rss_kib();
    double t0 = now();
    pirsch_free(c);
    double took = now() - t0;
    long after = rss_kib();
    long grown = queued - before;
    printf("free_memory: 100,000 queued page views: RSS %ld KiB -> %ld KiB; pirsch_free (shutdown_timeout_ms 0, a batch stalled) took %.3f s, RSS after %ld KiB\n",
           before, queued, took, after);
    if (grown < 20000) {
        fprintf(stderr, "free_memory: the queue grew the RSS by only %ld KiB\n", grown);
        return 1;
    }
    if (after > before + grown / 5) {
        fprintf(stderr, "free_memory: the queue's memory stayed resident after pirsch_free\n");
        return 1;
    }
    if (took > 0.35) {
        fprintf(stderr, "free_memory: pirsch_free took %.3f s with shutdown_timeout_ms 0\n", took);
        return 1;
    }
    close(s);
    return 0;
}

/*
 * The C ABI from C: a real program, built with -Wall -Wextra -Wpedantic -Werror and
 * AddressSanitizer/UBSan (or run under valgrind), against the stand-in at PIRSCH_BASE_URL.
 * Prints "N passed, N failed" and exits non-zero on any failure.
 */
#include <pirsch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            passed++;                                                       \
        } else {                                                            \
            failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
        }                                                                   \
    } while (0)

static const char *base_url;

static pirsch_client *new_client(const char *id, const char *secret) {
    pirsch_config *cfg = pirsch_config_new();
    pirsch_config_set(cfg, "base_url", base_url);
    pirsch_client *c = pirsch_client_new(id, secret, cfg);
    pirsch_config_free(cfg);
    return c;
}

/* Reads the stand-in's record of what arrived; caller frees. */
static char *received(pirsch_client *c) {
    char *body = NULL;
    pirsch_result rc = pirsch_request(c, "GET", "/_standin/received", NULL, &body);
    CHECK(rc == PIRSCH_OK && body != NULL, "reading back: %s", pirsch_last_error());
    return body;
}

static int log_calls;
static void on_log(void *userdata, int level, const char *message) {
    (void)level;
    if (userdata == &log_calls && message && *message) log_calls++;
}

static void test_static_functions(void) {
    CHECK(strcmp(pirsch_version(), PIRSCH_VERSION) == 0, "version %s vs header %s", pirsch_version(), PIRSCH_VERSION);
    int codes[] = {PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT, PIRSCH_ERR_INVALID_ARGUMENT, PIRSCH_ERR_INVALID_UTF8,
                   PIRSCH_ERR_AUTH, PIRSCH_ERR_HTTP, PIRSCH_ERR_NETWORK, PIRSCH_ERR_TIMEOUT,
                   PIRSCH_ERR_QUEUE_FULL, PIRSCH_ERR_CLOSED, PIRSCH_ERR_PANIC, 4242};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = pirsch_strerror(codes[i]);
        CHECK(s != NULL && *s, "strerror(%d)", codes[i]);
    }
    CHECK(pirsch_last_error() != NULL, "last_error never NULL");
}

static void test_config(void) {
    pirsch_config *cfg = pirsch_config_new();
    CHECK(cfg != NULL, "config_new");
    CHECK(pirsch_config_set(cfg, "no_such_key", "1") == PIRSCH_ERR_INVALID_ARGUMENT, "unknown key");
    CHECK(strstr(pirsch_last_error(), "no_such_key") != NULL, "%s", pirsch_last_error());
    CHECK(pirsch_config_set(cfg, "timeout_ms", "-5") == PIRSCH_ERR_INVALID_ARGUMENT, "negative timeout");
    CHECK(pirsch_config_set(cfg, "timeout_ms", "2500") == PIRSCH_OK, "%s", pirsch_last_error());
    CHECK(strcmp(pirsch_last_error(), "") == 0, "cleared on success");
    CHECK(pirsch_config_set(NULL, "timeout_ms", "1") == PIRSCH_ERR_NULL_ARGUMENT, "NULL cfg");
    CHECK(pirsch_config_set(cfg, "timeout_ms", NULL) == PIRSCH_ERR_NULL_ARGUMENT, "NULL value");
    CHECK(pirsch_config_set_logger(NULL, on_log, NULL) == PIRSCH_ERR_NULL_ARGUMENT, "NULL cfg for logger");
    CHECK(pirsch_config_set(cfg, "base_url", "http://analytics.example.com") == PIRSCH_OK, "%s", pirsch_last_error());
    pirsch_client *c = pirsch_client_new("", "pa_key", cfg);
    CHECK(c == NULL, "plain http to a remote host refused");
    CHECK(strstr(pirsch_last_error(), "allow_insecure_http") != NULL, "%s", pirsch_last_error());
    pirsch_config_free(cfg);
    pirsch_config_free(NULL);

    CHECK(pirsch_client_new(NULL, NULL, NULL) == NULL, "no credentials");
    CHECK(strstr(pirsch_last_error(), "no credentials") != NULL, "%s", pirsch_last_error());
    CHECK(pirsch_client_new("id", "", NULL) == NULL, "id without secret");
    pirsch_free(NULL);
    pirsch_string_free(NULL);
}

static void test_page_view_event_session(void) {
    pirsch_config *cfg = pirsch_config_new();
    pirsch_config_set(cfg, "base_url", base_url);
    pirsch_config_set(cfg, "log_level", "debug");
    CHECK(pirsch_config_set_logger(cfg, on_log, &log_calls) == PIRSCH_OK, "set_logger");
    pirsch_client *c = pirsch_client_new("standin-client", "standin-secret", cfg);
    pirsch_config_free(cfg);
    CHECK(c != NULL, "client_new: %s", pirsch_last_error());
    if (!c) return;

    pirsch_kv tags[] = {{"from", "c-test"}, {"k2", "v2"}};
    pirsch_hit_options hit = {0};
    hit.struct_size = sizeof hit;
    hit.url = "https://example.com/c-test?x=1";
    hit.ip = "198.51.100.4";
    hit.user_agent = "c-test-agent";
    hit.accept_language = "en";
    hit.title = "C \"quoted\" title";
    hit.referrer = "https://ref.example/";
    hit.screen_width = 800;
    hit.screen_height = 600;
    hit.tags = tags;
    hit.tags_len = 2;
    CHECK(pirsch_hit(c, &hit) == PIRSCH_OK, "hit: %s", pirsch_last_error());

    pirsch_event_options ev = {0};
    ev.struct_size = sizeof ev;
    ev.name = "c-test-event";
    ev.duration_seconds = 5;
    CHECK(pirsch_event(c, &ev, &hit) == PIRSCH_OK, "event: %s", pirsch_last_error());
    CHECK(pirsch_session(c, &hit) == PIRSCH_OK, "session: %s", pirsch_last_error());

    char *body = received(c);
    if (body) {
        CHECK(strstr(body, "\"url\":\"https://example.com/c-test?x=1\"") != NULL, "url arrived: %.300s", body);
        CHECK(strstr(body, "\"title\":\"C \\\"quoted\\\" title\"") != NULL, "title arrived escaped: %.500s", body);
        CHECK(strstr(body, "\"event_name\":\"c-test-event\"") != NULL, "event arrived");
        CHECK(strstr(body, "\"kind\":\"session\"") != NULL, "session arrived");
        pirsch_string_free(body);
    }

    /* Refusals, nothing sent. */
    CHECK(pirsch_hit(c, NULL) == PIRSCH_ERR_NULL_ARGUMENT, "NULL hit");
    CHECK(pirsch_hit(NULL, &hit) == PIRSCH_ERR_NULL_ARGUMENT, "NULL client");
    CHECK(pirsch_event(c, NULL, &hit) == PIRSCH_ERR_NULL_ARGUMENT, "NULL event");
    pirsch_hit_options zero = {0};
    CHECK(pirsch_hit(c, &zero) == PIRSCH_ERR_INVALID_ARGUMENT, "struct_size 0");
    pirsch_hit_options no_url = hit;
    no_url.url = NULL;
    CHECK(pirsch_hit(c, &no_url) == PIRSCH_ERR_INVALID_ARGUMENT, "missing url");
    CHECK(strstr(pirsch_last_error(), "url") != NULL, "%s", pirsch_last_error());
    pirsch_hit_options bad_utf8 = hit;
    bad_utf8.url = "https://example.com/\xff";
    CHECK(pirsch_hit(c, &bad_utf8) == PIRSCH_ERR_INVALID_UTF8, "non-UTF-8 url");
    pirsch_event_options no_name = ev;
    no_name.name = "";
    CHECK(pirsch_event(c, &no_name, &hit) == PIRSCH_ERR_INVALID_ARGUMENT, "event without name");

    /* A read endpoint through the generic request. */
    char *domains = NULL;
    CHECK(pirsch_request(c, "GET", "/api/v1/domain", NULL, &domains) == PIRSCH_OK, "domain: %s", pirsch_last_error());
    CHECK(domains && strstr(domains, "hostname") != NULL, "domain list: %s", domains ? domains : "(null)");
    pirsch_string_free(domains);
    char *out = (char *)1;
    CHECK(pirsch_request(c, "GET", "no-slash", NULL, &out) == PIRSCH_ERR_INVALID_ARGUMENT && out == NULL, "bad path");

    pirsch_free(c);
    CHECK(log_calls > 0, "the logger was called");
}

static void test_access_key_and_wrong_secret(void) {
    pirsch_client *k = new_client("", "pa_standin_key");
    CHECK(k != NULL, "access key client: %s", pirsch_last_error());
    pirsch_hit_options hit = {0};
    hit.struct_size = sizeof hit;
    hit.url = "https://example.com/key";
    hit.ip = "2001:db8::1";
    CHECK(pirsch_hit(k, &hit) == PIRSCH_OK, "hit with access key: %s", pirsch_last_error());
    pirsch_free(k);

    pirsch_client *w = new_client("standin-client", "not-the-secret-42");
    CHECK(pirsch_hit(w, &hit) == PIRSCH_ERR_AUTH, "wrong secret");
    CHECK(strstr(pirsch_last_error(), "not-the-secret-42") == NULL, "secret not in the message");
    pirsch_free(w);
}

static void test_queue(void) {
    pirsch_config *cfg = pirsch_config_new();
    pirsch_config_set(cfg, "base_url", base_url);
    pirsch_config_set(cfg, "batch_size", "4");
    pirsch_client *c = pirsch_client_new("", "pa_standin_key", cfg);
    pirsch_config_free(cfg);
    CHECK(c != NULL, "client: %s", pirsch_last_error());
    if (!c) return;
    char url[64];
    pirsch_hit_options hit = {0};
    hit.struct_size = sizeof hit;
    hit.ip = "198.51.100.77";
    hit.url = url;
    for (int i = 0; i < 10; i++) {
        snprintf(url, sizeof url, "https://example.com/c-queue/%d", i);
        CHECK(pirsch_hit_enqueue(c, &hit) == PIRSCH_OK, "enqueue: %s", pirsch_last_error());
    }
    url[0] = 0; /* the library copied the item: the caller's buffer is free to change */
    pirsch_event_options ev = {0};
    ev.struct_size = sizeof ev;
    ev.name = "c-queued";
    snprintf(url, sizeof url, "https://example.com/c-queue/event");
    CHECK(pirsch_event_enqueue(c, &ev, &hit) == PIRSCH_OK, "event enqueue: %s", pirsch_last_error());
    CHECK(pirsch_session_enqueue(c, &hit) == PIRSCH_OK, "session enqueue: %s", pirsch_last_error());
    CHECK(pirsch_hit_enqueue(c, NULL) == PIRSCH_ERR_NULL_ARGUMENT, "NULL hit");
    CHECK(pirsch_flush(c, 10000) == PIRSCH_OK, "flush: %s", pirsch_last_error());
    struct pirsch_stats st = {0};
    CHECK(pirsch_stats(c, &st) == PIRSCH_ERR_INVALID_ARGUMENT, "struct_size 0");
    st.struct_size = sizeof st;
    CHECK(pirsch_stats(c, &st) == PIRSCH_OK, "stats");
    CHECK(st.enqueued == 12 && st.sent == 12 && st.queue_depth == 0 && st.in_flight == 0,
          "enqueued %llu sent %llu", (unsigned long long)st.enqueued, (unsigned long long)st.sent);
    CHECK(st.batches == 5, "3 page-view batches of up to 4, 1 event, 1 session: %llu", (unsigned long long)st.batches);
    /* Items still queued at pirsch_free are delivered by it. */
    for (int i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "https://example.com/c-queue/at-free-%d", i);
        pirsch_hit_enqueue(c, &hit);
    }
    pirsch_free(c);
    pirsch_client *reader = new_client("", "pa_standin_key");
    char *body = received(reader);
    if (body) {
        CHECK(strstr(body, "c-queue/9\"") != NULL, "queued page views arrived");
        CHECK(strstr(body, "c-queue/at-free-2") != NULL, "pirsch_free delivered the rest");
        CHECK(strstr(body, "\"event_name\":\"c-queued\"") != NULL, "queued event arrived");
        pirsch_string_free(body);
    }
    pirsch_free(reader);
}

int main(void) {
    base_url = getenv("PIRSCH_BASE_URL");
    if (!base_url) {
        fprintf(stderr, "set PIRSCH_BASE_URL to the stand-in's URL\n");
        return 2;
    }
    test_static_functions();
    test_config();
    test_page_view_event_session();
    test_access_key_and_wrong_secret();
    test_queue();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/*
 * ngx_http_pirsch_module: counts page views with libpirsch, in the log phase, after the
 * response has gone out. One libpirsch client per worker process (created in init_process,
 * never in the master); page views are queued (pirsch_hit_enqueue never waits on the
 * network) and delivered in batches by the library's background thread.
 *
 *   load_module modules/ngx_http_pirsch_module.so;
 *   http { pirsch_access_key_file /etc/nginx/pirsch.key; pirsch on; ... }
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <pirsch.h>

typedef struct {
    ngx_str_t name;
    ngx_http_complex_value_t value;
} ngx_http_pirsch_tag_t;

typedef struct {
    ngx_str_t access_key;
    ngx_str_t client_id;
    ngx_str_t client_secret;
    ngx_array_t *settings;          /* of ngx_keyval_t: libpirsch config key -> value */
    ngx_flag_t used;                /* some location has pirsch on */
    ngx_msec_t shutdown_ms;         /* what a worker's exit may spend delivering */
} ngx_http_pirsch_main_conf_t;

typedef struct {
    ngx_flag_t enable;
    ngx_array_t *tags;              /* of ngx_http_pirsch_tag_t */
    ngx_array_t *methods;           /* of ngx_str_t; NULL = inherit / default GET */
    ngx_array_t *statuses;          /* of ngx_uint_t pairs (lo, hi) */
    ngx_array_t *content_types;     /* of ngx_str_t; "*" matches all */
} ngx_http_pirsch_loc_conf_t;

static pirsch_client *ngx_http_pirsch_client; /* this worker's */

static ngx_int_t ngx_http_pirsch_init(ngx_conf_t *cf);
static void *ngx_http_pirsch_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_pirsch_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_pirsch_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_pirsch_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_pirsch_init_process(ngx_cycle_t *cycle);
static void ngx_http_pirsch_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_pirsch_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_pirsch_setting(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_pirsch_tag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_pirsch_methods(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_pirsch_statuses(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_pirsch_content_types(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* Directives whose value goes to libpirsch unchanged, by config key. */
#define PIRSCH_SETTING(directive, key)                                                     \
    { ngx_string(directive), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_http_pirsch_setting, \
      NGX_HTTP_MAIN_CONF_OFFSET, 0, (void *) key }

static ngx_command_t ngx_http_pirsch_commands[] = {
    { ngx_string("pirsch"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
      ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_pirsch_loc_conf_t, enable), NULL },
    { ngx_string("pirsch_access_key"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_pirsch_main_conf_t, access_key), NULL },
    { ngx_string("pirsch_access_key_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_http_pirsch_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_pirsch_main_conf_t, access_key), NULL },
    { ngx_string("pirsch_client_id"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_pirsch_main_conf_t, client_id), NULL },
    { ngx_string("pirsch_client_secret"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_pirsch_main_conf_t, client_secret), NULL },
    { ngx_string("pirsch_client_secret_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_http_pirsch_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_pirsch_main_conf_t, client_secret), NULL },
    PIRSCH_SETTING("pirsch_base_url", "base_url"),
    PIRSCH_SETTING("pirsch_trusted_proxies", "trusted_proxies"),
    PIRSCH_SETTING("pirsch_client_ip_header", "client_ip_header"),
    PIRSCH_SETTING("pirsch_queue_capacity", "queue_capacity"),
    PIRSCH_SETTING("pirsch_queue_max_bytes", "queue_max_bytes"),
    PIRSCH_SETTING("pirsch_proxy", "proxy"),
    PIRSCH_SETTING("pirsch_tls_roots", "tls_roots"),
    PIRSCH_SETTING("pirsch_ca_file", "ca_file"),
    PIRSCH_SETTING("pirsch_batch_size", "batch_size"),
    PIRSCH_SETTING("pirsch_flush_interval_ms", "flush_interval_ms"),
    PIRSCH_SETTING("pirsch_shutdown_timeout_ms", "shutdown_timeout_ms"),
    PIRSCH_SETTING("pirsch_timeout_ms", "timeout_ms"),
    PIRSCH_SETTING("pirsch_max_item_age_ms", "max_item_age_ms"),
    PIRSCH_SETTING("pirsch_log_level", "log_level"),
    PIRSCH_SETTING("pirsch_allow_insecure_http", "allow_insecure_http"),
    PIRSCH_SETTING("pirsch_spool_dir", "spool_dir"),
    PIRSCH_SETTING("pirsch_spool_sync", "spool_sync"),
    PIRSCH_SETTING("pirsch_spool_max_bytes", "spool_max_bytes"),
    { ngx_string("pirsch_tag"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE2,
      ngx_http_pirsch_tag, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("pirsch_methods"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
      ngx_http_pirsch_methods, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("pirsch_status"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
      ngx_http_pirsch_statuses, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { ngx_string("pirsch_content_types"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
      ngx_http_pirsch_content_types, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    ngx_null_command
};

static ngx_http_module_t ngx_http_pirsch_module_ctx = {
    NULL,                              /* preconfiguration */
    ngx_http_pirsch_init,              /* postconfiguration */
    ngx_http_pirsch_create_main_conf,  /* create main configuration */
    ngx_http_pirsch_init_main_conf,    /* init main configuration */
    NULL, NULL,                        /* server configuration */
    ngx_http_pirsch_create_loc_conf,   /* create location configuration */
    ngx_http_pirsch_merge_loc_conf     /* merge location configuration */
};

ngx_module_t ngx_http_pirsch_module = {
    NGX_MODULE_V1,
    &ngx_http_pirsch_module_ctx,
    ngx_http_pirsch_commands,
    NGX_HTTP_MODULE,
    NULL,                              /* init master */
    NULL,                              /* init module */
    ngx_http_pirsch_init_process,      /* init process */
    NULL,                              /* init thread */
    NULL,                              /* exit thread */
    ngx_http_pirsch_exit_process,      /* exit process */
    NULL,                              /* exit master */
    NGX_MODULE_V1_PADDING
};

/* ---- configuration ------------------------------------------------------------------ */

static void *ngx_http_pirsch_create_main_conf(ngx_conf_t *cf) {
    ngx_http_pirsch_main_conf_t *mcf = ngx_pcalloc(cf->pool, sizeof(*mcf));
    if (mcf == NULL) return NULL;
    mcf->settings = ngx_array_create(cf->pool, 8, sizeof(ngx_keyval_t));
    if (mcf->settings == NULL) return NULL;
    return mcf;
}

static void *ngx_http_pirsch_create_loc_conf(ngx_conf_t *cf) {
    ngx_http_pirsch_loc_conf_t *lcf = ngx_pcalloc(cf->pool, sizeof(*lcf));
    if (lcf == NULL) return NULL;
    lcf->enable = NGX_CONF_UNSET;
    return lcf;
}

static char *ngx_http_pirsch_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) {
    ngx_http_pirsch_loc_conf_t *prev = parent, *conf = child;
    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    if (conf->tags == NULL) conf->tags = prev->tags;
    if (conf->methods == NULL) conf->methods = prev->methods;
    if (conf->statuses == NULL) conf->statuses = prev->statuses;
    if (conf->content_types == NULL) conf->content_types = prev->content_types;
    if (conf->enable) {
        ngx_http_pirsch_main_conf_t *mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_pirsch_module);
        mcf->used = 1;
    }
    return NGX_CONF_OK;
}

/* Reads a secret from a file (first line, trimmed), so it stays out of nginx.conf. */
static char *ngx_http_pirsch_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    ngx_str_t *field = (ngx_str_t *) ((u_char *) conf + cmd->offset);
    ngx_str_t *value = cf->args->elts;
    ngx_str_t path = value[1];
    if (field->data != NULL) return "is duplicate";
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return NGX_CONF_ERROR;
    ngx_file_t file;
    ngx_memzero(&file, sizeof(file));
    file.name = path;
    file.log = cf->log;
    file.fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "pirsch: cannot open the secret file \"%V\"", &path);
        return NGX_CONF_ERROR;
    }
    u_char buf[1024];
    ssize_t n = ngx_read_file(&file, buf, sizeof(buf) - 1, 0);
    ngx_close_file(file.fd);
    if (n == NGX_ERROR) return NGX_CONF_ERROR;
    size_t len = 0;
    while (len < (size_t) n && buf[len] != '\n' && buf[len] != '\r') len++;
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t')) len--;
    if (len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pirsch: the secret file \"%V\" is empty", &path);
        return NGX_CONF_ERROR;
    }
    field->data = ngx_pnalloc(cf->pool, len);
    if (field->data == NULL) return NGX_CONF_ERROR;
    ngx_memcpy(field->data, buf, len);
    field->len = len;
    ngx_explicit_memzero(buf, sizeof(buf));
    return NGX_CONF_OK;
}

static char *ngx_http_pirsch_setting(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    ngx_http_pirsch_main_conf_t *mcf = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_keyval_t *seen = mcf->settings->elts;
    size_t key_len = ngx_strlen((u_char *) cmd->post);
    for (ngx_uint_t i = 0; i < mcf->settings->nelts; i++) {
        if (seen[i].key.len == key_len && ngx_strncmp(seen[i].key.data, cmd->post, key_len) == 0) return "is duplicate";
    }
    ngx_keyval_t *kv = ngx_array_push(mcf->settings);
    if (kv == NULL) return NGX_CONF_ERROR;
    kv->key.data = cmd->post;
    kv->key.len = ngx_strlen((u_char *) cmd->post);
    kv->value = value[1];
    return NGX_CONF_OK;
}

static char *ngx_http_pirsch_tag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    ngx_http_pirsch_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    (void) cmd;
    if (lcf->tags == NULL) {
        lcf->tags = ngx_array_create(cf->pool, 4, sizeof(ngx_http_pirsch_tag_t));
        if (lcf->tags == NULL) return NGX_CONF_ERROR;
    }
    if (value[1].len == 0 || value[1].len > 50) {
        return "needs a tag name of 1 to 50 characters";
    }
    ngx_http_pirsch_tag_t *have = lcf->tags->elts;
    for (ngx_uint_t i = 0; i < lcf->tags->nelts; i++) {
        if (have[i].name.len == value[1].len && ngx_strncmp(have[i].name.data, value[1].data, value[1].len) == 0) {
            return "is duplicate: this tag name was already given here";
        }
    }
    if (lcf->tags->nelts >= 20) return "is used more than 20 times in one place; the API takes at most 20 tags";
    ngx_http_pirsch_tag_t *tag = ngx_array_push(lcf->tags);
    if (tag == NULL) return NGX_CONF_ERROR;
    tag->name = value[1];
    ngx_http_compile_complex_value_t ccv;
    ngx_memzero(&ccv, sizeof(ccv));
    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &tag->value;
    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) return NGX_CONF_ERROR;
    return NGX_CONF_OK;
}

static char *ngx_http_pirsch_methods(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    ngx_http_pirsch_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    (void) cmd;
    if (lcf->methods != NULL) return "is duplicate";
    lcf->methods = ngx_array_create(cf->pool, cf->args->nelts, sizeof(ngx_str_t));
    if (lcf->methods == NULL) return NGX_CONF_ERROR;
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        for (size_t j = 0; j < value[i].len; j++) {
            if (value[i].data[j] < 'A' || value[i].data[j] > 'Z') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pirsch_methods: \"%V\" is not an HTTP method (write it in capitals, e.g. GET)", &value[i]);
                return NGX_CONF_ERROR;
            }
        }
        *(ngx_str_t *) ngx_array_push(lcf->methods) = value[i];
    }
    return NGX_CONF_OK;
}

/* pirsch_status 200 203 2xx ...: single codes or classes. */
static char *ngx_http_pirsch_statuses(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    ngx_http_pirsch_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    (void) cmd;
    if (lcf->statuses != NULL) return "is duplicate";
    lcf->statuses = ngx_array_create(cf->pool, 2 * cf->args->nelts, sizeof(ngx_uint_t));
    if (lcf->statuses == NULL) return NGX_CONF_ERROR;
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        ngx_uint_t lo, hi;
        if (value[i].len == 3 && value[i].data[0] >= '1' && value[i].data[0] <= '5' &&
            (value[i].data[1] | 0x20) == 'x' && (value[i].data[2] | 0x20) == 'x') {
            lo = (value[i].data[0] - '0') * 100;
            hi = lo + 99;
        } else {
            ngx_int_t n = ngx_atoi(value[i].data, value[i].len);
            if (n < 100 || n > 599) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pirsch_status: \"%V\" is not a status (100-599) or class (2xx)", &value[i]);
                return NGX_CONF_ERROR;
            }
            lo = hi = (ngx_uint_t) n;
        }
        ngx_uint_t *p = ngx_array_push_n(lcf->statuses, 2);
        if (p == NULL) return NGX_CONF_ERROR;
        p[0] = lo;
        p[1] = hi;
    }
    return NGX_CONF_OK;
}

static char *ngx_http_pirsch_content_types(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    ngx_http_pirsch_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    (void) cmd;
    if (lcf->content_types != NULL) return "is duplicate";
    lcf->content_types = ngx_array_create(cf->pool, cf->args->nelts, sizeof(ngx_str_t));
    if (lcf->content_types == NULL) return NGX_CONF_ERROR;
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        *(ngx_str_t *) ngx_array_push(lcf->content_types) = value[i];
    }
    return NGX_CONF_OK;
}

/* A NUL-terminated copy of s, allocated from pool; NULL when the pool is out of memory. */
static char *ngx_http_pirsch_cstr(ngx_pool_t *pool, ngx_str_t *s) {
    char *p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) return NULL;
    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';
    return p;
}

/* Builds the libpirsch client the configuration describes. Used at configuration time to
   check it (no network, no threads), and in each worker to run. */
/* A busy server's default batch: each batch request costs the worker's core about 150 us of
   CPU (the request, its system calls, the wake-ups around it) whatever its size, so larger
   batches make a counted page view cheaper (make bench-nginx: the sender's CPU per page view
   is about 1.6 us at 100 items, 0.5 us at 500). The library's default is 100; the API takes
   either, a batch also stops near 500 KB of JSON, and pirsch_flush_interval_ms still bounds
   how long a page view waits on a quiet server. */
#define NGX_HTTP_PIRSCH_BATCH_SIZE "500"

static pirsch_client *ngx_http_pirsch_make_client(ngx_http_pirsch_main_conf_t *mcf, ngx_pool_t *pool,
                                                  ngx_log_t *log, ngx_uint_t level_on_error,
                                                  void (*logger)(void *, int, const char *), void *ud) {
    pirsch_config *cfg = pirsch_config_new();
    if (cfg == NULL) return NULL;
    /* The module's own default, before the operator's settings (which override it). */
    if (pirsch_config_set(cfg, "batch_size", NGX_HTTP_PIRSCH_BATCH_SIZE) != PIRSCH_OK) {
        pirsch_config_free(cfg);
        return NULL;
    }
    ngx_keyval_t *kv = mcf->settings->elts;
    for (ngx_uint_t i = 0; i < mcf->settings->nelts; i++) {
        char *key = ngx_http_pirsch_cstr(pool, &kv[i].key), *val = ngx_http_pirsch_cstr(pool, &kv[i].value);
        if (key == NULL || val == NULL || pirsch_config_set(cfg, key, val) != PIRSCH_OK) {
            ngx_log_error(level_on_error, log, 0, "pirsch: pirsch_%s \"%V\": %s", key ? key : "?", &kv[i].value, pirsch_last_error());
            pirsch_config_free(cfg);
            return NULL;
        }
    }
    if (logger) pirsch_config_set_logger(cfg, logger, ud);
    char *id = "", *secret;
    if (mcf->access_key.len) {
        secret = ngx_http_pirsch_cstr(pool, &mcf->access_key);
    } else {
        id = ngx_http_pirsch_cstr(pool, &mcf->client_id);
        secret = ngx_http_pirsch_cstr(pool, &mcf->client_secret);
    }
    pirsch_client *c = (id && secret) ? pirsch_client_new(id, secret, cfg) : NULL;
    pirsch_config_free(cfg);
    if (c == NULL) {
        ngx_log_error(level_on_error, log, 0, "pirsch: %s", pirsch_last_error());
    }
    if (secret) ngx_explicit_memzero(secret, ngx_strlen(secret));
    return c;
}

/* nginx's master kills a worker that lingers about 1.5 s after TERM. The worker's whole exit
   (flush, then free) must fit: the module waits pirsch_shutdown_timeout_ms (default 700) in
   its own flush, and the library's pirsch_free gets no time of its own beyond the sender's
   grace, counting what is left as dropped_shutdown at once. */
#define NGX_HTTP_PIRSCH_SHUTDOWN_MS 700

static char *ngx_http_pirsch_init_main_conf(ngx_conf_t *cf, void *conf) {
    ngx_http_pirsch_main_conf_t *mcf = conf;
    ngx_keyval_t *kv = mcf->settings->elts, *found = NULL;
    mcf->shutdown_ms = NGX_HTTP_PIRSCH_SHUTDOWN_MS;
    for (ngx_uint_t i = 0; i < mcf->settings->nelts; i++) {
        if (kv[i].key.len == 19 && ngx_strncmp(kv[i].key.data, "shutdown_timeout_ms", 19) == 0) found = &kv[i];
    }
    if (found) {
        ngx_int_t n = ngx_atoi(found->value.data, found->value.len);
        if (n == NGX_ERROR || n > 60000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pirsch_shutdown_timeout_ms: \"%V\" is not a number of milliseconds from 0 to 60000", &found->value);
            return NGX_CONF_ERROR;
        }
        mcf->shutdown_ms = (ngx_msec_t) n;
    } else {
        found = ngx_array_push(mcf->settings);
        if (found == NULL) return NGX_CONF_ERROR;
        ngx_str_set(&found->key, "shutdown_timeout_ms");
    }
    ngx_str_set(&found->value, "0");
    return NGX_CONF_OK;
}

/* ---- runtime ------------------------------------------------------------------------- */

/* Whether the response counts as a page view under the location's pirsch_methods,
   pirsch_status and pirsch_content_types (by default: a GET answered 2xx or 304 with
   text/html: a revisit answered 304 Not Modified still shows the visitor the page).
   Allocates nothing. */
static ngx_uint_t ngx_http_pirsch_matches(ngx_http_request_t *r, ngx_http_pirsch_loc_conf_t *lcf) {
    /* Method: GET unless configured. */
    if (lcf->methods == NULL) {
        if (r->method != NGX_HTTP_GET) return 0;
    } else {
        ngx_str_t *m = lcf->methods->elts;
        ngx_uint_t i;
        for (i = 0; i < lcf->methods->nelts; i++) {
            if (m[i].len == r->method_name.len && ngx_strncmp(m[i].data, r->method_name.data, m[i].len) == 0) break;
        }
        if (i == lcf->methods->nelts) return 0;
    }
    /* Status: 2xx and 304 unless configured. */
    ngx_uint_t status = r->headers_out.status ? r->headers_out.status : (r->err_status ? r->err_status : 0);
    if (lcf->statuses == NULL) {
        if ((status < 200 || status > 299) && status != NGX_HTTP_NOT_MODIFIED) return 0;
    } else {
        ngx_uint_t *s = lcf->statuses->elts, i;
        for (i = 0; i < lcf->statuses->nelts; i += 2) {
            if (status >= s[i] && status <= s[i + 1]) break;
        }
        if (i >= lcf->statuses->nelts) return 0;
    }
    /* Content type: text/html unless configured ("*" for any). */
    ngx_str_t ct = r->headers_out.content_type;
    if (ct.len == 0 && status == NGX_HTTP_NOT_MODIFIED && ct.data != NULL && r->headers_out.content_type_len) {
        /* The not-modified filter empties the type of a 304 (content_type.len = 0) but keeps
           its text and the length of its type part: the page's type. */
        ct.len = r->headers_out.content_type_len;
    }
    size_t len = 0;
    while (len < ct.len && ct.data[len] != ';' && ct.data[len] != ' ') len++;
    if (lcf->content_types == NULL) {
        return len == 9 && ngx_strncasecmp(ct.data, (u_char *) "text/html", 9) == 0;
    }
    ngx_str_t *t = lcf->content_types->elts;
    for (ngx_uint_t i = 0; i < lcf->content_types->nelts; i++) {
        if (t[i].len == 1 && t[i].data[0] == '*') return 1;
        if (t[i].len == len && ngx_strncasecmp(t[i].data, ct.data, len) == 0) return 1;
    }
    return 0;
}

/* The request's URL as the visitor asked for it, scheme://host[:port]/uri?args,
   NUL-terminated, into *url: the host as nginx validated it (lower case, no port), and the
   Host header's port when it is not the scheme's default. Allocates the string from pool.
   NGX_ERROR when the pool is out of memory. */
static ngx_int_t ngx_http_pirsch_build_url(ngx_http_request_t *r, ngx_pool_t *pool, char **url) {
    ngx_str_t   host;
    ngx_uint_t  https;
    size_t      len;
    u_char     *p;

    ngx_str_t   port = ngx_null_string;

    host = r->headers_in.server;
    if (host.len == 0 && r->headers_in.host) host = r->headers_in.host->value;
    https = 0;
#if (NGX_HTTP_SSL)
    https = r->connection->ssl != NULL;
#endif
    if (r->headers_in.host) {
        /* ":port" at the end of the Host header (after a bracketed IPv6 address's "]"). */
        ngx_str_t h = r->headers_in.host->value;
        size_t i = h.len;
        while (i > 0 && h.data[i - 1] >= '0' && h.data[i - 1] <= '9') i--;
        if (i > 0 && i < h.len && h.data[i - 1] == ':') {
            port.data = h.data + i - 1;
            port.len = h.len - i + 1;
            if ((port.len == 3 && !https && ngx_strncmp(port.data, ":80", 3) == 0) ||
                (port.len == 4 && https && ngx_strncmp(port.data, ":443", 4) == 0)) {
                port.len = 0;
            }
        }
    }
    len = (https ? 8 : 7) + host.len + port.len + r->unparsed_uri.len;
    *url = ngx_pnalloc(pool, len + 1);
    if (*url == NULL) return NGX_ERROR;
    p = ngx_cpymem(*url, https ? "https://" : "http://", https ? 8 : 7);
    p = ngx_cpymem(p, host.data, host.len);
    p = ngx_cpymem(p, port.data, port.len);
    p = ngx_cpymem(p, r->unparsed_uri.data, r->unparsed_uri.len);
    *p = '\0';
    return NGX_OK;
}

/* Every request header as pirsch_kv pairs, into *headers and *n; the library picks what it
   needs. Allocates the array from pool; nginx NUL-terminates the names and values it
   parsed, so those point into the request as they are, and only a header that is not
   NUL-terminated is copied (from pool too). NGX_ERROR when the pool is out of memory. */
static ngx_int_t ngx_http_pirsch_collect_headers(ngx_http_request_t *r, ngx_pool_t *pool, pirsch_kv **headers,
                                                 ngx_uint_t *n) {
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    pirsch_kv        *kv;
    ngx_uint_t        i, k, total;

    total = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) total += part->nelts;
    kv = ngx_palloc(pool, (total ? total : 1) * sizeof(pirsch_kv));
    if (kv == NULL) return NGX_ERROR;
    k = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0) continue;
            if (h[i].key.data[h[i].key.len] != '\0' || h[i].value.data[h[i].value.len] != '\0') {
                kv[k].key = ngx_http_pirsch_cstr(pool, &h[i].key);
                kv[k].value = ngx_http_pirsch_cstr(pool, &h[i].value);
                if (kv[k].key == NULL || kv[k].value == NULL) return NGX_ERROR;
            } else {
                kv[k].key = (const char *) h[i].key.data;
                kv[k].value = (const char *) h[i].value.data;
            }
            k++;
        }
    }
    *headers = kv;
    *n = k;
    return NGX_OK;
}

/* The location's pirsch_tag values for this request, into *tags and *n; a tag whose value
   is empty is left out. *tags stays NULL when the location has no pirsch_tag. Allocates the
   array and NUL-terminated copies of every name and value from pool. NGX_ERROR when a value
   cannot be evaluated or the pool is out of memory. */
static ngx_int_t ngx_http_pirsch_eval_tags(ngx_http_request_t *r, ngx_http_pirsch_loc_conf_t *lcf,
                                           ngx_pool_t *pool, pirsch_kv **tags, ngx_uint_t *n) {
    ngx_http_pirsch_tag_t  *t;
    pirsch_kv              *kv;
    ngx_str_t               v;
    ngx_uint_t              i, m;

    *tags = NULL;
    *n = 0;
    if (lcf->tags == NULL || lcf->tags->nelts == 0) return NGX_OK;
    t = lcf->tags->elts;
    kv = ngx_palloc(pool, lcf->tags->nelts * sizeof(pirsch_kv));
    if (kv == NULL) return NGX_ERROR;
    m = 0;
    for (i = 0; i < lcf->tags->nelts; i++) {
        if (ngx_http_complex_value(r, &t[i].value, &v) != NGX_OK) return NGX_ERROR;
        if (v.len == 0) continue; /* an empty variable: leave the tag out */
        kv[m].key = ngx_http_pirsch_cstr(pool, &t[i].name);
        kv[m].value = ngx_http_pirsch_cstr(pool, &v);
        if (kv[m].key == NULL || kv[m].value == NULL) return NGX_ERROR;
        m++;
    }
    *tags = kv;
    *n = m;
    return NGX_OK;
}

/* Queues the page view on this worker's client; never waits on the network. Allocates
   nothing from nginx's pools: the library copies what it keeps. */
static void ngx_http_pirsch_enqueue(ngx_http_request_t *r, const pirsch_hit_options *hit) {
    pirsch_result rc;

    rc = pirsch_hit_enqueue(ngx_http_pirsch_client, hit);
    if (rc != PIRSCH_OK && rc != PIRSCH_ERR_QUEUE_FULL) {
        /* Queue-full drops are logged by the library, at most once a second with counts. */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "pirsch: page view not counted: %s", pirsch_last_error());
    }
}

/* The log phase, after the response has gone out: a main request that counts becomes one
   queued page view. Everything it needs (URL, peer address, headers, tags) is allocated
   from r->pool, freed with the request. Always NGX_OK: a page view that cannot be counted
   never fails the request; allocation failures drop it silently, the library's refusals
   are logged at info. */
static ngx_int_t ngx_http_pirsch_log_handler(ngx_http_request_t *r) {
    ngx_http_pirsch_loc_conf_t  *lcf;
    pirsch_hit_options           hit;
    pirsch_kv                   *headers, *tags;
    ngx_uint_t                   nheaders, ntags;
    char                        *url, *peer;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_pirsch_module);
    if (!lcf->enable || ngx_http_pirsch_client == NULL || r != r->main) return NGX_OK;
    if (!ngx_http_pirsch_matches(r, lcf)) return NGX_OK;

    if (ngx_http_pirsch_build_url(r, r->pool, &url) != NGX_OK) return NGX_OK;
    peer = ngx_http_pirsch_cstr(r->pool, &r->connection->addr_text);
    if (peer == NULL) return NGX_OK;
    if (ngx_http_pirsch_collect_headers(r, r->pool, &headers, &nheaders) != NGX_OK) return NGX_OK;

    ngx_memzero(&hit, sizeof(hit));
    hit.struct_size = sizeof(hit);
    if (pirsch_hit_options_from_headers(&hit, url, peer, headers, nheaders) != PIRSCH_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "pirsch: page view not counted: %s", pirsch_last_error());
        return NGX_OK;
    }
    if (ngx_http_pirsch_eval_tags(r, lcf, r->pool, &tags, &ntags) != NGX_OK) return NGX_OK;
    if (tags != NULL) {
        hit.tags = tags;
        hit.tags_len = ntags;
    }
    ngx_http_pirsch_enqueue(r, &hit);
    return NGX_OK;
}

static ngx_int_t ngx_http_pirsch_init(ngx_conf_t *cf) {
    ngx_http_pirsch_main_conf_t *mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_pirsch_module);
    if (!mcf->used) return NGX_OK;
    if (mcf->access_key.len == 0 && (mcf->client_id.len == 0 || mcf->client_secret.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "pirsch: \"pirsch on\" needs credentials: pirsch_access_key(_file), "
                           "or pirsch_client_id with pirsch_client_secret(_file)");
        return NGX_ERROR;
    }
    if (mcf->access_key.len && mcf->client_id.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pirsch: give either pirsch_access_key or pirsch_client_id/secret, not both");
        return NGX_ERROR;
    }
    /* Check every setting and the credentials with the library itself (no network). */
    pirsch_client *probe = ngx_http_pirsch_make_client(mcf, cf->pool, cf->log, NGX_LOG_EMERG, NULL, NULL);
    if (probe == NULL) return NGX_ERROR;
    pirsch_free(probe);

    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) return NGX_ERROR;
    *h = ngx_http_pirsch_log_handler;
    return NGX_OK;
}

static const ngx_uint_t ngx_http_pirsch_levels[] = {NGX_LOG_ERR, NGX_LOG_ERR, NGX_LOG_WARN, NGX_LOG_NOTICE, NGX_LOG_DEBUG};

/* libpirsch's messages go to the error log. Called from the worker or the library's thread;
   ngx_log_error only formats into a stack buffer and write()s. */
static void ngx_http_pirsch_logger(void *ud, int level, const char *message) {
    ngx_log_t *log = ud;
    ngx_uint_t l = (level >= 1 && level <= 4) ? ngx_http_pirsch_levels[level] : NGX_LOG_WARN;
    ngx_log_error(l, log, 0, "pirsch: %s", message);
}

static ngx_int_t ngx_http_pirsch_init_process(ngx_cycle_t *cycle) {
    ngx_http_pirsch_main_conf_t *mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_pirsch_module);
    if (mcf == NULL || !mcf->used || ngx_process != NGX_PROCESS_WORKER) return NGX_OK;
    ngx_http_pirsch_client = ngx_http_pirsch_make_client(mcf, cycle->pool, cycle->log, NGX_LOG_ALERT,
                                                          ngx_http_pirsch_logger, cycle->log);
    /* A worker without a client still serves requests; it just counts nothing. */
    return NGX_OK;
}

/* On QUIT, TERM or a reload: deliver what is queued within pirsch_shutdown_timeout_ms, then
   log this worker's counters. */
static void ngx_http_pirsch_exit_process(ngx_cycle_t *cycle) {
    if (ngx_http_pirsch_client == NULL) return;
    ngx_http_pirsch_main_conf_t *mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_pirsch_module);
    pirsch_client *c = ngx_http_pirsch_client;
    ngx_http_pirsch_client = NULL;
    pirsch_result rc = pirsch_flush(c, (uint32_t) mcf->shutdown_ms);
    struct pirsch_stats st;
    ngx_memzero(&st, sizeof(st));
    st.struct_size = sizeof(st);
    pirsch_stats(c, &st);
    ngx_uint_t level = (rc == PIRSCH_OK) ? NGX_LOG_NOTICE : NGX_LOG_WARN;
    ngx_log_error(level, cycle->log, 0,
                  "pirsch: worker %P exiting: enqueued=%uL sent=%uL batches=%uL retries=%uL "
                  "dropped_queue_full=%uL dropped_rejected=%uL dropped_expired=%uL spooled=%uL "
                  "unspooled=%uL spool_errors=%uL undelivered=%uL",
                  ngx_pid, st.enqueued, st.sent, st.batches, st.retries, st.dropped_queue_full,
                  st.dropped_rejected, st.dropped_expired, st.spooled, st.unspooled,
                  st.spool_errors, st.queue_depth + st.in_flight);
    /* Anything still queued now goes to the spool (pirsch_spool_dir), or is counted as
     * dropped_shutdown. */
    pirsch_free(c);
}

/*
 * mod_pirsch: counts page views with libpirsch, in the log_transaction hook, after the
 * response has gone out. One libpirsch client per child process (and per distinct set of
 * credentials and settings), made in child_init after the fork, shared by the child's
 * threads under worker and event (the client is thread-safe); page views are queued
 * (pirsch_hit_enqueue never waits on the network) and delivered in batches by the library's
 * background thread. At child exit (graceful restart, stop, MaxConnectionsPerChild, idle
 * children reaped) a cleanup on the child pool delivers what is queued within a bound and
 * logs the child's counters.
 *
 *   LoadModule pirsch_module modules/mod_pirsch.so
 *   PirschAccessKeyFile /etc/apache2/pirsch.key
 *   Pirsch On
 *
 * The visitor's address: r->useragent_ip, which is the connection's peer (c->client_ip)
 * unless mod_remoteip replaced it with the address a trusted proxy reported. With
 * PirschTrustedProxies the library itself believes the one header PirschClientIPHeader names,
 * and only when the peer is one of those proxies: use one of the two mechanisms.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_expr.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pirsch.h>

module AP_MODULE_DECLARE_DATA pirsch_module;
APLOG_USE_MODULE(pirsch);

/* What a child's exit may spend delivering what it queued, unless PirschConfig
   shutdown_timeout_ms says otherwise. On `apache2 -k stop` the parent sends SIGTERM, warns
   at 3 s that a child has not exited and sends SIGKILL at 9 s; 2 s plus the library's half
   second for a request in progress fits before the warning. */
#define PIRSCH_DEFAULT_SHUTDOWN_MS 2000
#define PIRSCH_MAX_SHUTDOWN_MS 60000
#define PIRSCH_MAX_TAGS 20

typedef struct {
    const char *key;
    const char *value;
} pirsch_setting;

/* Per server (main server and each VirtualHost): the client it uses. */
typedef struct {
    const char *access_key;
    const char *client_id;
    const char *client_secret;
    int credentials_set;            /* some credential directive in this section */
    apr_array_header_t *settings;   /* of pirsch_setting, in order (later wins) */
    int shutdown_ms;                /* -1 = unset */
    int on_here;                    /* a `Pirsch On` was read in this section */
    int on_seen;                    /* ... in this section or the main server's */
    unsigned seen;                  /* bit per single-valued directive, for "given twice" */
    const char *signature;          /* credentials and settings: servers with the same share a client */
    pirsch_client *client;          /* this child's, for this server; NULL = not counted */
} pirsch_server_conf;

typedef struct {
    const char *name;
    ap_expr_info_t *expr;
} pirsch_tag;

typedef struct {
    int methods_n;
    const char **methods;
} pirsch_methods;

/* Per directory (and server): what counts, and the tags. NULL / -1 = inherit. */
typedef struct {
    int enable;                     /* -1 unset, 0 off, 1 on */
    apr_array_header_t *tags;       /* of pirsch_tag */
    apr_array_header_t *methods;    /* of const char * */
    apr_array_header_t *statuses;   /* of int pairs (lo, hi) */
    apr_array_header_t *types;      /* of const char *; "*" matches all */
} pirsch_dir_conf;

enum {
    SEEN_ACCESS_KEY = 1u << 0,
    SEEN_CLIENT_ID = 1u << 1,
    SEEN_CLIENT_SECRET = 1u << 2,
    SEEN_BASE_URL = 1u << 3,
    SEEN_TRUSTED = 1u << 4,
    SEEN_IP_HEADER = 1u << 5,
};

/* ---- configuration ------------------------------------------------------------------ */

static void *pirsch_create_server_conf(apr_pool_t *p, server_rec *s) {
    pirsch_server_conf *c = apr_pcalloc(p, sizeof(*c));
    (void) s;
    c->settings = apr_array_make(p, 4, sizeof(pirsch_setting));
    c->shutdown_ms = -1;
    return c;
}

static void *pirsch_merge_server_conf(apr_pool_t *p, void *basev, void *addv) {
    pirsch_server_conf *base = basev, *add = addv;
    pirsch_server_conf *c = apr_pcalloc(p, sizeof(*c));
    if (add->credentials_set) {
        c->access_key = add->access_key;
        c->client_id = add->client_id;
        c->client_secret = add->client_secret;
        c->credentials_set = 1;
    } else {
        c->access_key = base->access_key;
        c->client_id = base->client_id;
        c->client_secret = base->client_secret;
        c->credentials_set = base->credentials_set;
    }
    c->settings = apr_array_append(p, base->settings, add->settings);
    c->shutdown_ms = add->shutdown_ms >= 0 ? add->shutdown_ms : base->shutdown_ms;
    c->on_here = add->on_here;
    c->on_seen = add->on_here || base->on_here;
    return c;
}

static void *pirsch_create_dir_conf(apr_pool_t *p, char *dir) {
    pirsch_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    (void) dir;
    c->enable = -1;
    return c;
}

static void *pirsch_merge_dir_conf(apr_pool_t *p, void *basev, void *addv) {
    pirsch_dir_conf *base = basev, *add = addv;
    pirsch_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enable = add->enable >= 0 ? add->enable : base->enable;
    c->tags = add->tags ? add->tags : base->tags;
    c->methods = add->methods ? add->methods : base->methods;
    c->statuses = add->statuses ? add->statuses : base->statuses;
    c->types = add->types ? add->types : base->types;
    return c;
}

static pirsch_server_conf *pirsch_sconf(server_rec *s) {
    return ap_get_module_config(s->module_config, &pirsch_module);
}

/* Refuses a single-valued directive given twice in the same section. */
static const char *pirsch_once(cmd_parms *cmd, unsigned bit) {
    pirsch_server_conf *sc = pirsch_sconf(cmd->server);
    if (sc->seen & bit) {
        return apr_psprintf(cmd->pool, "%s is duplicate: it was already given in this %s",
                            cmd->cmd->name, cmd->server->is_virtual ? "VirtualHost" : "server config");
    }
    sc->seen |= bit;
    return NULL;
}

/* Checks one libpirsch setting with the library itself, now, so that the error names the
   line: the library's own message. */
static const char *pirsch_check_setting(cmd_parms *cmd, const char *key, const char *value) {
    pirsch_config *cfg = pirsch_config_new();
    if (cfg == NULL) return "pirsch: out of memory";
    pirsch_result rc = pirsch_config_set(cfg, key, value);
    const char *err = NULL;
    if (rc != PIRSCH_OK) {
        err = strcmp(cmd->cmd->name, "PirschConfig") == 0
                  ? apr_psprintf(cmd->pool, "PirschConfig %s \"%s\": %s", key, value, pirsch_last_error())
                  : apr_psprintf(cmd->pool, "%s \"%s\": %s", cmd->cmd->name, value, pirsch_last_error());
    }
    pirsch_config_free(cfg);
    return err;
}

static const char *pirsch_add_setting(cmd_parms *cmd, const char *key, const char *value) {
    pirsch_server_conf *sc = pirsch_sconf(cmd->server);
    const char *err = pirsch_check_setting(cmd, key, value);
    if (err) return err;
    if (strcmp(key, "shutdown_timeout_ms") == 0) {
        /* The module flushes within this bound itself, then frees with 0 (see exit). */
        char *end;
        long n = strtol(value, &end, 10);
        if (*value == '\0' || *end != '\0' || n < 0 || n > PIRSCH_MAX_SHUTDOWN_MS) {
            return apr_psprintf(cmd->pool, "%s shutdown_timeout_ms: \"%s\" is not a number of milliseconds from 0 to %d",
                                cmd->cmd->name, value, PIRSCH_MAX_SHUTDOWN_MS);
        }
        sc->shutdown_ms = (int) n;
        return NULL;
    }
    pirsch_setting *st = apr_array_push(sc->settings);
    st->key = key;
    st->value = value;
    return NULL;
}

static const char *pirsch_cmd_on(cmd_parms *cmd, void *dconf, int flag) {
    pirsch_dir_conf *dc = dconf;
    dc->enable = flag;
    if (flag) pirsch_sconf(cmd->server)->on_here = 1;
    return NULL;
}

/* PirschAccessKey, PirschClientId, PirschClientSecret: cmd->info is the field's offset. */
static const char *pirsch_cmd_credential(cmd_parms *cmd, void *dconf, const char *value) {
    pirsch_server_conf *sc = pirsch_sconf(cmd->server);
    size_t off = (size_t) cmd->info;
    unsigned bit = off == offsetof(pirsch_server_conf, access_key) ? SEEN_ACCESS_KEY
                 : off == offsetof(pirsch_server_conf, client_id) ? SEEN_CLIENT_ID : SEEN_CLIENT_SECRET;
    const char *err = pirsch_once(cmd, bit);
    (void) dconf;
    if (err) return err;
    if (*value == '\0') return apr_psprintf(cmd->pool, "%s needs a value", cmd->cmd->name);
    *(const char **) ((char *) sc + off) = value;
    sc->credentials_set = 1;
    return NULL;
}

/* PirschAccessKeyFile, PirschClientSecretFile: the first line of the file, trimmed, so that
   the secret stays out of the configuration (the file can be readable by root only: it is
   read when the configuration is, before Apache drops its privileges). */
static const char *pirsch_cmd_secret_file(cmd_parms *cmd, void *dconf, const char *arg) {
    size_t off = (size_t) cmd->info;
    unsigned bit = off == offsetof(pirsch_server_conf, access_key) ? SEEN_ACCESS_KEY : SEEN_CLIENT_SECRET;
    const char *err = pirsch_once(cmd, bit);
    (void) dconf;
    if (err) return err;
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (path == NULL) return apr_psprintf(cmd->pool, "%s: invalid path \"%s\"", cmd->cmd->name, arg);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return apr_psprintf(cmd->pool, "%s: cannot open the secret file \"%s\": %s", cmd->cmd->name, path, strerror(errno));
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    size_t len = 0;
    while (len < n && buf[len] != '\n' && buf[len] != '\r') len++;
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t')) len--;
    if (len == 0) {
        return apr_psprintf(cmd->pool, "%s: the secret file \"%s\" is empty", cmd->cmd->name, path);
    }
    pirsch_server_conf *sc = pirsch_sconf(cmd->server);
    *(const char **) ((char *) sc + off) = apr_pstrmemdup(cmd->pool, buf, len);
    sc->credentials_set = 1;
    memset(buf, 0, sizeof(buf));
    return NULL;
}

/* Directives whose value goes to libpirsch unchanged; cmd->info is the config key. */
static const char *pirsch_cmd_setting(cmd_parms *cmd, void *dconf, const char *value) {
    const char *key = cmd->info;
    unsigned bit = strcmp(key, "base_url") == 0 ? SEEN_BASE_URL : SEEN_IP_HEADER;
    const char *err = pirsch_once(cmd, bit);
    (void) dconf;
    if (err) return err;
    return pirsch_add_setting(cmd, key, value);
}

/* PirschTrustedProxies 10.0.0.0/8 192.0.2.1 ...: addresses or CIDRs, space or comma separated. */
static const char *pirsch_cmd_trusted(cmd_parms *cmd, void *dconf, const char *args) {
    const char *err = pirsch_once(cmd, SEEN_TRUSTED);
    (void) dconf;
    if (err) return err;
    const char *list = NULL, *w;
    while (*(w = ap_getword_conf(cmd->pool, &args)) != '\0') {
        /* "10.0.0.0/8, 192.0.2.1" and "10.0.0.0/8 192.0.2.1" alike: split on commas too. */
        char *last = NULL, *words = apr_pstrdup(cmd->pool, w);
        for (char *item = apr_strtok(words, ",", &last); item; item = apr_strtok(NULL, ",", &last)) {
            list = list ? apr_pstrcat(cmd->pool, list, ",", item, NULL) : item;
        }
    }
    if (list == NULL) return "PirschTrustedProxies needs at least one address or CIDR";
    return pirsch_add_setting(cmd, "trusted_proxies", list);
}

/* PirschConfig key value: any libpirsch config key (timeouts, queue, batches, spool, ...). */
static const char *pirsch_cmd_config(cmd_parms *cmd, void *dconf, const char *key, const char *value) {
    (void) dconf;
    return pirsch_add_setting(cmd, key, value);
}

/* PirschTag name value: value is an ap_expr string ("%{REQUEST_URI}", "static", ...); a tag
   whose value is empty for a request is left out. */
static const char *pirsch_cmd_tag(cmd_parms *cmd, void *dconf, const char *name, const char *value) {
    pirsch_dir_conf *dc = dconf;
    size_t len = strlen(name);
    if (len == 0 || len > 50) return "PirschTag needs a tag name of 1 to 50 characters";
    if (dc->tags == NULL) dc->tags = apr_array_make(cmd->pool, 4, sizeof(pirsch_tag));
    pirsch_tag *t = (pirsch_tag *) dc->tags->elts;
    for (int i = 0; i < dc->tags->nelts; i++) {
        if (strcmp(t[i].name, name) == 0) return apr_psprintf(cmd->pool, "PirschTag %s is duplicate in this context", name);
    }
    if (dc->tags->nelts >= PIRSCH_MAX_TAGS) return "PirschTag is used more than 20 times in one context; the API takes at most 20 tags";
    const char *err = NULL;
    ap_expr_info_t *expr = ap_expr_parse_cmd(cmd, value, AP_EXPR_FLAG_STRING_RESULT, &err, NULL);
    if (err) return apr_psprintf(cmd->pool, "PirschTag %s: cannot parse \"%s\": %s", name, value, err);
    pirsch_tag *tag = apr_array_push(dc->tags);
    tag->name = name;
    tag->expr = expr;
    return NULL;
}

static const char *pirsch_cmd_methods(cmd_parms *cmd, void *dconf, const char *args) {
    pirsch_dir_conf *dc = dconf;
    const char *w;
    if (dc->methods) return "PirschMethods is duplicate in this context";
    dc->methods = apr_array_make(cmd->pool, 2, sizeof(const char *));
    while (*(w = ap_getword_conf(cmd->pool, &args)) != '\0') {
        for (const char *p = w; *p; p++) {
            if (*p < 'A' || *p > 'Z') {
                return apr_psprintf(cmd->pool, "PirschMethods: \"%s\" is not an HTTP method (write it in capitals, e.g. GET)", w);
            }
        }
        *(const char **) apr_array_push(dc->methods) = w;
    }
    if (dc->methods->nelts == 0) return "PirschMethods needs at least one method";
    return NULL;
}

/* PirschStatuses 200 2xx 304 ...: single codes or classes. */
static const char *pirsch_cmd_statuses(cmd_parms *cmd, void *dconf, const char *args) {
    pirsch_dir_conf *dc = dconf;
    const char *w;
    if (dc->statuses) return "PirschStatuses is duplicate in this context";
    dc->statuses = apr_array_make(cmd->pool, 4, sizeof(int));
    while (*(w = ap_getword_conf(cmd->pool, &args)) != '\0') {
        int lo, hi;
        if (strlen(w) == 3 && w[0] >= '1' && w[0] <= '5' && (w[1] | 0x20) == 'x' && (w[2] | 0x20) == 'x') {
            lo = (w[0] - '0') * 100;
            hi = lo + 99;
        } else {
            char *end;
            long n = strtol(w, &end, 10);
            if (*end != '\0' || n < 100 || n > 599) {
                return apr_psprintf(cmd->pool, "PirschStatuses: \"%s\" is not a status (100-599) or class (2xx)", w);
            }
            lo = hi = (int) n;
        }
        *(int *) apr_array_push(dc->statuses) = lo;
        *(int *) apr_array_push(dc->statuses) = hi;
    }
    if (dc->statuses->nelts == 0) return "PirschStatuses needs at least one status";
    return NULL;
}

static const char *pirsch_cmd_types(cmd_parms *cmd, void *dconf, const char *args) {
    pirsch_dir_conf *dc = dconf;
    const char *w;
    if (dc->types) return "PirschContentTypes is duplicate in this context";
    dc->types = apr_array_make(cmd->pool, 2, sizeof(const char *));
    while (*(w = ap_getword_conf(cmd->pool, &args)) != '\0') {
        *(const char **) apr_array_push(dc->types) = w;
    }
    if (dc->types->nelts == 0) return "PirschContentTypes needs at least one type (or *)";
    return NULL;
}

#define OFF(field) ((void *) offsetof(pirsch_server_conf, field))

static const command_rec pirsch_cmds[] = {
    AP_INIT_FLAG("Pirsch", pirsch_cmd_on, NULL, RSRC_CONF | ACCESS_CONF,
                 "On to count the page views served here (Off by default)"),
    AP_INIT_TAKE1("PirschAccessKey", pirsch_cmd_credential, OFF(access_key), RSRC_CONF,
                  "the site's access key (pa_...)"),
    AP_INIT_TAKE1("PirschAccessKeyFile", pirsch_cmd_secret_file, OFF(access_key), RSRC_CONF,
                  "a file whose first line is the access key"),
    AP_INIT_TAKE1("PirschClientId", pirsch_cmd_credential, OFF(client_id), RSRC_CONF,
                  "an OAuth client id (with PirschClientSecret)"),
    AP_INIT_TAKE1("PirschClientSecret", pirsch_cmd_credential, OFF(client_secret), RSRC_CONF,
                  "the OAuth client's secret"),
    AP_INIT_TAKE1("PirschClientSecretFile", pirsch_cmd_secret_file, OFF(client_secret), RSRC_CONF,
                  "a file whose first line is the OAuth client's secret"),
    AP_INIT_TAKE1("PirschBaseURL", pirsch_cmd_setting, "base_url", RSRC_CONF,
                  "the API's base URL (https://api.pirsch.io)"),
    AP_INIT_RAW_ARGS("PirschTrustedProxies", pirsch_cmd_trusted, NULL, RSRC_CONF,
                     "addresses or CIDRs of the proxies whose PirschClientIPHeader is believed"),
    AP_INIT_TAKE1("PirschClientIPHeader", pirsch_cmd_setting, "client_ip_header", RSRC_CONF,
                  "the one header the trusted proxies write: X-Forwarded-For (default), Forwarded, X-Real-IP or CF-Connecting-IP"),
    AP_INIT_TAKE2("PirschConfig", pirsch_cmd_config, NULL, RSRC_CONF,
                  "a libpirsch setting and its value, e.g. PirschConfig flush_interval_ms 1000"),
    AP_INIT_TAKE2("PirschTag", pirsch_cmd_tag, NULL, RSRC_CONF | ACCESS_CONF,
                  "a tag name and its value (an ap_expr string, e.g. %{REQUEST_URI})"),
    AP_INIT_RAW_ARGS("PirschMethods", pirsch_cmd_methods, NULL, RSRC_CONF | ACCESS_CONF,
                     "the request methods that count (default GET)"),
    AP_INIT_RAW_ARGS("PirschStatuses", pirsch_cmd_statuses, NULL, RSRC_CONF | ACCESS_CONF,
                     "the statuses that count: codes or classes (default 2xx 304)"),
    AP_INIT_RAW_ARGS("PirschContentTypes", pirsch_cmd_types, NULL, RSRC_CONF | ACCESS_CONF,
                     "the response content types that count, or * (default text/html)"),
    {NULL, {NULL}, NULL, 0, RAW_ARGS, NULL}
};

/* The credentials and settings of a (merged) server, as one string: servers with the same
   one share a client. Secrets are in it; it never leaves the process. */
static const char *pirsch_signature(apr_pool_t *p, pirsch_server_conf *sc) {
    const char *sig = apr_pstrcat(p, sc->access_key ? sc->access_key : "", "\n", sc->client_id ? sc->client_id : "", "\n",
                                  sc->client_secret ? sc->client_secret : "", "\n", NULL);
    pirsch_setting *st = (pirsch_setting *) sc->settings->elts;
    for (int i = 0; i < sc->settings->nelts; i++) sig = apr_pstrcat(p, sig, st[i].key, "=", st[i].value, "\n", NULL);
    return apr_psprintf(p, "%s%d", sig, sc->shutdown_ms);
}

static void pirsch_logger(void *ud, int level, const char *message);

/* Builds the client a server's configuration describes: at configuration time to check it
   (no network, no threads), and in each child to run. NULL with *err set on failure. */
static pirsch_client *pirsch_make_client(apr_pool_t *p, pirsch_server_conf *sc, server_rec *log_to, const char **err) {
    pirsch_config *cfg = pirsch_config_new();
    if (cfg == NULL) {
        *err = "out of memory";
        return NULL;
    }
    /* The module's own default batch, before the server's settings (which override it): a
       batch request costs the child about the same CPU whatever its size, so a busy server's
       page view is cheaper in larger ones (see the nginx module). The library's default is
       100; pirsch_flush_interval_ms still bounds the wait on a quiet server. */
    pirsch_config_set(cfg, "batch_size", "500");
    pirsch_setting *st = (pirsch_setting *) sc->settings->elts;
    for (int i = 0; i < sc->settings->nelts; i++) {
        if (pirsch_config_set(cfg, st[i].key, st[i].value) != PIRSCH_OK) {
            *err = apr_pstrdup(p, pirsch_last_error()); /* names the key and the value */
            pirsch_config_free(cfg);
            return NULL;
        }
    }
    /* The module's own flush spent the bound (see pirsch_child_exit). */
    pirsch_config_set(cfg, "shutdown_timeout_ms", "0");
    if (log_to) pirsch_config_set_logger(cfg, pirsch_logger, log_to);
    pirsch_client *c = sc->access_key ? pirsch_client_new("", sc->access_key, cfg)
                                      : pirsch_client_new(sc->client_id, sc->client_secret, cfg);
    pirsch_config_free(cfg);
    if (c == NULL) *err = apr_pstrdup(p, pirsch_last_error());
    return c;
}

/* The spool folder is made and written by the children, which run as User/Group, not as the
   root that reads the configuration (and for which the library's own check passes): say so at
   configtest when the folder's permissions keep that user out. By owner, group and mode only
   (an ACL or a supplementary group may still let it in: a warning, not a refusal). */
static void pirsch_check_spool_owner(server_rec *s, pirsch_server_conf *sc, const char *where) {
    if (geteuid() != 0 || ap_unixd_config.user_id == 0) return;
    pirsch_setting *st = (pirsch_setting *) sc->settings->elts;
    for (int i = 0; i < sc->settings->nelts; i++) {
        if (strcmp(st[i].key, "spool_dir") != 0) continue;
        struct stat sb;
        if (stat(st[i].value, &sb) != 0) continue; /* the library said what it thinks of that */
        int ok = (sb.st_uid == ap_unixd_config.user_id && (sb.st_mode & S_IWUSR) && (sb.st_mode & S_IXUSR)) ||
                 (sb.st_gid == ap_unixd_config.group_id && (sb.st_mode & S_IWGRP) && (sb.st_mode & S_IXGRP)) ||
                 ((sb.st_mode & S_IWOTH) && (sb.st_mode & S_IXOTH));
        if (!ok) {
            ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, s,
                         "pirsch: %s: PirschConfig spool_dir %s: the children run as uid %ld, gid %ld, which this folder's "
                         "owner and mode do not let write there: they would count nothing (chown it to the User "
                         "Apache runs as, e.g. www-data)", where, st[i].value, (long) ap_unixd_config.user_id,
                         (long) ap_unixd_config.group_id);
        }
    }
}

/* Runs at every start and restart, and with `apachectl configtest`, after the virtual
   hosts' configurations are merged: credentials present, and the whole configuration of
   each server accepted by the library (plain http to a remote host, credentials that cannot
   work). */
static int pirsch_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s_main) {
    (void) pconf;
    (void) plog;
    apr_hash_t *checked = apr_hash_make(ptemp);
    for (server_rec *s = s_main; s; s = s->next) {
        pirsch_server_conf *sc = pirsch_sconf(s);
        if (s == s_main) sc->on_seen = sc->on_here;
        if (!sc->on_seen) continue;
        const char *where = s->is_virtual ? apr_psprintf(ptemp, "VirtualHost %s:%u (%s)", s->server_hostname ? s->server_hostname : "",
                                                          (unsigned) s->port, s->defn_name ? s->defn_name : "")
                                          : "the main server";
        int have_id = sc->client_id != NULL, have_secret = sc->client_secret != NULL;
        if (!sc->access_key && !(have_id && have_secret)) {
            if (sc->on_here || !s->is_virtual) {
                ap_log_error(APLOG_MARK, APLOG_EMERG | APLOG_STARTUP, 0, s,
                             "pirsch: \"Pirsch On\" in %s needs credentials: PirschAccessKey(File), or PirschClientId "
                             "with PirschClientSecret(File)", where);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "pirsch: %s has no credentials of its own or inherited: its page views are not counted", where);
            continue;
        }
        if (sc->access_key && (have_id || have_secret)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG | APLOG_STARTUP, 0, s,
                         "pirsch: %s: give either PirschAccessKey or PirschClientId/PirschClientSecret, not both", where);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        sc->signature = pirsch_signature(pconf, sc);
        if (apr_hash_get(checked, sc->signature, APR_HASH_KEY_STRING)) continue;
        apr_hash_set(checked, sc->signature, APR_HASH_KEY_STRING, sc);
        const char *err = NULL;
        pirsch_client *probe = pirsch_make_client(ptemp, sc, NULL, &err);
        if (probe == NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG | APLOG_STARTUP, 0, s, "pirsch: %s: %s", where, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        pirsch_free(probe);
        pirsch_check_spool_owner(s, sc, where);
        int budget = sc->shutdown_ms >= 0 ? sc->shutdown_ms : PIRSCH_DEFAULT_SHUTDOWN_MS;
        if (ap_graceful_shutdown_timeout > 0 && budget > ap_graceful_shutdown_timeout * 1000) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "pirsch: %s: the shutdown bound (%d ms) is longer than GracefulShutdownTimeout (%d s): "
                         "a graceful stop may end a child before it has delivered; lower it with "
                         "PirschConfig shutdown_timeout_ms", where, budget, ap_graceful_shutdown_timeout);
        }
    }
    return OK;
}

/* ---- child processes ------------------------------------------------------------------ */

typedef struct {
    pirsch_client *client;
    server_rec *s;
    int shutdown_ms;
} pirsch_child_client;

static apr_array_header_t *pirsch_children_clients; /* of pirsch_child_client, this child's */

/* libpirsch's messages go to the error log. Called from a request thread or the library's
   sender thread; ap_log_error formats into a stack buffer and writes. */
static void pirsch_logger(void *ud, int level, const char *message) {
    server_rec *s = ud;
    int l = level == PIRSCH_LOG_ERROR ? APLOG_ERR : level == PIRSCH_LOG_WARN ? APLOG_WARNING
          : level == PIRSCH_LOG_INFO ? APLOG_INFO : APLOG_DEBUG;
    ap_log_error(APLOG_MARK, l, 0, s, "pirsch: %s", message);
}

/* At the child's exit (the child pool is destroyed): deliver what is queued within the
   bound, log the counters, free. What is left goes to the spool (PirschConfig spool_dir) or
   is counted as dropped_shutdown. */
static apr_status_t pirsch_child_exit(void *data) {
    (void) data;
    if (pirsch_children_clients == NULL) return APR_SUCCESS;
    pirsch_child_client *cc = (pirsch_child_client *) pirsch_children_clients->elts;
    for (int i = 0; i < pirsch_children_clients->nelts; i++) {
        pirsch_result rc = pirsch_flush(cc[i].client, (uint32_t) cc[i].shutdown_ms);
        pirsch_queue_stats st;
        memset(&st, 0, sizeof(st));
        st.struct_size = sizeof(st);
        pirsch_client_stats(cc[i].client, &st);
        /* A child that counted nothing (an idle one the parent reaps) says so only at debug. */
        int level = rc != PIRSCH_OK ? APLOG_WARNING : st.enqueued || st.unspooled ? APLOG_NOTICE : APLOG_DEBUG;
        ap_log_error(APLOG_MARK, level, 0, cc[i].s,
                     "pirsch: child %" APR_PID_T_FMT " exiting: enqueued=%" APR_UINT64_T_FMT " sent=%" APR_UINT64_T_FMT
                     " batches=%" APR_UINT64_T_FMT " retries=%" APR_UINT64_T_FMT " dropped_queue_full=%" APR_UINT64_T_FMT
                     " dropped_rejected=%" APR_UINT64_T_FMT " dropped_expired=%" APR_UINT64_T_FMT " spooled=%" APR_UINT64_T_FMT
                     " unspooled=%" APR_UINT64_T_FMT " spool_errors=%" APR_UINT64_T_FMT " undelivered=%" APR_UINT64_T_FMT,
                     getpid(), st.enqueued, st.sent, st.batches, st.retries, st.dropped_queue_full, st.dropped_rejected,
                     st.dropped_expired, st.spooled, st.unspooled, st.spool_errors, st.queue_depth + st.in_flight);
        pirsch_free(cc[i].client);
        cc[i].client = NULL;
    }
    pirsch_children_clients = NULL;
    return APR_SUCCESS;
}

/* After the fork, before the child's threads start: one client per distinct server
   configuration, used by all the child's threads. */
static void pirsch_child_init(apr_pool_t *pchild, server_rec *s_main) {
    apr_hash_t *made = apr_hash_make(pchild);
    for (server_rec *s = s_main; s; s = s->next) {
        pirsch_server_conf *sc = pirsch_sconf(s);
        sc->client = NULL;
        if (sc->signature == NULL) continue;
        pirsch_child_client *have = apr_hash_get(made, sc->signature, APR_HASH_KEY_STRING);
        if (have) {
            sc->client = have->client;
            continue;
        }
        const char *err = NULL;
        pirsch_client *c = pirsch_make_client(pchild, sc, s, &err);
        if (c == NULL) {
            /* The child still serves requests; it just counts nothing for this server. */
            ap_log_error(APLOG_MARK, APLOG_ALERT, 0, s, "pirsch: cannot make the client: %s", err);
            continue;
        }
        if (pirsch_children_clients == NULL) {
            pirsch_children_clients = apr_array_make(pchild, 2, sizeof(pirsch_child_client));
            apr_pool_cleanup_register(pchild, NULL, pirsch_child_exit, apr_pool_cleanup_null);
        }
        pirsch_child_client *cc = apr_array_push(pirsch_children_clients);
        cc->client = c;
        cc->s = s;
        cc->shutdown_ms = sc->shutdown_ms >= 0 ? sc->shutdown_ms : PIRSCH_DEFAULT_SHUTDOWN_MS;
        apr_hash_set(made, sc->signature, APR_HASH_KEY_STRING, cc);
        sc->client = c;
    }
}

/* ---- requests ----------------------------------------------------------------------- */

/* Whether the final response counts as a page view under PirschMethods, PirschStatuses and
   PirschContentTypes (by default: a GET answered 2xx or 304, with text/html). */
static int pirsch_matches(request_rec *r, request_rec *last, pirsch_dir_conf *dc) {
    if (dc->methods == NULL) {
        /* Not r->header_only: Apache sets it for HEAD (method_number M_GET) and for 304s. */
        if (strcmp(r->method, "GET") != 0) return 0;
    } else {
        const char **m = (const char **) dc->methods->elts;
        int i;
        for (i = 0; i < dc->methods->nelts; i++) {
            if (strcmp(m[i], r->method) == 0) break;
        }
        if (i == dc->methods->nelts) return 0;
    }
    int status = last->status;
    if (dc->statuses == NULL) {
        if (!((status >= 200 && status <= 299) || status == HTTP_NOT_MODIFIED)) return 0;
    } else {
        int *s = (int *) dc->statuses->elts, i;
        for (i = 0; i < dc->statuses->nelts; i += 2) {
            if (status >= s[i] && status <= s[i + 1]) break;
        }
        if (i >= dc->statuses->nelts) return 0;
    }
    const char *ct = last->content_type;
    if (ct == NULL && status == HTTP_NOT_MODIFIED) {
        /* Apache drops the type of a 304 as it sends the headers: the one known before the
           handler ran (mod_mime's, by the file's extension) stands in. */
        ct = ap_get_module_config(last->request_config, &pirsch_module);
    }
    if (ct == NULL) ct = "";
    size_t len = 0;
    while (ct[len] && ct[len] != ';' && ct[len] != ' ') len++;
    if (dc->types == NULL) return len == 9 && strncasecmp(ct, "text/html", 9) == 0;
    const char **t = (const char **) dc->types->elts;
    for (int i = 0; i < dc->types->nelts; i++) {
        if (strcmp(t[i], "*") == 0) return 1;
        if (strlen(t[i]) == len && strncasecmp(t[i], ct, len) == 0) return 1;
    }
    return 0;
}

/* The URL the visitor asked for: scheme://host[:port]/path?query. The host and port are
   those of the Host header (UseCanonicalName Off, Apache's default; the server's own name
   and port with UseCanonicalName On), the port only when it is not the scheme's default;
   the path and query as the visitor sent them (r->unparsed_uri, unless the request line
   held an absolute URL: then its path and query). */
static const char *pirsch_url(request_rec *r) {
    const char *uri = r->unparsed_uri;
    if (uri == NULL || uri[0] != '/') {
        uri = apr_pstrcat(r->pool, r->parsed_uri.path ? r->parsed_uri.path : "/", r->parsed_uri.query ? "?" : "",
                          r->parsed_uri.query ? r->parsed_uri.query : "", NULL);
    }
    return ap_construct_url(r->pool, uri, r);
}

/* The log_transaction hook, after the response has gone out: a request that counts becomes
   one queued page view. Everything it needs is allocated from r->pool. Always DECLINED: a
   page view that cannot be counted never fails anything; refusals are logged at info. */
static int pirsch_log_transaction(request_rec *r) {
    request_rec *last = r;
    while (last->next) last = last->next;     /* after internal redirects: the final response */
    pirsch_dir_conf *dc = ap_get_module_config(last->per_dir_config, &pirsch_module);
    if (dc == NULL || dc->enable != 1) return DECLINED;
    pirsch_server_conf *sc = pirsch_sconf(r->server);
    if (sc->client == NULL) return DECLINED;
    if (!pirsch_matches(r, last, dc)) return DECLINED;

    const char *url = pirsch_url(r);
    const char *peer = r->useragent_ip ? r->useragent_ip : r->connection->client_ip;
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *) arr->elts;
    pirsch_kv *headers = apr_palloc(r->pool, (size_t) (arr->nelts ? arr->nelts : 1) * sizeof(pirsch_kv));
    size_t n = 0;
    for (int i = 0; i < arr->nelts; i++) {
        if (e[i].key == NULL || e[i].val == NULL) continue;
        headers[n].key = e[i].key;
        headers[n].value = e[i].val;
        n++;
    }
    pirsch_hit_options hit;
    memset(&hit, 0, sizeof(hit));
    hit.struct_size = sizeof(hit);
    if (pirsch_hit_options_from_headers(&hit, url, peer, headers, n) != PIRSCH_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "pirsch: page view not counted: %s", pirsch_last_error());
        return DECLINED;
    }
    if (dc->tags && dc->tags->nelts > 0) {
        pirsch_tag *t = (pirsch_tag *) dc->tags->elts;
        pirsch_kv *tags = apr_palloc(r->pool, (size_t) dc->tags->nelts * sizeof(pirsch_kv));
        size_t m = 0;
        for (int i = 0; i < dc->tags->nelts; i++) {
            const char *err = NULL;
            const char *v = ap_expr_str_exec(last, t[i].expr, &err);
            if (err) {
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "pirsch: PirschTag %s: %s", t[i].name, err);
                continue;
            }
            if (v == NULL || *v == '\0') continue; /* empty: leave the tag out */
            tags[m].key = t[i].name;
            tags[m].value = v;
            m++;
        }
        hit.tags = tags;
        hit.tags_len = m;
    }
    pirsch_result rc = pirsch_hit_enqueue(sc->client, &hit);
    if (rc != PIRSCH_OK && rc != PIRSCH_ERR_QUEUE_FULL) {
        /* Queue-full drops are logged by the library, at most once a second with counts. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "pirsch: page view not counted: %s", pirsch_last_error());
    }
    return DECLINED;
}

/* Before the handler: the content type Apache chose for the file, which a 304 loses. */
static int pirsch_fixups(request_rec *r) {
    if (r->content_type) ap_set_module_config(r->request_config, &pirsch_module, (void *) r->content_type);
    return DECLINED;
}

static void pirsch_register_hooks(apr_pool_t *p) {
    (void) p;
    ap_hook_check_config(pirsch_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pirsch_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(pirsch_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_log_transaction(pirsch_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA pirsch_module = {
    STANDARD20_MODULE_STUFF,
    pirsch_create_dir_conf,
    pirsch_merge_dir_conf,
    pirsch_create_server_conf,
    pirsch_merge_server_conf,
    pirsch_cmds,
    pirsch_register_hooks,
    0                                  /* flags */
};

// The configuration keys: the one table from which `Config::default`, `Config::set`'s ranges
// and error messages, the README's table (checked by `config::tests`) and the key list in
// pirsch.h's comment of `pirsch_config_set` (written by build.rs) all come.
//
// Plain data only: build.rs includes this file with `include!`.

/// One configuration key.
pub(crate) struct Key {
    pub name: &'static str,
    /// The default, as a value `set` accepts ("" for unset).
    pub default: &'static str,
    /// How the README and the header show the default (read by build.rs and the tests).
    #[allow(dead_code)]
    pub shown_default: &'static str,
    /// For whole numbers, the accepted range (inclusive).
    pub range: Option<(u64, u64)>,
    /// What it means (Markdown: `code` in backquotes; read by build.rs and the tests).
    #[allow(dead_code)]
    pub help: &'static str,
}

const DAY_MS: u64 = 86_400_000;

pub(crate) const KEYS: &[Key] = &[
    Key {
        name: "base_url",
        default: "https://api.pirsch.io",
        shown_default: "`https://api.pirsch.io`",
        range: None,
        help: "`http://` only for loopback hosts unless `allow_insecure_http=true`",
    },
    Key {
        name: "timeout_ms",
        default: "5000",
        shown_default: "5000",
        range: Some((1, 600_000)),
        help: "one HTTP request, connect included",
    },
    Key {
        name: "max_retries",
        default: "2",
        shown_default: "2",
        range: Some((0, 10)),
        help: "blocking calls: extra tries on network errors, 408, 429, 5xx (short backoff)",
    },
    Key {
        name: "queue_capacity",
        default: "10000",
        shown_default: "10000",
        range: Some((1, 10_000_000)),
        help: "items the background queue holds",
    },
    Key {
        name: "queue_max_bytes",
        default: "16777216",
        shown_default: "16777216",
        range: Some((65_536, 1 << 32)),
        help: "bytes of queued JSON (16 MiB, from 64 KiB); beyond it an item is refused like on a full queue (`dropped_queue_full`): visitors choose header sizes, so a count alone does not bound memory",
    },
    Key {
        name: "batch_size",
        default: "100",
        shown_default: "100",
        range: Some((1, 1000)),
        help: "items per batch request",
    },
    Key {
        name: "flush_interval_ms",
        default: "1000",
        shown_default: "1000",
        range: Some((1, DAY_MS)),
        help: "a partial batch waits at most this long",
    },
    Key {
        name: "shutdown_timeout_ms",
        default: "2000",
        shown_default: "2000",
        range: Some((0, DAY_MS)),
        help: "what `pirsch_free` may spend delivering queued items",
    },
    Key {
        name: "max_item_age_ms",
        default: "3600000",
        shown_default: "3600000",
        range: Some((1, 30 * DAY_MS)),
        help: "queued items older than this are dropped",
    },
    Key {
        name: "trusted_proxies",
        default: "",
        shown_default: "(none)",
        range: None,
        help: "comma-separated CIDRs whose proxy header is believed",
    },
    Key {
        name: "client_ip_header",
        default: "x-forwarded-for",
        shown_default: "x-forwarded-for",
        range: None,
        help: "the one header the trusted proxies write: `x-forwarded-for`, `forwarded`, `x-real-ip` or `cf-connecting-ip`; the others are never read for the address",
    },
    Key {
        name: "forward_proxy_headers",
        default: "false",
        shown_default: "false",
        range: None,
        help: "also send the legacy proxy fields to the API",
    },
    Key {
        name: "allow_insecure_http",
        default: "false",
        shown_default: "false",
        range: None,
        help: "allow `http://` to a host that is not loopback",
    },
    Key {
        name: "tls_roots",
        default: "bundled",
        shown_default: "bundled",
        range: None,
        help: "which roots the API's certificate is checked against: `bundled` (Mozilla's, built in: the same on every machine), `system` (`SSL_CERT_FILE`, or the distribution's bundle such as `/etc/ssl/certs/ca-certificates.crt`) or `both`. Certificates are always verified: there is no setting to turn that off",
    },
    Key {
        name: "ca_file",
        default: "",
        shown_default: "(none)",
        range: None,
        help: "a PEM file of extra trusted CA certificates (a private endpoint, corporate TLS inspection), added to `tls_roots`; checked when set",
    },
    Key {
        name: "proxy",
        default: "",
        shown_default: "(environment)",
        range: None,
        help: "`none`, or `http://[user:password@]host:port` (or `https://`). Unset: the environment by curl's rules: `https_proxy`/`HTTPS_PROXY` for an https API, only lowercase `http_proxy` for a plain-http one (uppercase `HTTP_PROXY` is what CGI fills from a visitor's `Proxy:` header, \"httpoxy\"), then `all_proxy`/`ALL_PROXY`; `no_proxy`/`NO_PROXY` (names and their subdomains, addresses, CIDR ranges, `*`) exempts hosts. Read once, when the client is made",
    },
    Key {
        name: "spool_dir",
        default: "",
        shown_default: "(off)",
        range: None,
        help: "a directory this process can write: what cannot be delivered before `pirsch_free`'s bound, or finds the queue full, is written there instead of dropped, and delivered by the next client with the same `base_url` and credentials, in this process or another (see Durability)",
    },
    Key {
        name: "spool_sync",
        default: "interval",
        shown_default: "interval",
        range: None,
        help: "when queued items are written to the spool: `shutdown` (only at `pirsch_free` and when the queue is full), `interval` (also every `flush_interval_ms`: a crash loses at most one interval) or `always` (before enqueue returns: a crash of the process loses nothing queued)",
    },
    Key {
        name: "spool_max_bytes",
        default: "67108864",
        shown_default: "67108864",
        range: Some((65_536, 1 << 40)),
        help: "the most the spool files of this API target and credentials may take (64 MiB, about 170,000 typical page views); beyond it items are dropped as without a spool",
    },
    Key {
        name: "deliver_at_exit",
        default: "false",
        shown_default: "false",
        range: None,
        help: "for `pirsch_client_shared`: keep the client until the process exits, and then deliver what it holds (or spool it) within `shutdown_timeout_ms`",
    },
    Key {
        name: "log_level",
        default: "warn",
        shown_default: "warn",
        range: None,
        help: "`error`, `warn`, `info`, `debug`",
    },
];

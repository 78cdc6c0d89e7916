<?php

declare(strict_types=1);

namespace Pirsch\Native;

use Pirsch\Native\Exception\PirschException;
use Pirsch\Native\Internal\CallData;
use Pirsch\Native\Internal\Settings;

/**
 * A libpirsch client: sends page views, events and session keep-alives to the Pirsch API.
 *
 *     $client = new Client(accessKey: 'pa_...', config: ['timeout_ms' => 3000]);
 *     $client->enqueueHit(['url' => 'https://example.com/', 'ip' => $_SERVER['REMOTE_ADDR'],
 *                          'headers' => getallheaders()]);
 *
 * A hit ("page view") is an array of the fields of pirsch_hit_options, by their C names: url
 * and ip (required), user_agent, accept_language, sec_ch_ua, sec_ch_ua_mobile,
 * sec_ch_ua_platform, sec_ch_ua_platform_version, sec_ch_width, sec_ch_viewport_width, title,
 * referrer, cf_connecting_ip, x_forwarded_for, forwarded, x_real_ip (strings), screen_width,
 * screen_height (ints), disable_bot_filter (bool), tags (['key' => 'value']), time (when it
 * happened, for importing logs: a DateTimeInterface, Unix epoch milliseconds as an int, or an
 * RFC 3339 string; refused more than 60 s ahead or older than max_item_age_ms); null or "" is
 * not sent. 'headers' => [name => value] fills them from a request's raw headers first
 * (pirsch_hit_options_from_headers: proxy headers believed only from trusted_proxies, Cookie
 * and every other header ignored); the fields given beside it win.
 *
 * hit(), event(), session() and request() block until the API answered (timeout_ms per try,
 * 1 + max_retries tries). The enqueue* methods validate, copy and return within microseconds;
 * a background thread of the library delivers in batches. Failures throw a subclass of
 * Pirsch\Native\Exception\PirschException with the library's message. The destructor (or close())
 * delivers what is still queued, for up to shutdown_timeout_ms.
 *
 * Statistics (an OAuth client): the methods of the official PHP SDK (visitors(), totalVisitors(),
 * pages(), ..., domain(), listFunnel(), funnel()) with a Filter, returning read-only objects of
 * Pirsch\Native\Statistics; statistics() gives the decoded JSON of any of them.
 */
final class Client
{
    /** Configuration keys Client::fromEnv() reads from the settings (PIRSCH_<KEY>, pirsch.<key> in php.ini, ...). */
    public const ENV_CONFIG = [
        'base_url', 'timeout_ms', 'max_retries', 'queue_capacity', 'batch_size', 'flush_interval_ms',
        'shutdown_timeout_ms', 'max_item_age_ms', 'trusted_proxies', 'client_ip_header', 'forward_proxy_headers',
        'allow_insecure_http', 'log_level', 'queue_max_bytes', 'proxy', 'tls_roots', 'ca_file',
        'spool_dir', 'spool_sync', 'spool_max_bytes', 'deliver_at_exit',
    ];

    /** @var array<string, string>|null field name => 'string'|'int'|'uint'|'bool'|'kv' */
    private static ?array $hitFields = null;

    private \FFI $ffi;
    private ?\FFI\CData $ptr = null;
    private bool $owned = true;

    /**
     * @param string|null $accessKey An access key (pa_...): write-only, needs no token.
     * @param string|null $clientId An OAuth client id, with $clientSecret (can also read statistics).
     * @param string|null $clientSecret The OAuth client's secret (or an access key without $clientId).
     * @param array<string, string|int|bool|list<string>|null> $config Configuration keys as in
     *        the README: base_url, timeout_ms, trusted_proxies (a string or a list), ...
     *        Booleans become "true"/"false", lists are joined with ", ", null is skipped.
     * @param string|null $shared A name: the process's client of that name (pirsch_client_shared),
     *        made by the first call in the process and the same C client for every later one, in
     *        this and later requests of a server worker and in processes forked from it; later
     *        calls must give the same credentials, and their $config is ignored. It is kept until
     *        the process exits (deliver_at_exit defaults to true) and then delivers what is
     *        queued; close() only gives back this object's reference. Null: a client of its own,
     *        freed (after delivery) by close() or the destructor.
     */
    public function __construct(
        ?string $accessKey = null,
        ?string $clientId = null,
        ?string $clientSecret = null,
        array $config = [],
        ?string $shared = null,
    ) {
        $this->ffi = Library::ffi();
        if ($accessKey !== null && $accessKey !== '' && (($clientSecret ?? '') !== '' || ($clientId ?? '') !== '')) {
            throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', 'give either accessKey, or clientId and clientSecret, not both');
        }
        $id = $clientId ?? '';
        $secret = $accessKey !== null && $accessKey !== '' ? $accessKey : ($clientSecret ?? '');
        if (str_contains($id . $secret, "\0")) {
            throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', 'the credentials contain a NUL byte');
        }
        if ($shared !== null) {
            if ($shared === '' || strlen($shared) > 64 || str_contains($shared, "\0")) {
                throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', 'shared must be a name of 1 to 64 bytes without NUL, e.g. "default"');
            }
            $config += ['deliver_at_exit' => true];
        }
        $ffi = $this->ffi;
        $cfg = $ffi->pirsch_config_new();
        if ($cfg === null) {
            throw new PirschException('pirsch_config_new failed: out of memory');
        }
        try {
            foreach ($config as $key => $value) {
                if ($value === null) {
                    continue;
                }
                $text = self::configValue((string) $key, $value);
                if (str_contains($key . $text, "\0")) {
                    throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "config $key contains a NUL byte");
                }
                $rc = $ffi->pirsch_config_set($cfg, (string) $key, $text);
                if ($rc !== 0) {
                    throw Library::exception($rc, $ffi->pirsch_last_error());
                }
            }
            $ptr = $shared === null
                ? $ffi->pirsch_client_new($id, $secret, $cfg)
                : $ffi->pirsch_client_shared($shared, $id, $secret, $cfg);
            if ($ptr === null) {
                // The code says why: the credentials (AUTH) or the config (INVALID_ARGUMENT).
                $code = $ffi->pirsch_last_error_code();
                throw Library::exception($code, $ffi->pirsch_last_error());
            }
            $this->ptr = $ptr;
        } finally {
            $ffi->pirsch_config_free($cfg);
        }
    }

    /**
     * A client from the settings, each read from the environment, a file or php.ini (see
     * Internal\Settings: PIRSCH_<NAME>, PIRSCH_<NAME>_FILE, pirsch.<name>, pirsch.<name>_file):
     * access_key, or client_id and client_secret (client_secret alone may be an access key),
     * and each key of ENV_CONFIG (base_url, trusted_proxies, ...). $config overrides them.
     * Throws AuthException when no credentials are set anywhere (the message names every place),
     * InvalidArgumentException when a named file cannot be read.
     */
    public static function fromEnv(array $config = [], ?string $shared = null): self
    {
        $get = static function (string $name): ?string {
            try {
                return Settings::get($name);
            } catch (\RuntimeException $e) {
                throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', $e->getMessage());
            }
        };
        $fromSettings = [];
        foreach (self::ENV_CONFIG as $key) {
            if (!array_key_exists($key, $config)) {
                $value = $get($key);
                if ($value !== null) {
                    $fromSettings[$key] = $value;
                }
            }
        }
        $accessKey = $get('access_key');
        $secret = $accessKey === null ? $get('client_secret') : null;
        if ($accessKey === null && $secret === null) {
            throw Library::error('PIRSCH_ERR_AUTH', 'no Pirsch credentials: set an access key (pa_..., from the Pirsch dashboard, '
                . 'Settings > Integration) as pirsch.access_key in php.ini (e.g. a file in PHP-FPM\'s conf.d), as env[PIRSCH_ACCESS_KEY] '
                . 'in the PHP-FPM pool, or in a file named by pirsch.access_key_file / PIRSCH_ACCESS_KEY_FILE; or an OAuth client '
                . 'as client_id and client_secret the same ways. The master\'s environment does not reach PHP-FPM workers '
                . '(clear_env = yes)');
        }
        return new self(
            accessKey: $accessKey,
            clientId: $accessKey === null ? $get('client_id') : null,
            clientSecret: $secret,
            config: array_replace($fromSettings, $config),
            shared: $shared,
        );
    }

    /** The version of the loaded libpirsch, e.g. "0.1.0". */
    public static function version(): string
    {
        return Library::version();
    }

    /** Sends a page view and waits until the API accepted it. */
    public function hit(array $hit): void
    {
        $mem = new CallData($this->ffi);
        $h = $this->hitOptions($hit, $mem);
        $this->check($this->ffi->pirsch_hit($this->client(), \FFI::addr($h)));
    }

    /**
     * Sends an event on the page view $hit (the same fields as hit()) and waits.
     *
     * @param array<string, string> $meta up to 20 entries
     */
    public function event(string $name, array $hit, int $durationSeconds = 0, array $meta = [], bool $nonInteractive = false): void
    {
        $mem = new CallData($this->ffi);
        $h = $this->hitOptions($hit, $mem);
        $ev = $this->eventOptions($name, $durationSeconds, $meta, $nonInteractive, $mem);
        $this->check($this->ffi->pirsch_event($this->client(), \FFI::addr($ev), \FFI::addr($h)));
    }

    /** Keeps the visitor's session alive (ip, user_agent, sec_ch_* are used; url is not needed) and waits. */
    public function session(array $hit): void
    {
        $mem = new CallData($this->ffi);
        $h = $this->hitOptions($hit, $mem);
        $this->check($this->ffi->pirsch_session($this->client(), \FFI::addr($h)));
    }

    /** Queues a page view for the background sender; never waits on the network. */
    public function enqueueHit(array $hit): void
    {
        $mem = new CallData($this->ffi);
        $h = $this->hitOptions($hit, $mem);
        $this->check($this->ffi->pirsch_hit_enqueue($this->client(), \FFI::addr($h)));
    }

    /** Queues an event on the page view $hit; never waits on the network. */
    public function enqueueEvent(string $name, array $hit, int $durationSeconds = 0, array $meta = [], bool $nonInteractive = false): void
    {
        $mem = new CallData($this->ffi);
        $h = $this->hitOptions($hit, $mem);
        $ev = $this->eventOptions($name, $durationSeconds, $meta, $nonInteractive, $mem);
        $this->check($this->ffi->pirsch_event_enqueue($this->client(), \FFI::addr($ev), \FFI::addr($h)));
    }

    /** Queues a session keep-alive; never waits on the network. */
    public function enqueueSession(array $hit): void
    {
        $mem = new CallData($this->ffi);
        $h = $this->hitOptions($hit, $mem);
        $this->check($this->ffi->pirsch_session_enqueue($this->client(), \FFI::addr($h)));
    }

    /**
     * Waits up to $timeoutMs until everything queued so far is sent (or dropped for a counted
     * reason; see stats()). False when the time ran out: the rest stays queued and is still
     * delivered later.
     */
    public function flush(int $timeoutMs = 5000): bool
    {
        if ($timeoutMs < 0 || $timeoutMs > 0xFFFFFFFF) {
            throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "timeoutMs $timeoutMs is out of range");
        }
        $rc = $this->ffi->pirsch_flush($this->client(), $timeoutMs);
        if ($rc === Library::code('PIRSCH_ERR_TIMEOUT')) {
            return false;
        }
        $this->check($rc);
        return true;
    }

    /** The queue's counters in this process. */
    public function stats(): Stats
    {
        $st = $this->ffi->new('struct pirsch_stats');
        $st->struct_size = \FFI::sizeof($st);
        $this->check($this->ffi->pirsch_stats($this->client(), \FFI::addr($st)));
        $values = [];
        foreach ($this->ffi->type('struct pirsch_stats')->getStructFieldNames() as $name) {
            if ($name !== 'struct_size') {
                $values[$name] = (int) $st->$name;
            }
        }
        return Stats::fromArray($values);
    }

    /**
     * Any API call, with the client's token handling and retries; blocks. Returns the decoded
     * JSON answer (arrays), null for an empty body, or the body itself if it is not JSON.
     * Reading statistics needs an OAuth client (access keys can only write).
     *
     *     $client->request('/api/v1/statistics/visitor', ['id' => $domainId, 'from' => $day, 'to' => $day]);
     *
     * @param array<string, scalar|array> $query appended as a query string
     * @param array|object|null $json sent as the JSON body
     */
    public function request(string $path, array $query = [], string $method = 'GET', array|object|null $json = null): mixed
    {
        if ($query !== []) {
            $path .= (str_contains($path, '?') ? '&' : '?') . http_build_query($query, '', '&', PHP_QUERY_RFC3986);
        }
        $body = null;
        if ($json !== null) {
            try {
                $body = json_encode($json, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
            } catch (\JsonException $e) {
                throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', 'json cannot be encoded: ' . $e->getMessage());
            }
        }
        $mem = new CallData($this->ffi);
        $out = $this->ffi->new('char *');
        $rc = $this->ffi->pirsch_request(
            $this->client(),
            $mem->str($method, 'method'),
            $mem->str($path, 'path'),
            $body === null ? null : $mem->str($body, 'json'),
            \FFI::addr($out),
        );
        $this->check($rc);
        if (\FFI::isNull($out)) {
            return null;
        }
        try {
            $text = \FFI::string($out);
        } finally {
            $this->ffi->pirsch_string_free($out);
        }
        if (trim($text) === '') {
            return null;
        }
        try {
            return json_decode($text, true, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        } catch (\JsonException) {
            return $text;
        }
    }

    // -- statistics: each blocks like hit() and needs an OAuth client (an access key gets
    // HttpException 403). Names as the official PHP SDK's Pirsch\Client.

    /**
     * Statistic $which (a Statistic::* constant) for $filter, as the API's decoded JSON (arrays):
     * pirsch_statistics. The typed methods below read the same answers into objects.
     */
    public function statistics(int $which, Filter $filter): mixed
    {
        $mem = new CallData($this->ffi);
        $f = $filter->cdata($this->ffi, $mem);
        return $this->jsonCall(fn (\FFI\CData $out): int => $this->ffi->pirsch_statistics($this->client(), $which, \FFI::addr($f), $out));
    }

    /**
     * The request statistics($which, $filter) would send ("/api/v1/statistics/...?id=..."),
     * without sending it (pirsch_statistics_path; the filter is checked as there).
     */
    public static function statisticsPath(int $which, Filter $filter): string
    {
        $ffi = Library::ffi();
        $mem = new CallData($ffi);
        $f = $filter->cdata($ffi, $mem);
        $out = $ffi->new('char *');
        $rc = $ffi->pirsch_statistics_path($which, \FFI::addr($f), \FFI::addr($out));
        if ($rc !== 0) {
            throw Library::exception($rc, $ffi->pirsch_last_error());
        }
        try {
            return \FFI::string($out);
        } finally {
            $ffi->pirsch_string_free($out);
        }
    }

    /** @return list<Statistics\Domain> the domains this client may read (pirsch_domains) */
    public function domains(): array
    {
        return Statistics\Domain::listFrom($this->jsonCall(fn (\FFI\CData $out): int => $this->ffi->pirsch_domains($this->client(), $out)));
    }

    /** The client's one domain, as the official SDK's domain(); PirschException when it can read none or several (use domains()). */
    public function domain(): Statistics\Domain
    {
        $domains = $this->domains();
        if (count($domains) !== 1) {
            throw new PirschException('the client can read ' . count($domains) . ' domains, not one: use domains()');
        }
        return $domains[0];
    }

    /**
     * The funnels of a domain (its id, or a Filter's $id) with their steps (pirsch_funnels).
     *
     * @return list<Statistics\Funnel>
     */
    public function listFunnel(Filter|string $domain): array
    {
        $mem = new CallData($this->ffi);
        $id = $mem->str($domain instanceof Filter ? $domain->id : $domain, 'domain id');
        return Statistics\Funnel::listFrom($this->jsonCall(fn (\FFI\CData $out): int => $this->ffi->pirsch_funnels($this->client(), $id, $out)));
    }

    /** A funnel's definition and step figures; $funnelId (or $filter->funnel_id) names it (listFunnel() lists them). */
    public function funnel(Filter $filter, ?string $funnelId = null): Statistics\FunnelData
    {
        if ($funnelId !== null) {
            $filter = clone $filter;
            $filter->funnel_id = $funnelId;
        }
        return Statistics\FunnelData::fromArray($this->statistics(Statistic::FUNNEL, $filter));
    }

    /** @return list<Statistics\VisitorStats> visitors, views, sessions and bounces per day (or $filter->scale) */
    public function visitors(Filter $filter): array
    {
        return Statistics\VisitorStats::listFrom($this->statistics(Statistic::VISITORS, $filter));
    }

    /** The totals for the days of the filter. */
    public function totalVisitors(Filter $filter): Statistics\TotalVisitorStats
    {
        return Statistics\TotalVisitorStats::fromArray($this->statistics(Statistic::TOTAL, $filter));
    }

    /** @return list<Statistics\PageStats> */
    public function pages(Filter $filter): array
    {
        return Statistics\PageStats::listFrom($this->statistics(Statistic::PAGES, $filter));
    }

    /** @return list<Statistics\EntryStats> */
    public function entryPages(Filter $filter): array
    {
        return Statistics\EntryStats::listFrom($this->statistics(Statistic::ENTRY_PAGES, $filter));
    }

    /** @return list<Statistics\ExitStats> */
    public function exitPages(Filter $filter): array
    {
        return Statistics\ExitStats::listFrom($this->statistics(Statistic::EXIT_PAGES, $filter));
    }

    /** @return list<Statistics\TimeSpentStats> */
    public function sessionDuration(Filter $filter): array
    {
        return Statistics\TimeSpentStats::listFrom($this->statistics(Statistic::SESSION_DURATION, $filter));
    }

    /** @return list<Statistics\TimeSpentStats> */
    public function timeOnPage(Filter $filter): array
    {
        return Statistics\TimeSpentStats::listFrom($this->statistics(Statistic::TIME_ON_PAGE, $filter));
    }

    /** @return list<Statistics\UTMSourceStats> */
    public function utmSource(Filter $filter): array
    {
        return Statistics\UTMSourceStats::listFrom($this->statistics(Statistic::UTM_SOURCE, $filter));
    }

    /** @return list<Statistics\UTMMediumStats> */
    public function utmMedium(Filter $filter): array
    {
        return Statistics\UTMMediumStats::listFrom($this->statistics(Statistic::UTM_MEDIUM, $filter));
    }

    /** @return list<Statistics\UTMCampaignStats> */
    public function utmCampaign(Filter $filter): array
    {
        return Statistics\UTMCampaignStats::listFrom($this->statistics(Statistic::UTM_CAMPAIGN, $filter));
    }

    /** @return list<Statistics\UTMContentStats> */
    public function utmContent(Filter $filter): array
    {
        return Statistics\UTMContentStats::listFrom($this->statistics(Statistic::UTM_CONTENT, $filter));
    }

    /** @return list<Statistics\UTMTermStats> */
    public function utmTerm(Filter $filter): array
    {
        return Statistics\UTMTermStats::listFrom($this->statistics(Statistic::UTM_TERM, $filter));
    }

    /** @return list<Statistics\ConversionGoal> */
    public function conversionGoals(Filter $filter): array
    {
        return Statistics\ConversionGoal::listFrom($this->statistics(Statistic::CONVERSION_GOALS, $filter));
    }

    /** @return list<Statistics\EventStats> */
    public function events(Filter $filter): array
    {
        return Statistics\EventStats::listFrom($this->statistics(Statistic::EVENTS, $filter));
    }

    /** @return list<Statistics\EventStats> the values of one metadata key: needs $filter->event and $filter->event_meta_key */
    public function eventMetadata(Filter $filter): array
    {
        return Statistics\EventStats::listFrom($this->statistics(Statistic::EVENT_METADATA, $filter));
    }

    /** @return list<Statistics\EventListStats> */
    public function listEvents(Filter $filter): array
    {
        return Statistics\EventListStats::listFrom($this->statistics(Statistic::LIST_EVENTS, $filter));
    }

    /** @return list<Statistics\PageStats> the pages an event happened on: needs $filter->event (the Go SDK's EventPages) */
    public function eventPages(Filter $filter): array
    {
        return Statistics\PageStats::listFrom($this->statistics(Statistic::EVENT_PAGES, $filter));
    }

    public function growth(Filter $filter): Statistics\Growth
    {
        return Statistics\Growth::fromArray($this->statistics(Statistic::GROWTH, $filter));
    }

    /** Visitors of the last $filter->start seconds (no dates needed). */
    public function activeVisitors(Filter $filter): Statistics\ActiveVisitorsData
    {
        return Statistics\ActiveVisitorsData::fromArray($this->statistics(Statistic::ACTIVE_VISITORS, $filter));
    }

    /** @return list<Statistics\VisitorHourStats> */
    public function timeOfDay(Filter $filter): array
    {
        return Statistics\VisitorHourStats::listFrom($this->statistics(Statistic::TIME_OF_DAY, $filter));
    }

    /** @return list<Statistics\LanguageStats> */
    public function languages(Filter $filter): array
    {
        return Statistics\LanguageStats::listFrom($this->statistics(Statistic::LANGUAGES, $filter));
    }

    /** @return list<Statistics\ReferrerStats> */
    public function referrer(Filter $filter): array
    {
        return Statistics\ReferrerStats::listFrom($this->statistics(Statistic::REFERRER, $filter));
    }

    /** @return list<Statistics\Keyword> Google Search Console keywords */
    public function keywords(Filter $filter): array
    {
        return Statistics\Keyword::listFrom($this->statistics(Statistic::KEYWORDS, $filter));
    }

    /** @return list<Statistics\OSStats> */
    public function os(Filter $filter): array
    {
        return Statistics\OSStats::listFrom($this->statistics(Statistic::OS, $filter));
    }

    /** @return list<Statistics\OSVersionStats> */
    public function osVersions(Filter $filter): array
    {
        return Statistics\OSVersionStats::listFrom($this->statistics(Statistic::OS_VERSIONS, $filter));
    }

    /** @return list<Statistics\BrowserStats> */
    public function browser(Filter $filter): array
    {
        return Statistics\BrowserStats::listFrom($this->statistics(Statistic::BROWSER, $filter));
    }

    /** @return list<Statistics\BrowserVersionStats> */
    public function browserVersions(Filter $filter): array
    {
        return Statistics\BrowserVersionStats::listFrom($this->statistics(Statistic::BROWSER_VERSIONS, $filter));
    }

    public function platform(Filter $filter): Statistics\PlatformStats
    {
        return Statistics\PlatformStats::fromArray($this->statistics(Statistic::PLATFORM, $filter));
    }

    /** @return list<Statistics\ScreenClassStats> */
    public function screen(Filter $filter): array
    {
        return Statistics\ScreenClassStats::listFrom($this->statistics(Statistic::SCREEN, $filter));
    }

    /** @return list<Statistics\CountryStats> */
    public function country(Filter $filter): array
    {
        return Statistics\CountryStats::listFrom($this->statistics(Statistic::COUNTRY, $filter));
    }

    /** @return list<Statistics\RegionStats> */
    public function region(Filter $filter): array
    {
        return Statistics\RegionStats::listFrom($this->statistics(Statistic::REGION, $filter));
    }

    /** @return list<Statistics\CityStats> */
    public function city(Filter $filter): array
    {
        return Statistics\CityStats::listFrom($this->statistics(Statistic::CITY, $filter));
    }

    /** @return list<Statistics\TagStats> */
    public function tagKeys(Filter $filter): array
    {
        return Statistics\TagStats::listFrom($this->statistics(Statistic::TAG_KEYS, $filter));
    }

    /** @return list<Statistics\TagStats> the values of the tag keys in $filter->tag */
    public function tags(Filter $filter): array
    {
        return Statistics\TagStats::listFrom($this->statistics(Statistic::TAGS, $filter));
    }

    /** Calls $call with a `char **`, checks its result and returns the decoded JSON it got. */
    private function jsonCall(\Closure $call): mixed
    {
        $out = $this->ffi->new('char *');
        $this->check($call(\FFI::addr($out)));
        if (\FFI::isNull($out)) {
            return null;
        }
        try {
            $text = \FFI::string($out);
        } finally {
            $this->ffi->pirsch_string_free($out);
        }
        if (trim($text) === '') {
            return null;
        }
        try {
            return json_decode($text, true, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        } catch (\JsonException) {
            return $text;
        }
    }

    /**
     * Stops the client: delivers what is queued (up to shutdown_timeout_ms) and frees it; for a
     * shared client, gives back this object's reference (the C client stays until the process
     * exits). Later calls on this object throw ClosedException. Idempotent; the destructor calls it.
     */
    public function close(): void
    {
        $ptr = $this->ptr;
        $this->ptr = null;
        if ($ptr !== null && $this->owned) {
            $this->ffi->pirsch_free($ptr);
        }
    }

    public function __destruct()
    {
        $this->close();
    }

    /** @internal A client around a pointer made elsewhere; $owned: whether close() frees it. */
    public static function fromPointer(\FFI\CData $ptr, bool $owned): self
    {
        $client = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $client->ffi = Library::ffi();
        $client->ptr = $ptr;
        $client->owned = $owned;
        return $client;
    }

    /** @internal The pirsch_client pointer (ClosedException after close()). */
    public function pointer(): \FFI\CData
    {
        return $this->client();
    }

    /** @internal From now on close() and the destructor leave the C client alone. */
    public function disown(): void
    {
        $this->owned = false;
    }

    private function client(): \FFI\CData
    {
        return $this->ptr ?? throw Library::error('PIRSCH_ERR_CLOSED', 'the client is closed: close() was called');
    }

    private function check(int $rc): void
    {
        if ($rc !== 0) {
            throw Library::exception($rc, $this->ffi->pirsch_last_error());
        }
    }

    private static function configValue(string $key, mixed $value): string
    {
        return match (true) {
            is_bool($value) => $value ? 'true' : 'false',
            is_int($value), is_float($value), is_string($value), $value instanceof \Stringable => (string) $value,
            is_array($value) => implode(', ', array_map('strval', $value)),
            default => throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "config $key: " . get_debug_type($value) . ' is not a valid value'),
        };
    }

    /** The fields of pirsch_hit_options and how each is set, read from the declarations. */
    private function hitFields(): array
    {
        if (self::$hitFields !== null) {
            return self::$hitFields;
        }
        $type = $this->ffi->type('pirsch_hit_options');
        $names = $type->getStructFieldNames();
        $fields = [];
        foreach ($names as $name) {
            $t = $type->getStructFieldType($name);
            $kind = $t->getKind();
            if ($name === 'struct_size') {
                continue;
            }
            if ($kind === \FFI\CType::TYPE_POINTER) {
                $target = $t->getPointerType()->getKind();
                if ($target === \FFI\CType::TYPE_CHAR) {
                    $fields[$name] = 'string';
                } elseif ($target === \FFI\CType::TYPE_STRUCT && in_array("{$name}_len", $names, true)) {
                    $fields[$name] = 'kv';
                }
            } elseif ($kind === \FFI\CType::TYPE_BOOL) {
                $fields[$name] = 'bool';
            } elseif (in_array($kind, [\FFI\CType::TYPE_SINT8, \FFI\CType::TYPE_SINT16, \FFI\CType::TYPE_SINT32, \FFI\CType::TYPE_SINT64], true)) {
                $fields[$name] = 'int';
            } elseif (in_array($kind, [\FFI\CType::TYPE_UINT8, \FFI\CType::TYPE_UINT16, \FFI\CType::TYPE_UINT32, \FFI\CType::TYPE_UINT64], true)) {
                $fields[$name] = 'uint';
            }
        }
        foreach ($fields as $name => $kind) {
            if ($kind === 'kv') {
                unset($fields["{$name}_len"]);
            }
        }
        return self::$hitFields = $fields;
    }

    private function hitOptions(array $fields, CallData $mem): \FFI\CData
    {
        $h = $this->ffi->new('pirsch_hit_options');
        $h->struct_size = \FFI::sizeof($h);
        if (array_key_exists('headers', $fields)) {
            $headers = $fields['headers'] ?? [];
            unset($fields['headers']);
            if (!is_array($headers)) {
                throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', 'headers must be an array of name => value');
            }
            [$kv, $n] = $mem->kv($headers, 'header');
            $rc = $this->ffi->pirsch_hit_options_from_headers(
                \FFI::addr($h),
                $mem->str(self::text($fields['url'] ?? '', 'url'), 'url'),
                $mem->str(self::text($fields['ip'] ?? '', 'ip'), 'ip'),
                $kv,
                $n,
            );
            $this->check($rc);
            unset($fields['url'], $fields['ip']);   // set from the same strings
        }
        $known = $this->hitFields();
        if (array_key_exists('time', $fields) && isset($known['time'])) {
            $fields['time'] = self::timeValue($fields['time']);
        }
        foreach ($fields as $name => $value) {
            $kind = $known[$name] ?? throw Library::error(
                'PIRSCH_ERR_INVALID_ARGUMENT',
                "unknown page view field \"$name\"; the fields are headers, " . implode(', ', array_keys($known)),
            );
            switch ($kind) {
                case 'string':
                    $text = $value === null ? '' : self::text($value, $name);
                    $h->$name = $text === '' ? null : $mem->str($text, $name);
                    break;
                case 'int':
                case 'uint':
                    if ($value === null) {
                        $value = 0;
                    }
                    if (!is_int($value)) {
                        throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$name must be an int, not " . get_debug_type($value));
                    }
                    $size = $this->ffi->type('pirsch_hit_options')->getStructFieldType($name)->getSize() * 8;
                    $min = $kind === 'uint' ? 0 : -(2 ** ($size - 1));
                    $max = $kind === 'uint' ? 2 ** $size - 1 : 2 ** ($size - 1) - 1;
                    if ($value < $min || $value > $max) {
                        throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$name $value is out of range");
                    }
                    $h->$name = $value;
                    break;
                case 'bool':
                    if ($value !== null && !is_bool($value)) {
                        throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$name must be a bool, not " . get_debug_type($value));
                    }
                    $h->$name = (bool) $value;
                    break;
                case 'kv':
                    if ($value !== null && !is_array($value)) {
                        throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$name must be an array of key => value");
                    }
                    [$kv, $n] = $mem->kv($value ?? [], $name);
                    $h->$name = $kv;
                    $h->{"{$name}_len"} = $n;
                    break;
            }
        }
        return $h;
    }

    private function eventOptions(string $name, int $durationSeconds, array $meta, bool $nonInteractive, CallData $mem): \FFI\CData
    {
        if ($durationSeconds < 0 || $durationSeconds > 0xFFFFFFFF) {
            throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "durationSeconds $durationSeconds is out of range");
        }
        $ev = $this->ffi->new('pirsch_event_options');
        $ev->struct_size = \FFI::sizeof($ev);
        $ev->name = $mem->str($name, 'event name');
        $ev->duration_seconds = $durationSeconds;
        [$kv, $n] = $mem->kv($meta, 'meta');
        $ev->meta = $kv;
        $ev->meta_len = $n;
        $ev->non_interactive = $nonInteractive;
        return $ev;
    }

    /**
     * pirsch_hit_options.time: a DateTimeInterface (sent as UTC with milliseconds), Unix epoch
     * milliseconds as an int, or a string as libpirsch reads it (RFC 3339 or epoch milliseconds);
     * null or '' = now. The library checks it (at most 60 s ahead, not older than max_item_age_ms).
     */
    private static function timeValue(mixed $value): ?string
    {
        if ($value instanceof \DateTimeInterface) {
            return \DateTimeImmutable::createFromInterface($value)->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\\TH:i:s.v\\Z');
        }
        if (is_int($value)) {
            return (string) $value;
        }
        if ($value === null || is_string($value)) {
            return $value;
        }
        throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', 'time must be a DateTimeInterface, an int (epoch milliseconds) or a string, not '
            . get_debug_type($value));
    }

    private static function text(mixed $value, string $name): string
    {
        if (is_string($value)) {
            return $value;
        }
        if (is_int($value) || is_float($value) || $value instanceof \Stringable) {
            return (string) $value;
        }
        throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$name must be a string, not " . get_debug_type($value));
    }
}

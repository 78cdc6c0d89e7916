<?php

declare(strict_types=1);

namespace Pirsch\Native;

use Pirsch\Native\Exception\PirschException;
use Pirsch\Native\Internal\ProcessSlot;

/**
 * Page views from a PHP page in one line:
 *
 *     Pirsch\Native\Tracker::pageView(Pirsch\Native\Tracker::client());
 *
 * client() is the process's client, created on first use from the environment
 * (Client::fromEnv) or by your factory. pageView() builds the page view from $_SERVER and
 * queues it: it never waits on the network and never throws a PirschException.
 */
final class Tracker
{
    private static ?Client $client = null;
    private static bool $logged = false;

    /**
     * The client of this process, made by $factory (default: Client::fromEnv()) on first use.
     *
     * Outside the CLI (PHP-FPM, where it is tested, and other SAPIs that serve many requests
     * per process) it is kept for the life of the worker process, across requests, although
     * PHP resets everything else after each request: the queue, the sender thread, the
     * connection and the token live on, and a worker that exits normally delivers what is
     * still queued (within shutdown_timeout_ms) as it exits; a worker killed by a signal
     * loses it (see the README on process_control_timeout). A client made in the master before the workers are forked (by preload.php)
     * is inherited by them. The factory therefore runs once per process, with the first
     * request's view of the configuration. In the CLI it lives as long as the script.
     */
    public static function client(?callable $factory = null): Client
    {
        if (self::$client !== null) {
            return self::$client;
        }
        $factory ??= static fn (): Client => Client::fromEnv();
        return self::$client = PHP_SAPI === 'cli' || PHP_SAPI === 'phpdbg' ? $factory() : self::processClient($factory);
    }

    /**
     * @internal The process's shared client (see client()), whatever the SAPI.
     */
    public static function processClient(callable $factory): Client
    {
        $ffi = Library::ffi();
        $ptr = ProcessSlot::get($ffi);
        if ($ptr !== null) {
            return Client::fromPointer($ptr, false);
        }
        $client = $factory();
        if (!$client instanceof Client) {
            throw new \TypeError('the factory must return a Pirsch\Native\Client, not ' . get_debug_type($client));
        }
        if (ProcessSlot::put($ffi, $client->pointer())) {
            $client->disown();
        }
        // Otherwise this request's client is freed (and delivers its queue) when the request ends.
        return $client;
    }

    /** @internal Forgets this request's client (tests). */
    public static function reset(): void
    {
        self::$client = null;
    }

    /**
     * Queues the page view of the current request. Returns true when it was queued; false
     * when the request is not one to count (a method not in $methods, no REQUEST_URI/REMOTE_ADDR,
     * e.g. the CLI) or the library refused it (the reason goes to error_log, at most once per
     * request). Never blocks; never throws a PirschException.
     *
     * @param array|null $server $_SERVER, or an array like it
     * @param array<string, string> $tags up to 20 tags
     * @param array $fields more page view fields (title, screen_width, ...), over the derived ones
     * @param list<string> $methods the request methods that count as page views
     */
    public static function pageView(Client $client, ?array $server = null, array $tags = [], array $fields = [], array $methods = ['GET']): bool
    {
        $hit = self::hitFromServer($server ?? $_SERVER, $methods);
        if ($hit === null) {
            return false;
        }
        if ($tags !== []) {
            $hit['tags'] = $tags;
        }
        try {
            $client->enqueueHit(array_replace($hit, $fields));
            return true;
        } catch (PirschException $e) {
            if (!self::$logged) {
                self::$logged = true;
                error_log('pirsch: page view not queued: ' . $e->getMessage());
            }
            return false;
        }
    }

    /**
     * The page view of a request as Client::hit() takes it: url (scheme from HTTPS or
     * REQUEST_SCHEME, HTTP_HOST, REQUEST_URI), ip (REMOTE_ADDR, the peer) and the request's
     * headers (from the HTTP_* entries; Cookie and Authorization left out), from which the
     * library takes the user agent, language, client hints, referrer and, from trusted proxies
     * only, the visitor's address. Null for a request that does not count (see pageView()).
     *
     * @param list<string> $methods
     */
    public static function hitFromServer(array $server, array $methods = ['GET']): ?array
    {
        $method = strtoupper((string) ($server['REQUEST_METHOD'] ?? ''));
        if (!in_array($method, array_map('strtoupper', $methods), true)) {
            return null;
        }
        $uri = $server['REQUEST_URI'] ?? null;
        $ip = $server['REMOTE_ADDR'] ?? null;
        if (!is_string($uri) || $uri === '' || !is_string($ip) || $ip === '') {
            return null;
        }
        if (preg_match('~^https?://~i', $uri)) {
            $url = $uri;   // absolute-form request target
        } else {
            $host = $server['HTTP_HOST'] ?? null;
            if (!is_string($host) || $host === '') {
                $host = (string) ($server['SERVER_NAME'] ?? '');
                $port = (string) ($server['SERVER_PORT'] ?? '');
                if ($host !== '' && $port !== '' && $port !== '80' && $port !== '443') {
                    $host .= ":$port";
                }
            }
            if ($host === '') {
                return null;
            }
            $https = strtolower((string) ($server['HTTPS'] ?? ''));
            $https = ($https !== '' && $https !== 'off') || strtolower((string) ($server['REQUEST_SCHEME'] ?? '')) === 'https';
            $url = ($https ? 'https' : 'http') . "://$host" . ($uri[0] === '/' ? $uri : "/$uri");
        }
        $headers = [];
        foreach ($server as $key => $value) {
            if (is_string($key) && str_starts_with($key, 'HTTP_') && is_string($value)
                && !in_array($key, ['HTTP_COOKIE', 'HTTP_AUTHORIZATION', 'HTTP_PROXY_AUTHORIZATION'], true)) {
                $headers[str_replace(' ', '-', ucwords(strtolower(str_replace('_', ' ', substr($key, 5)))))] = $value;
            }
        }
        return ['url' => $url, 'ip' => $ip, 'headers' => $headers];
    }
}

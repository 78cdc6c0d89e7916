<?php

declare(strict_types=1);

namespace Pirsch\Native;

use Pirsch\Native\Exception\AuthException;
use Pirsch\Native\Exception\ClosedException;
use Pirsch\Native\Exception\HttpException;
use Pirsch\Native\Exception\InvalidArgumentException;
use Pirsch\Native\Exception\LoadException;
use Pirsch\Native\Exception\QueueFullException;
use Pirsch\Native\Internal\Drops;

/**
 * Page views from a PHP page in one line:
 *
 *     Pirsch\Native\Tracker::pageView();
 *
 * It builds the page view from $_SERVER and queues it on the process's client (client()),
 * made on first use from the settings (Client::fromEnv: environment, php.ini or files). It
 * never waits on the network and never throws: when the setup is broken (FFI disabled or
 * restricted, libpirsch not found, no credentials) or libpirsch refuses the page view, it
 * returns false, counts the page view in dropped() under a reason, and logs the reason to
 * error_log once per server start (and at most once an hour), never once per request.
 */
final class Tracker
{
    private static ?Client $client = null;

    /** The name of the process's shared client that Tracker uses (see client()). */
    public const SHARED = 'tracker';

    /**
     * The client of this process, made by $factory (default: Client::fromEnv(shared:
     * Tracker::SHARED)) on this request's first use. Unlike pageView(), this is explicit API:
     * it throws the typed exceptions of the package (LoadException, AuthException, ...) when
     * the client cannot be made.
     *
     * The default client is the library's shared client for the process (pirsch_client_shared):
     * PHP resets everything after each request, but the C client, its queue, sender thread,
     * connection and token live as long as the worker process (PHP-FPM and other SAPIs that
     * serve many requests per process) and the processes forked from it (a client made in the
     * master by preload.php is inherited by the workers), and a worker that exits normally
     * delivers what is still queued (within shutdown_timeout_ms) as it exits; a worker killed
     * by a signal loses it unless spool_dir is set (see the README). Its settings are read on
     * the first request of the process; later requests get the same client. A factory of your
     * own should make its client with `shared:` to get the same.
     */
    public static function client(?callable $factory = null): Client
    {
        if (self::$client !== null) {
            return self::$client;
        }
        $factory ??= static fn (): Client => Client::fromEnv(shared: self::SHARED);
        return self::$client = self::made($factory);
    }

    private static function made(callable $factory): Client
    {
        $client = $factory();
        if (!$client instanceof Client) {
            throw new \TypeError('the factory must return a Pirsch\Native\Client, not ' . get_debug_type($client));
        }
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
     * e.g. the CLI: not counted as dropped), or the page view was dropped: the client could not
     * be made (no client given and client() failed), or libpirsch refused it. A dropped page
     * view is counted in dropped() and its reason logged once. Never blocks; never throws.
     *
     * @param Client|null $client the client to queue on; null: client() (made on first use)
     * @param array|null $server $_SERVER, or an array like it
     * @param array<string, string> $tags up to 20 tags
     * @param array $fields more page view fields (title, screen_width, ...), over the derived ones
     * @param list<string> $methods the request methods that count as page views
     */
    public static function pageView(?Client $client = null, ?array $server = null, array $tags = [], array $fields = [], array $methods = ['GET']): bool
    {
        try {
            $hit = self::hitFromServer($server ?? $_SERVER, $methods);
            if ($hit === null) {
                return false;
            }
            if ($tags !== []) {
                $hit['tags'] = $tags;
            }
            $hit = array_replace($hit, $fields);
        } catch (\Throwable $e) {
            self::drop('error', get_class($e) . ': ' . $e->getMessage());
            return false;
        }
        if ($client === null) {
            try {
                $client = self::client();
            } catch (\Throwable $e) {
                self::drop(self::setupReason($e), 'no client: ' . $e->getMessage());
                return false;
            }
        }
        try {
            $client->enqueueHit($hit);
            return true;
        } catch (\Throwable $e) {
            self::drop(self::refusalReason($e), 'page view not queued: ' . $e->getMessage());
            return false;
        }
    }

    /**
     * The page views pageView() dropped, by reason, in every process of this user (PHP-FPM
     * workers included) since the counts were last reset: reason => count, first and last
     * time (UTC), the last message. Reasons: ffi (FFI missing, disabled or restricted),
     * library (libpirsch or its declarations not found or unfit), credentials (none set, or
     * refused), config (a bad setting), invalid (a page view libpirsch refused), queue_full,
     * closed, error (anything else).
     *
     * @return array<string, array{count: int, first: string, last: string, message: string}>
     */
    public static function dropped(): array
    {
        return Drops::all();
    }

    /** Forgets the counts of dropped(); the next failure is logged again. */
    public static function resetDropped(): void
    {
        Drops::reset();
    }

    /** Counts a dropped page view; nothing in here may reach the page either. */
    private static function drop(string $reason, string $message): void
    {
        try {
            Drops::record($reason, $message);
        } catch (\Throwable) {
        }
    }

    private static function setupReason(\Throwable $e): string
    {
        return match (true) {
            $e instanceof LoadException => $e->reason,
            $e instanceof AuthException, $e instanceof HttpException => 'credentials',
            $e instanceof InvalidArgumentException => 'config',
            default => 'error',
        };
    }

    private static function refusalReason(\Throwable $e): string
    {
        return match (true) {
            $e instanceof InvalidArgumentException => 'invalid',
            $e instanceof QueueFullException => 'queue_full',
            $e instanceof ClosedException => 'closed',
            default => 'error',
        };
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

<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Tracker;

final class TrackerTest extends TestCase
{
    /** $_SERVER of a request through nginx, as PHP-FPM fills it. */
    private static function server(array $over = []): array
    {
        return array_merge([
            'REQUEST_METHOD' => 'GET',
            'REQUEST_URI' => '/products/42?color=red&ref=newsletter',
            'QUERY_STRING' => 'color=red&ref=newsletter',
            'REQUEST_SCHEME' => 'https',
            'HTTPS' => 'on',
            'SERVER_NAME' => 'shop.example',
            'SERVER_PORT' => '443',
            'REMOTE_ADDR' => '10.0.0.5',
            'HTTP_HOST' => 'shop.example',
            'HTTP_USER_AGENT' => 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15',
            'HTTP_ACCEPT_LANGUAGE' => 'en-US,en;q=0.9',
            'HTTP_SEC_CH_UA' => '"Chromium";v="131"',
            'HTTP_SEC_CH_UA_PLATFORM' => '"macOS"',
            'HTTP_REFERER' => 'https://search.example/?q=shirts',
            'HTTP_X_FORWARDED_FOR' => '192.0.2.44',
            'HTTP_COOKIE' => 'sid=never-sent',
            'HTTP_AUTHORIZATION' => 'Basic never-sent',
            'SCRIPT_FILENAME' => '/srv/www/index.php',
        ], $over);
    }

    public function testTheHitIsBuiltFromServer(): void
    {
        $hit = Tracker::hitFromServer(self::server());
        $this->assertSame('https://shop.example/products/42?color=red&ref=newsletter', $hit['url']);
        $this->assertSame('10.0.0.5', $hit['ip']);
        $this->assertSame([
            'Host' => 'shop.example',
            'User-Agent' => self::server()['HTTP_USER_AGENT'],
            'Accept-Language' => 'en-US,en;q=0.9',
            'Sec-Ch-Ua' => '"Chromium";v="131"',
            'Sec-Ch-Ua-Platform' => '"macOS"',
            'Referer' => 'https://search.example/?q=shirts',
            'X-Forwarded-For' => '192.0.2.44',
        ], $hit['headers']);
    }

    /** @dataProvider urls */
    public function testTheUrl(array $over, ?string $url): void
    {
        $this->assertSame($url, Tracker::hitFromServer(self::server($over))['url'] ?? null);
    }

    public static function urls(): array
    {
        return [
            'https off, scheme http' => [['HTTPS' => 'off', 'REQUEST_SCHEME' => 'http'], 'http://shop.example/products/42?color=red&ref=newsletter'],
            'no HTTPS, scheme https' => [['HTTPS' => null, 'REQUEST_SCHEME' => 'https'], 'https://shop.example/products/42?color=red&ref=newsletter'],
            'nothing says https' => [['HTTPS' => null, 'REQUEST_SCHEME' => null, 'REQUEST_URI' => '/'], 'http://shop.example/'],
            'no Host header' => [['HTTP_HOST' => null, 'HTTPS' => '', 'REQUEST_SCHEME' => 'http', 'SERVER_PORT' => '8080', 'REQUEST_URI' => '/x'], 'http://shop.example:8080/x'],
            'absolute-form target' => [['REQUEST_URI' => 'https://other.example/y'], 'https://other.example/y'],
            'no REQUEST_URI (CLI)' => [['REQUEST_URI' => null], null],
            'no REMOTE_ADDR' => [['REMOTE_ADDR' => null], null],
            'POST' => [['REQUEST_METHOD' => 'POST'], null],
            'HEAD' => [['REQUEST_METHOD' => 'HEAD'], null],
        ];
    }

    public function testAPageViewIsQueuedAndArrives(): void
    {
        $client = $this->client(['trusted_proxies' => '10.0.0.0/8', 'flush_interval_ms' => 60000]);
        $this->assertTrue(Tracker::pageView($client, self::server(), ['section' => 'shop'], ['title' => 'Red shirt']));
        $this->assertFalse(Tracker::pageView($client, self::server(['REQUEST_METHOD' => 'POST'])));
        $this->assertTrue(Tracker::pageView($client, self::server(['REQUEST_METHOD' => 'POST', 'REMOTE_ADDR' => '203.0.113.50']), methods: ['GET', 'POST']));
        $this->assertTrue($client->flush(5000));
        [$viaProxy, $direct] = self::$standin->bodies('hit');
        unset($viaProxy['time']);
        $this->assertSame([
            'url' => 'https://shop.example/products/42?color=red&ref=newsletter',
            'ip' => '192.0.2.44',   // the trusted proxy's X-Forwarded-For
            'user_agent' => self::server()['HTTP_USER_AGENT'],
            'accept_language' => 'en-US,en;q=0.9',
            'sec_ch_ua' => '"Chromium";v="131"',
            'sec_ch_ua_platform' => '"macOS"',
            'title' => 'Red shirt',
            'referrer' => 'https://search.example/?q=shirts',
            'tags' => ['section' => 'shop'],
        ], $viaProxy);
        $this->assertSame('203.0.113.50', $direct['ip'], 'X-Forwarded-For of an untrusted peer is ignored');
        $this->assertStringNotContainsString('never-sent', json_encode(self::$standin->items()));
    }

    public function testARefusedPageViewIsCountedLoggedOnceAndNeverThrows(): void
    {
        $log = tempnam(sys_get_temp_dir(), 'pirsch-log-');
        $saved = ini_set('error_log', $log);
        Tracker::resetDropped();
        try {
            $client = $this->client();
            $this->assertFalse(Tracker::pageView($client, self::server(['HTTP_HOST' => 'bad host'])));
            $this->assertFalse(Tracker::pageView($client, self::server(['HTTP_HOST' => 'bad host'])));
            $this->assertFalse(Tracker::pageView($client, self::server(['HTTP_HOST' => 'bad host']), fields: ['screen_width' => 'wide']));
            $text = (string) file_get_contents($log);
            $this->assertSame(1, substr_count($text, 'pirsch: page views are not counted (invalid): page view not queued: '), $text);
            $this->assertStringContainsString('url', $text);
            $dropped = Tracker::dropped();
            $this->assertSame(['invalid'], array_keys($dropped));
            $this->assertSame(3, $dropped['invalid']['count']);
            $this->assertStringContainsString('screen_width', $dropped['invalid']['message'], 'the last message');
        } finally {
            ini_set('error_log', (string) $saved);
            unlink($log);
            Tracker::resetDropped();
        }
        $this->assertSame([], Tracker::dropped());
    }

    /**
     * The documented one-liner in setups that cannot work: it returns false, never throws,
     * counts every page view under the reason and logs the reason once.
     *
     * @dataProvider brokenSetups
     */
    public function testABrokenSetupNeverThrowsCountsAndLogsOnce(array $env, array $ini, string $reason, string $says): void
    {
        $state = sys_get_temp_dir() . '/pirsch-state-' . bin2hex(random_bytes(4));
        mkdir($state, 0700);
        $log = "$state.log";
        try {
            [$rc, $out, $err] = self::php([self::fixture('pageview.php')],
                env: $env + ['PIRSCH_STATE_DIR' => $state, 'PIRSCH_BASE_URL' => self::$standin->url, 'PIRSCH_ACCESS_KEY' => null,
                    'PIRSCH_CLIENT_ID' => null, 'PIRSCH_CLIENT_SECRET' => null],
                ini: $ini + ['log_errors' => '1', 'error_log' => $log, 'display_errors' => '0']);
            $this->assertSame(0, $rc, $out . $err);
            $result = json_decode($out, true);
            $this->assertNull($result['threw'], $out);
            $this->assertSame([false, false, false], $result['results']);
            $this->assertSame([$reason], array_keys($result['dropped']), $out);
            $this->assertSame(3, $result['dropped'][$reason]['count']);
            $this->assertStringContainsString($says, $result['dropped'][$reason]['message']);
            $text = (string) @file_get_contents($log);
            $this->assertSame(1, substr_count($text, "pirsch: page views are not counted ($reason)"), $text);
            $this->assertSame(1, substr_count($text, 'pirsch:'), $text);
            $this->assertSame([], self::$standin->bodies('hit'));
            if (!isset($env['PIRSCH_STATE_DIR'])) {
                $this->assertSame(3, json_decode((string) file_get_contents("$state/dropped.json"), true)[$reason]['count'], 'kept for every process');
            }
        } finally {
            @unlink("$state/dropped.json");
            @rmdir($state);
            @unlink($log);
        }
    }

    public static function brokenSetups(): array
    {
        return [
            'FFI disabled' => [['PIRSCH_ACCESS_KEY' => self::ACCESS_KEY], ['ffi.enable' => '0'], 'ffi', 'ffi.enable=true'],
            'no credentials anywhere' => [[], [], 'credentials', 'pirsch.access_key'],
            'library not found' => [['PIRSCH_ACCESS_KEY' => self::ACCESS_KEY, 'PIRSCH_LIBRARY' => '/nonexistent/libpirsch.so.0'], [], 'library', '/nonexistent/libpirsch.so.0'],
            'no credentials, counts kept only in the request (state dir unusable)' => [['PIRSCH_STATE_DIR' => '/nonexistent/state'], [], 'credentials', 'PIRSCH_ACCESS_KEY'],
            'key file unreadable' => [['PIRSCH_ACCESS_KEY_FILE' => '/nonexistent/key'], [], 'config', 'PIRSCH_ACCESS_KEY_FILE=/nonexistent/key cannot be read'],
        ];
    }

    /**
     * Credentials and configuration from php.ini (get_cfg_var) and from files, not only the
     * environment; the environment wins.
     *
     * @dataProvider settingSources
     */
    public function testCredentialsFromPhpIniOrAFile(array $env, array $ini, string $auth): void
    {
        $dir = sys_get_temp_dir() . '/pirsch-cred-' . bin2hex(random_bytes(4));
        mkdir($dir, 0700);
        file_put_contents("$dir/key", self::ACCESS_KEY . "\n");
        file_put_contents("$dir/secret", self::CLIENT_SECRET);
        $fix = static fn (array $a): array => array_map(static fn ($v) => is_string($v) ? str_replace('@DIR@', $dir, $v) : $v, $a);
        try {
            [$rc, $out, $err] = self::php([self::fixture('pageview.php')],
                env: $fix($env) + ['PIRSCH_STATE_DIR' => "$dir/state", 'PIRSCH_ACCESS_KEY' => null, 'PIRSCH_CLIENT_ID' => null,
                    'PIRSCH_CLIENT_SECRET' => null, 'PIRSCH_BASE_URL' => null],
                ini: $fix($ini) + ['pirsch.base_url' => self::$standin->url]);
            $this->assertSame(0, $rc, $err);
            $this->assertSame(['results' => [true, true, true], 'dropped' => [], 'threw' => null], json_decode($out, true), $out . $err);
            $items = self::$standin->items('hit');
            $this->assertCount(3, $items);
            $this->assertSame([$auth], array_values(array_unique(array_column($items, 'auth'))));
            $this->assertSame('http://example.com/fixture', $items[0]['body']['url']);
        } finally {
            exec('rm -rf ' . escapeshellarg($dir));
        }
    }

    public static function settingSources(): array
    {
        return [
            'php.ini access key' => [[], ['pirsch.access_key' => self::ACCESS_KEY], 'access_key'],
            'php.ini OAuth client' => [[], ['pirsch.client_id' => self::CLIENT_ID, 'pirsch.client_secret' => self::CLIENT_SECRET], 'token'],
            'php.ini key file' => [[], ['pirsch.access_key_file' => '@DIR@/key'], 'access_key'],
            'php.ini secret file' => [[], ['pirsch.client_id' => self::CLIENT_ID, 'pirsch.client_secret_file' => '@DIR@/secret'], 'token'],
            'environment key file' => [['PIRSCH_ACCESS_KEY_FILE' => '@DIR@/key'], [], 'access_key'],
            'environment secret file' => [['PIRSCH_CLIENT_ID' => self::CLIENT_ID, 'PIRSCH_CLIENT_SECRET_FILE' => '@DIR@/secret'], [], 'token'],
            'environment over php.ini' => [['PIRSCH_ACCESS_KEY' => self::ACCESS_KEY], ['pirsch.access_key' => 'pa_wrong'], 'access_key'],
        ];
    }

    public function testTheCliClientIsMadeOnceFromTheEnvironment(): void
    {
        [$rc, $out, $err] = self::php(['-r', 'require "' . dirname(__DIR__) . '/autoload.php";
            $a = Pirsch\Native\Tracker::client(); $b = Pirsch\Native\Tracker::client(fn () => throw new Exception("not called"));
            var_export($a === $b); Pirsch\Native\Tracker::pageView($a, ["REQUEST_METHOD" => "GET", "REQUEST_URI" => "/cli", "HTTP_HOST" => "example.com", "REMOTE_ADDR" => "203.0.113.3"]);'],
            env: ['PIRSCH_ACCESS_KEY' => self::ACCESS_KEY, 'PIRSCH_BASE_URL' => self::$standin->url, 'PIRSCH_FLUSH_INTERVAL_MS' => '60000']);
        $this->assertSame(0, $rc, $err);
        $this->assertSame('true', $out);
        $this->assertSame(['http://example.com/cli'], array_column(self::$standin->bodies('hit'), 'url'), 'delivered at exit');
    }
}

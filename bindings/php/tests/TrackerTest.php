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

    public function testARefusedPageViewIsLoggedOnceAndNeverThrows(): void
    {
        $log = tempnam(sys_get_temp_dir(), 'pirsch-log-');
        $saved = ini_set('error_log', $log);
        try {
            $client = $this->client();
            $this->assertFalse(Tracker::pageView($client, self::server(['HTTP_HOST' => 'bad host'])));
            $this->assertFalse(Tracker::pageView($client, self::server(['HTTP_HOST' => 'bad host'])));
            $text = (string) file_get_contents($log);
            $this->assertSame(1, substr_count($text, 'pirsch: page view not queued: '), $text);
            $this->assertStringContainsString('url', $text);
        } finally {
            ini_set('error_log', (string) $saved);
            unlink($log);
        }
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

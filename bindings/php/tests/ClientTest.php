<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Client;
use Pirsch\Native\Exception\AuthException;
use Pirsch\Native\Exception\HttpException;
use Pirsch\Native\Exception\InvalidArgumentException;

final class ClientTest extends TestCase
{
    private const FULL = [
        'url' => 'https://example.com/pricing?plan=pro',
        'ip' => '203.0.113.7',
        'user_agent' => 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
        'accept_language' => 'de-DE,de;q=0.9,en;q=0.5',
        'sec_ch_ua' => '"Chromium";v="131", "Not_A Brand";v="24"',
        'sec_ch_ua_mobile' => '?0',
        'sec_ch_ua_platform' => '"Linux"',
        'sec_ch_ua_platform_version' => '"6.1.0"',
        'sec_ch_width' => '1920',
        'sec_ch_viewport_width' => '1280',
        'title' => 'Pricing – Ünïcödé',
        'referrer' => 'https://news.example/item?id=1',
        'screen_width' => 1920,
        'screen_height' => 1080,
        'disable_bot_filter' => true,
        'tags' => ['author' => 'alice', 'plan' => 'pro'],
    ];

    public function testAPageViewArrivesWithEveryFieldAsGiven(): void
    {
        $this->client()->hit(self::FULL);
        $items = self::$standin->items('hit');
        $this->assertCount(1, $items);
        $this->assertFalse($items[0]['batch']);
        $this->assertSame('token', $items[0]['auth']);
        $expected = self::FULL;
        $body = $items[0]['body'];
        ksort($expected);
        ksort($body);
        $this->assertSame($expected, $body);
    }

    public function testEmptyAndNullFieldsAreNotSent(): void
    {
        $this->client()->hit(['url' => 'https://example.com/', 'ip' => '2001:db8::1', 'title' => '', 'referrer' => null,
            'screen_width' => 0, 'tags' => [], 'disable_bot_filter' => false]);
        $this->assertSame([['url' => 'https://example.com/', 'ip' => '2001:db8::1']], self::$standin->bodies('hit'));
    }

    public function testEventAndSession(): void
    {
        $client = $this->client(accessKey: true);
        $hit = ['url' => 'https://example.com/shop', 'ip' => '198.51.100.4', 'user_agent' => 'Mozilla/5.0 test'];
        $client->event('purchase', $hit, durationSeconds: 42, meta: ['product' => 't-shirt', 'size' => 'L'], nonInteractive: true);
        $client->session($hit);
        $event = self::$standin->items('event')[0];
        $this->assertSame('access_key', $event['auth']);
        $this->assertSame($hit + ['event_name' => 'purchase', 'event_duration' => 42,
            'event_meta' => ['product' => 't-shirt', 'size' => 'L'], 'non_interactive' => true], $event['body']);
        $this->assertSame([['ip' => '198.51.100.4', 'user_agent' => 'Mozilla/5.0 test']], self::$standin->bodies('session'));
    }

    public function testClientIpHeaderNamesTheOneHeaderBelieved(): void
    {
        // The proxy (10.0.0.2) sets X-Real-IP; a visitor's own X-Forwarded-For must not win.
        $headers = ['X-Forwarded-For' => '6.6.6.6', 'CF-Connecting-IP' => '6.6.6.7', 'X-Real-IP' => '198.51.100.31'];
        $client = $this->client(['trusted_proxies' => '10.0.0.0/8', 'client_ip_header' => 'x-real-ip']);
        $client->hit(['url' => 'https://example.com/real', 'ip' => '10.0.0.2', 'headers' => $headers]);
        $this->assertSame('198.51.100.31', self::$standin->bodies('hit')[0]['ip']);
        try {
            $this->client(['client_ip_header' => 'x-client-ip']);
            $this->fail('an unknown header name is refused');
        } catch (\Pirsch\Native\Exception\InvalidArgumentException $e) {
            $this->assertStringContainsString('client_ip_header', $e->getMessage());
        }
    }

    public function testHeadersAreReadAsTheLibraryReadsThem(): void
    {
        $client = $this->client(['trusted_proxies' => ['10.0.0.0/8', '127.0.0.1']]);
        $headers = [
            'user-agent' => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)',
            'Accept-Language' => 'it-IT',
            'Sec-CH-UA-Mobile' => '?1',
            'X-Forwarded-For' => ['198.51.100.23', '10.0.0.7'],   // two header lines, joined in order
            'Cookie' => 'session=never-sent',
            'Authorization' => 'Bearer never-sent',
        ];
        // From a trusted proxy: the visitor is the first untrusted address from the right.
        $client->hit(['url' => 'https://example.com/a?utm_source=newsletter', 'ip' => '10.0.0.2', 'headers' => $headers, 'title' => 'A']);
        // From anyone else: proxy headers are ignored; explicit fields win over headers; null drops one.
        $client->hit(['url' => 'https://example.com/b', 'ip' => '203.0.113.9', 'headers' => $headers + ['Referer' => 'https://ref.example/'],
            'accept_language' => 'en-GB', 'user_agent' => null]);
        [$trusted, $untrusted] = self::$standin->bodies('hit');
        $this->assertSame([
            'url' => 'https://example.com/a?utm_source=newsletter', 'ip' => '198.51.100.23',
            'user_agent' => $headers['user-agent'], 'accept_language' => 'it-IT', 'sec_ch_ua_mobile' => '?1',
            'title' => 'A', 'referrer' => 'newsletter',
        ], $trusted);
        $this->assertSame('203.0.113.9', $untrusted['ip']);
        $this->assertSame('en-GB', $untrusted['accept_language']);
        $this->assertSame('https://ref.example/', $untrusted['referrer']);
        $this->assertArrayNotHasKey('user_agent', $untrusted);
        $this->assertStringNotContainsString('never-sent', json_encode(self::$standin->items()));
    }

    /** @dataProvider badHits */
    public function testBadFieldsAreRefusedBeforeAnyRequest(array $hit, string $message): void
    {
        $client = $this->client();
        try {
            $client->hit($hit);
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString($message, $e->getMessage());
            $this->assertSame(\Pirsch\Native\Library::ffi()->PIRSCH_ERR_INVALID_ARGUMENT, $e->getCode());
        }
        $this->assertSame(0, self::$standin->counters()['requests']);
    }

    public static function badHits(): array
    {
        $ok = ['url' => 'https://example.com/', 'ip' => '203.0.113.1'];
        return [
            'no url' => [['ip' => '203.0.113.1'], 'url'],
            'relative url' => [['url' => '/path'] + $ok, 'absolute'],
            'not an ip' => [['ip' => 'localhost'] + $ok, 'ip'],
            'unknown field' => [$ok + ['colour' => 'red'], 'unknown page view field "colour"'],
            'NUL byte' => [$ok + ['title' => "a\0b"], 'title contains a NUL byte'],
            'array for a string' => [$ok + ['title' => ['x']], 'title must be a string'],
            'string for an int' => [$ok + ['screen_width' => '1080'], 'screen_width must be an int'],
            'int out of range' => [$ok + ['screen_width' => 2 ** 31], 'screen_width 2147483648 is out of range'],
            'too many tags' => [$ok + ['tags' => array_fill_keys(array_map(fn ($i) => "k$i", range(1, 21)), 'v')], 'tags'],
            'headers not an array' => [$ok + ['headers' => 'User-Agent: x'], 'headers must be an array'],
        ];
    }

    public function testConfigurationAndCredentialsAreChecked(): void
    {
        try {
            $this->client(['timeout_ms' => 'soon']);
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('timeout_ms', $e->getMessage());
        }
        try {
            $this->client(['no_such_key' => 1]);
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('no_such_key', $e->getMessage());
        }
        try {
            new Client(clientSecret: 'not-an-access-key', config: ['base_url' => self::$standin->url]);
            $this->fail('no exception');
        } catch (AuthException $e) {
            $this->assertStringContainsString('pa_', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        new Client(accessKey: self::ACCESS_KEY, clientSecret: 'x');
    }

    public function testConfigValuesOfEveryPhpType(): void
    {
        $client = $this->client(['timeout_ms' => 2000, 'forward_proxy_headers' => true, 'trusted_proxies' => ['10.0.0.0/8'], 'log_level' => null]);
        $client->hit(['url' => 'https://example.com/', 'ip' => '10.1.2.3', 'x_forwarded_for' => '198.51.100.1']);
        $body = self::$standin->bodies('hit')[0];
        $this->assertSame('198.51.100.1', $body['ip']);
        $this->assertSame('198.51.100.1', $body['x_forwarded_for'], 'forward_proxy_headers=true');
    }

    public function testFromEnvironment(): void
    {
        $saved = [];
        $set = ['PIRSCH_ACCESS_KEY' => self::ACCESS_KEY, 'PIRSCH_BASE_URL' => self::$standin->url, 'PIRSCH_TRUSTED_PROXIES' => '10.0.0.0/8',
            'PIRSCH_CLIENT_ID' => null, 'PIRSCH_CLIENT_SECRET' => null];
        foreach ($set as $name => $value) {
            $saved[$name] = getenv($name);
            putenv($value === null ? $name : "$name=$value");
        }
        try {
            $client = Client::fromEnv(['timeout_ms' => 3000]);
            $client->hit(['url' => 'https://example.com/env', 'ip' => '10.0.0.1', 'headers' => ['X-Forwarded-For' => '192.0.2.1']]);
            $client->close();
            $item = self::$standin->items('hit')[0];
            $this->assertSame('access_key', $item['auth']);
            $this->assertSame('192.0.2.1', $item['body']['ip']);
            putenv('PIRSCH_ACCESS_KEY');
            $this->expectException(AuthException::class);
            $this->expectExceptionMessage('PIRSCH_ACCESS_KEY');
            Client::fromEnv();
        } finally {
            foreach ($saved as $name => $value) {
                putenv($value === false ? $name : "$name=$value");
            }
        }
    }

    public function testRequestReadsAndWritesJson(): void
    {
        $client = $this->client();
        $client->hit(['url' => 'https://example.com/x', 'ip' => '203.0.113.1']);
        $domains = $client->request('/api/v1/domain');
        $this->assertSame('standin-domain-1', $domains[0]['id']);
        $today = gmdate('Y-m-d');
        $visitors = $client->request('/api/v1/statistics/visitor', ['id' => $domains[0]['id'], 'from' => $today, 'to' => $today]);
        $this->assertSame(1, $visitors[0]['views']);
        $this->assertNull($client->request('/api/v1/hit', method: 'POST', json: ['url' => 'https://example.com/json', 'ip' => '203.0.113.2']));
        $this->assertSame('https://example.com/json', self::$standin->bodies('hit')[1]['url']);
    }

    public function testRequestWithAnAccessKeyIsRefusedWithTheStatus(): void
    {
        try {
            $this->client(accessKey: true)->request('/api/v1/domain');
            $this->fail('no exception');
        } catch (HttpException $e) {
            $this->assertSame(403, $e->getStatus());
            $this->assertStringContainsString('OAuth', $e->getMessage());
        }
    }
}

<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Exception\InvalidArgumentException;
use Pirsch\Native\Filter;
use Pirsch\Native\Library;

/** The 'time' of page views, events and sessions (pirsch_hit_options.time). */
final class TimeTest extends TestCase
{
    private const VISITOR = ['ip' => '198.51.100.7', 'user_agent' => 'Mozilla/5.0 time'];

    /** How libpirsch sends a time: UTC, milliseconds, Z. */
    private static function z(\DateTimeInterface $t): string
    {
        return \DateTimeImmutable::createFromInterface($t)->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\TH:i:s.v\Z');
    }

    public function testTimeArrivesAsGiven(): void
    {
        $client = $this->client(['flush_interval_ms' => 10]);
        $now = new \DateTimeImmutable('now', new \DateTimeZone('UTC'));
        $now = $now->setTime((int) $now->format('H'), (int) $now->format('i'), (int) $now->format('s'), 123000);
        $berlin = $now->modify('-10 minutes')->setTimezone(new \DateTimeZone('Europe/Berlin'));
        $mutable = \DateTime::createFromImmutable($now->modify('-20 minutes'));
        $ms = $now->modify('-30 minutes');
        $text = $now->modify('-40 minutes');

        $client->enqueueHit(['url' => 'https://example.com/berlin', 'time' => $berlin] + self::VISITOR);
        $client->enqueueHit(['url' => 'https://example.com/mutable', 'time' => $mutable] + self::VISITOR);
        $client->enqueueEvent('ms', ['url' => 'https://example.com/ms', 'time' => (int) $ms->format('Uv')] + self::VISITOR);
        $client->enqueueSession(['time' => $text->format(\DateTimeInterface::RFC3339_EXTENDED)] + self::VISITOR);
        $client->enqueueHit(['url' => 'https://example.com/now', 'time' => null] + self::VISITOR);
        $this->assertTrue($client->flush(5000));
        // Blocking with a time: the batch endpoint, a batch of one.
        $client->hit(['url' => 'https://example.com/blocking', 'time' => $berlin] + self::VISITOR);

        $items = self::$standin->items();
        $times = [];
        foreach ($items as $item) {
            $times[$item['body']['url'] ?? $item['kind']] = $item['body']['time'] ?? null;
        }
        $this->assertSame(self::z($berlin), $times['https://example.com/berlin']);
        $this->assertSame(self::z($mutable), $times['https://example.com/mutable']);
        $this->assertSame(self::z($ms), $times['https://example.com/ms']);
        $this->assertSame(self::z($text), $times['session']);
        $this->assertEqualsWithDelta(time(), (new \DateTimeImmutable($times['https://example.com/now']))->getTimestamp(), 60);
        $blocking = array_values(array_filter($items, static fn ($i) => ($i['body']['url'] ?? '') === 'https://example.com/blocking'));
        $this->assertTrue($blocking[0]['batch']);
        $this->assertSame(self::z($berlin), $blocking[0]['body']['time']);

        // A page view counts on the day of its time.
        $past = new \DateTimeImmutable('-3 days', new \DateTimeZone('UTC'));
        $old = $this->client(['max_item_age_ms' => 7 * 86400 * 1000]);
        $old->hit(['url' => 'https://example.com/imported', 'ip' => '198.51.100.8', 'time' => $past]);
        $pages = $old->pages(new Filter(id: 'standin-domain-1', from: $past, to: $past));
        $this->assertSame(['/imported'], array_map(static fn ($p) => $p->path, $pages));
    }

    /** @dataProvider refusedTimes */
    public function testARefusedTimeThrowsWithTheLibrarysReason(string $method, mixed $time, string $message): void
    {
        $client = $this->client();
        $hit = ['url' => 'https://example.com/refused', 'time' => $time] + self::VISITOR;
        try {
            match ($method) {
                'enqueueHit' => $client->enqueueHit($hit),
                'event' => $client->event('old', $hit),
                'session' => $client->session($hit),
            };
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString($message, $e->getMessage());
            $this->assertSame(Library::ffi()->PIRSCH_ERR_INVALID_ARGUMENT, $e->getCode());
        }
        $this->assertSame([], self::$standin->items());
    }

    public static function refusedTimes(): array
    {
        return [
            'future' => ['enqueueHit', new \DateTimeImmutable('+5 minutes'), 'in the future'],
            'too old' => ['event', (int) ((microtime(true) - 7200) * 1000), 'older than max_item_age_ms'],
            'unreadable' => ['session', 'yesterday', 'neither RFC 3339'],
            'a float' => ['enqueueHit', 1.5, 'time must be'],
        ];
    }
}

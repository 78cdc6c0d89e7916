<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Stats;

final class QueueTest extends TestCase
{
    private const HIT = ['url' => 'https://example.com/q', 'ip' => '203.0.113.5', 'user_agent' => 'Mozilla/5.0 queued'];

    private static function balanced(Stats $s): bool
    {
        return $s->enqueued === $s->sent + $s->dropped() + $s->queueDepth + $s->inFlight;
    }

    public function testQueuedItemsAreDeliveredInBatchesWithTheirTime(): void
    {
        $client = $this->client(['flush_interval_ms' => 60000]);
        $start = microtime(true);
        $client->enqueueHit(self::HIT);
        $client->enqueueEvent('signup', self::HIT, 5, ['plan' => 'free']);
        $client->enqueueSession(self::HIT);
        $this->assertLessThan(0.5, microtime(true) - $start, 'enqueueing never waits on the network');
        $this->assertTrue($client->flush(5000));

        $s = $client->stats();
        $this->assertSame([3, 3, 0], [$s->enqueued, $s->sent, $s->dropped()]);
        $this->assertTrue(self::balanced($s));
        $this->assertSame(1, $s->tokenRefreshes);
        $items = self::$standin->items();
        $this->assertCount(3, $items);
        foreach ($items as $item) {
            $this->assertTrue($item['batch']);
            $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/', $item['body']['time']);
        }
        $this->assertSame('signup', $items[1]['body']['event_name']);
    }

    public function testFlushSaysWhenTimeRanOut(): void
    {
        self::$standin->fault(['path_prefix' => '/api/v1/hit/batch', 'delay_ms' => 1000, 'count' => 1]);
        $client = $this->client([], accessKey: true);
        $client->enqueueHit(self::HIT);
        $this->assertFalse($client->flush(100));
        $s = $client->stats();
        $this->assertSame(1, $s->queueDepth + $s->inFlight);
        $this->assertTrue(self::balanced($s));
        $this->assertTrue($client->flush(5000));
        $this->assertSame(1, $client->stats()->sent);
    }

    public function testTheDestructorDeliversWhatIsQueued(): void
    {
        $client = new \Pirsch\Native\Client(accessKey: self::ACCESS_KEY, config: ['base_url' => self::$standin->url, 'flush_interval_ms' => 60000]);
        for ($i = 0; $i < 5; $i++) {
            $client->enqueueHit(['url' => "https://example.com/d$i"] + self::HIT);
        }
        $this->assertSame([], self::$standin->bodies());
        unset($client);
        $this->assertCount(5, self::$standin->bodies('hit'));
    }

    public function testStatsHaveEveryCounterByItsCName(): void
    {
        $stats = $this->client()->stats();
        $this->assertSame(0, $stats->enqueued);
        $fields = \Pirsch\Native\Library::ffi()->type('struct pirsch_stats')->getStructFieldNames();
        $this->assertSame(array_values(array_diff($fields, ['struct_size'])), array_keys($stats->toArray()));
        $this->assertSame(7, Stats::fromArray(['sent' => 7, 'a_future_counter' => 1])->sent);
    }

    /** A client made before pcntl_fork(): the child delivers its own items, the parent its own. */
    public function testAClientWorksInAForkedChild(): void
    {
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('pcntl is not available');
        }
        [$rc, $out, $err] = self::php([self::fixture('fork.php')]);
        $this->assertSame(0, $rc, $out . $err);
        $lines = array_map(fn ($l) => json_decode($l, true), array_filter(explode("\n", $out)));
        $byWho = array_column($lines, null, 'who');
        $this->assertSame(1, $byWho['child']['stats']['forks_detected']);
        $this->assertSame(0, $byWho['parent']['stats']['forks_detected']);
        $urls = array_column(self::$standin->bodies('hit'), 'url');
        sort($urls);
        $this->assertSame(['https://example.com/child/0', 'https://example.com/child/1', 'https://example.com/parent/0'], $urls);
    }
}

<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Client;
use Pirsch\Native\Exception\InvalidArgumentException;

/**
 * The client a server worker keeps across requests (Tracker::client(), the library's
 * pirsch_client_shared): the same C client after PHP dropped every reference to it, in the same
 * process and in forked children, and its queue delivered when the process exits.
 */
final class SharedClientTest extends TestCase
{
    private static function runShared(string $mode): array
    {
        [$rc, $out, $err] = self::php([self::fixture('shared.php'), $mode]);
        $lines = array_values(array_filter(array_map(fn ($l) => json_decode($l, true), explode("\n", $out))));
        return [$rc, $lines, $out . $err];
    }

    public function testTheSameClientInTheNextRequestAndTheExitDeliversTheQueue(): void
    {
        [$rc, $lines, $all] = self::runShared('exit');
        $this->assertSame(0, $rc, $all);
        $this->assertTrue($lines[0]['same'], 'found again after the request state was dropped');
        $this->assertSame(3, $lines[0]['stats']['queue_depth'], 'nothing sent before the exit');
        $urls = array_column(self::$standin->bodies('hit'), 'url');
        sort($urls);
        $this->assertSame(['https://example.com/exit/a', 'https://example.com/exit/b', 'https://example.com/exit/c'], $urls, 'the exit delivered');
    }

    public function testAForkedChildGetsTheSameClient(): void
    {
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('pcntl is not available');
        }
        [$rc, $lines, $all] = self::runShared('fork');
        $this->assertSame(0, $rc, $all);
        $byWho = array_column($lines, null, 'who');
        $this->assertTrue($byWho['child']['same'], $all);
        $this->assertSame(1, $byWho['child']['stats']['forks_detected']);
        $urls = array_column(self::$standin->bodies('hit'), 'url');
        sort($urls);
        $this->assertSame(['https://example.com/child', 'https://example.com/parent'], $urls, 'each process delivered its own at exit');
    }

    public function testTheSameNameWithOtherCredentialsIsRefused(): void
    {
        $config = ['base_url' => self::$standin->url];
        $a = new Client(accessKey: 'pa_standin_key', config: $config, shared: 'refusal');
        try {
            new Client(accessKey: 'pa_someone_else', config: $config, shared: 'refusal');
            $this->fail('refused');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('other credentials', $e->getMessage());
        }
        $b = new Client(accessKey: 'pa_standin_key', shared: 'refusal');
        $this->assertEquals($a->pointer(), $b->pointer());
        $b->close();
        $a->enqueueHit(['url' => 'https://example.com/still', 'ip' => '203.0.113.9']);
        $this->assertTrue($a->flush(5000), 'closing one reference leaves the client working');
        $this->expectException(InvalidArgumentException::class);
        new Client(accessKey: 'pa_standin_key', shared: '');
    }
}

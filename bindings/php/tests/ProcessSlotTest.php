<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

/**
 * The client a server worker keeps across requests (Tracker::client() outside the CLI):
 * found again in the same process and in forked children, never by an exec'd program, and
 * freed (its queue delivered) when the process exits.
 */
final class ProcessSlotTest extends TestCase
{
    private static function runSlot(string $mode): array
    {
        [$rc, $out, $err] = self::php([self::fixture('slot.php'), $mode], env: ['PIRSCH_PHP_CLIENT' => null]);
        $lines = array_values(array_filter(array_map(fn ($l) => json_decode($l, true), explode("\n", $out))));
        return [$rc, $lines, $out . $err];
    }

    public function testTheProcessExitDeliversTheQueue(): void
    {
        [$rc, $lines, $all] = self::runSlot('exit');
        $this->assertSame(0, $rc, $all);
        $this->assertTrue($lines[0]['stored']);
        $this->assertTrue($lines[0]['same'], 'found again after the request state was dropped');
        $this->assertSame(3, $lines[0]['stats']['queue_depth'], 'nothing sent before the exit');
        $this->assertStringNotContainsString($lines[0]['address'], $lines[0]['env'], 'the address is not in the environment as it is');
        $this->assertCount(3, self::$standin->bodies('hit'), 'the exit handler delivered');
    }

    public function testAForkedChildFindsItAndAnExecdProgramDoesNot(): void
    {
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('pcntl is not available');
        }
        [$rc, $lines, $all] = self::runSlot('fork');
        $this->assertSame(0, $rc, $all);
        $byWho = array_column($lines, null, 'who');
        $this->assertTrue($byWho['child']['found']);
        $this->assertSame(1, $byWho['child']['stats']['forks_detected']);
        $this->assertTrue($byWho['exec']['env_inherited']);
        $this->assertFalse($byWho['exec']['found']);
        $urls = array_column(self::$standin->bodies('hit'), 'url');
        sort($urls);
        $this->assertSame(['https://example.com/child', 'https://example.com/exec', 'https://example.com/parent'], $urls);
    }
}

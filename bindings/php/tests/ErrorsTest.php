<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Exception\AuthException;
use Pirsch\Native\Exception\ClosedException;
use Pirsch\Native\Exception\HttpException;
use Pirsch\Native\Exception\NetworkException;
use Pirsch\Native\Exception\PirschException;
use Pirsch\Native\Exception\QueueFullException;
use Pirsch\Native\Exception\TimeoutException;

final class ErrorsTest extends TestCase
{
    private const HIT = ['url' => 'https://example.com/', 'ip' => '203.0.113.1'];

    public function testARefusedAccessKeyIsAnAuthException(): void
    {
        $client = new \Pirsch\Native\Client(accessKey: 'pa_wrong', config: ['base_url' => self::$standin->url]);
        try {
            $client->hit(self::HIT);
            $this->fail('no exception');
        } catch (AuthException $e) {
            $this->assertSame(401, $e->getStatus());
            $this->assertStringContainsString('access key', $e->getMessage());
            $this->assertStringNotContainsString('pa_wrong', $e->getMessage(), 'secrets never appear in messages');
        }
    }

    public function testAnApiErrorIsAnHttpExceptionWithTheStatus(): void
    {
        self::$standin->fault(['path_prefix' => '/api/v1/hit', 'status' => 422, 'body' => ['validation' => ['url' => 'not this one']]]);
        try {
            $this->client(accessKey: true)->hit(self::HIT);
            $this->fail('no exception');
        } catch (HttpException $e) {
            $this->assertSame(422, $e->getStatus());
            $this->assertStringContainsString('HTTP 422', $e->getMessage());
            $this->assertStringContainsString('not this one', $e->getMessage(), "the API's own message");
        }
    }

    public function testNoServerIsANetworkException(): void
    {
        $client = new \Pirsch\Native\Client(accessKey: self::ACCESS_KEY, config: ['base_url' => 'http://127.0.0.1:1', 'max_retries' => 0]);
        $this->expectException(NetworkException::class);
        $client->hit(self::HIT);
    }

    public function testASlowApiIsATimeoutException(): void
    {
        self::$standin->fault(['path_prefix' => '/api/v1/hit', 'delay_ms' => 2000, 'close' => true]);   // never recorded later
        $client = $this->client(['timeout_ms' => 200, 'max_retries' => 0], accessKey: true);
        $start = microtime(true);
        try {
            $client->hit(self::HIT);
            $this->fail('no exception');
        } catch (TimeoutException $e) {
            $this->assertStringContainsString('200', $e->getMessage());
        }
        $this->assertLessThan(1.5, microtime(true) - $start);
    }

    public function testAFullQueueIsAQueueFullException(): void
    {
        // close: the held batch is never recorded (a late answer would land in a later test).
        self::$standin->fault(['path_prefix' => '/api/v1/hit/batch', 'delay_ms' => 3000, 'close' => true]);
        $client = $this->client(['queue_capacity' => 2, 'batch_size' => 1, 'shutdown_timeout_ms' => 100], accessKey: true);
        $refused = 0;
        for ($i = 0; $i < 8; $i++) {
            try {
                $client->enqueueHit(self::HIT);
            } catch (QueueFullException $e) {
                $refused++;
                $this->assertStringContainsString('queue', $e->getMessage());
            }
        }
        $this->assertGreaterThanOrEqual(5, $refused);
        $this->assertSame($refused, $client->stats()->droppedQueueFull);
        $this->assertSame(8, $client->stats()->enqueued);
    }

    public function testAClosedClientRefusesEverything(): void
    {
        $client = $this->client();
        $client->close();
        $client->close();
        foreach ([
            fn () => $client->hit(self::HIT),
            fn () => $client->enqueueHit(self::HIT),
            fn () => $client->flush(),
            fn () => $client->stats(),
            fn () => $client->request('/api/v1/domain'),
        ] as $call) {
            try {
                $call();
                $this->fail('no exception');
            } catch (ClosedException $e) {
                $this->assertInstanceOf(PirschException::class, $e);
            }
        }
    }
}

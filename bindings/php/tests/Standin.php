<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

/**
 * The API stand-in (target/release/pirsch-standin, or PIRSCH_STANDIN) on a free loopback
 * port, and its control API (/_standin/...). See standin/README.md.
 */
final class Standin
{
    public readonly string $url;
    /** @var resource */
    private $proc;
    /** @var array<int, resource> */
    private array $pipes;

    public function __construct(string ...$args)
    {
        $binary = getenv('PIRSCH_STANDIN') ?: dirname(__DIR__, 3) . '/target/release/pirsch-standin';
        if (!is_executable($binary)) {
            throw new \RuntimeException("$binary is missing: run `make build` first (or set PIRSCH_STANDIN)");
        }
        $proc = proc_open([$binary, '--port', '0', '--quiet', ...$args], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => STDERR], $pipes);
        if ($proc === false) {
            throw new \RuntimeException("cannot start $binary");
        }
        $this->proc = $proc;
        $this->pipes = $pipes;
        stream_set_timeout($pipes[1], 10);
        $line = (string) fgets($pipes[1]);
        if (!preg_match('~ (http://127\.0\.0\.1:\d+)\s*$~', $line, $m)) {
            $this->stop();
            throw new \RuntimeException("unexpected first line from the stand-in: " . var_export($line, true));
        }
        $this->url = $m[1];
    }

    public function call(string $method, string $path, mixed $body = null): mixed
    {
        $context = stream_context_create(['http' => [
            'method' => $method,
            'header' => "Content-Type: application/json\r\nConnection: close\r\n",
            'content' => $body === null ? '' : json_encode($body),
            'timeout' => 10,
            'ignore_errors' => true,
        ]]);
        $text = file_get_contents($this->url . $path, false, $context);
        if ($text === false) {
            throw new \RuntimeException("$method $path failed");
        }
        return $text === '' ? null : json_decode($text, true, 512, JSON_THROW_ON_ERROR);
    }

    /** Bodies received, in order, optionally of one kind (hit, event, session). */
    public function bodies(?string $kind = null): array
    {
        return array_column($this->items($kind), 'body');
    }

    public function items(?string $kind = null): array
    {
        return $this->call('GET', '/_standin/received' . ($kind === null ? '' : "?kind=$kind"))['items'];
    }

    public function counters(): array
    {
        return $this->call('GET', '/_standin/counters');
    }

    public function reset(): void
    {
        $this->call('POST', '/_standin/reset', new \stdClass());
    }

    /** Adds fault rules (see standin/README.md). */
    public function fault(array $rule): void
    {
        $this->call('POST', '/_standin/faults', $rule);
    }

    /** Waits until $n items (of $kind) arrived, or $seconds passed; returns the bodies. */
    public function waitFor(int $n, ?string $kind = null, float $seconds = 5.0): array
    {
        $deadline = microtime(true) + $seconds;
        do {
            $bodies = $this->bodies($kind);
            if (count($bodies) >= $n) {
                return $bodies;
            }
            usleep(20000);
        } while (microtime(true) < $deadline);
        return $bodies;
    }

    public function stop(): void
    {
        if (is_resource($this->proc)) {
            proc_terminate($this->proc, 15);
            foreach ($this->pipes as $pipe) {
                if (is_resource($pipe)) {
                    fclose($pipe);
                }
            }
            proc_close($this->proc);
        }
    }

    public function __destruct()
    {
        $this->stop();
    }
}

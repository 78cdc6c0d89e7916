<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Client;

abstract class TestCase extends \PHPUnit\Framework\TestCase
{
    protected static Standin $standin;

    public const CLIENT_ID = 'standin-client';
    public const CLIENT_SECRET = 'standin-secret';
    public const ACCESS_KEY = 'pa_standin_key';

    /** @var list<Client> */
    private array $clients = [];

    public static function setUpBeforeClass(): void
    {
        self::$standin = $GLOBALS['pirsch_standin'];
    }

    protected function setUp(): void
    {
        self::$standin->reset();
    }

    protected function tearDown(): void
    {
        foreach ($this->clients as $client) {
            $client->close();
        }
        $this->clients = [];
    }

    /** An OAuth client of the stand-in (or one with the access key), closed after the test. */
    protected function client(array $config = [], bool $accessKey = false): Client
    {
        $config += ['base_url' => self::$standin->url, 'shutdown_timeout_ms' => 1000];
        $client = $accessKey
            ? new Client(accessKey: self::ACCESS_KEY, config: $config)
            : new Client(clientId: self::CLIENT_ID, clientSecret: self::CLIENT_SECRET, config: $config);
        return $this->clients[] = $client;
    }

    /**
     * Runs PHP code (a file of tests/fixtures, or -r code) in a new process.
     *
     * @return array{0: int, 1: string, 2: string} exit status, stdout, stderr
     */
    protected static function php(array $args, array $env = [], array $ini = [], float $timeout = 20.0): array
    {
        $cmd = [PHP_BINARY];
        foreach ($ini as $key => $value) {
            $cmd[] = '-d';
            $cmd[] = "$key=$value";
        }
        $environment = array_merge(getenv(), ['PIRSCH_TEST_BASE_URL' => self::$standin->url], $env);
        $environment = array_filter($environment, static fn ($v) => $v !== null && $v !== false);
        $proc = proc_open([...$cmd, ...$args], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $environment);
        $out = $err = '';
        stream_set_blocking($pipes[1], false);
        stream_set_blocking($pipes[2], false);
        $deadline = microtime(true) + $timeout;
        while (true) {
            $read = [$pipes[1], $pipes[2]];
            $write = $except = null;
            if (stream_select($read, $write, $except, 0, 100000) > 0) {
                foreach ($read as $r) {
                    $chunk = (string) fread($r, 65536);
                    $r === $pipes[1] ? $out .= $chunk : $err .= $chunk;
                }
            }
            if (feof($pipes[1]) && feof($pipes[2])) {
                break;
            }
            if (microtime(true) > $deadline) {
                proc_terminate($proc, 9);
                $err .= "\n(killed after {$timeout}s)";
                break;
            }
        }
        fclose($pipes[1]);
        fclose($pipes[2]);
        $status = proc_close($proc);
        return [$status, $out, $err];
    }

    protected static function fixture(string $name): string
    {
        return __DIR__ . "/fixtures/$name";
    }
}
